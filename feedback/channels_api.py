"""Focus groups, interviews and review sources over REST: input serializer → service →
output serializer, with the same services as the HTML pages."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.shortcuts import get_object_or_404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema, extend_schema_field, extend_schema_view
from rest_framework import generics, serializers, status
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.response import Response

from accounts.authentication import acting_person
from accounts.permissions import HasScopeOrPermission
from api.parsers import JSONParser

from . import focus_groups, interviews
from .api import TagNameField
from .models import Customer, FocusGroup, FocusGroupEntry, Interview, InterviewHighlight, Product
from .selectors import (
    focus_group_entries,
    focus_group_list,
    interview_highlights,
    interview_list,
    review_source_list,
)

READ, WRITE = "feedback:read", "feedback:write"


def _scopes(*methods_writing: str) -> dict[str, str]:
    return {"GET": READ, **{method: WRITE for method in methods_writing}}


@extend_schema_field(OpenApiTypes.STR)
class _UsernameField(serializers.SlugRelatedField):
    def __init__(self, **kwargs):
        super().__init__(slug_field="username", **kwargs)

    def get_queryset(self):
        return get_user_model().objects.filter(is_active=True)


@extend_schema_field(OpenApiTypes.STR)
class _ProductField(serializers.SlugRelatedField):
    def __init__(self, **kwargs):
        super().__init__(slug_field="slug", **kwargs)

    def get_queryset(self):
        return Product.objects.all()


@extend_schema_field(OpenApiTypes.INT)
class _CustomerField(serializers.PrimaryKeyRelatedField):
    def get_queryset(self):
        return Customer.objects.all()


@extend_schema_field(
    {"type": "string", "enum": FocusGroup.Status.values, "description": "planned or held"}
)
class _SessionStatusField(serializers.ChoiceField):
    """Not a named enum in the schema: feedback's ``StatusEnum`` already has the name."""


def _sentiment(feedback) -> str | None:
    return feedback.sentiment_label or None


class _SessionDetailView(generics.RetrieveAPIView):
    """Read, change (PATCH) or delete one session through its service module.

    Subclasses give ``write_serializer_class`` and implement ``save`` and ``remove``.
    """

    permission_classes = [HasScopeOrPermission]
    required_scopes = _scopes("PATCH", "DELETE")
    write_serializer_class: type[serializers.Serializer]

    def save(self, obj, data: serializers.Serializer) -> None:
        raise NotImplementedError

    def remove(self, obj) -> None:
        raise NotImplementedError

    def patch(self, request, pk: int):
        obj = self.get_object()
        data = self.write_serializer_class(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        self.save(obj, data)
        return Response(self.get_serializer(self.get_queryset().get(pk=pk)).data)

    def delete(self, request, pk: int):
        self.remove(self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)


class _SessionChildListCreateView(generics.ListAPIView):
    """The ``child_model`` rows of one session (``session_model``, the URL's pk), or add one.

    Subclasses give ``create_serializer_class`` and implement ``children`` and ``add``.
    """

    permission_classes = [HasScopeOrPermission]
    required_scopes = _scopes("POST")
    filterset_class = None
    session_model: type
    child_model: type
    create_serializer_class: type[serializers.Serializer]

    def children(self, session):
        raise NotImplementedError

    def add(self, session, author, values: dict):
        raise NotImplementedError

    def _session(self):
        return get_object_or_404(self.session_model, pk=self.kwargs["pk"])

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # schema generation has no pk
            return self.child_model.objects.none()
        return self.children(self._session())

    def post(self, request, pk: int):
        session = self._session()
        data = self.create_serializer_class(data=request.data)
        data.is_valid(raise_exception=True)
        child = self.add(session, acting_person(request), data.validated_data)
        child = self.children(session).get(pk=child.pk)
        return Response(self.get_serializer(child).data, status=status.HTTP_201_CREATED)


# --- Focus groups ---------------------------------------------------------------------


class FocusGroupSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    topic = serializers.CharField(read_only=True)
    scheduled_at = serializers.DateTimeField(read_only=True)
    product = serializers.CharField(source="product.slug", read_only=True, allow_null=True)
    moderator = serializers.CharField(source="moderator.username", read_only=True, allow_null=True)
    participants = serializers.SerializerMethodField()
    agenda = serializers.CharField(read_only=True)
    notes = serializers.CharField(read_only=True)
    status = serializers.CharField(read_only=True, help_text="planned or held")
    entry_count = serializers.IntegerField(read_only=True)
    created_at = serializers.DateTimeField(read_only=True)

    participants_without_research_consent = serializers.SerializerMethodField(
        help_text="Participants who have not consented to take part in research (allowed: "
        "the consent may have been given on the day; the pages warn about them)."
    )

    @extend_schema_field(serializers.ListField(child=serializers.IntegerField()))
    def get_participants(self, obj) -> list[int]:
        return [customer.pk for customer in obj.participants.all()]

    @extend_schema_field(serializers.ListField(child=serializers.IntegerField()))
    def get_participants_without_research_consent(self, obj) -> list[int]:
        return [customer.pk for customer in obj.participants.all() if not customer.consent_research]


class FocusGroupWriteSerializer(serializers.Serializer):
    topic = serializers.CharField(max_length=200)
    scheduled_at = serializers.DateTimeField()
    product = _ProductField(required=False, allow_null=True)
    moderator = _UsernameField(required=False, allow_null=True)
    participants = serializers.ListField(child=_CustomerField(), required=False, max_length=500)
    agenda = serializers.CharField(required=False, allow_blank=True)
    notes = serializers.CharField(required=False, allow_blank=True)
    status = _SessionStatusField(choices=FocusGroup.Status.choices, required=False)


class FocusGroupEntrySerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    kind = serializers.CharField(read_only=True, help_text="finding or quote")
    text = serializers.CharField(source="feedback.text", read_only=True)
    participant = serializers.IntegerField(source="participant_id", read_only=True, allow_null=True)
    feedback = serializers.IntegerField(source="feedback_id", read_only=True)
    sentiment = serializers.SerializerMethodField()
    tags = serializers.SerializerMethodField()
    author = serializers.CharField(source="author.username", read_only=True, allow_null=True)
    created_at = serializers.DateTimeField(read_only=True)

    def get_sentiment(self, obj) -> str | None:
        return _sentiment(obj.feedback)

    @extend_schema_field(serializers.ListField(child=serializers.CharField()))
    def get_tags(self, obj) -> list[str]:
        return [tag.name for tag in obj.feedback.tags.all()]


class FocusGroupEntryCreateSerializer(serializers.Serializer):
    text = serializers.CharField(max_length=100_000)
    kind = serializers.ChoiceField(choices=FocusGroupEntry.Kind.choices, default="finding")
    participant = _CustomerField(required=False, allow_null=True)
    tags = serializers.ListField(child=TagNameField(), required=False, max_length=20, default=list)


_FG_PERMS = {
    "GET": "feedback.view_focusgroup",
    "POST": "feedback.add_focusgroup",
    "PATCH": "feedback.change_focusgroup",
    "DELETE": "feedback.delete_focusgroup",
}


class FocusGroupListCreateView(generics.ListAPIView):
    """List focus group sessions, or plan a new one."""

    serializer_class = FocusGroupSerializer
    permission_classes = [HasScopeOrPermission]
    required_scopes = _scopes("POST")
    required_perms = {"GET": _FG_PERMS["GET"], "POST": _FG_PERMS["POST"]}
    filterset_class = None
    filterset_fields = None
    ordering_fields = ["scheduled_at", "id"]
    ordering = ["-scheduled_at", "-id"]

    def get_queryset(self):
        return focus_group_list()

    @extend_schema(request=FocusGroupWriteSerializer, responses={201: FocusGroupSerializer})
    def post(self, request):
        data = FocusGroupWriteSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = dict(data.validated_data)
        participants = values.pop("participants", None)
        focus_group = focus_groups.save_focus_group(participants=participants, **values)
        return Response(
            FocusGroupSerializer(focus_group_list().get(pk=focus_group.pk)).data,
            status=status.HTTP_201_CREATED,
        )


@extend_schema_view(
    patch=extend_schema(request=FocusGroupWriteSerializer, responses={200: FocusGroupSerializer}),
    delete=extend_schema(responses={204: None}),
)
class FocusGroupDetailView(_SessionDetailView):
    """Read, change (PATCH) or delete one session; deleting removes its entries' feedback."""

    serializer_class = FocusGroupSerializer
    write_serializer_class = FocusGroupWriteSerializer
    required_perms = {m: _FG_PERMS[m] for m in ("GET", "PATCH", "DELETE")}

    def get_queryset(self):
        return focus_group_list()

    def save(self, obj, data):
        values = dict(data.validated_data)
        participants = values.pop("participants", None)
        focus_groups.save_focus_group(focus_group=obj, participants=participants, **values)

    def remove(self, obj):
        focus_groups.delete_focus_group(focus_group=obj)


@extend_schema_view(
    post=extend_schema(
        request=FocusGroupEntryCreateSerializer, responses={201: FocusGroupEntrySerializer}
    )
)
class FocusGroupEntryListCreateView(_SessionChildListCreateView):
    """The findings and quotes of a session, or add one (stored as feedback)."""

    serializer_class = FocusGroupEntrySerializer
    create_serializer_class = FocusGroupEntryCreateSerializer
    session_model, child_model = FocusGroup, FocusGroupEntry
    required_perms = {"GET": _FG_PERMS["GET"], "POST": _FG_PERMS["PATCH"]}
    ordering_fields = ["created_at", "id"]
    ordering = ["created_at", "id"]

    def children(self, session):
        return focus_group_entries(session)

    def add(self, session, author, values):
        return focus_groups.add_focus_group_entry(focus_group=session, author=author, **values)


# --- Interviews -----------------------------------------------------------------------


class InterviewSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    customer = serializers.IntegerField(source="customer_id", read_only=True)
    customer_research_consent = serializers.BooleanField(
        source="customer.consent_research",
        read_only=True,
        help_text="Whether the customer consented to take part in research (an interview "
        "without it is allowed; the pages warn about it).",
    )
    interviewer = serializers.CharField(
        source="interviewer.username", read_only=True, allow_null=True
    )
    conducted_at = serializers.DateTimeField(read_only=True)
    product = serializers.CharField(source="product.slug", read_only=True, allow_null=True)
    guide_questions = serializers.ListField(
        source="guide_question_list", child=serializers.CharField(), read_only=True
    )
    notes = serializers.CharField(read_only=True)
    transcript = serializers.CharField(read_only=True)
    transcript_name = serializers.CharField(read_only=True)
    highlight_count = serializers.IntegerField(read_only=True)
    created_at = serializers.DateTimeField(read_only=True)


class InterviewWriteSerializer(serializers.Serializer):
    customer = _CustomerField()
    interviewer = _UsernameField(required=False, allow_null=True)
    conducted_at = serializers.DateTimeField()
    product = _ProductField(required=False, allow_null=True)
    guide_questions = serializers.ListField(
        child=serializers.CharField(max_length=500), required=False, max_length=100
    )
    notes = serializers.CharField(required=False, allow_blank=True)
    transcript = serializers.CharField(required=False, allow_blank=True, trim_whitespace=False)
    transcript_file = serializers.FileField(
        required=False, write_only=True, help_text="A .txt or .md transcript (multipart)."
    )

    def to_service_values(self) -> dict:
        values = dict(self.validated_data)
        if "guide_questions" in values:
            values["guide_questions"] = "\n".join(
                q.strip() for q in values["guide_questions"] if q.strip()
            )
        upload = values.pop("transcript_file", None)
        if upload is not None:
            values["transcript"], values["transcript_name"] = interviews.read_transcript_upload(
                upload
            )
        return values


class HighlightSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    excerpt = serializers.CharField(source="feedback.text", read_only=True)
    start = serializers.IntegerField(read_only=True)
    end = serializers.IntegerField(read_only=True)
    feedback = serializers.IntegerField(source="feedback_id", read_only=True)
    sentiment = serializers.SerializerMethodField()
    tags = serializers.SerializerMethodField()
    author = serializers.CharField(source="author.username", read_only=True, allow_null=True)
    created_at = serializers.DateTimeField(read_only=True)

    def get_sentiment(self, obj) -> str | None:
        return _sentiment(obj.feedback)

    @extend_schema_field(serializers.ListField(child=serializers.CharField()))
    def get_tags(self, obj) -> list[str]:
        return [tag.name for tag in obj.feedback.tags.all()]


class HighlightCreateSerializer(serializers.Serializer):
    excerpt = serializers.CharField(max_length=100_000, trim_whitespace=False)
    start = serializers.IntegerField(
        required=False, allow_null=True, min_value=0, help_text="Offset of the excerpt, if known."
    )
    tags = serializers.ListField(child=TagNameField(), required=False, max_length=20, default=list)


_IV_PERMS = {
    "GET": "feedback.view_interview",
    "POST": "feedback.add_interview",
    "PATCH": "feedback.change_interview",
    "DELETE": "feedback.delete_interview",
}
_PARSERS = [JSONParser, MultiPartParser, FormParser]


class InterviewListCreateView(generics.ListAPIView):
    """List interviews, or record one (transcript as text, or a .txt/.md file in multipart)."""

    serializer_class = InterviewSerializer
    parser_classes = _PARSERS
    permission_classes = [HasScopeOrPermission]
    required_scopes = _scopes("POST")
    required_perms = {"GET": _IV_PERMS["GET"], "POST": _IV_PERMS["POST"]}
    filterset_class = None
    ordering_fields = ["conducted_at", "id"]
    ordering = ["-conducted_at", "-id"]

    def get_queryset(self):
        return interview_list()

    @extend_schema(request=InterviewWriteSerializer, responses={201: InterviewSerializer})
    def post(self, request):
        data = InterviewWriteSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        interview = interviews.save_interview(**data.to_service_values())
        return Response(
            InterviewSerializer(interview_list().get(pk=interview.pk)).data,
            status=status.HTTP_201_CREATED,
        )


@extend_schema_view(
    patch=extend_schema(request=InterviewWriteSerializer, responses={200: InterviewSerializer}),
    delete=extend_schema(responses={204: None}),
)
class InterviewDetailView(_SessionDetailView):
    """Read, change (PATCH) or delete one interview."""

    serializer_class = InterviewSerializer
    write_serializer_class = InterviewWriteSerializer
    parser_classes = _PARSERS
    required_perms = {m: _IV_PERMS[m] for m in ("GET", "PATCH", "DELETE")}

    def get_queryset(self):
        return interview_list()

    def save(self, obj, data):
        interviews.save_interview(interview=obj, **data.to_service_values())

    def remove(self, obj):
        interviews.delete_interview(interview=obj)


@extend_schema_view(
    post=extend_schema(request=HighlightCreateSerializer, responses={201: HighlightSerializer})
)
class HighlightListCreateView(_SessionChildListCreateView):
    """The highlights of an interview, or keep a new excerpt of its transcript as feedback."""

    serializer_class = HighlightSerializer
    create_serializer_class = HighlightCreateSerializer
    session_model, child_model = Interview, InterviewHighlight
    required_perms = {"GET": _IV_PERMS["GET"], "POST": _IV_PERMS["PATCH"]}
    ordering_fields = ["start", "id"]
    ordering = ["start", "id"]

    def children(self, session):
        return interview_highlights(session)

    def add(self, session, author, values):
        return interviews.add_interview_highlight(interview=session, author=author, **values)


# --- Review sources (read only: they are configured on their page) ---------------------


class ReviewSourceSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    name = serializers.CharField(read_only=True)
    slug = serializers.CharField(read_only=True, help_text="The feedback `source` of its reviews.")
    kind = serializers.CharField(read_only=True, help_text="json_feed or rss_atom")
    url = serializers.CharField(read_only=True)
    product = serializers.CharField(source="product.slug", read_only=True, allow_null=True)
    interval_minutes = serializers.IntegerField(read_only=True)
    active = serializers.BooleanField(read_only=True)
    last_polled_at = serializers.DateTimeField(read_only=True, allow_null=True)
    last_success_at = serializers.DateTimeField(read_only=True, allow_null=True)
    last_error = serializers.CharField(read_only=True)
    consecutive_failures = serializers.IntegerField(read_only=True)
    next_poll_at = serializers.DateTimeField(read_only=True, allow_null=True)
    polling = serializers.SerializerMethodField()
    items_imported = serializers.IntegerField(read_only=True)
    items_skipped_last_poll = serializers.IntegerField(
        read_only=True, help_text="Items the last poll that read the feed refused."
    )
    skip_reasons = serializers.ListField(
        child=serializers.DictField(child=serializers.CharField()),
        read_only=True,
        help_text='The first few refused items: [{"item": external id, "reason": message}].',
    )

    def get_polling(self, obj) -> bool:
        return obj.polling_since is not None


class ReviewSourceListView(generics.ListAPIView):
    """Review sources with their poll status."""

    serializer_class = ReviewSourceSerializer
    permission_classes = [HasScopeOrPermission]
    required_scopes = {"GET": READ}
    required_perms = {"GET": "feedback.view_reviewsource"}
    filterset_class = None
    ordering_fields = ["name", "id", "next_poll_at"]
    ordering = ["name", "id"]

    def get_queryset(self):
        return review_source_list()


class ReviewSourceDetailView(generics.RetrieveAPIView):
    """One review source and its poll status."""

    serializer_class = ReviewSourceSerializer
    permission_classes = [HasScopeOrPermission]
    required_scopes = {"GET": READ}
    required_perms = {"GET": "feedback.view_reviewsource"}

    def get_queryset(self):
        return review_source_list()
