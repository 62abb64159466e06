"""Demo surveys for the demo organisation: built and answered through the real services.

An open after-purchase NPS survey of external customers with a follow-up for detractors,
and a closed internal survey of the support desk; responses spread over the last 90 days,
texts drawn from the demo phrases, deterministic for a seed.
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone

from feedback.demo_data import phrases
from feedback.models import Customer, Product

from . import services
from .models import Survey

DEMO_SLUGS = ("demo-after-purchase", "demo-it-desk")
_SPAN_DAYS = 90


@dataclass(frozen=True)
class DemoSurveySummary:
    surveys: int
    responses: int


def load_demo_surveys(*, seed: int = 7, responses: int = 400) -> DemoSurveySummary:
    """Create the demo surveys with ``responses`` answers in all; nothing when they exist."""
    if Survey.objects.filter(slug__in=DEMO_SLUGS).exists():
        return DemoSurveySummary(surveys=0, responses=0)
    rng = random.Random(f"{seed}:surveys")
    now = timezone.now()
    external = list(Customer.objects.filter(kind=Customer.Kind.EXTERNAL).order_by("pk")[:500])
    internal = list(Customer.objects.filter(kind=Customer.Kind.INTERNAL).order_by("pk")[:200])
    stored = 0
    with transaction.atomic():
        purchase = _after_purchase_survey(now)
        desk = _it_desk_survey(now)
        for _ in range(responses * 3 // 4):
            stored += _answer_purchase(
                purchase, rng, now, rng.choice(external) if external else None
            )
        for _ in range(responses - responses * 3 // 4):
            stored += _answer_desk(desk, rng, now, rng.choice(internal) if internal else None)
        services.close_survey(survey=desk)
    return DemoSurveySummary(surveys=2, responses=stored)


def _opened_long_ago(survey: Survey, now: dt.datetime, slug: str) -> Survey:
    services.open_survey(survey=survey)
    # A recognisable link, and open for the whole span the demo answers cover.
    Survey.objects.filter(pk=survey.pk).update(
        slug=slug, opened_at=now - dt.timedelta(days=_SPAN_DAYS + 1)
    )
    survey.refresh_from_db()
    return survey


def _after_purchase_survey(now: dt.datetime) -> Survey:
    survey = services.create_survey(
        title="After your purchase",
        description="Two minutes about your last order with Brightway.",
        product=Product.objects.filter(slug=phrases.MOBILE_APP).first(),
    )
    services.add_question(
        survey=survey,
        key="nps",
        kind="nps",
        required=True,
        text="How likely are you to recommend Brightway to a friend or colleague?",
    )
    services.add_question(
        survey=survey,
        key="csat",
        kind="csat",
        required=True,
        text="How satisfied are you with your last order?",
    )
    services.add_question(
        survey=survey,
        key="order_channel",
        kind="single",
        text="Where did you place the order?",
        choices=["Mobile app", "Web portal", "Phone"],
        allow_other=True,
    )
    services.add_question(
        survey=survey,
        key="why",
        kind="long_text",
        text="What should we have done better?",
        show_if={"question": "nps", "op": "lte", "value": 6},
    )
    services.add_question(
        survey=survey,
        key="best",
        kind="short_text",
        text="What did you like most?",
        show_if={"question": "nps", "op": "gte", "value": 9},
    )
    return _opened_long_ago(survey, now, DEMO_SLUGS[0])


def _it_desk_survey(now: dt.datetime) -> Survey:
    survey = services.create_survey(
        title="IT service desk: how did we do?",
        audience=Survey.Audience.INTERNAL,
        product=Product.objects.filter(slug=phrases.SUPPORT_DESK).first(),
    )
    services.add_question(
        survey=survey,
        key="ces",
        kind="ces",
        required=True,
        text="How easy was it to get your issue solved?",
    )
    services.add_question(
        survey=survey,
        key="solved",
        kind="yes_no",
        required=True,
        text="Was your issue solved the first time?",
    )
    services.add_question(survey=survey, key="comment", kind="long_text", text="Anything else?")
    return _opened_long_ago(survey, now, DEMO_SLUGS[1])


def _when(rng: random.Random, now: dt.datetime) -> dt.datetime:
    return now - dt.timedelta(days=rng.random() * _SPAN_DAYS)


def _clause(rng: random.Random, product: str, tone: str) -> str:
    subject = rng.choice(phrases.PRODUCT_SUBJECTS[product])
    predicate = rng.choice(phrases.PRODUCT_PREDICATES[product][tone])
    return f"{subject[0].upper()}{subject[1:]} {predicate}."


def _answer_purchase(survey, rng, now, customer) -> int:
    nps = rng.choices(range(11), weights=[2, 1, 1, 2, 2, 4, 5, 9, 14, 16, 12])[0]
    tone = "negative" if nps <= 6 else "neutral" if nps <= 8 else "positive"
    answers = {
        "nps": nps,
        "csat": max(1, min(5, round(nps / 2.2) + rng.choice((-1, 0, 0, 1)))),
        "order_channel": rng.choice(["Mobile app", "Mobile app", "Web portal", "Phone"]),
    }
    product = rng.choice([phrases.MOBILE_APP, phrases.DELIVERY, phrases.PAYMENTS])
    if nps <= 6 and rng.random() < 0.8:
        answers["why"] = _clause(rng, product, tone)
    if nps >= 9 and rng.random() < 0.5:
        answers["best"] = _clause(rng, product, "positive")[:500]
    _, created = services.submit_response(
        survey=survey,
        answers=answers,
        channel="link",
        customer=customer,
        submitted_at=_when(rng, now),
    )
    return int(created)


def _answer_desk(survey, rng, now, customer) -> int:
    ces = rng.choices(range(1, 8), weights=[1, 2, 3, 5, 7, 6, 3])[0]
    answers = {"ces": ces, "solved": "yes" if rng.random() < 0.7 else "no"}
    if rng.random() < 0.4:
        tone = "negative" if ces <= 3 else "positive"
        answers["comment"] = _clause(rng, phrases.SUPPORT_DESK, tone)
    _, created = services.submit_response(
        survey=survey,
        answers=answers,
        channel="link",
        customer=customer,
        submitted_at=_when(rng, now),
    )
    return int(created)
