"""The client address every per-IP rule uses: rate limits, login lockouts, the audit trail."""

from django.conf import settings


def client_ip(request) -> str:
    """The address from ``RATELIMIT_IP_META_KEY`` (set behind a trusted proxy), else the peer.

    Never a header the client chooses unless the deployment says a proxy sets it.
    """
    meta_key = getattr(settings, "RATELIMIT_IP_META_KEY", None) or "REMOTE_ADDR"
    if callable(meta_key):
        return meta_key(request)
    value = request.META.get(meta_key) or request.META.get("REMOTE_ADDR") or ""
    # X-Forwarded-For style lists: the first entry is the client.
    return value.split(",")[0].strip()
