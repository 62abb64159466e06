from django.db import connection
from django.http import JsonResponse
from django.shortcuts import redirect


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
