"""Who may open what: every URL pattern of FocusLoop, requested as every kind of visitor.

The table ``EXPECTED`` holds one entry per URL name (unnamed patterns: their route), so a
new URL fails this test until someone decides who may open it. Every model a URL can point
to has a row with the same primary key (``tests/role_world.py``), so each request reaches
the view's permission check with a real object. Each request runs in a savepoint that is
rolled back, so a POST that deletes or merges something leaves the world intact.

Outcomes:
- allowed: anything but a redirect to the login page, 401, 403, 404, 405 or a 5xx
  (404 only where the entry names the actor in ``hidden``);
- denied: pages send anonymous visitors (and API keys, which pages ignore) to the login
  page and answer 403 to signed-in people without the permission; the API answers 401 to
  anonymous callers and 403 to keys without the scope or people without the permission.
"""

from __future__ import annotations

import logging
import re
import time
from dataclasses import dataclass, field

import pytest
from django.contrib import admin
from django.db import transaction
from django.test import Client, RequestFactory
from django.urls import URLResolver, get_resolver

from accounts.models import ApiKey
from tests import role_world
from tests.role_world import PK, SLUG

# --- Actors -----------------------------------------------------------------------------

ANONYMOUS = "anonymous"
CUSTOMER_LINK = "customer link"
OUTSIDER = "outsider"
STAFF_ACTOR = "staff"
MANAGER_ACTOR = "manager"
ADMIN_ACTOR = "admin"
USERS = [OUTSIDER, STAFF_ACTOR, MANAGER_ACTOR, ADMIN_ACTOR]
# Every single-scope key, a key without scopes and a key with all of them.
KEYS = [f"key {scope}" for scope in ApiKey.Scope.values] + ["key (no scope)", "key (all scopes)"]
PAGE_KEYS = ["key (all scopes)"]  # pages ignore API keys: one key shows it

# --- Role classes -----------------------------------------------------------------------

PUBLIC = "public"
LOGGED_IN = "logged in"
STAFF = "staff"
MANAGER = "manager"
ADMIN = "admin"
RANK = {OUTSIDER: 0, STAFF_ACTOR: 1, MANAGER_ACTOR: 2, ADMIN_ACTOR: 3}
MIN_RANK = {LOGGED_IN: 0, STAFF: 1, MANAGER: 2, ADMIN: 3}


@dataclass
class Page:
    role: str
    method: str = "GET"
    token: bool = False  # a customer link: anonymous visitors try a forged one
    anonymous: int = 302  # what an anonymous visitor gets when denied
    hidden: frozenset = frozenset()  # actors that may get 404 (object of another owner)
    post: str | None = None  # a GET page whose POST needs a stronger role
    may_503: bool = False  # a health probe reports a missing service with 503
    actual: dict = field(default_factory=dict)  # actor -> status seen where it is a bug


@dataclass
class Api:
    methods: dict  # method -> (scope, role)
    hidden: frozenset = frozenset()
    actual: dict = field(default_factory=dict)


@dataclass
class AdminSite:
    """Django admin: only ``is_staff`` people get in; inside, the model permissions rule."""

    model: str | None = None  # "app_label.model_name" of a ModelAdmin URL
    action: str = ""  # changelist, add, change, history, delete
    method: str = "GET"
    not_found: bool = False  # the catch-all answers 404 to those it lets in
    actual: dict = field(default_factory=dict)  # actor -> status seen, not a permission bug


def page(role, method="GET", **kwargs):
    return Page(role, method, **kwargs)


def api(**methods):
    return Api(methods)


def admin_site(**kwargs):
    return AdminSite(**kwargs)


# --- The table: who may open each URL ------------------------------------------------------

EXPECTED: dict = {
    "api:feedback-list": api(GET=("feedback:read", STAFF), POST=("feedback:write", STAFF)),
    "api:feedback-detail": api(GET=("feedback:read", STAFF), PATCH=("feedback:write", STAFF)),
    "api:feedback-bulk": api(POST=("feedback:write", STAFF)),
    "api:customer-list": api(GET=("feedback:read", STAFF)),
    "api:product-list": api(GET=("feedback:read", STAFF)),
    "api:review-import-list": api(GET=("feedback:read", STAFF), POST=("feedback:write", STAFF)),
    "api:review-import-detail": api(GET=("feedback:read", STAFF)),
    "api:review-import-errors": api(GET=("feedback:read", STAFF)),
    "api:focus-group-list": api(GET=("feedback:read", STAFF), POST=("feedback:write", STAFF)),
    "api:focus-group-detail": api(
        GET=("feedback:read", STAFF),
        PATCH=("feedback:write", STAFF),
        DELETE=("feedback:write", MANAGER),
    ),
    "api:focus-group-entries": api(GET=("feedback:read", STAFF), POST=("feedback:write", STAFF)),
    "api:interview-list": api(GET=("feedback:read", STAFF), POST=("feedback:write", STAFF)),
    "api:interview-detail": api(
        GET=("feedback:read", STAFF),
        PATCH=("feedback:write", STAFF),
        DELETE=("feedback:write", MANAGER),
    ),
    "api:interview-highlights": api(GET=("feedback:read", STAFF), POST=("feedback:write", STAFF)),
    "api:review-source-list": api(GET=("feedback:read", STAFF)),
    "api:review-source-detail": api(GET=("feedback:read", STAFF)),
    "api:survey-list": api(GET=("surveys:read", STAFF)),
    "api:survey-detail": api(GET=("surveys:read", STAFF)),
    "api:survey-results": api(GET=("surveys:read", STAFF)),
    "api:survey-responses": api(GET=("surveys:read", STAFF), POST=("surveys:write", STAFF)),
    "api:survey-questions": api(GET=("surveys:read", STAFF)),
    "api:survey-question-detail": api(GET=("surveys:read", STAFF)),
    "api:survey-invitations": api(GET=("surveys:read", STAFF), POST=("surveys:write", MANAGER)),
    "api:survey-invitation-detail": api(GET=("surveys:read", STAFF)),
    "api:survey-invitation-reminders": api(POST=("surveys:write", MANAGER)),
    "api:survey-invitation-resend": api(POST=("surveys:write", MANAGER)),
    "api:webhook-list": api(GET=("webhooks:manage", ADMIN), POST=("webhooks:manage", ADMIN)),
    "api:webhook-detail": api(
        GET=("webhooks:manage", ADMIN),
        PATCH=("webhooks:manage", ADMIN),
        DELETE=("webhooks:manage", ADMIN),
    ),
    "api:webhook-deliveries": api(GET=("webhooks:manage", ADMIN)),
    "api:webhook-redeliver": api(POST=("webhooks:manage", ADMIN)),
    "api:webhook-test": api(POST=("webhooks:manage", ADMIN)),
    "api:theme-list": api(GET=("insights:read", MANAGER)),
    "api:alert-list": api(GET=("insights:read", STAFF)),
    "api:alert-acknowledge": api(POST=("insights:write", STAFF)),
    "api:alert-resolve": api(POST=("insights:write", STAFF)),
    "api:forecast-list": api(GET=("insights:read", MANAGER)),
    "api:metric-kpis": api(GET=("insights:read", MANAGER)),
    "api:metric-series": api(GET=("insights:read", MANAGER)),
    "api:segment-list": api(GET=("backlog:read", STAFF), POST=("backlog:write", MANAGER)),
    "api:segment-detail": api(GET=("backlog:read", STAFF), PATCH=("backlog:write", MANAGER)),
    "api:segment-members": api(GET=("backlog:read", STAFF)),
    "api:segment-accept": api(POST=("backlog:write", MANAGER)),
    "api:segment-discard": api(POST=("backlog:write", MANAGER)),
    "api:segment-refresh": api(POST=("backlog:write", MANAGER)),
    "api:customization-request-list": api(
        GET=("backlog:read", STAFF), POST=("backlog:write", STAFF)
    ),
    "api:customization-request-detail": api(
        GET=("backlog:read", STAFF), PATCH=("backlog:write", MANAGER)
    ),
    "api:customization-request-status": api(POST=("backlog:write", MANAGER)),
    "api:customization-request-evidence": api(
        POST=("backlog:write", STAFF), DELETE=("backlog:write", MANAGER)
    ),
    "api:customer-preference-list": api(GET=("backlog:read", STAFF), POST=("backlog:write", STAFF)),
    "api:customer-preference-detail": api(
        GET=("backlog:read", STAFF),
        PATCH=("backlog:write", STAFF),
        DELETE=("backlog:write", MANAGER),
    ),
    "api:idea-list": api(GET=("backlog:read", STAFF), POST=("backlog:write", STAFF)),
    "api:idea-detail": api(GET=("backlog:read", STAFF), PATCH=("backlog:write", MANAGER)),
    "api:idea-status": api(POST=("backlog:write", MANAGER)),
    "api:idea-merge": api(POST=("backlog:write", MANAGER)),
    "api:idea-unmerge": api(POST=("backlog:write", MANAGER)),
    "api:idea-evidence": api(GET=("backlog:read", STAFF), POST=("backlog:write", STAFF)),
    "api:idea-evidence-detail": api(DELETE=("backlog:write", STAFF)),
    "api:idea-similar": api(GET=("backlog:read", STAFF)),
    "api:idea-votes": api(GET=("backlog:read", STAFF), POST=("backlog:write", STAFF)),
    "api:idea-vote-detail": api(DELETE=("backlog:write", STAFF)),
    "api:roadmap": api(GET=("backlog:read", STAFF)),
    "api:roadmap-move": api(POST=("backlog:write", MANAGER)),
    "api:changelog": api(GET=("backlog:read", STAFF)),
    "api:idea-suggestion-list": api(GET=("backlog:read", MANAGER)),
    "api:idea-suggestion-accept": api(POST=("backlog:write", MANAGER)),
    "api:idea-suggestion-dismiss": api(POST=("backlog:write", MANAGER)),
    # The API description is public: it names endpoints and fields, no data.
    "api:schema": page(PUBLIC),  # api/v1/schema/
    "api:docs": page(PUBLIC),  # api/v1/docs/
    "api:redoc": page(PUBLIC),  # api/v1/redoc/
    "home": page(PUBLIC),  # / sends each visitor to their start page (anonymous: login)
    "login": page(PUBLIC),  # login/
    "two_factor": page(LOGGED_IN),  # account/two-factor/
    "logout": page(PUBLIC, "POST"),  # logout/
    "healthz": page(PUBLIC),  # healthz/
    # A probe for monitoring: 503 names the queues whose workers went silent.
    "healthz_workers": page(PUBLIC, may_503=True),  # healthz/workers/
    "audit_log": page(MANAGER),  # audit/
    "accounts:api_keys": page(ADMIN),  # settings/api-keys/
    "accounts:api_key_create": page(ADMIN, "POST"),  # settings/api-keys/new/
    "accounts:api_key_revoke": page(ADMIN, "POST"),  # settings/api-keys/<int:pk>/revoke/
    "accounts:webhooks": page(ADMIN),  # settings/webhooks/
    "accounts:webhook_detail": page(ADMIN),  # settings/webhooks/<int:pk>/
    "accounts:webhook_action": page(ADMIN, "POST"),  # settings/webhooks/<int:pk>/<str:action>/
    "feedback:public_form": page(PUBLIC),  # feedback/
    "feedback:thanks": page(PUBLIC),  # feedback/thanks/
    "feedback:privacy_start": page(PUBLIC),  # privacy/
    "feedback:privacy_request": page(PUBLIC, token=True),  # privacy/<str:token>/
    "feedback:privacy_export": page(PUBLIC, token=True),  # privacy/<str:token>/export.<str:fmt>
    "feedback:privacy_erase": page(PUBLIC, "POST", token=True),  # privacy/<str:token>/erase/
    "feedback:inbox": page(STAFF),  # inbox/
    "feedback:inbox_bulk": page(STAFF, "POST"),  # inbox/bulk/
    "feedback:saved_view_create": page(STAFF, "POST"),  # inbox/views/
    # The saved view belongs to the staff member: for others the delete is a no-op with a
    # message (302), decided by the service, not by the role gate.
    "feedback:saved_view_delete": page(STAFF, "POST"),  # inbox/views/<int:pk>/delete/
    # Same rule for renaming or (un)sharing it: only the owner; others get a message (302).
    "feedback:saved_view_edit": page(STAFF, "POST"),  # inbox/views/<int:pk>/edit/
    "feedback:detail": page(STAFF),  # inbox/<int:pk>/
    "feedback:note_add": page(STAFF, "POST"),  # inbox/<int:pk>/notes/
    # The note is the staff member's (admins may change any): for others the edit or
    # delete is refused with a message (302), decided per note, not by the role gate.
    "feedback:note_edit": page(STAFF, "POST"),  # inbox/<int:pk>/notes/<int:note_pk>/edit/
    "feedback:note_delete": page(STAFF, "POST"),  # inbox/<int:pk>/notes/<int:note_pk>/delete/
    "feedback:customers": page(STAFF),  # customers/
    "feedback:customer_detail": page(STAFF),  # customers/<int:pk>/
    "feedback:focus_groups": page(STAFF),  # focus-groups/
    "feedback:focus_group_create": page(STAFF),  # focus-groups/new/
    "feedback:focus_group_detail": page(STAFF),  # focus-groups/<int:pk>/
    "feedback:focus_group_edit": page(STAFF),  # focus-groups/<int:pk>/edit/
    "feedback:focus_group_entry_add": page(STAFF, "POST"),  # focus-groups/<int:pk>/entries/
    "feedback:focus_group_entry_delete": page(
        STAFF, "POST"
    ),  # focus-groups/<int:pk>/entries/<int:entry_pk>/delete/
    "feedback:interviews": page(STAFF),  # interviews/
    "feedback:interview_create": page(STAFF),  # interviews/new/
    "feedback:interview_detail": page(STAFF),  # interviews/<int:pk>/
    "feedback:interview_edit": page(STAFF),  # interviews/<int:pk>/edit/
    "feedback:interview_highlight_add": page(STAFF, "POST"),  # interviews/<int:pk>/highlights/
    "feedback:interview_highlight_delete": page(
        STAFF, "POST"
    ),  # interviews/<int:pk>/highlights/<int:highlight_pk>/delete/
    "feedback:review_sources": page(STAFF),  # sources/
    "feedback:review_source_create": page(MANAGER),  # sources/new/
    "feedback:review_source_edit": page(MANAGER),  # sources/<int:pk>/edit/
    "feedback:review_source_poll": page(MANAGER, "POST"),  # sources/<int:pk>/poll/
    "feedback:review_imports": page(STAFF),  # imports/reviews/
    "feedback:review_import_detail": page(STAFF),  # imports/reviews/<int:pk>/
    "feedback:review_import_map": page(STAFF),  # imports/reviews/<int:pk>/columns/
    "feedback:review_import_resume": page(STAFF, "POST"),  # imports/reviews/<int:pk>/resume/
    "feedback:review_import_discard": page(STAFF, "POST"),  # imports/reviews/<int:pk>/discard/
    "feedback:review_import_errors_csv": page(STAFF),  # imports/reviews/<int:pk>/skipped-rows.csv
    "insights:dashboard": page(MANAGER),  # insights/
    "insights:rankings": page(MANAGER),  # insights/rankings/
    "insights:sentiment_models": page(MANAGER),  # insights/models/
    "insights:activate_sentiment_model": page(
        MANAGER, "POST"
    ),  # insights/models/<int:version>/activate/
    "insights:retrain_sentiment_model": page(MANAGER, "POST"),  # insights/models/retrain/
    "insights:run_now": page(MANAGER, "POST"),  # insights/runs/start/
    "insights:correct_sentiment": page(STAFF, "POST"),  # insights/feedback/<int:pk>/sentiment/
    "insights:feedback_theme_add": page(MANAGER, "POST"),  # insights/feedback/<int:pk>/themes/
    "insights:feedback_theme_remove": page(
        MANAGER, "POST"
    ),  # insights/feedback/<int:pk>/themes/<int:theme_pk>/remove/
    "insights:themes": page(MANAGER),  # insights/themes/
    "insights:themes_discover": page(MANAGER, "POST"),  # insights/themes/discover/
    "insights:theme_detail": page(MANAGER),  # insights/themes/<int:pk>/
    "insights:theme_rename": page(MANAGER, "POST"),  # insights/themes/<int:pk>/rename/
    "insights:theme_merge": page(MANAGER, "POST"),  # insights/themes/<int:pk>/merge/
    "insights:theme_split": page(MANAGER, "POST"),  # insights/themes/<int:pk>/split/
    "insights:theme_status": page(MANAGER, "POST"),  # insights/themes/<int:pk>/status/
    "insights:theme_pin": page(MANAGER, "POST"),  # insights/themes/<int:pk>/pin/
    "insights:theme_rule_add": page(MANAGER, "POST"),  # insights/themes/<int:pk>/rules/
    "insights:theme_rule_delete": page(
        MANAGER, "POST"
    ),  # insights/themes/<int:pk>/rules/<int:rule_pk>/delete/
    "insights:alerts": page(STAFF),  # insights/alerts/
    "insights:alert_count": page(STAFF),  # insights/alerts/count.json
    "insights:alert_acknowledge": page(STAFF, "POST"),  # insights/alerts/<int:pk>/acknowledge/
    "insights:alert_resolve": page(STAFF, "POST"),  # insights/alerts/<int:pk>/resolve/
    "insights:alert_rules": page(MANAGER),  # insights/alerts/rules/
    "insights:alert_rule_new": page(MANAGER),  # insights/alerts/rules/new/
    "insights:alert_rule_edit": page(MANAGER),  # insights/alerts/rules/<int:pk>/
    "insights:product_owner_set": page(MANAGER, "POST"),  # insights/alerts/owners/
    "insights:runs": page(MANAGER),  # insights/runs/
    "insights:run_status": page(MANAGER),  # insights/runs/status.json
    "insights:forecasts": page(MANAGER),  # insights/forecasts/
    "insights:trends": page(MANAGER),  # insights/trends/
    "surveys:list": page(STAFF),  # surveys/
    "surveys:new": page(MANAGER),  # surveys/new/
    "surveys:detail": page(
        STAFF, post=MANAGER
    ),  # staff read it, managers edit  # surveys/<int:pk>/
    "surveys:open": page(MANAGER, "POST"),  # surveys/<int:pk>/open/
    "surveys:close": page(MANAGER, "POST"),  # surveys/<int:pk>/close/
    "surveys:preview": page(STAFF),  # surveys/<int:pk>/preview/
    "surveys:results": page(STAFF),  # surveys/<int:pk>/results/
    "surveys:export_csv": page(STAFF),  # surveys/<int:pk>/export.csv
    "surveys:export_xlsx": page(STAFF),  # surveys/<int:pk>/export.xlsx
    "surveys:question_new": page(MANAGER),  # surveys/<int:pk>/questions/new/
    "surveys:question_reorder": page(MANAGER, "POST"),  # surveys/<int:pk>/questions/reorder/
    "surveys:question_edit": page(MANAGER),  # surveys/<int:pk>/questions/<int:question_pk>/
    "surveys:question_delete": page(
        MANAGER, "POST"
    ),  # surveys/<int:pk>/questions/<int:question_pk>/delete/
    "surveys:question_duplicate": page(
        MANAGER, "POST"
    ),  # surveys/<int:pk>/questions/<int:question_pk>/duplicate/
    "surveys:question_up": page(
        MANAGER, "POST"
    ),  # surveys/<int:pk>/questions/<int:question_pk>/up/
    "surveys:question_down": page(
        MANAGER, "POST"
    ),  # surveys/<int:pk>/questions/<int:question_pk>/down/
    "surveys:respond": page(PUBLIC),  # s/<slug:slug>/
    "surveys:embed": page(PUBLIC),  # s/<slug:slug>/embed/
    "surveys:thanks": page(PUBLIC),  # s/<slug:slug>/thanks/
    "surveys:invitation_answer": page(PUBLIC, token=True),  # s/<slug:slug>/i/<str:token>/
    "surveys:opt_out": page(PUBLIC, token=True),  # s/opt-out/<str:token>/
    "surveys:invitations": page(
        STAFF, post=MANAGER
    ),  # managers send invitations  # surveys/<int:pk>/invitations/
    "surveys:share": page(STAFF),  # surveys/<int:pk>/share/
    "surveys:qr_png": page(STAFF),  # surveys/<int:pk>/qr.png
    "surveys:qr_svg": page(STAFF),  # surveys/<int:pk>/qr.svg
    "surveys:kiosk": page(STAFF),  # surveys/<int:pk>/kiosk/
    "surveys:kiosk_sync": page(STAFF, "POST", anonymous=401),  # surveys/<int:pk>/kiosk/sync/
    "surveys:kiosk_worker": page(STAFF),  # surveys/<int:pk>/kiosk/worker.js
    "customization:segments": page(STAFF),  # segments/
    "customization:segment_create": page(MANAGER),  # segments/new/
    "customization:segments_suggest": page(MANAGER, "POST"),  # segments/suggest/
    "customization:segment_detail": page(STAFF),  # segments/<int:pk>/
    "customization:segment_edit": page(MANAGER),  # segments/<int:pk>/edit/
    "customization:segment_refresh": page(MANAGER, "POST"),  # segments/<int:pk>/refresh/
    "customization:segment_accept": page(MANAGER, "POST"),  # segments/<int:pk>/accept/
    "customization:segment_rename": page(MANAGER, "POST"),  # segments/<int:pk>/rename/
    "customization:segment_discard": page(MANAGER, "POST"),  # segments/<int:pk>/discard/
    "customization:requests": page(STAFF),  # customizations/
    "customization:request_create": page(STAFF),  # customizations/new/
    "customization:requests_promote": page(MANAGER, "POST"),  # customizations/promote/
    "customization:request_detail": page(STAFF),  # customizations/<int:pk>/
    "customization:request_edit": page(
        MANAGER
    ),  # staff open requests, managers edit  # customizations/<int:pk>/edit/
    "customization:request_status": page(MANAGER, "POST"),  # customizations/<int:pk>/status/
    "customization:request_evidence_add": page(STAFF, "POST"),  # customizations/<int:pk>/evidence/
    "customization:request_evidence_remove": page(
        MANAGER, "POST"
    ),  # customizations/<int:pk>/evidence/<int:feedback_pk>/remove/
    "customization:request_from_feedback": page(
        STAFF, "POST"
    ),  # customizations/from-feedback/<int:feedback_pk>/
    "customization:request_from_theme": page(
        MANAGER
    ),  # themes are for managers  # customizations/from-theme/<int:theme_pk>/
    "customization:preference_add": page(STAFF, "POST"),  # customers/<int:customer_pk>/preferences/
    "customization:preference_edit": page(STAFF),  # preferences/<int:pk>/edit/
    "customization:preference_delete": page(MANAGER, "POST"),  # preferences/<int:pk>/delete/
    "innovation:ideas": page(STAFF),  # ideas/
    "innovation:idea_create": page(STAFF),  # ideas/new/
    "innovation:segment_weights": page(MANAGER),  # ideas/segment-weights/
    "innovation:idea_detail": page(STAFF),  # ideas/<int:pk>/
    "innovation:idea_edit": page(MANAGER),  # ideas/<int:pk>/edit/
    "innovation:idea_scores": page(MANAGER, "POST"),  # ideas/<int:pk>/scores/
    "innovation:idea_status": page(MANAGER, "POST"),  # ideas/<int:pk>/status/
    "innovation:idea_evidence_add": page(STAFF, "POST"),  # ideas/<int:pk>/evidence/
    "innovation:idea_find_evidence": page(STAFF),  # ideas/<int:pk>/evidence/find/
    "innovation:idea_evidence_remove": page(
        STAFF, "POST"
    ),  # ideas/<int:pk>/evidence/<int:feedback_pk>/remove/
    "innovation:idea_vote_add": page(STAFF, "POST"),  # ideas/<int:pk>/votes/
    "innovation:idea_vote_remove": page(
        STAFF, "POST"
    ),  # ideas/<int:pk>/votes/<int:customer_pk>/remove/
    "innovation:idea_merge": page(MANAGER, "POST"),  # ideas/<int:pk>/merge/
    "innovation:idea_unmerge": page(MANAGER, "POST"),  # ideas/<int:pk>/unmerge/
    "innovation:feedback_add_to_idea": page(
        STAFF, "POST"
    ),  # ideas/from-feedback/<int:feedback_pk>/
    "innovation:roadmap": page(STAFF),  # roadmap/
    "innovation:public_roadmap": page(PUBLIC),  # roadmap/public/
    "innovation:roadmap_item": page(STAFF),  # roadmap/ideas/<int:pk>/
    "innovation:roadmap_move": page(MANAGER, "POST"),  # roadmap/ideas/<int:pk>/move/
    "innovation:roadmap_ship": page(MANAGER, "POST"),  # roadmap/ideas/<int:pk>/ship/
    "innovation:roadmap_public": page(MANAGER, "POST"),  # roadmap/ideas/<int:pk>/public/
    "innovation:changelog": page(STAFF),  # changelog/
    "innovation:suggestions": page(MANAGER),  # ideas/suggestions/
    "innovation:suggestion_accept": page(MANAGER, "POST"),  # ideas/suggestions/<int:pk>/accept/
    "innovation:suggestion_dismiss": page(MANAGER, "POST"),  # ideas/suggestions/<int:pk>/dismiss/
    # Django admin: its own class. Only ``is_staff`` people (the admin role) get past the
    # admin login; inside, each model's view/add/change/delete permission decides.
    "admin:index": admin_site(),
    "admin:login": page(PUBLIC),
    "admin:logout": page(PUBLIC, "POST"),  # logging out is harmless for anyone
    "admin:password_change": admin_site(),
    "admin:password_change_done": admin_site(),
    # Django answers 403 to an autocomplete request that names no field to complete.
    "admin:autocomplete": admin_site(actual={ADMIN_ACTOR: "403"}),
    "admin:jsi18n": admin_site(),
    # Feedback has no public page (no get_absolute_url): 404 once past the admin login.
    "admin:view_on_site": admin_site(not_found=True),
    "admin:app_list": admin_site(),
    "admin:auth_user_password_change": admin_site(model="auth.user", action="change"),
    "admin:otp_totp_totpdevice_config": admin_site(model="otp_totp.totpdevice", action="change"),
    "admin:otp_totp_totpdevice_qrcode": admin_site(model="otp_totp.totpdevice", action="change"),
    "admin/(?P<url>.*)$": admin_site(not_found=True),
}

# Every model registered in the admin; each gets changelist/add/change/history/delete URLs
# (and an unnamed ``<object_id>/`` redirect to its change page, behind the admin login).
ADMIN_MODELS = {
    "accounts.apikey",
    "api.webhookdelivery",
    "api.webhookendpoint",
    "auditlog.logentry",
    "auth.group",
    "auth.user",
    "axes.accessattempt",
    "axes.accessfailurelog",
    "axes.accesslog",
    "customization.customerpreference",
    "customization.customizationrequest",
    "customization.customizationstatuschange",
    "customization.segment",
    "django_celery_beat.clockedschedule",
    "django_celery_beat.crontabschedule",
    "django_celery_beat.intervalschedule",
    "django_celery_beat.periodictask",
    "django_celery_beat.solarschedule",
    "feedback.customer",
    "feedback.erasurerecord",
    "feedback.feedback",
    "feedback.focusgroup",
    "feedback.interview",
    "feedback.product",
    "feedback.reviewimport",
    "feedback.reviewsource",
    "feedback.tag",
    "innovation.idea",
    "innovation.ideaevidence",
    "innovation.ideasuggestion",
    "innovation.ideavote",
    "innovation.loopmessage",
    "innovation.segmentweight",
    "insights.alert",
    "insights.alertrule",
    "insights.analysisrun",
    "insights.dailyfeedbackstat",
    "insights.forecast",
    "insights.productowner",
    "otp_totp.totpdevice",
    "surveys.idempotencyrecord",
    "surveys.invitation",
    "surveys.response",
    "surveys.survey",
}
ADMIN_ACTIONS = ("changelist", "add", "history", "delete", "change")

# --- Walking the URL patterns -----------------------------------------------------------


@dataclass
class Route:
    key: str  # URL name with namespaces, or the route of an unnamed pattern
    route: str  # the full route, converters included


def walk(resolver=None, prefix: str = "", namespace: str | None = None) -> list[Route]:
    """Every URL pattern, recursively through includes, with its namespaced name."""
    resolver = resolver or get_resolver()
    routes = []
    for pattern in resolver.url_patterns:
        text = prefix + str(pattern.pattern)
        if isinstance(pattern, URLResolver):
            inner = namespace
            if pattern.namespace:
                inner = f"{namespace}:{pattern.namespace}" if namespace else pattern.namespace
            routes += walk(pattern, text, inner)
        elif pattern.name:
            name = f"{namespace}:{pattern.name}" if namespace else pattern.name
            routes.append(Route(name, text))
        else:
            routes.append(Route(text, text))
    return routes


def _admin_model_urls() -> dict[str, AdminSite]:
    """The URL names (and unnamed redirect routes) Django admin makes for each model."""
    entries = {}
    for model in admin.site._registry:
        label = model._meta.label_lower
        stem = f"{model._meta.app_label}_{model._meta.model_name}"
        for action in ADMIN_ACTIONS:
            entries[f"admin:{stem}_{action}"] = admin_site(model=label, action=action)
        redirect = f"admin/{model._meta.app_label}/{model._meta.model_name}/<path:object_id>/"
        entries[redirect] = admin_site(model=label, action="redirect")
    return entries


def expectations() -> dict:
    unknown = set(m._meta.label_lower for m in admin.site._registry) - ADMIN_MODELS
    assert not unknown, f"Admin models without an entry in ADMIN_MODELS: {sorted(unknown)}"
    return {**_admin_model_urls(), **EXPECTED}


def test_every_url_pattern_has_an_entry():
    table = expectations()
    keys = [route.key for route in walk()]
    missing = sorted(set(keys) - set(table))
    assert not missing, f"URL patterns without an entry in the role matrix: {missing}"
    stale = sorted(set(EXPECTED) - set(keys))
    assert not stale, f"Entries for URL patterns that no longer exist: {stale}"
    assert len(keys) > 400


# --- Building URLs ----------------------------------------------------------------------

FORGED_TOKEN = "forged-token-0000"


def build_path(route: str, world, *, forged: bool = False) -> str:
    if "/i/<" in route:
        token_for = world.invitation_token
    elif "opt-out/<" in route:
        token_for = world.opt_out_token
    else:
        token_for = world.privacy_token
    values = {
        "slug": SLUG,
        "token": FORGED_TOKEN if forged else token_for,
        "fmt": "json",
        "action": "disable",
        "content_type_id": str(role_world.feedback_content_type_id()),
        "app_label": "feedback",
        "url": "no-such-page/",
    }

    def value(name: str) -> str:
        return str(values.get(name, PK))

    path = re.sub(r"\(\?P<(\w+)>[^)]*\)", lambda m: value(m.group(1)), route)
    path = re.sub(r"<(?:\w+:)?(\w+)>", lambda m: value(m.group(1)), path)
    return "/" + path.replace("^", "").replace("$", "")


# --- Judging one response ---------------------------------------------------------------


def outcome(response) -> str:
    """``login`` for a redirect to a login page asking to come back, else the status code.

    A plain redirect to the login page (after logging out, or from the start page) is
    not a refusal: the permission checks always add ``next``.
    """
    if response.status_code == 302:
        location = response.headers.get("Location", "")
        if location.startswith(("/login/?", "/admin/login/?")) and "next=" in location:
            return "login"
    return str(response.status_code)


DENIED_OUTCOMES = {"login", "401", "403"}


def judge(allowed: bool, got: str, *, denied_as: str, hidden: bool) -> str | None:
    """An error message, or None when ``got`` is what the table asks for."""
    if got.startswith("5"):
        return f"server error {got}"
    if allowed:
        if got in DENIED_OUTCOMES or got == "405" or (got == "404" and not hidden):
            return f"expected allowed, got {got}"
        return None
    if got == denied_as or (hidden and got == "404"):
        return None
    return f"expected denied ({denied_as}), got {got}"


def page_allowed(entry: Page, actor: str) -> bool:
    if entry.role == PUBLIC:
        return True
    if actor in USERS:
        return RANK[actor] >= MIN_RANK[entry.role]
    return False  # anonymous visitors and API keys


def page_denied_as(entry: Page, actor: str) -> str:
    if actor == ANONYMOUS and entry.token:
        return "404"  # a forged customer link finds nothing
    if actor in USERS:
        return "403"
    return "login" if entry.anonymous == 302 else str(entry.anonymous)


def api_allowed(scope: str, role: str, actor: str) -> bool:
    if actor in USERS:
        return RANK[actor] >= MIN_RANK[role]
    if actor == "key (all scopes)":
        return True
    return actor == f"key {scope}"


def _model_admin(label: str):
    return next(ma for m, ma in admin.site._registry.items() if m._meta.label_lower == label)


def admin_allowed(entry: AdminSite, user) -> bool:
    """Past the admin login: ``is_staff``; inside, what the ModelAdmin itself permits."""
    if user is None or not (user.is_active and user.is_staff):
        return False
    if entry.model is None or entry.action == "redirect":
        return True
    request = RequestFactory().get("/admin/")
    request.user = user
    model_admin = _model_admin(entry.model)
    if entry.action == "add":
        return model_admin.has_add_permission(request)
    if entry.action == "delete":
        return model_admin.has_delete_permission(request)
    return model_admin.has_view_or_change_permission(request)


def admin_object_missing(entry: AdminSite) -> bool:
    """Django admin redirects to its index, before checking rights, for a missing object."""
    if entry.model is None or entry.action not in ("history", "delete", "change"):
        return False
    return not _model_admin(entry.model).model._default_manager.filter(pk=PK).exists()


# --- The walk ---------------------------------------------------------------------------


@dataclass
class Check:
    actor: str
    method: str
    path: str
    allowed: bool
    denied_as: str
    probe: bool = False  # a POST sent to a page that is read with GET


def plan(entry, route: Route, world, users: dict) -> list[Check]:
    """The requests to send for one URL pattern, with what each actor should get."""
    checks = []
    if isinstance(entry, Api):
        path = build_path(route.route, world)
        for method, (scope, role) in entry.methods.items():
            for actor in [ANONYMOUS, *USERS, *KEYS]:
                allowed = actor != ANONYMOUS and api_allowed(scope, role, actor)
                denied_as = "401" if actor == ANONYMOUS else "403"
                checks.append(Check(actor, method, path, allowed, denied_as))
    elif isinstance(entry, AdminSite):
        path = build_path(route.route, world)
        for actor in [ANONYMOUS, *USERS, *PAGE_KEYS]:
            user = users.get(actor)
            denied_as = "403" if user is not None and user.is_staff else "login"
            checks.append(Check(actor, entry.method, path, admin_allowed(entry, user), denied_as))
    else:
        actors = [ANONYMOUS, *USERS, *PAGE_KEYS] + ([CUSTOMER_LINK] if entry.token else [])
        for actor in actors:
            forged = entry.token and actor == ANONYMOUS
            path = build_path(route.route, world, forged=forged)
            allowed = page_allowed(entry, actor) and not forged
            denied_as = page_denied_as(entry, actor)
            checks.append(Check(actor, entry.method, path, allowed, denied_as))
            if entry.method == "GET":
                # A form posts back to its page: the POST is gated like the GET, or by
                # the stronger role the entry names in ``post``.
                post = Page(entry.post or entry.role)
                allowed = page_allowed(post, actor) and not forged
                checks.append(Check(actor, "POST", path, allowed, denied_as, probe=True))
    return checks


def verdict(entry, check: Check, got: str) -> str | None:
    """An error message for one response, or None."""
    known = getattr(entry, "actual", {})
    key = f"{check.method} {check.actor}" if check.probe or isinstance(entry, Api) else check.actor
    if key in known:
        return None if got.startswith(known[key]) else f"known bug changed: got {got}"
    hidden = check.actor in getattr(entry, "hidden", ())
    if isinstance(entry, AdminSite):
        hidden = entry.not_found
        if not check.allowed and check.denied_as == "403" and got == "302":
            if admin_object_missing(entry):
                got = "403"  # the history page of a missing object redirects first
    if getattr(entry, "may_503", False) and got == "503":
        got = "200"
    if check.probe and got == "405":
        return None  # a page read with GET only: refusing the method shows nothing
    return judge(check.allowed, got, denied_as=check.denied_as, hidden=hidden)


def send(client: Client, method: str, path: str, *, api: bool) -> str:
    """One request inside a savepoint that is rolled back; its outcome."""
    with transaction.atomic():
        try:
            if method == "GET":
                response = client.get(path)
            elif method == "DELETE":
                response = client.delete(path)
            elif api:
                response = client.generic(method, path, "{}", content_type="application/json")
            else:
                response = client.post(path, {})
            got = outcome(response)
        except Exception as exc:  # the test client re-raises a view's exception
            got = f"500 {type(exc).__name__}: {exc}"[:300]
        transaction.set_rollback(True)
    return got


@pytest.mark.django_db
def test_role_matrix(outsider, staff_member, manager, admin_user, settings, caplog):
    settings.PUBLIC_ROADMAP_ENABLED = True
    # Thousands of expected 401/403/404s: keep Django from logging each one.
    caplog.set_level(logging.ERROR, logger="django.request")
    world = role_world.build_world(owner=staff_member)
    users = {
        OUTSIDER: outsider,
        STAFF_ACTOR: staff_member,
        MANAGER_ACTOR: manager,
        ADMIN_ACTOR: admin_user,
    }
    clients = {ANONYMOUS: Client(), CUSTOMER_LINK: Client()}
    for actor, user in users.items():
        clients[actor] = Client()
        clients[actor].force_login(user)
    for actor in KEYS:
        scope = actor.removeprefix("key ")
        raw = world.api_keys[{"(no scope)": "", "(all scopes)": "*"}.get(scope, scope)]
        clients[actor] = Client(headers={"Authorization": f"Bearer {raw}"})

    table = expectations()
    failures: list[str] = []
    checks = 0
    started = time.monotonic()
    routes = walk()
    for route in routes:
        entry = table.get(route.key)
        if entry is None:
            failures.append(f"{route.key}: no entry in the role matrix")
            continue
        for check in plan(entry, route, world, users):
            got = send(clients[check.actor], check.method, check.path, api=isinstance(entry, Api))
            checks += 1
            error = verdict(entry, check, got)
            if error:
                failures.append(
                    f"{route.key} [{check.method} {check.path}] as {check.actor}: {error}"
                )
        if route.key in ("logout", "admin:logout"):
            for actor, user in users.items():
                clients[actor].force_login(user)
    elapsed = time.monotonic() - started
    print(
        f"\nrole matrix: {len(routes)} URL patterns, {len(clients)} actors, "
        f"{checks} checks in {elapsed:.1f}s"
    )
    assert not failures, f"{len(failures)} role matrix failures:\n" + "\n".join(failures)
