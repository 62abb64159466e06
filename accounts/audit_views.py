"""The audit trail page for managers and admins: read only, searchable."""

from auditlog.models import LogEntry
from django import forms
from django.contrib.contenttypes.models import ContentType
from django.core.paginator import Paginator
from django.shortcuts import render

from .audit import audit_entries
from .decorators import permission_required

PAGE_SIZE = 50


class AuditFilterForm(forms.Form):
    actor = forms.CharField(required=False, max_length=150, label="Who")
    content_type = forms.ModelChoiceField(
        queryset=ContentType.objects.none(), required=False, label="What", empty_label="Anything"
    )
    object_id = forms.CharField(required=False, max_length=40, label="Object id")
    action = forms.TypedChoiceField(
        choices=[("", "Any action"), *LogEntry.Action.choices],
        coerce=int,
        empty_value=None,
        required=False,
    )
    since = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))
    until = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))
    text = forms.CharField(required=False, max_length=200, label="Changed values contain")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        logged = LogEntry.objects.values("content_type").distinct()
        self.fields["content_type"].queryset = ContentType.objects.filter(pk__in=logged).order_by(
            "app_label", "model"
        )


@permission_required("auditlog.view_logentry")
def audit_log(request):
    form = AuditFilterForm(request.GET or None)
    status = 200
    if form.is_bound and not form.is_valid():
        entries = LogEntry.objects.none()
        status = 400
    else:
        filters = form.cleaned_data if form.is_bound else {}
        entries = audit_entries(**{k: v for k, v in filters.items() if v not in ("", None)})
    page = Paginator(entries, PAGE_SIZE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    context = {"form": form, "page": page, "query": query.urlencode()}
    return render(request, "accounts/audit_log.html", context, status=status)
