"""Insights fragments shown on other apps' pages (the feedback page's themes)."""

from django import template

from ..models import FeedbackTheme, Theme
from ..theme_views import CURATE

register = template.Library()

_LIVE = (Theme.Status.ACTIVE, Theme.Status.PROPOSED)


@register.inclusion_tag("insights/_feedback_themes.html", takes_context=True)
def feedback_themes(context, feedback):
    """The themes ``feedback`` carries (strongest first, with how each was given) and, for
    those who curate the codebook, the themes that can be added by hand."""
    user = context["request"].user
    links = sorted(
        (link for link in feedback.themes.all() if link.theme.status in _LIVE),
        key=lambda link: (-link.score, link.theme.name.lower()),
    )
    can_curate = user.has_perm(CURATE)
    addable = []
    if can_curate:
        linked = {link.theme_id for link in links}
        addable = [
            theme
            for theme in Theme.objects.filter(status__in=_LIVE).order_by("name")
            if theme.pk not in linked
        ]
    return {
        "feedback": feedback,
        "links": links,
        "manual": FeedbackTheme.Source.MANUAL,
        "can_curate": can_curate,
        "can_view_themes": user.has_perm("feedback.view_insights"),
        "addable": addable,
        "csrf_token": context.get("csrf_token"),
    }
