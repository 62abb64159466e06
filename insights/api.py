"""Insights over REST (read only, plus acknowledging and resolving alerts): themes, alerts,
forecasts, and metrics with their confidence intervals, all from the rollups."""

from __future__ import annotations

import datetime as dt

import django_filters
from django.conf import settings
from django.core.exceptions import ValidationError as DjangoValidationError
from django.shortcuts import get_object_or_404
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import generics, serializers
from rest_framework.filters import OrderingFilter
from rest_framework.response import Response
from rest_framework.settings import api_settings
from rest_framework.views import APIView

from accounts.authentication import acting_person
from accounts.permissions import HasScopeOrPermission
from api.filters import FilterBackend, FilterSet
from api.pagination import CursorPagination
from api.serializers import InputSerializer
from feedback.models import Customer, Feedback, Product

from . import alerts, dashboard, selectors
from .analysis import stats
from .models import Alert, Forecast, Theme
from .trends import METRIC_LABELS

READ = "insights:read"
WRITE = "insights:write"
DASHBOARD_PERM = "feedback.view_insights"
ALERTS_PERM = "insights.view_alerts"


class _InsightsRead:
    permission_classes = [HasScopeOrPermission]
    required_scopes = {"GET": READ}
    required_perms = {"GET": DASHBOARD_PERM}


class ThemeSerializer(serializers.ModelSerializer):
    class Meta:
        model = Theme
        fields = ["id", "name", "slug", "status", "top_terms", "pinned", "curated", "parent"]


class ThemeListView(_InsightsRead, generics.ListAPIView):
    """Themes of the codebook (merged ones left out unless ``status=merged``)."""

    serializer_class = ThemeSerializer
    filterset_fields = ["status", "pinned"]
    search_fields = ["name"]
    ordering_fields = ["name", "id"]

    def get_queryset(self):
        themes = Theme.objects.order_by("-pinned", "name", "id")
        if self.request.query_params.get("status") != Theme.Status.MERGED:
            themes = themes.exclude(status=Theme.Status.MERGED)
        return themes


class AlertSerializer(serializers.ModelSerializer):
    product = serializers.SlugRelatedField(slug_field="slug", read_only=True, allow_null=True)
    theme = serializers.SlugRelatedField(slug_field="slug", read_only=True, allow_null=True)

    class Meta:
        model = Alert
        fields = [
            "id",
            "kind",
            "title",
            "status",
            "evidence",
            "product",
            "theme",
            "feedback",
            "created_at",
            "last_seen_at",
            "times_seen",
            "acknowledged_at",
            "resolved_at",
            "resolution_note",
        ]


ALERT_STATUSES = ["unresolved", *Alert.Status.values, "all"]


class AlertListView(generics.ListAPIView):
    """Alerts, most recently seen first; ``status`` filters (``unresolved`` by default)."""

    serializer_class = AlertSerializer
    permission_classes = [HasScopeOrPermission]
    required_scopes = {"GET": READ}
    required_perms = {"GET": ALERTS_PERM}
    pagination_class = CursorPagination
    filter_backends: list = []
    ordering = ["-last_seen_at", "-id"]
    cursor_fields = ("last_seen_at",)

    @extend_schema(
        parameters=[
            OpenApiParameter(
                "status",
                str,
                enum=ALERT_STATUSES,
                description="Default `unresolved`.",
            )
        ]
    )
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    def get_queryset(self):
        status = self.request.query_params.get("status", "unresolved")
        if status not in ALERT_STATUSES:
            raise serializers.ValidationError(
                {"status": [f"Unknown status; one of: {', '.join(ALERT_STATUSES)}."]}
            )
        return selectors.alerts_for_page(status=status)


class AlertResolveSerializer(InputSerializer):
    note = serializers.CharField(max_length=300, required=False, allow_blank=True, default="")


class AlertActionView(APIView):
    """Acknowledge (someone is on it) or resolve an alert."""

    permission_classes = [HasScopeOrPermission]
    required_scopes = {"POST": WRITE}
    required_perms = {"POST": ALERTS_PERM}
    action = ""

    @extend_schema(request=AlertResolveSerializer, responses={200: AlertSerializer})
    def post(self, request, pk: int):
        alert = get_object_or_404(selectors.alerts_for_page(status="all"), pk=pk)
        by = acting_person(request)
        try:
            if self.action == "resolve":
                data = AlertResolveSerializer(data=request.data)
                data.is_valid(raise_exception=True)
                alert = alerts.resolve_alert(alert=alert, by=by, note=data.validated_data["note"])
            else:
                alert = alerts.acknowledge_alert(alert=alert, by=by)
        except DjangoValidationError as exc:
            # The alert's state forbids the change: a conflict, not bad input.
            return Response(
                {"errors": {api_settings.NON_FIELD_ERRORS_KEY: exc.messages}, "code": exc.code},
                status=409,
            )
        return Response(AlertSerializer(alert).data)


class ForecastSerializer(serializers.ModelSerializer):
    product = serializers.SlugRelatedField(slug_field="slug", read_only=True, allow_null=True)
    theme = serializers.SlugRelatedField(slug_field="slug", read_only=True, allow_null=True)

    class Meta:
        model = Forecast
        fields = [
            "id",
            "metric",
            "scope",
            "product",
            "theme",
            "generated_at",
            "history_end",
            "horizon",
            "method",
            "interval",
            "points",
            "history",
            "backtest",
        ]


class ForecastFilter(FilterSet):
    product = django_filters.ModelChoiceFilter(queryset=Product.objects.all(), to_field_name="slug")
    theme = django_filters.ModelChoiceFilter(queryset=Theme.objects.all(), to_field_name="slug")

    class Meta:
        model = Forecast
        fields = ["metric", "scope", "product", "theme"]


class ForecastListView(_InsightsRead, generics.ListAPIView):
    """The latest forecast per metric and scope, with intervals and backtest; filters
    ``metric``, ``scope``, ``product`` and ``theme`` (slugs)."""

    serializer_class = ForecastSerializer
    filterset_class = ForecastFilter
    # No free-text field to search: only the filters above (and ordering).
    filter_backends = [FilterBackend, OrderingFilter]

    def get_queryset(self):
        return selectors.forecasts()


class MetricFilterSerializer(InputSerializer):
    product = serializers.SlugField(required=False)
    channel = serializers.ChoiceField(choices=Feedback.Channel.choices, required=False)
    customer_kind = serializers.ChoiceField(choices=Customer.Kind.choices, required=False)
    segment = serializers.IntegerField(required=False, min_value=1)
    theme = serializers.SlugField(required=False)

    def validated_filter(self) -> dict:
        """Rollup filter arguments; raises ValidationError (400) for an unknown product,
        segment (or one not in use) or theme (or one merged away)."""
        from customization.models import Segment

        self.is_valid(raise_exception=True)
        data = self.validated_data
        errors = {}
        product_id = segment_id = theme_id = None
        if data.get("product"):
            product_id = (
                Product.objects.filter(slug=data["product"]).values_list("pk", flat=True).first()
            )
            if product_id is None:
                errors["product"] = ["No product with that slug."]
        if "segment" in data:
            segment_id = (
                Segment.objects.live()
                .filter(pk=data["segment"])
                .values_list("pk", flat=True)
                .first()
            )
            if segment_id is None:
                errors["segment"] = ["No segment in use with that id."]
        if data.get("theme"):
            theme_id = (
                Theme.objects.exclude(status=Theme.Status.MERGED)
                .filter(slug=data["theme"])
                .values_list("pk", flat=True)
                .first()
            )
            if theme_id is None:
                errors["theme"] = ["No theme with that slug."]
        if errors:
            raise serializers.ValidationError(errors)
        return {
            "product_id": product_id,
            "channel": data.get("channel", ""),
            "customer_kind": data.get("customer_kind", ""),
            "segment_id": segment_id,
            "theme_id": theme_id,
        }


class KpiFilterSerializer(MetricFilterSerializer):
    days = serializers.IntegerField(min_value=1, max_value=366, default=30)


class SeriesFilterSerializer(MetricFilterSerializer):
    weeks = serializers.IntegerField(min_value=1, max_value=52, default=12)


def _estimate(metric: str, sums: dict, confidence: float, *, floor: int = 0) -> dict | None:
    """The estimate as a dict; None without data or, as on the dashboard, when a filter to
    a group of customers leaves fewer than ``floor`` answers (they could point at a person)."""
    if dashboard.too_small(stats.metric_sample_size(metric, sums), floor):
        return None
    estimate = stats.metric_estimate(metric, sums, confidence=confidence)
    return estimate.as_dict() if estimate else None


def _small_group_floor(where: dict) -> int:
    return dashboard.group_floor(where["segment_id"] is not None or bool(where["customer_kind"]))


_ESTIMATE = serializers.DictField(allow_null=True, help_text="value, ci_low, ci_high, n, …")
_FILTER_PARAMETERS = [
    OpenApiParameter("product", OpenApiTypes.STR, description="Product slug"),
    OpenApiParameter("channel", OpenApiTypes.STR, enum=Feedback.Channel.values),
    OpenApiParameter("customer_kind", OpenApiTypes.STR, enum=Customer.Kind.values),
    OpenApiParameter("segment", OpenApiTypes.INT, description="Segment id (one in use)"),
    OpenApiParameter("theme", OpenApiTypes.STR, description="Theme slug"),
]


class KpiView(_InsightsRead, APIView):
    """Each KPI over the last ``days`` days against the ``days`` before, with confidence
    intervals and the metric's significance test, for an optional filter; volume over the
    ``days`` full days ending yesterday (``volume_from`` … ``volume_to``)."""

    @extend_schema(
        parameters=[*_FILTER_PARAMETERS, OpenApiParameter("days", OpenApiTypes.INT)],
        responses=inline_serializer(
            "KpiValues",
            {
                "window": serializers.DictField(),
                "alpha": serializers.FloatField(),
                "metrics": inline_serializer(
                    "KpiValue",
                    {
                        "metric": serializers.CharField(),
                        "label": serializers.CharField(),
                        "current": _ESTIMATE,
                        "previous": _ESTIMATE,
                        "comparison": serializers.DictField(allow_null=True),
                    },
                    many=True,
                ),
            },
        ),
    )
    def get(self, request):
        query = KpiFilterSerializer(data=request.query_params)
        where = query.validated_filter()
        days = query.validated_data["days"]
        today = timezone.now().astimezone(dt.UTC).date()
        sums = selectors.period_sums(days=days, today=today, **where)
        alpha = settings.INSIGHTS_SIGNIFICANCE_ALPHA
        floor = _small_group_floor(where)
        metrics = []
        for metric in stats.METRICS:
            current, previous = sums.of(metric)
            row = {
                "metric": metric,
                "label": METRIC_LABELS[metric],
                "current": _estimate(metric, current, 1 - alpha, floor=floor),
                "previous": _estimate(metric, previous, 1 - alpha, floor=floor),
                "comparison": None,
            }
            if row["current"] and row["previous"]:
                comparison = stats.metric_comparison(metric, previous, current, alpha=alpha)
                row["comparison"] = comparison.as_dict() if comparison else None
            metrics.append(row)
        window = {
            "from": sums.start,
            "to": today,
            "previous_from": sums.before,
            "volume_from": sums.volume_start,
            "volume_to": sums.volume_end - dt.timedelta(days=1),
            "volume_previous_from": sums.volume_before,
        }
        return Response({"window": window, "alpha": alpha, "metrics": metrics})


class MetricSeriesView(_InsightsRead, APIView):
    """Each KPI per ISO week (Monday), oldest first, with its confidence interval."""

    @extend_schema(
        parameters=[*_FILTER_PARAMETERS, OpenApiParameter("weeks", OpenApiTypes.INT)],
        responses=inline_serializer(
            "MetricSeries",
            {
                "weeks": serializers.ListField(child=serializers.DateField()),
                "metrics": serializers.DictField(
                    child=serializers.ListField(child=_ESTIMATE),
                    help_text="Per metric, one estimate (or null) per week.",
                ),
            },
        ),
    )
    def get(self, request):
        query = SeriesFilterSerializer(data=request.query_params)
        where = query.validated_filter()
        totals = selectors.weekly_rollup_totals(
            weeks=query.validated_data["weeks"], include_current=True, **where
        )
        confidence = 1 - settings.INSIGHTS_SIGNIFICANCE_ALPHA
        floor = _small_group_floor(where)
        return Response(
            {
                "weeks": [monday for monday, _ in totals],
                "metrics": {
                    metric: [_estimate(metric, sums, confidence, floor=floor) for _, sums in totals]
                    for metric in stats.METRICS
                },
            }
        )
