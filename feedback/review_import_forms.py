"""Forms of the review import pages: the upload and the column mapping."""

from django import forms

from .models import ReviewImport
from .review_import import ALLOWED_EXTENSIONS, max_upload_bytes
from .review_import.values import (
    RATING_SCALES,
    detect_date_order,
    detect_rating_scale,
    guess_mapping,
    guess_source,
)
from .selectors import active_products

FIELD_LABELS = {
    "text": "Review text",
    "title": "Title (put before the text)",
    "rating": "Rating",
    "external_id": "Review id",
    "date": "Date",
    "author": "Author name",
    "product": "Product (name or slug)",
}
SCALE_LABELS = {key: f"{low} to {high}" for key, (low, high) in RATING_SCALES.items()}


class ReviewUploadForm(forms.Form):
    file = forms.FileField(
        label="Export file",
        help_text="",
        widget=forms.ClearableFileInput(attrs={"accept": ",".join(f".{e}" for e in ALLOWED_EXTENSIONS)}),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        megabytes = max_upload_bytes() // (1024 * 1024)
        self.fields["file"].help_text = (
            f"CSV or JSON export (.csv, .json or .txt), up to {megabytes} MB, "
            "in UTF-8, UTF-16 or Latin-1."
        )


class ReviewMappingForm(forms.Form):
    """Which column feeds which field; the choices are the columns of the upload."""

    source = forms.CharField(
        max_length=100,
        help_text="Where the reviews come from, e.g. google, trustpilot, app-store. "
        "Re-importing the same reviews from the same source stores nothing twice.",
    )
    product = forms.ModelChoiceField(
        queryset=active_products(),
        required=False,
        label="One product for the whole file",
        empty_label="(none, or from a column)",
    )
    rating_scale = forms.ChoiceField(label="Rating scale")
    date_order = forms.ChoiceField(label="Dates like 03/04/2024 are")

    def __init__(self, *args, review_import: ReviewImport, **kwargs):
        self.review_import = review_import
        profiles = review_import.column_profiles
        guess = guess_mapping(review_import.columns, profiles)
        initial = {f"{name}_column": column for name, column in guess.items()}
        initial["source"] = guess_source(review_import.original_name)
        initial.update(kwargs.pop("initial", {}))
        super().__init__(*args, initial=initial, **kwargs)

        columns = [(c, c) for c in review_import.columns]
        column_fields = {}
        for name, label in FIELD_LABELS.items():
            column_fields[f"{name}_column"] = forms.ChoiceField(
                label=label,
                required=name == "text",
                choices=([] if name == "text" else [("", "(not in this file)")]) + columns,
            )
        # Column choices first, in the order people read the file.
        self.fields = {**column_fields, **self.fields}

        detected_scale = detect_rating_scale(profiles.get(guess.get("rating", "")))
        auto_scale = "Detect from the file"
        if detected_scale:
            auto_scale += f" (now: {SCALE_LABELS[detected_scale]})"
        self.fields["rating_scale"].choices = [("auto", auto_scale)] + list(SCALE_LABELS.items())

        detected_order = detect_date_order(profiles.get(guess.get("date", "")))
        auto_order = "Detect from the file"
        if detected_order:
            auto_order += f" (now: {ReviewImport.DateOrder(detected_order).label.lower()})"
        else:
            auto_order += " (day first when the dates do not tell)"
        self.fields["date_order"].choices = [("auto", auto_order)] + list(
            ReviewImport.DateOrder.choices
        )

    def column_fields(self):
        return [self[f"{name}_column"] for name in FIELD_LABELS]

    def option_fields(self):
        return [self[name] for name in ("source", "product", "rating_scale", "date_order")]

    @property
    def mapping(self) -> dict[str, str]:
        return {name: self.cleaned_data.get(f"{name}_column") or "" for name in FIELD_LABELS}

    def add_service_errors(self, errors: dict[str, list[str]]) -> None:
        """Put a service's ``ValidationError`` on the fields it names (same names)."""
        for name, messages in errors.items():
            self.add_error(name if name in self.fields else None, messages)
