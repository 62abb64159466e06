"""Backlog fragments shown on other apps' pages (feedback detail, theme detail)."""

from django import template

from .. import selectors
from ..forms import FeedbackToIdeaForm

register = template.Library()


def _rights(context) -> dict:
    user = context["request"].user
    return {
        "can_view": user.has_perm(selectors.VIEW),
        "can_add_idea": user.has_perm("innovation.add_idea"),
        "can_add_evidence": user.has_perm("innovation.add_ideaevidence"),
        "csrf_token": context.get("csrf_token"),
    }


@register.inclusion_tag("innovation/_feedback_ideas.html", takes_context=True)
def feedback_idea_actions(context, feedback):
    rights = _rights(context)
    links = list(selectors.ideas_for_feedback(feedback)) if rights["can_view"] else []
    return {**rights, "feedback": feedback, "links": links, "form": FeedbackToIdeaForm()}


@register.inclusion_tag("innovation/_theme_ideas.html", takes_context=True)
def theme_idea_actions(context, theme):
    rights = _rights(context)
    ideas = list(selectors.ideas_for_theme(theme)[:20]) if rights["can_view"] else []
    return {**rights, "theme": theme, "ideas": ideas}
