"""One row of every model a URL can point to, all with the same primary key.

Whatever model a view looks ``<int:pk>`` up in, ``PK`` finds a row, so the role matrix
reaches each view's permission check and its body with a real object.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.utils import timezone
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.models import ApiKey
from accounts.services import create_api_key
from api.models import WebhookDelivery, WebhookEndpoint
from customization.models import (
    CustomerPreference,
    CustomizationEvidence,
    CustomizationRequest,
    Segment,
)
from feedback import privacy
from feedback.models import (
    Customer,
    Feedback,
    FeedbackNote,
    FocusGroup,
    FocusGroupEntry,
    Interview,
    InterviewHighlight,
    Product,
    ReviewImport,
    ReviewSource,
    SavedView,
    Tag,
)
from innovation.models import Idea, IdeaEvidence, IdeaSuggestion, IdeaVote, SegmentWeight
from insights.models import Alert, AlertRule, KeywordRule, SentimentModel, Theme
from surveys import distribution
from surveys.models import Invitation, Question, Survey

PK = 4242
SLUG = "matrix-survey"
CUSTOMER_EMAIL = "matrix.customer@example.com"


def _value(field: models.Field):
    """A valid value for a required field that the caller left out."""
    if field.choices:
        return field.choices[0][0]
    if isinstance(field, models.EmailField):
        return "matrix@example.com"
    if isinstance(field, (models.CharField, models.TextField)):
        return "matrix"[: field.max_length or 6]
    if isinstance(field, models.DateTimeField):
        return timezone.now()
    if isinstance(field, models.DateField):
        return timezone.localdate()
    if isinstance(field, (models.IntegerField, models.DecimalField)):
        return 1
    if isinstance(field, models.FloatField):
        return 0.5
    if isinstance(field, models.JSONField):
        return {}
    raise TypeError(f"No sample value for {field!r}")


def make(model, **values):
    """``model`` row with ``pk=PK``, ``values`` and a sample for every other required field."""
    for field in model._meta.concrete_fields:
        if field.primary_key or field.name in values or field.attname in values:
            continue
        if field.null or field.has_default() or getattr(field, "auto_now", False):
            continue
        if getattr(field, "auto_now_add", False) or field.is_relation:
            continue
        if field.blank and isinstance(field, (models.CharField, models.TextField)):
            continue
        values[field.name] = _value(field)
    return model.objects.create(pk=PK, **values)


@dataclass
class World:
    survey: Survey
    invitation_token: str
    privacy_token: str
    opt_out_token: str
    api_keys: dict[str, str]  # scope (or "" for none, "*" for all) -> raw key


def build_world(*, owner) -> World:
    """Every object at ``PK``; ``owner`` (a staff member) owns the saved view and wrote
    the note."""
    now = timezone.now()
    user_model = get_user_model()
    person = user_model.objects.create_user(
        pk=PK, username="matrix_person", email="person@example.com"
    )
    TOTPDevice.objects.create(pk=PK, user=person, name="Matrix phone", confirmed=False)
    product = make(Product, name="Matrix app", slug="matrix-app")
    customer = make(Customer, name="Matrix customer", email=CUSTOMER_EMAIL)
    feedback = make(
        Feedback,
        channel=Feedback.Channel.FORM,
        text="The export button is hard to find.",
        received_at=now - dt.timedelta(hours=2),
        customer=customer,
        product=product,
    )
    make(Tag, name="matrix")
    make(SavedView, owner=owner, name="Matrix view", query="")
    make(FeedbackNote, feedback=feedback, author=owner, text="Matrix note")
    make(ReviewImport, stored_name="matrix.csv", file_format="csv", encoding="utf-8")
    make(ReviewSource, name="Matrix feed", slug="matrix-feed", url="https://example.com/feed")
    group = make(FocusGroup, topic="Checkout", scheduled_at=now - dt.timedelta(days=1))
    make(FocusGroupEntry, focus_group=group, feedback=feedback)
    interview = make(Interview, customer=customer, conducted_at=now - dt.timedelta(days=1))
    make(InterviewHighlight, interview=interview, feedback=feedback, start=0, end=3)

    survey = make(Survey, title="Matrix survey", slug=SLUG, status=Survey.Status.OPEN)
    make(Question, survey=survey, key="nps", kind=Question.Kind.NPS, text="Recommend us?")
    token, digest = distribution.new_token()
    make(
        Invitation,
        survey=survey,
        customer=customer,
        email=CUSTOMER_EMAIL,
        token_digest=digest,
        status=Invitation.Status.SENT,
        sent_at=now,
        token_expires_at=now + dt.timedelta(days=7),
    )

    theme = make(Theme, name="Export", slug="export")
    make(KeywordRule, theme=theme, keywords="export")
    make(AlertRule, name="Matrix rule", threshold=10)
    make(Alert, fingerprint="matrix", title="Matrix alert", last_seen_at=now)
    make(SentimentModel, version=PK)

    segment = make(Segment, name="Matrix segment")
    make(SegmentWeight, segment=segment)
    request = make(CustomizationRequest, title="Matrix request", customer=customer)
    make(CustomizationEvidence, request=request, feedback=feedback)
    make(CustomerPreference, customer=customer, key="language", value="fr", stated_on=now.date())
    idea = make(Idea, title="Find export faster", problem="Customers cannot find the export.")
    make(IdeaEvidence, idea=idea, feedback=feedback)
    make(IdeaVote, idea=idea, customer=customer)
    make(IdeaSuggestion, theme=theme, title="Export pain")
    hook = make(
        WebhookEndpoint, name="Matrix hook", url="https://example.com/hook", secret="s" * 32
    )
    make(WebhookDelivery, endpoint=hook, event="ping", payload={})

    key_pk, _ = create_api_key(name="matrix key", scopes=[])
    ApiKey.objects.filter(pk=key_pk.pk).update(id=PK)
    api_keys = {"": create_api_key(name="no scope", scopes=[])[1]}
    api_keys["*"] = create_api_key(name="every scope", scopes=list(ApiKey.Scope.values))[1]
    for scope in ApiKey.Scope.values:
        api_keys[scope] = create_api_key(name=scope, scopes=[scope])[1]
    return World(
        survey=survey,
        invitation_token=token,
        privacy_token=privacy.make_token(CUSTOMER_EMAIL),
        opt_out_token=distribution.opt_out_token(customer),
        api_keys=api_keys,
    )


def feedback_content_type_id() -> int:
    return ContentType.objects.get_for_model(Feedback).pk
