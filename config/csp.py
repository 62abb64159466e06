"""django-csp's middleware, with the headers built once per policy instead of per response.

django-csp 4.0 rebuilds both headers from the settings on every response (a dataclass
``asdict`` and a string build, a noticeable share of a small API request). The headers
only differ when a view overrides the policy (``_csp_update``, ``_csp_replace``,
``_csp_config``, ``_csp_exempt`` on the response) or a template used a nonce; those
responses take django-csp's own path unchanged. The cache is keyed on the settings
objects themselves (kept alive by the cache), so a policy changed at run time, as tests
do, is never served stale.
"""

from __future__ import annotations

from csp.middleware import CheckableLazyObject
from csp.middleware import CSPMiddleware as BaseCSPMiddleware
from django.conf import settings
from django.http import HttpResponse

_OVERRIDES = (
    "_csp_config",
    "_csp_update",
    "_csp_replace",
    "_csp_exempt",
    "_csp_config_ro",
    "_csp_update_ro",
    "_csp_replace_ro",
    "_csp_exempt_ro",
)


class CSPMiddleware(BaseCSPMiddleware):
    _policies: tuple = ()
    _headers: dict[str, str] = {}

    def process_response(self, request, response):
        if getattr(request, "_csp_nonce", None) is not None or any(
            hasattr(response, name) for name in _OVERRIDES
        ):
            return super().process_response(request, response)
        policies = (
            getattr(settings, "CONTENT_SECURITY_POLICY", None),
            getattr(settings, "CONTENT_SECURITY_POLICY_REPORT_ONLY", None),
            settings.DEBUG,
        )
        if len(self._policies) != 3 or any(
            a is not b for a, b in zip(policies, self._policies, strict=True)
        ):
            # django-csp builds the headers on a blank response: its rules, once.
            blank = super().process_response(request, HttpResponse())
            self._headers = {
                name: blank[name]
                for name in ("Content-Security-Policy", "Content-Security-Policy-Report-Only")
                if name in blank
            }
            self._policies = policies
        if not (settings.DEBUG and response.status_code in (404, 500)):
            for name, value in self._headers.items():
                if name not in response and not _excluded(request, name):
                    response[name] = value
        # As django-csp does: a nonce asked for after the header was written is an error.
        request.csp_nonce = CheckableLazyObject(self._csp_nonce_post_response)
        return response


def _excluded(request, header: str) -> bool:
    setting = (
        "CONTENT_SECURITY_POLICY_REPORT_ONLY"
        if header.endswith("Report-Only")
        else "CONTENT_SECURITY_POLICY"
    )
    prefixes = (getattr(settings, setting, None) or {}).get("EXCLUDE_URL_PREFIXES") or ()
    return bool(prefixes) and request.path_info.startswith(tuple(prefixes))
