"""Forms of the roadmap, changelog and suggestion pages."""

from __future__ import annotations

from django import forms

from feedback.models import Product

from .models import Idea, IdeaSuggestion


class ProductFilterForm(forms.Form):
    product = forms.ModelChoiceField(
        queryset=Product.objects.order_by("name"),
        required=False,
        to_field_name="slug",
        empty_label="All products",
    )


class MoveIdeaForm(forms.Form):
    lane = forms.ChoiceField(choices=[("", "Off the roadmap"), *Idea.Lane.choices], required=False)
    position = forms.IntegerField(min_value=0, required=False)
    before = forms.IntegerField(min_value=1, required=False)
    after = forms.IntegerField(min_value=1, required=False)
    # The board's product filter, kept when the page is shown again.
    product = forms.SlugField(required=False)


class ShipIdeaForm(forms.Form):
    release_note = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text="What changed, in words for the customers who asked. It goes in their email.",
    )
    public = forms.BooleanField(label="Show on the public roadmap", required=False)


class PublicForm(forms.Form):
    public = forms.BooleanField(required=False)


class AcceptSuggestionForm(forms.Form):
    title = forms.CharField(max_length=200, required=False)
    problem = forms.CharField(
        label="Problem statement", widget=forms.Textarea(attrs={"rows": 3}), required=False
    )
    product = forms.ModelChoiceField(
        queryset=Product.objects.order_by("name"), required=False, empty_label="No product"
    )

    def __init__(self, *args, product_choices: list | None = None, **kwargs):
        """``product_choices``: the select's options read once for a whole page of forms."""
        super().__init__(*args, **kwargs)
        if product_choices is not None:
            self.fields["product"].choices = product_choices


class SuggestionFilterForm(forms.Form):
    status = forms.ChoiceField(
        choices=IdeaSuggestion.Status.choices, required=False, initial="pending"
    )
