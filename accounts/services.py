from __future__ import annotations

import datetime as dt

from django.contrib.auth.models import Group, Permission
from django.core.exceptions import ValidationError
from django.utils import timezone

from . import roles
from .authentication import forget_key
from .models import ApiKey


def create_api_key(
    *, name: str, scopes: list[str], created_by=None, expires_at: dt.datetime | None = None
) -> tuple[ApiKey, str]:
    """Create a key; return it with the raw key, which is never retrievable again.

    Raises ``ValidationError`` for an empty name or an unknown scope.
    """
    if not name.strip():
        raise ValidationError({"name": ["A key needs a name."]})
    unknown = sorted(set(scopes) - set(ApiKey.Scope.values))
    if unknown:
        raise ValidationError({"scopes": [f"Unknown scope: {', '.join(unknown)}."]})
    raw = ApiKey.generate_raw_key()
    key = ApiKey.objects.create(
        name=name.strip(),
        prefix=raw[:8],
        digest=ApiKey.digest_of(raw),
        scopes=sorted(set(scopes)),
        created_by=created_by,
        expires_at=expires_at,
    )
    return key, raw


def revoke_api_key(*, key: ApiKey) -> ApiKey:
    if key.revoked_at is None:
        key.revoked_at = timezone.now()
        key.save(update_fields=["revoked_at"])
    forget_key(key.digest)
    return key


def sync_role_groups() -> None:
    """Create the role groups and give each exactly its permissions."""
    for role in roles.ROLE_ORDER:
        group, _ = Group.objects.get_or_create(name=role)
        perms = []
        for dotted in roles.permissions_for(role):
            app_label, codename = dotted.split(".")
            perms.append(
                Permission.objects.get(content_type__app_label=app_label, codename=codename)
            )
        group.permissions.set(perms)
