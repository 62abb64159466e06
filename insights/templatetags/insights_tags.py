"""Insights fragments shown on other apps' pages (the feedback page's themes)."""

from django import template

from .. import theme_selectors
from ..models import FeedbackTheme
from ..theme_views import CURATE

register = template.Library()


@register.inclusion_tag("insights/_feedback_themes.html", takes_context=True)
def feedback_themes(context, feedback):
    """The themes ``feedback`` carries (strongest first, with how each was given) and, for
    those who curate the codebook, the themes that can be added by hand."""
    user = context["request"].user
    links = theme_selectors.feedback_theme_links(feedback)
    can_curate = user.has_perm(CURATE)
    return {
        "feedback": feedback,
        "links": links,
        "manual": FeedbackTheme.Source.MANUAL,
        "can_curate": can_curate,
        "can_view_themes": user.has_perm("feedback.view_insights"),
        "addable": theme_selectors.themes_to_add(links) if can_curate else [],
        "csrf_token": context.get("csrf_token"),
    }
