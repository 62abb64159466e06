"""The roles of FocusLoop are Django groups; what a role may do is its permissions."""

from __future__ import annotations

STAFF = "staff"
MANAGER = "manager"
ADMIN = "admin"

# Each role holds the permissions of the roles before it.
ROLE_PERMISSIONS: dict[str, list[str]] = {
    STAFF: [
        "feedback.triage_feedback",
        "feedback.view_feedback",
        "feedback.change_feedback",
        "feedback.view_customer",
        "feedback.view_product",
        "feedback.import_reviews",
        "feedback.view_reviewimport",
        "feedback.view_focusgroup",
        "feedback.add_focusgroup",
        "feedback.change_focusgroup",
        "feedback.view_interview",
        "feedback.add_interview",
        "feedback.change_interview",
        "feedback.view_reviewsource",
        "surveys.view_survey",
        "surveys.view_question",
        "surveys.collect_responses",
        "surveys.view_results",
        "surveys.view_response",
        "surveys.view_invitation",
        "insights.view_alerts",
        # Staff see both backlogs and bring feedback to them; managers decide.
        "customization.view_segment",
        "customization.view_customizationrequest",
        "customization.add_customizationrequest",
        "customization.view_customerpreference",
        "customization.add_customerpreference",
        "customization.change_customerpreference",
        "innovation.view_idea",
        "innovation.add_idea",
        "innovation.add_ideaevidence",
        "innovation.add_ideavote",
    ],
    MANAGER: [
        "feedback.view_insights",
        "insights.view_theme",
        "insights.change_theme",
        "insights.manage_alerts",
        "feedback.delete_focusgroup",
        "feedback.delete_interview",
        "feedback.add_reviewsource",
        "feedback.change_reviewsource",
        "feedback.delete_reviewsource",
        "surveys.add_survey",
        "surveys.change_survey",
        "surveys.delete_survey",
        "surveys.add_question",
        "surveys.change_question",
        "surveys.delete_question",
        "surveys.send_invitations",
        "customization.manage_segments",
        "customization.manage_customizations",
        "customization.delete_customerpreference",
        "innovation.manage_ideas",
        "auditlog.view_logentry",
    ],
    ADMIN: [
        "accounts.add_apikey",
        "accounts.view_apikey",
        "accounts.change_apikey",
        "auth.view_user",
        "auth.add_user",
        "auth.change_user",
        "auth.view_group",
        "feedback.add_customer",
        "feedback.change_customer",
        "feedback.add_product",
        "feedback.change_product",
        "feedback.view_tag",
        # Admins may edit and delete anyone's internal notes; others only their own.
        "feedback.change_feedbacknote",
        "feedback.delete_feedbacknote",
        "innovation.view_ideaevidence",
        "innovation.view_ideavote",
        "innovation.view_segmentweight",
        "innovation.change_segmentweight",
        "innovation.view_ideasuggestion",
        "innovation.view_loopmessage",
    ],
}
ROLE_ORDER = [STAFF, MANAGER, ADMIN]


def permissions_for(role: str) -> list[str]:
    perms: list[str] = []
    for name in ROLE_ORDER[: ROLE_ORDER.index(role) + 1]:
        perms.extend(ROLE_PERMISSIONS[name])
    return perms


def role_of(user) -> str | None:
    """The highest role a user holds, or None for anyone without one."""
    if not user.is_authenticated:
        return None
    if user.is_superuser:
        return ADMIN
    names = {g.name for g in user.groups.all()}
    for role in reversed(ROLE_ORDER):
        if role in names:
            return role
    return None
