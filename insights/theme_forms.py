from django import forms

from .models import Theme


class RenameThemeForm(forms.Form):
    name = forms.CharField(max_length=120)


class MergeThemeForm(forms.Form):
    target = forms.ModelChoiceField(
        queryset=Theme.objects.exclude(status=Theme.Status.MERGED), label="Merge into"
    )

    def __init__(self, *args, theme: Theme, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["target"].queryset = self.fields["target"].queryset.exclude(pk=theme.pk)


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
