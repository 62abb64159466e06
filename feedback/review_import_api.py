"""Review imports over REST: upload an export (multipart) and follow its progress."""

from __future__ import annotations

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import generics, serializers, status
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.response import Response

from accounts.authentication import ApiKeyUser
from accounts.permissions import HasScopeOrPermission

from . import review_import as services
from .models import Product, ReviewImport, ReviewImportError
from .review_import.selectors import IMPORT_PERMISSION, review_import_errors, review_import_list
from .review_import.values import MAPPABLE_FIELDS, RATING_SCALES


@extend_schema_field(
    {"type": "string", "description": "One of: " + ", ".join(ReviewImport.Status.values) + "."}
)
class _ImportStatusField(serializers.CharField):
    """Not an enum in the schema: feedback's ``StatusEnum`` already has the name "status"."""


class ReviewImportSerializer(serializers.ModelSerializer):
    status = _ImportStatusField(read_only=True)
    uploaded_by = serializers.SerializerMethodField()
    product = serializers.SlugRelatedField(slug_field="slug", read_only=True, allow_null=True)
    status_display = serializers.CharField(source="get_status_display", read_only=True)
    percent_done = serializers.IntegerField(read_only=True)
    is_finished = serializers.BooleanField(read_only=True)

    class Meta:
        model = ReviewImport
        fields = [
            "id", "status", "status_display", "is_finished", "percent_done", "rows_total",
            "rows_processed", "rows_imported", "rows_duplicate", "rows_skipped",
            "failure_reason", "source", "original_name", "file_format", "encoding", "columns",
            "mapping", "product", "rating_min", "rating_max", "date_order", "uploaded_by",
            "created_at", "started_at", "finished_at",
        ]
        read_only_fields = fields

    def get_uploaded_by(self, obj: ReviewImport) -> str:
        if obj.uploaded_by_id:
            return obj.uploaded_by.get_username()
        if obj.uploaded_with_key_id:
            return f"api-key:{obj.uploaded_with_key.name}"
        return ""


class ReviewImportCreateSerializer(serializers.Serializer):
    file = serializers.FileField(help_text="CSV or JSON export (.csv, .json, .txt).")
    source = serializers.CharField(max_length=100, help_text="e.g. google, trustpilot")
    product = serializers.SlugRelatedField(
        slug_field="slug", queryset=Product.objects.all(), required=False, allow_null=True,
        help_text="One product for every review of the file.",
    )
    rating_scale = serializers.ChoiceField(choices=["auto", *RATING_SCALES], default="auto")
    date_order = serializers.ChoiceField(
        choices=["auto", *ReviewImport.DateOrder.values], default="auto"
    )

    def get_fields(self):
        fields = super().get_fields()
        for name in MAPPABLE_FIELDS:
            fields[f"{name}_column"] = serializers.CharField(
                required=False, allow_blank=True, max_length=300,
                help_text="Column name; omitted: guessed from the header; empty: none.",
            )
        return fields

    @property
    def mapping(self) -> dict[str, str]:
        data = self.validated_data
        return {
            name: data[f"{name}_column"] for name in MAPPABLE_FIELDS if f"{name}_column" in data
        }


class ReviewImportListCreateView(generics.ListAPIView):
    """List review imports, or upload an export and start importing it."""

    serializer_class = ReviewImportSerializer
    parser_classes = [MultiPartParser, FormParser]
    permission_classes = [HasScopeOrPermission]
    required_scopes = {"GET": "feedback:read", "POST": "feedback:write"}
    required_perms = {"GET": IMPORT_PERMISSION, "POST": IMPORT_PERMISSION}
    filterset_class = None
    ordering_fields = ["created_at", "id"]
    ordering = ["-created_at", "-id"]

    def get_queryset(self):
        return review_import_list()

    @extend_schema(request=ReviewImportCreateSerializer, responses={202: ReviewImportSerializer})
    def post(self, request):
        data = ReviewImportCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        is_key = isinstance(request.user, ApiKeyUser)
        review_import = services.import_reviews_from_upload(
            upload=values["file"],
            source=values["source"],
            mapping=data.mapping,
            product=values.get("product"),
            rating_scale=values["rating_scale"],
            date_order=values["date_order"],
            uploaded_by=None if is_key else request.user,
            api_key=request.user.api_key if is_key else None,
        )
        return Response(ReviewImportSerializer(review_import).data, status=status.HTTP_202_ACCEPTED)


class ReviewImportDetailView(generics.RetrieveAPIView):
    """Status and counts of one review import (the import page polls this)."""

    serializer_class = ReviewImportSerializer
    permission_classes = [HasScopeOrPermission]
    required_scopes = {"GET": "feedback:read"}
    required_perms = {"GET": IMPORT_PERMISSION}

    def get_queryset(self):
        return review_import_list()


class ReviewImportErrorSerializer(serializers.ModelSerializer):
    class Meta:
        model = ReviewImportError
        fields = ["line", "reason", "excerpt"]
        read_only_fields = fields
        extra_kwargs = {
            "line": {
                "help_text": "CSV: the line the row starts on (the header is line 1); "
                "JSON: the item's position."
            },
            "excerpt": {"help_text": "The start of the row's text."},
        }


class ReviewImportErrorListView(generics.ListAPIView):
    """Rows an import skipped, by line, with the reason and an excerpt of the text: the
    page's CSV download as JSON. At most 10,000 are listed; ``rows_skipped`` counts all."""

    serializer_class = ReviewImportErrorSerializer
    permission_classes = [HasScopeOrPermission]
    required_scopes = {"GET": "feedback:read"}
    required_perms = {"GET": IMPORT_PERMISSION}
    filterset_class = None
    ordering_fields = ["line"]
    ordering = ["line"]

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return ReviewImportError.objects.none()
        review_import = get_object_or_404(review_import_list(), pk=self.kwargs["pk"])
        return review_import_errors(review_import)
