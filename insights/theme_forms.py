from django import forms

from .models import Theme


class RenameThemeForm(forms.Form):
    name = forms.CharField(max_length=120)


class MergeThemeForm(forms.Form):
    target = forms.ModelChoiceField(queryset=Theme.objects.none(), label="Merge into")

    def __init__(self, *args, theme: Theme, **kwargs):
        super().__init__(*args, **kwargs)
        field = self.fields["target"]
        # Offered: the themes that take feedback. Accepted: any other theme, so a choice
        # merged or archived since the page was loaded gets the service's reason.
        field.queryset = Theme.objects.exclude(pk=theme.pk)
        field.choices = [("", field.empty_label)] + [
            (other.pk, other.name) for other in Theme.objects.assignable().exclude(pk=theme.pk)
        ]


class SplitThemeForm(forms.Form):
    keywords = forms.CharField(
        max_length=500,
        required=False,
        help_text="Comma-separated. Leave empty to split the theme's feedback into two by clustering.",
    )
    name = forms.CharField(
        max_length=120, required=False, help_text="Name of the new theme (with keywords)."
    )


class KeywordRuleForm(forms.Form):
    keywords = forms.CharField(
        max_length=500,
        help_text=(
            "Comma-separated words or phrases, matched as whole words; end one with * to "
            "match every ending (crash* matches crash, crashes, crashed, crashing)."
        ),
    )


class StatusForm(forms.Form):
    status = forms.ChoiceField(
        choices=[(Theme.Status.ACTIVE, "Active"), (Theme.Status.ARCHIVED, "Archived")]
    )


class PinForm(forms.Form):
    pinned = forms.BooleanField(required=False)
