from django.db.models import QuerySet
from django.http import Http404
from django.shortcuts import get_object_or_404

from ..models import ReviewImport, ReviewImportError

IMPORT_PERMISSION = "feedback.import_reviews"


def review_import_list() -> QuerySet[ReviewImport]:
    return ReviewImport.objects.select_related("uploaded_by", "uploaded_with_key", "product")


def get_review_import_for_user(user, pk: int) -> ReviewImport:
    """The import ``pk`` if ``user`` may import reviews; 404 otherwise (ids reveal nothing)."""
    if not user.has_perm(IMPORT_PERMISSION):
        raise Http404
    return get_object_or_404(review_import_list(), pk=pk)


def review_import_errors(review_import: ReviewImport) -> QuerySet[ReviewImportError]:
    return ReviewImportError.objects.filter(review_import=review_import).order_by("line")
