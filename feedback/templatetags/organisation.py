"""``{% organisation %}``: the name customers know the deploying organisation by."""

from django import template
from django.conf import settings

register = template.Library()


@register.simple_tag
def organisation() -> str:
    return settings.ORGANISATION_NAME
