"""Surveys over REST: read surveys, their results and responses; submit responses.

Input serializer → ``services.submit_response`` → output serializer. ``Idempotency-Key``
on the POST is handled, as for every endpoint, by ``api.middleware``.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db.models import Count, Prefetch
from django.shortcuts import get_object_or_404
from django.urls import reverse
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

from accounts.authentication import ApiKeyUser
from accounts.permissions import HasScopeOrPermission
from api.errors import NON_FIELD
from api.pagination import CursorPagination
from feedback.models import Customer

from . import results, services
from .exports import cell_value
from .models import Answer, Question, Response, Survey
from .question_types import question_type
from .selectors import (
    invitation_counts,
    results_summaries,
    survey_list,
    survey_with_questions,
)


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

    @extend_schema_field(OpenApiTypes.OBJECT)
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


class ResponseSerializer(serializers.ModelSerializer):
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


class ResponseCreateSerializer(serializers.Serializer):
    answers = serializers.DictField(
        child=serializers.JSONField(),
        help_text=(
            'Keyed by question key. Numbers for nps/csat/ces/likert/stars, "yes"/"no" '
            'for yes_no, a choice (or {"choice": "Other", "other": text}) for single, '
            'a list of choices (or {"choices": [...], "other": text}) for multiple, '
            "text for short_text (≤ 500) and long_text (≤ 5000)."
        ),
    )
    client_uuid = serializers.UUIDField(required=False, allow_null=True)
    customer = _CustomerField(required=False, allow_null=True)
    submitted_at = serializers.DateTimeField(required=False, allow_null=True)
    started_at = serializers.DateTimeField(required=False, allow_null=True)


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
        survey = get_object_or_404(Survey, pk=pk)
        status_code, body = self._create(request, survey)
        return ApiResponse(body, status=status_code)

    def _create(self, request, survey: Survey) -> tuple[int, dict]:
        serializer = ResponseCreateSerializer(data=request.data)
        if not serializer.is_valid():
            return 400, {"errors": _flatten(serializer.errors), "code": "invalid"}
        data = serializer.validated_data
        try:
            response, created = services.submit_response(
                survey=survey,
                answers=data["answers"],
                channel=Response.Channel.API,
                client_uuid=data.get("client_uuid"),
                customer=data.get("customer"),
                submitted_at=data.get("submitted_at"),
                started_at=data.get("started_at"),
                collected_by=None if isinstance(request.user, ApiKeyUser) else request.user,
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
