"""The Content-Security-Policy header, built once per policy (config.csp)."""

import pytest
from csp.constants import NONCE
from csp.middleware import CSPMiddleware as DjangoCSPMiddleware
from django.http import HttpResponse
from django.test import RequestFactory

from config.csp import CSPMiddleware

pytestmark = pytest.mark.django_db


def _headers(middleware_class, request, response):
    middleware = middleware_class(lambda r: response)
    middleware.process_request(request)
    return middleware.process_response(request, response)


def test_the_cached_header_is_the_one_django_csp_builds():
    factory = RequestFactory()
    ours = _headers(CSPMiddleware, factory.get("/inbox/"), HttpResponse("x"))
    theirs = _headers(DjangoCSPMiddleware, factory.get("/inbox/"), HttpResponse("x"))
    assert ours["Content-Security-Policy"] == theirs["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in ours["Content-Security-Policy"]


def test_a_changed_policy_is_served_at_once(client, settings):
    assert "img-src 'self' data:" in client.get("/feedback/")["Content-Security-Policy"]
    settings.CONTENT_SECURITY_POLICY = {
        "DIRECTIVES": {"default-src": ["'self'"], "img-src": ["https://cdn.example.com"]}
    }
    header = client.get("/feedback/")["Content-Security-Policy"]
    assert "img-src https://cdn.example.com" in header
    assert "frame-ancestors" not in header


def test_a_view_override_and_a_nonce_take_django_csps_own_path(settings):
    factory = RequestFactory()
    response = HttpResponse("x")
    response._csp_replace = {"frame-ancestors": ["https://shop.example.com"]}
    replaced = _headers(CSPMiddleware, factory.get("/s/abc/embed/"), response)
    assert "frame-ancestors https://shop.example.com" in replaced["Content-Security-Policy"]

    settings.CONTENT_SECURITY_POLICY = {
        "DIRECTIVES": {"default-src": ["'self'"], "script-src": ["'self'", NONCE]}
    }
    request = factory.get("/inbox/")
    middleware = CSPMiddleware(lambda r: HttpResponse("x"))
    middleware.process_request(request)
    nonce = str(request.csp_nonce)
    with_nonce = middleware.process_response(request, HttpResponse("x"))
    assert f"script-src 'self' 'nonce-{nonce}'" in with_nonce["Content-Security-Policy"]
    # Asking for a nonce after the header is written stays an error, as in django-csp.
    plain = factory.get("/inbox/")
    middleware.process_request(plain)
    middleware.process_response(plain, HttpResponse("x"))
    with pytest.raises(Exception, match="csp_nonce"):
        str(plain.csp_nonce)
