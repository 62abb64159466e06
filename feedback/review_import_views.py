"""Review import pages: upload, map the columns, follow the progress, get the skipped rows."""

import csv
from itertools import chain

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import StreamingHttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from accounts.decorators import permission_required
from accounts.forms import add_service_errors

from . import review_import as services
from .csv_safety import neutralise_formula
from .models import ReviewImport, ReviewImportError
from .review_import.selectors import (
    IMPORT_PERMISSION,
    get_review_import_for_user,
    review_import_errors,
    review_import_list,
)
from .review_import_forms import FIELD_LABELS, ReviewMappingForm, ReviewUploadForm

IMPORTS_PAGE_SIZE = 25
ERRORS_SHOWN_ON_PAGE = 100
# A spreadsheet runs a cell starting with one of these as a formula; reviews are untrusted.


@permission_required(IMPORT_PERMISSION)
@require_http_methods(["GET", "POST"])
def review_imports(request):
    status = 200
    if request.method == "POST":
        form = ReviewUploadForm(request.POST, request.FILES)
        if form.is_valid():
            try:
                review_import = services.create_review_import(
                    upload=form.cleaned_data["file"], uploaded_by=request.user
                )
            except ValidationError as exc:
                add_service_errors(form, exc)
            else:
                return redirect("feedback:review_import_map", pk=review_import.pk)
        status = 400
    else:
        form = ReviewUploadForm()
    page = Paginator(review_import_list(), IMPORTS_PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request, "feedback/review_import_list.html", {"form": form, "page": page}, status=status
    )


@permission_required(IMPORT_PERMISSION)
@require_http_methods(["GET", "POST"])
def review_import_map(request, pk: int):
    review_import = get_review_import_for_user(request.user, pk)
    if review_import.status != ReviewImport.Status.MAPPING:
        return redirect("feedback:review_import_detail", pk=review_import.pk)
    status = 200
    if request.method == "POST":
        form = ReviewMappingForm(request.POST, review_import=review_import)
        if form.is_valid():
            data = form.cleaned_data
            try:
                services.start_review_import(
                    review_import=review_import,
                    source=data["source"],
                    mapping=form.mapping,
                    product=data["product"],
                    rating_scale=data["rating_scale"],
                    date_order=data["date_order"],
                )
            except ValidationError as exc:
                if hasattr(exc, "error_dict"):
                    form.add_service_errors(exc.message_dict)
                else:
                    form.add_error(None, exc.messages)
            else:
                messages.success(request, "Import queued.")
                return redirect("feedback:review_import_detail", pk=review_import.pk)
        status = 400
    else:
        form = ReviewMappingForm(review_import=review_import)
    return render(
        request,
        "feedback/review_import_map.html",
        {"review_import": review_import, "form": form},
        status=status,
    )


@permission_required(IMPORT_PERMISSION)
def review_import_detail(request, pk: int):
    review_import = get_review_import_for_user(request.user, pk)
    if review_import.status == ReviewImport.Status.MAPPING:
        return redirect("feedback:review_import_map", pk=review_import.pk)
    return render(
        request,
        "feedback/review_import_detail.html",
        {
            "review_import": review_import,
            "mapping": [
                (FIELD_LABELS.get(name, name), column)
                for name, column in review_import.mapping.items()
            ],
            "errors": review_import_errors(review_import)[:ERRORS_SHOWN_ON_PAGE],
            "errors_shown": ERRORS_SHOWN_ON_PAGE,
            "errors_listed": min(review_import.rows_skipped, services.MAX_LISTED_ERRORS),
        },
    )


@permission_required(IMPORT_PERMISSION)
@require_POST
def review_import_resume(request, pk: int):
    review_import = get_review_import_for_user(request.user, pk)
    try:
        services.resume_review_import(review_import=review_import)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, "Import queued again; it carries on where it stopped.")
    return redirect("feedback:review_import_detail", pk=review_import.pk)


@permission_required(IMPORT_PERMISSION)
@require_POST
def review_import_discard(request, pk: int):
    review_import = get_review_import_for_user(request.user, pk)
    if review_import.status != ReviewImport.Status.MAPPING:
        messages.error(request, "Only an import that has not started can be discarded.")
        return redirect("feedback:review_import_detail", pk=review_import.pk)
    services.delete_review_import(review_import=review_import)
    messages.success(request, "Upload discarded.")
    return redirect("feedback:review_imports")


class _Echo:
    def write(self, value):
        return value


def _cell(value) -> str:
    return neutralise_formula(str(value))


def _skipped_row_cells(error: ReviewImportError, columns: list[str], text_column: str | None):
    """The row as it was read, so the file can be corrected and uploaded again; a row that
    could not be split into columns (or was listed before rows were kept) shows its text's
    excerpt under the text column."""
    values = error.values or ({text_column: error.excerpt} if text_column else {})
    return [error.line, _cell(error.reason), *(_cell(values.get(c, "")) for c in columns)]


@permission_required(IMPORT_PERMISSION)
def review_import_errors_csv(request, pk: int):
    """The skipped rows with their line and reason first, then the file's own columns: fix
    the cells, upload the file again, and only the rows that were skipped are imported (the
    rest are duplicates)."""
    review_import = get_review_import_for_user(request.user, pk)
    columns = list(review_import.columns)
    own_names = ["line", "reason"]
    if set(own_names) & set(columns):
        own_names = ["skipped line", "skip reason"]
    text_column = review_import.mapping.get("text")
    writer = csv.writer(_Echo())
    rows = chain(
        [[*own_names, *columns]],
        (
            _skipped_row_cells(error, columns, text_column)
            for error in review_import_errors(review_import).iterator(chunk_size=2000)
        ),
    )
    # The BOM makes spreadsheet programs read the file as UTF-8.
    body = chain(["\ufeff"], (writer.writerow(row) for row in rows))
    response = StreamingHttpResponse(body, content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = (
        f'attachment; filename="review-import-{review_import.pk}-skipped-rows.csv"'
    )
    return response
