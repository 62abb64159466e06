from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db import connection
from django.http import Http404, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_POST

from api import webhooks
from api.models import WebhookEndpoint

from . import selectors, services
from .decorators import permission_required
from .forms import ApiKeyCreateForm, WebhookEndpointForm, add_service_errors
from .models import ApiKey


def home(request):
    """Send each visitor to the page their role starts on."""
    user = request.user
    if user.has_perm("feedback.view_insights"):
        return redirect("insights:dashboard")
    if user.has_perm("feedback.triage_feedback"):
        return redirect("feedback:inbox")
    if user.is_authenticated:
        return redirect("feedback:public_form")
    return redirect("login")


def healthz(request):
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return JsonResponse({"status": "ok"})


def healthz_workers(request):
    """Every Celery queue has a worker that ran its heartbeat recently (beat sends one a
    minute); 503 naming the silent queues otherwise."""
    from django.conf import settings
    from django.utils import timezone

    from .models import WorkerHeartbeat

    now = timezone.now()
    seen = dict(WorkerHeartbeat.objects.values_list("queue", "seen_at"))
    queues = {}
    for queue in settings.FOCUSLOOP_QUEUES:
        age = (now - seen[queue]).total_seconds() if queue in seen else None
        queues[queue] = {
            "last_heartbeat_s": round(age, 1) if age is not None else None,
            "ok": age is not None and age <= settings.WORKER_HEARTBEAT_MAX_AGE,
        }
    ok = all(q["ok"] for q in queues.values())
    return JsonResponse(
        {"status": "ok" if ok else "stale", "queues": queues}, status=200 if ok else 503
    )


# --- Integrations: API keys and webhooks (admins) ----------------------------------------


def _api_key_page(request, form, *, raw_key: str | None = None, status: int = 200):
    return render(
        request,
        "accounts/api_keys.html",
        {"keys": selectors.api_key_list(), "form": form, "raw_key": raw_key},
        status=status,
    )


@permission_required("accounts.view_apikey")
@require_GET
def api_key_list(request):
    return _api_key_page(request, ApiKeyCreateForm())


@permission_required("accounts.add_apikey")
@require_POST
def api_key_create(request):
    """Create a key and show it once, on this answer only (it is never stored in clear)."""
    form = ApiKeyCreateForm(request.POST)
    if form.is_valid():
        try:
            key, raw = services.create_api_key(
                name=form.cleaned_data["name"],
                scopes=form.cleaned_data["scopes"],
                expires_at=form.cleaned_data["expires_at"],
                created_by=request.user,
            )
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(
                request, f"Key “{key.name}” created. Copy it now: it is not shown again."
            )
            return _api_key_page(request, ApiKeyCreateForm(), raw_key=raw, status=201)
    return _api_key_page(request, form, status=400)


@permission_required("accounts.change_apikey")
@require_POST
def api_key_revoke(request, pk: int):
    key = get_object_or_404(ApiKey, pk=pk)
    services.revoke_api_key(key=key)
    messages.success(request, f"Key “{key.name}” revoked.")
    return redirect("accounts:api_keys")


def _webhook_page(request, form, *, secret: str | None = None, status: int = 200):
    return render(
        request,
        "accounts/webhooks.html",
        {"endpoints": selectors.webhook_endpoint_list(), "form": form, "secret": secret},
        status=status,
    )


@permission_required("accounts.change_apikey")
def webhook_list(request):
    """List endpoints, or register one (its signing secret is shown once)."""
    if request.method != "POST":
        return _webhook_page(request, WebhookEndpointForm())
    form = WebhookEndpointForm(request.POST)
    if form.is_valid():
        try:
            endpoint, secret = webhooks.create_endpoint(
                **form.cleaned_data, created_by=request.user
            )
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, f"Endpoint “{endpoint.name}” added. Copy its secret now.")
            return _webhook_page(request, WebhookEndpointForm(), secret=secret, status=201)
    return _webhook_page(request, form, status=400)


@permission_required("accounts.change_apikey")
@require_GET
def webhook_detail(request, pk: int):
    endpoint = get_object_or_404(WebhookEndpoint, pk=pk)
    return render(
        request,
        "accounts/webhook_detail.html",
        {"endpoint": endpoint, "deliveries": selectors.recent_deliveries(endpoint)},
    )


@permission_required("accounts.change_apikey")
@require_POST
def webhook_action(request, pk: int, action: str):
    """``test`` queues a test event; ``enable``/``disable`` switch the endpoint."""
    if action not in {"test", "enable", "disable"}:
        raise Http404
    endpoint = get_object_or_404(WebhookEndpoint, pk=pk)
    if action == "test":
        webhooks.send_test_event(endpoint=endpoint)
        messages.success(request, "Test event queued; its delivery shows below.")
    else:
        webhooks.set_endpoint_active(endpoint=endpoint, active=action == "enable")
        messages.success(
            request, f"Endpoint {'switched on' if endpoint.active else 'switched off'}."
        )
    return redirect("accounts:webhook_detail", pk=endpoint.pk)
