def roles(request):
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"can_triage": False, "can_view_insights": False}
    return {
        "can_triage": user.has_perm("feedback.triage_feedback"),
        "can_view_insights": user.has_perm("feedback.view_insights"),
    }
