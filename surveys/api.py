"""Surveys over REST: read surveys, their results and responses; submit responses.

Input serializer → ``services.submit_response`` → output serializer. ``Idempotency-Key``
on the POST is handled, as for every endpoint, by ``api.middleware``.
"""

from __future__ import annotations

import django_filters
from django.core.exceptions import ValidationError
from django.db.models import Count, Prefetch
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiResponse,
    extend_schema,
    extend_schema_field,
    inline_serializer,
)
from rest_framework import generics, serializers
from rest_framework.response import Response as ApiResponse
from rest_framework.views import APIView

from accounts.authentication import acting_person
from accounts.permissions import HasScopeOrPermission
from api.errors import NON_FIELD
from api.filters import BooleanFilter, FilterSet
from api.pagination import CursorPagination
from api.serializers import InputSerializer
from feedback.filters import UtcDayFilter
from feedback.models import Customer

from . import distribution, results, services
from .exports import cell_value
from .models import Answer, Invitation, Question, Response, Survey
from .question_types import question_type
from .selectors import (
    invitation_counts,
    results_summaries,
    survey_by_id,
    survey_list,
    survey_with_questions,
)

# Customers one invitation request may name by id.
INVITE_MAX = 1000


def _choice_output(choices) -> serializers.CharField:
    """A read-only choice field documented as a string listing its values: as an enum,
    drf-spectacular would name it after the field (``status``, ``channel``) and collide
    with the feedback enums of the same names (a warning that fails ``check --deploy``)."""

    values = ", ".join(f"`{value}`" for value, _ in choices)

    @extend_schema_field({"type": "string", "description": f"One of {values}."})
    class ChoiceOutput(serializers.CharField):
        pass

    return ChoiceOutput(read_only=True)


class QuestionSerializer(serializers.ModelSerializer):
    kind = _choice_output(Question.Kind.choices)
    scale = serializers.SerializerMethodField()

    class Meta:
        model = Question
        fields = [
            "key",
            "position",
            "kind",
            "text",
            "help_text",
            "required",
            "choices",
            "allow_other",
            "show_if",
            "end_if",
            "scale",
        ]

    @extend_schema_field(serializers.DictField(allow_null=True))
    def get_scale(self, obj: Question) -> dict | None:
        qtype = question_type(obj.kind)
        if not qtype.is_scale:
            return None
        return {
            "min": qtype.scale_min,
            "max": qtype.scale_max,
            "labels": {str(k): v for k, v in qtype.scale_labels.items()},
        }


class SurveySerializer(serializers.ModelSerializer):
    status = _choice_output(Survey.Status.choices)
    audience = _choice_output(Survey.Audience.choices)
    product = serializers.SlugRelatedField(slug_field="slug", read_only=True, allow_null=True)
    response_count = serializers.IntegerField(read_only=True)
    public_url = serializers.SerializerMethodField()

    class Meta:
        model = Survey
        fields = [
            "id",
            "title",
            "slug",
            "description",
            "status",
            "audience",
            "product",
            "opens_at",
            "closes_at",
            "response_quota",
            "opened_at",
            "closed_at",
            "created_at",
            "response_count",
            "public_url",
        ]

    def get_public_url(self, obj: Survey) -> str:
        path = reverse("surveys:respond", args=[obj.slug])
        request = self.context.get("request")
        return request.build_absolute_uri(path) if request else path


class SurveyDetailSerializer(SurveySerializer):
    questions = QuestionSerializer(many=True, read_only=True, source="current_questions")

    class Meta(SurveySerializer.Meta):
        fields = [*SurveySerializer.Meta.fields, "thank_you_message", "questions"]


_DATETIME = serializers.DateTimeField()


def _datetime(value):
    return None if value is None else _DATETIME.to_representation(value)


class ResponseSerializer(serializers.ModelSerializer):
    """One response with its answers.

    The declared fields document the output (OpenAPI); ``to_representation`` builds the
    same dict directly (a test holds the two equal), without DRF's per-instance copies of
    every field.
    """

    channel = _choice_output(Response.Channel.choices)
    answers = serializers.SerializerMethodField()

    class Meta:
        model = Response
        fields = [
            "id",
            "survey",
            "channel",
            "client_uuid",
            "customer",
            "started_at",
            "submitted_at",
            "answers",
        ]

    def to_representation(self, obj: Response) -> dict:
        return {
            "id": obj.pk,
            "survey": obj.survey_id,
            "channel": obj.channel,
            "client_uuid": None if obj.client_uuid is None else str(obj.client_uuid),
            "customer": obj.customer_id,
            "started_at": _datetime(obj.started_at),
            "submitted_at": _datetime(obj.submitted_at),
            "answers": self.get_answers(obj),
        }

    @extend_schema_field(OpenApiTypes.OBJECT)
    def get_answers(self, obj: Response) -> dict[str, object]:
        """Answers keyed by question key: numbers for scales, "yes"/"no", choices, text."""
        out = {}
        for answer in obj.answers.all():
            question = answer.question
            family = question_type(question.kind).family
            if family == "scale":
                out[question.key] = int(answer.number)
            elif family == "multiple":
                out[question.key] = {"choices": answer.choices, "other": answer.text}
            elif family == "choice":
                out[question.key] = {"choice": answer.choices[0], "other": answer.text}
            else:
                out[question.key] = cell_value(question, answer)
        return out


@extend_schema_field(OpenApiTypes.INT)
class _CustomerField(serializers.PrimaryKeyRelatedField):
    def get_queryset(self):
        return Customer.objects.all()


class _ZonedDateTimeField(serializers.DateTimeField):
    """A date and time that names its zone: a naive one is refused, not read as UTC."""

    def enforce_timezone(self, value):
        if timezone.is_naive(value):
            raise serializers.ValidationError(
                "Give a date and time with a time zone (e.g. 2026-11-28T10:00:00Z)."
            )
        return super().enforce_timezone(value)


class ResponseCreateSerializer(InputSerializer):
    # Any JSON value per key (clean_answers checks each against its question); no child
    # field: the parser's values need no second JSON check.
    answers = serializers.DictField(
        help_text=(
            'Keyed by question key. Numbers for nps/csat/ces/likert/stars, "yes"/"no" '
            'for yes_no, a choice (or {"choice": "Other", "other": text}) for single, '
            'a list of choices (or {"choices": [...], "other": text}) for multiple, '
            "text for short_text (≤ 500) and long_text (≤ 5000)."
        ),
    )
    client_uuid = serializers.UUIDField(required=False, allow_null=True)
    customer = _CustomerField(required=False, allow_null=True)
    submitted_at = _ZonedDateTimeField(
        required=False,
        allow_null=True,
        help_text="With a time zone; not in the future, not before the survey opened.",
    )
    started_at = _ZonedDateTimeField(
        required=False,
        allow_null=True,
        help_text="With a time zone; not after submitted_at, not before the survey opened.",
    )


class SurveyListView(generics.ListAPIView):
    """Surveys, newest first, with their response counts."""

    serializer_class = SurveySerializer
    permission_classes = [HasScopeOrPermission]
    required_scopes = {"GET": "surveys:read"}
    required_perms = {"GET": "surveys.view_survey"}
    filterset_fields = ["status", "audience"]
    ordering_fields = ["created_at", "id"]
    search_fields = ["title"]

    def get_queryset(self):
        return survey_list().select_related(None).select_related("product")


class SurveyDetailView(generics.RetrieveAPIView):
    """One survey with its current questions (keys, kinds, scales, choices, logic)."""

    serializer_class = SurveyDetailSerializer
    permission_classes = [HasScopeOrPermission]
    required_scopes = {"GET": "surveys:read"}
    required_perms = {"GET": "surveys.view_survey"}

    def get_queryset(self):
        return survey_with_questions().annotate(response_count=Count("responses"))


class SurveyResultsView(APIView):
    permission_classes = [HasScopeOrPermission]
    required_scopes = {"GET": "surveys:read"}
    required_perms = {"GET": "surveys.view_results"}

    @extend_schema(
        responses=inline_serializer(
            "SurveyResults",
            {
                "survey": serializers.IntegerField(),
                "response_count": serializers.IntegerField(),
                "invitations": serializers.DictField(child=serializers.IntegerField()),
                "response_rate": serializers.FloatField(allow_null=True),
                "questions": serializers.ListField(child=serializers.DictField()),
            },
        ),
        description=(
            "Per question: answered count; scales: mean and distribution (NPS also "
            "promoters/passives/detractors and score, CSAT satisfied_pct, Likert agree_pct); "
            "choices: distribution; text: texts with their sentiment label."
        ),
    )
    def get(self, request, pk: int):
        survey = get_object_or_404(Survey, pk=pk)
        summaries = results_summaries(survey)
        invitations = invitation_counts(survey)
        return ApiResponse(
            {
                "survey": survey.pk,
                "response_count": survey.responses.count(),
                "invitations": invitations,
                "response_rate": results.response_rate(
                    invitations["invited"], invitations["answered"]
                ),
                "questions": summaries,
            }
        )


def _error_body(exc: ValidationError) -> dict:
    if hasattr(exc, "error_dict"):
        return {"errors": exc.message_dict, "code": "invalid"}
    return {"errors": {NON_FIELD: exc.messages}, "code": getattr(exc, "code", None) or "invalid"}


class SurveyResponsesView(generics.ListAPIView):
    """Responses of a survey (newest first), or submit one."""

    serializer_class = ResponseSerializer
    permission_classes = [HasScopeOrPermission]
    required_scopes = {"GET": "surveys:read", "POST": "surveys:write"}
    required_perms = {"GET": "surveys.view_response", "POST": "surveys.collect_responses"}
    filterset_fields = ["channel"]
    ordering_fields = ["submitted_at", "id"]
    ordering = ["-submitted_at", "-id"]
    pagination_class = CursorPagination
    cursor_fields = ("submitted_at", "id")

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Response.objects.none()
        survey = get_object_or_404(Survey, pk=self.kwargs["pk"])
        return Response.objects.filter(survey=survey).prefetch_related(
            Prefetch("answers", queryset=Answer.objects.select_related("question"))
        )

    @extend_schema(
        request=ResponseCreateSerializer,
        responses={
            201: ResponseSerializer,
            200: OpenApiResponse(ResponseSerializer, description="client_uuid already stored"),
            400: OpenApiResponse(description="Invalid answers, keyed by question key"),
            409: OpenApiResponse(
                description="Survey closed (code closed), quota reached (code quota) or "
                "Idempotency-Key reused with another body (code idempotency_conflict)"
            ),
        },
    )
    def post(self, request, pk: int):
        survey = survey_by_id(pk)
        status_code, body = self._create(request, survey)
        return ApiResponse(body, status=status_code)

    def _create(self, request, survey: Survey) -> tuple[int, dict]:
        serializer = ResponseCreateSerializer(data=request.data)
        if not serializer.is_valid():
            return 400, {"errors": _flatten(serializer.errors), "code": "invalid"}
        data = serializer.validated_data
        try:
            services.check_response_times(
                survey=survey,
                submitted_at=data.get("submitted_at"),
                started_at=data.get("started_at"),
            )
            response, created = services.submit_response(
                survey=survey,
                answers=data["answers"],
                channel=Response.Channel.API,
                client_uuid=data.get("client_uuid"),
                customer=data.get("customer"),
                submitted_at=data.get("submitted_at"),
                started_at=data.get("started_at"),
                collected_by=acting_person(request),
            )
        except (services.SurveyClosed, services.QuotaReached) as exc:
            return 409, {"errors": {NON_FIELD: exc.messages}, "code": exc.code}
        except ValidationError as exc:
            return 400, _error_body(exc)
        if not created:
            response = Response.objects.prefetch_related(
                Prefetch("answers", queryset=Answer.objects.select_related("question"))
            ).get(pk=response.pk)
        return (201 if created else 200), ResponseSerializer(response).data


def _flatten(errors) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for field, value in errors.items():
        if isinstance(value, dict):
            for sub, messages in _flatten(value).items():
                out[f"{field}.{sub}"] = messages
        else:
            out[field] = [str(m) for m in value]
    return out


# --- Questions (read-only: the builder versions a question when it is edited) ------------


class QuestionRecordSerializer(QuestionSerializer):
    class Meta(QuestionSerializer.Meta):
        fields = ["id", "survey", *QuestionSerializer.Meta.fields, "archived_at", "replaced_by"]


class QuestionFilter(FilterSet):
    archived = BooleanFilter(
        field_name="archived_at",
        lookup_expr="isnull",
        exclude=True,
        label="true: only earlier versions; false: only the questions asked now.",
    )

    class Meta:
        model = Question
        fields = ["kind", "required", "key"]


def _refused(exc: ValidationError) -> ApiResponse:
    """A service's refusal to send (e.g. ``survey_not_open``) as a 409 in the one shape."""
    return ApiResponse(
        {"errors": {NON_FIELD: exc.messages}, "code": exc.code or "invalid"}, status=409
    )


def _survey_or_404(view) -> Survey:
    return get_object_or_404(Survey, pk=view.kwargs["pk"])


class SurveyQuestionListView(generics.ListAPIView):
    """Every question of a survey, earlier versions included (``archived_at`` set, and
    ``replaced_by`` naming the version asked now), in survey order. Questions are edited in
    the survey builder, which keeps the answers already given to an earlier version."""

    serializer_class = QuestionRecordSerializer
    permission_classes = [HasScopeOrPermission]
    required_scopes = {"GET": "surveys:read"}
    required_perms = {"GET": "surveys.view_question"}
    filterset_class = QuestionFilter
    search_fields = ["text", "key"]
    ordering_fields = ["position", "id"]
    ordering = ["position", "id"]
    pagination_class = CursorPagination
    cursor_fields = ("position", "id")

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Question.objects.none()
        return Question.objects.filter(survey=_survey_or_404(self))


class SurveyQuestionDetailView(generics.RetrieveAPIView):
    """One question of a survey (any version)."""

    serializer_class = QuestionRecordSerializer
    permission_classes = [HasScopeOrPermission]
    required_scopes = {"GET": "surveys:read"}
    required_perms = {"GET": "surveys.view_question"}
    lookup_url_kwarg = "question_pk"

    def get_queryset(self):
        return Question.objects.filter(survey_id=self.kwargs.get("pk"))


# --- Invitations -------------------------------------------------------------------------


class InvitationSerializer(serializers.ModelSerializer):
    status = _choice_output(Invitation.Status.choices)

    class Meta:
        model = Invitation
        fields = [
            "id",
            "survey",
            "customer",
            "email",
            "status",
            "created_at",
            "sent_at",
            "opened_at",
            "answered_at",
            "reminded_at",
            "reminders_sent",
            "send_attempts",
            "last_error",
        ]


class InvitationFilter(FilterSet):
    email = django_filters.CharFilter(lookup_expr="iexact")
    created_after = UtcDayFilter(field_name="created_at", lookup_expr="gte")
    created_before = UtcDayFilter(field_name="created_at", lookup_expr="lt")

    class Meta:
        model = Invitation
        fields = ["status", "customer", "email"]


class InvitationCreateSerializer(InputSerializer):
    customers = serializers.ListField(
        child=serializers.IntegerField(min_value=1),
        required=False,
        max_length=INVITE_MAX,
        help_text="Ids of the customers to invite.",
    )
    emails = serializers.ListField(
        child=serializers.EmailField(),
        required=False,
        max_length=distribution.PASTED_EMAILS_MAX,
        help_text="Email addresses of customers to invite (addresses of nobody are reported).",
    )

    def validate_customers(self, ids: list[int]) -> list[int]:
        unknown = sorted(
            set(ids) - set(Customer.objects.filter(pk__in=ids).values_list("pk", flat=True))
        )
        if unknown:
            raise serializers.ValidationError(
                f"No customer with id {', '.join(map(str, unknown[:20]))}."
            )
        return ids

    def validate(self, attrs):
        if not attrs.get("customers") and not attrs.get("emails"):
            raise serializers.ValidationError("Name customers by id or by email address.")
        return attrs


class InvitationReportSerializer(serializers.Serializer):
    selected = serializers.IntegerField()
    invited = serializers.IntegerField()
    already_invited = serializers.IntegerField()
    no_email = serializers.IntegerField()
    no_consent = serializers.IntegerField()
    unknown_emails = serializers.ListField(child=serializers.CharField())
    invitation_ids = serializers.ListField(child=serializers.IntegerField())


class SurveyInvitationListView(generics.ListAPIView):
    """Invitations of a survey, newest first; or invite customers (emailed after the commit,
    each with a one-time link). Customers already invited, without an email address or
    without consent to be invited are skipped and counted, as on the invitations page."""

    serializer_class = InvitationSerializer
    permission_classes = [HasScopeOrPermission]
    required_scopes = {"GET": "surveys:read", "POST": "surveys:write"}
    required_perms = {"GET": "surveys.view_invitation", "POST": "surveys.send_invitations"}
    filterset_class = InvitationFilter
    ordering_fields = ["created_at", "id"]
    ordering = ["-created_at", "-id"]
    pagination_class = CursorPagination
    cursor_fields = ("created_at", "id")

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Invitation.objects.none()
        return Invitation.objects.filter(survey=_survey_or_404(self))

    @extend_schema(
        request=InvitationCreateSerializer,
        responses={
            201: InvitationReportSerializer,
            200: OpenApiResponse(InvitationReportSerializer, description="Nobody new to invite"),
            409: OpenApiResponse(
                description="The survey is not open (code `survey_not_open`) or has reached "
                "its quota (code `quota`), or an Idempotency-Key reused with another body"
            ),
        },
    )
    def post(self, request, pk: int):
        survey = _survey_or_404(self)
        serializer = InvitationCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        chosen, unknown = distribution.listed_customers(
            customer_ids=data.get("customers", []), emails=data.get("emails", [])
        )
        sent_by = acting_person(request)
        try:
            report = distribution.invite_customers(survey=survey, customers=chosen, sent_by=sent_by)
        except ValidationError as exc:
            return _refused(exc)
        report.unknown_emails = unknown
        body = InvitationReportSerializer(report).data
        return ApiResponse(body, status=201 if report.invited else 200)


class SurveyInvitationDetailView(generics.RetrieveAPIView):
    """One invitation: where it stands (sent, opened, answered) and its last sending error."""

    serializer_class = InvitationSerializer
    permission_classes = [HasScopeOrPermission]
    required_scopes = {"GET": "surveys:read"}
    required_perms = {"GET": "surveys.view_invitation"}
    lookup_url_kwarg = "invitation_pk"

    def get_queryset(self):
        return Invitation.objects.filter(survey_id=self.kwargs.get("pk"))


class QueuedSerializer(serializers.Serializer):
    queued = serializers.IntegerField(help_text="Emails queued for sending after the commit")


class _InvitationActionView(APIView):
    """Base of the invitation actions of the invitations page: queue emails, say how many."""

    permission_classes = [HasScopeOrPermission]
    required_scopes = {"POST": "surveys:write"}
    required_perms = {"POST": "surveys.send_invitations"}
    service = staticmethod(lambda *, survey: 0)

    def post(self, request, pk: int):
        survey = _survey_or_404(self)
        try:
            queued = self.service(survey=survey)
        except ValidationError as exc:
            return _refused(exc)
        return ApiResponse(QueuedSerializer({"queued": queued}).data, status=202)


_ACTION_RESPONSES = {
    202: QueuedSerializer,
    409: OpenApiResponse(
        description="The survey is not open (code `survey_not_open`) or has reached its quota "
        "(code `quota`)"
    ),
}


@extend_schema(request=None, responses=_ACTION_RESPONSES)
class SurveyInvitationRemindersView(_InvitationActionView):
    """Remind every invitee who has not answered and is due a reminder (the gap and the
    limit are the invitations page's); 202 with how many were queued, 0 when none is due."""

    service = staticmethod(distribution.send_reminders)


@extend_schema(request=None, responses=_ACTION_RESPONSES)
class SurveyInvitationResendView(_InvitationActionView):
    """Send again every invitation whose email failed; 202 with how many were queued."""

    service = staticmethod(distribution.resend_failed)
