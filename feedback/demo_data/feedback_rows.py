"""A year of feedback for the demo organisation, as plain data, lazily. No ORM.

Determinism: every random choice comes from a ``random.Random`` seeded from the demo seed
(one stream for customers, one for feedback content, one for timing). The content stream
never looks at the clock: row ``i`` of ``size`` sits at position ``(i + 0.5) / size`` of the
year and its age is estimated from the smooth growth curve alone, so texts, ratings,
channels, customers, statuses and tags are the same for a seed and size whatever the time
of the run. Only ``received_at`` depends on ``now``: the timing stream spreads the rows over
real calendar days (growth trend × weekday pattern × holidays) ending at ``now``; as the
calendar follows the same growth curve, a row lands within a few days of its estimated age
(a week at most, after the Christmas dip).
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from . import phrases
from .customers import EXTERNAL, INTERNAL, CustomerSeed
from .sampling import Weighted
from .timeline import HOURLY_WEIGHTS, day_counts, estimated_age_days

INTERNAL_FEEDBACK_SHARE = 0.12
# The app update that makes checkout crash shipped this long ago; the share of external
# feedback about it rises linearly from nothing then to PROBLEM_PEAK_SHARE now.
PROBLEM_DAYS = 42
PROBLEM_PEAK_SHARE = 0.3
PRAISED_SHARE_OF_PRODUCT = 0.35

CONSENT_TEXT = "You may contact me about this feedback."

TOPIC_PROBLEM = "problem"
TOPIC_PRAISED = "praised"


@dataclass(slots=True)
class FeedbackSeed:
    channel: str
    source: str
    text: str
    product_slug: str | None
    customer_index: int | None
    rating: int | None
    rating_min: int | None
    rating_max: int | None
    submitter_name: str
    submitter_email: str
    consent: bool
    status: str
    tags: tuple[str, ...]
    topic: str
    external_id: str = ""
    received_at: dt.datetime | None = None

    @property
    def rating_normalised(self) -> float | None:
        if self.rating is None:
            return None
        return (self.rating - self.rating_min) / (self.rating_max - self.rating_min)


@dataclass(frozen=True)
class _Source:
    name: str
    scale: tuple[int, int] | None = None
    rated_share: float = 0.0
    id_prefix: str = ""
    products: tuple[str, ...] | None = None
    weight: float = 1.0


_EXTERNAL_SOURCES = {
    "form": (
        _Source("web form", (1, 5), 0.7, weight=3),
        _Source("in-app form", (1, 5), 0.7, products=(phrases.MOBILE_APP,), weight=3),
    ),
    "survey": (
        _Source("nps-quarterly", (0, 10), 1.0, weight=2),
        _Source("post-delivery-nps", (0, 10), 1.0, products=(phrases.DELIVERY,), weight=2),
        _Source("support-followup-nps", (0, 10), 1.0, products=(phrases.SUPPORT_DESK,)),
    ),
    "review": (
        _Source("google", (1, 5), 1.0, "GR", weight=2),
        _Source("trustpilot", (1, 5), 1.0, "TP", weight=2),
        _Source("app-store", (1, 5), 1.0, "AS", products=(phrases.MOBILE_APP,), weight=3),
        _Source("google-play", (1, 5), 1.0, "GP", products=(phrases.MOBILE_APP,), weight=3),
    ),
    "focus_group": (
        _Source("focus group: ordering"),
        _Source("focus group: delivery experience"),
        _Source("focus group: billing"),
    ),
    "interview": (_Source("customer interview", weight=2), _Source("account review call")),
    "email": (_Source("feedback inbox", weight=2), _Source("support inbox")),
    "api": (_Source("partner-api", (1, 10), 0.6), _Source("chat-widget", (1, 10), 0.6)),
    "import": (
        _Source("zendesk-csat-export", (1, 5), 1.0, "ZD", weight=2),
        _Source("legacy-crm-import", id_prefix="CRM"),
    ),
}
_INTERNAL_SOURCES = {
    "survey": (_Source("internal-services-pulse", (0, 10), 1.0),),
    "form": (_Source("intranet form", (1, 5), 0.6),),
    "email": (_Source("service desk inbox"),),
    "interview": (_Source("stakeholder interview"),),
    "focus_group": (_Source("focus group: internal tools"),),
}

_EXTERNAL_CHANNELS = Weighted(
    [
        ("form", 22),
        ("survey", 24),
        ("review", 18),
        ("email", 13),
        ("api", 8),
        ("import", 8),
        ("interview", 3.5),
        ("focus_group", 3.5),
    ]
)
_PROBLEM_CHANNELS = Weighted(
    [("review", 40), ("form", 25), ("email", 15), ("api", 8), ("survey", 8), ("import", 4)]
)
_INTERNAL_CHANNELS = Weighted(
    [("survey", 40), ("form", 25), ("email", 20), ("interview", 8), ("focus_group", 7)]
)
_PRODUCTS = Weighted(
    [
        (phrases.MOBILE_APP, 30),
        (phrases.WEB_PORTAL, 20),
        (phrases.PAYMENTS, 15),
        (phrases.DELIVERY, 22),
        (phrases.SUPPORT_DESK, 13),
    ]
)
_TONES = {
    phrases.MOBILE_APP: Weighted(
        [("positive", 45), ("neutral", 20), ("negative", 25), ("mixed", 10)]
    ),
    phrases.WEB_PORTAL: Weighted(
        [("positive", 45), ("neutral", 25), ("negative", 20), ("mixed", 10)]
    ),
    phrases.PAYMENTS: Weighted(
        [("positive", 40), ("neutral", 25), ("negative", 25), ("mixed", 10)]
    ),
    phrases.DELIVERY: Weighted(
        [("positive", 50), ("neutral", 20), ("negative", 20), ("mixed", 10)]
    ),
    phrases.SUPPORT_DESK: Weighted(
        [("positive", 45), ("neutral", 20), ("negative", 25), ("mixed", 10)]
    ),
}
_INTERNAL_TONES = Weighted([("positive", 40), ("neutral", 30), ("negative", 25), ("mixed", 5)])
_PRAISED_TONES = Weighted([("positive", 95), ("neutral", 5)])

# Status by estimated age: recent rows are mostly new, older ones mostly closed.
_STATUS_RECENT = Weighted([("new", 70), ("triaged", 25), ("actioned", 5)])
_STATUS_WEEKS = Weighted([("new", 25), ("triaged", 45), ("actioned", 20), ("closed", 10)])
_STATUS_OLD = Weighted([("new", 8), ("triaged", 17), ("actioned", 15), ("closed", 60)])

_PRODUCT_TAGS = {
    phrases.MOBILE_APP: ("mobile-app", "performance", "ux"),
    phrases.WEB_PORTAL: ("web-portal", "ux", "feature-request"),
    phrases.PAYMENTS: ("billing", "payments"),
    phrases.DELIVERY: ("delivery", "courier"),
    phrases.SUPPORT_DESK: ("support", "response-time"),
}
_TOPIC_TAGS = {
    TOPIC_PROBLEM: ("checkout-crash", "bug", "mobile-app"),
    TOPIC_PRAISED: ("delivery-tracking", "praise"),
}
_INTERNAL_TAGS = ("internal-services", "it-helpdesk", "hr")
ALL_TAGS = tuple(
    sorted(
        {tag for tags in _PRODUCT_TAGS.values() for tag in tags}
        | {tag for tags in _TOPIC_TAGS.values() for tag in tags}
        | set(_INTERNAL_TAGS)
    )
)


def problem_share(age_days: float) -> float:
    """Share of external feedback that reports the checkout crash, by age."""
    if age_days >= PROBLEM_DAYS:
        return 0.0
    return PROBLEM_PEAK_SHARE * (1 - age_days / PROBLEM_DAYS)


class _ContentWriter:
    """Draws what one feedback says, who said it and where, in a fixed order of draws."""

    def __init__(self, *, seed: int, customers: Sequence[CustomerSeed]):
        self.rng = random.Random(f"{seed}:feedback")
        self.customers = customers
        external = [(i, c.activity) for i, c in enumerate(customers) if c.kind == EXTERNAL]
        internal = [(i, c.activity) for i, c in enumerate(customers) if c.kind == INTERNAL]
        research = [(i, w) for i, w in external if customers[i].consent_research]
        self.external_customers = Weighted(external)
        self.internal_customers = Weighted(internal)
        self.research_customers = Weighted(research or external)
        self.sources = {}
        for channel, sources in _EXTERNAL_SOURCES.items():
            for product in _PRODUCTS.options:
                fitting = [s for s in sources if s.products is None or product in s.products]
                self.sources[(EXTERNAL, channel, product)] = Weighted(
                    [(s, s.weight) for s in fitting]
                )
        for channel, sources in _INTERNAL_SOURCES.items():
            self.sources[(INTERNAL, channel, None)] = Weighted([(s, s.weight) for s in sources])

    def row(self, age_days: float) -> FeedbackSeed:
        rng = self.rng
        topic = ""
        if rng.random() < INTERNAL_FEEDBACK_SHARE:
            kind, product = INTERNAL, None
            tone = _INTERNAL_TONES.pick(rng)
            channel = _INTERNAL_CHANNELS.pick(rng)
            text_body = self._internal_body(tone)
        elif rng.random() < problem_share(age_days):
            kind, product, topic = EXTERNAL, phrases.PROBLEM_PRODUCT, TOPIC_PROBLEM
            tone = "negative"
            channel = _PROBLEM_CHANNELS.pick(rng)
            text_body = self._problem_body()
        else:
            kind = EXTERNAL
            product = _PRODUCTS.pick(rng)
            if product == phrases.PRAISED_PRODUCT and rng.random() < PRAISED_SHARE_OF_PRODUCT:
                topic = TOPIC_PRAISED
                tone = _PRAISED_TONES.pick(rng)
                text_body = self._praised_body(tone)
            else:
                tone = _TONES[product].pick(rng)
                text_body = self._external_body(product, tone)
            channel = _EXTERNAL_CHANNELS.pick(rng)
        text = self._with_opener(text_body, kind, channel)

        source = self.sources[(kind, channel, product)].pick(rng)
        rating = rating_min = rating_max = None
        if source.scale is not None and rng.random() < source.rated_share:
            rating_min, rating_max = source.scale
            rating = self._rating(tone, rating_min, rating_max)

        customer_index, submitter_name, submitter_email, consent = self._who(kind, channel)
        status = self._status(age_days)
        tags = self._tags(kind, product, topic, status)
        return FeedbackSeed(
            channel=channel,
            source=source.name,
            text=text,
            product_slug=product,
            customer_index=customer_index,
            rating=rating,
            rating_min=rating_min,
            rating_max=rating_max,
            submitter_name=submitter_name,
            submitter_email=submitter_email,
            consent=consent,
            status=status,
            tags=tags,
            topic=topic,
            external_id=source.id_prefix,  # completed with the sequence number by the caller
        )

    # Text ---------------------------------------------------------------------------------

    def _clause(self, product: str, tone: str) -> str:
        """A subject with a predicate and maybe a detail, or one of the product's clauses."""
        rng = self.rng
        if rng.random() < 0.5:
            subject = rng.choice(phrases.PRODUCT_SUBJECTS[product])
            predicate = rng.choice(phrases.PRODUCT_PREDICATES[product][tone])
            return f"{subject} {predicate}{rng.choice(phrases.DETAILS)}"
        return rng.choice(phrases.PRODUCT_CLAUSES[product][tone])

    def _external_body(self, product: str, tone: str) -> str:
        rng = self.rng
        if tone == "mixed":
            other = _PRODUCTS.pick(rng) if rng.random() < 0.5 else product
            good, bad = self._clause(other, "positive"), self._clause(product, "negative")
            joiner = rng.choice(phrases.MIXED_JOINERS)
            return (good + joiner + bad if rng.random() < 0.6 else bad + joiner + good) + "."
        body = self._clause(product, tone) + "."
        return _append(body, rng.choice(phrases.FOLLOW_UPS[tone]))

    def _problem_body(self) -> str:
        rng = self.rng
        body = rng.choice(phrases.PROBLEM_CLAUSES) + rng.choice(phrases.PROBLEM_DETAILS) + "."
        return _append(body, rng.choice(phrases.PROBLEM_FOLLOW_UPS))

    def _praised_body(self, tone: str) -> str:
        rng = self.rng
        subject = rng.choice(phrases.PRAISED_SUBJECTS)
        if tone == "positive":
            body = f"{subject} {rng.choice(phrases.PRAISED_PREDICATES)}"
            body += rng.choice(phrases.DETAILS) + "."
            return _append(body, rng.choice(phrases.PRAISED_FOLLOW_UPS))
        return f"{subject} {rng.choice(phrases.PRAISED_NEUTRAL_PREDICATES)}."

    def _internal_body(self, tone: str) -> str:
        rng = self.rng
        if tone == "mixed":
            good, bad = self._internal_clause("positive"), self._internal_clause("negative")
            return good + rng.choice(phrases.MIXED_JOINERS) + bad + "."
        body = self._internal_clause(tone) + "."
        return _append(body, rng.choice(phrases.FOLLOW_UPS[tone]))

    def _internal_clause(self, tone: str) -> str:
        rng = self.rng
        if rng.random() < 0.5:
            subject = rng.choice(phrases.INTERNAL_SUBJECTS)
            predicate = rng.choice(phrases.SERVICE_PREDICATES[tone])
            return f"{subject} {predicate}{rng.choice(phrases.DETAILS)}"
        return rng.choice(phrases.INTERNAL_CLAUSES[tone])

    def _with_opener(self, body: str, kind: str, channel: str) -> str:
        rng = self.rng
        if channel in phrases.CHANNEL_OPENERS and rng.random() < 0.8:
            opener = rng.choice(phrases.CHANNEL_OPENERS[channel])
        elif kind == INTERNAL:
            opener = rng.choice(phrases.INTERNAL_OPENERS)
        else:
            opener = rng.choice(phrases.EXTERNAL_OPENERS)
        if opener:
            return f"{opener} {body}"
        return body[0].upper() + body[1:]

    # Rating, people, triage ---------------------------------------------------------------

    def _rating(self, tone: str, low: int, high: int) -> int:
        rng = self.rng
        if tone == "positive":
            position = 1 - abs(rng.gauss(0, 0.15))
        elif tone == "negative":
            position = abs(rng.gauss(0, 0.2))
        elif tone == "neutral":
            position = rng.gauss(0.55, 0.15)
        else:
            position = rng.gauss(0.5, 0.18)
        position = min(1.0, max(0.0, position))
        return low + round(position * (high - low))

    def _who(self, kind: str, channel: str) -> tuple[int | None, str, str, bool]:
        """(customer index, submitter name, submitter e-mail, consent) for one row."""
        rng = self.rng
        if kind == INTERNAL:
            index = self.internal_customers.pick(rng)
        elif channel == "review" and rng.random() < 0.75:
            first, last = rng.choice(phrases.FIRST_NAMES), rng.choice(phrases.LAST_NAMES)
            return None, f"{first} {last[0]}.", "", False
        elif channel == "form" and rng.random() < 0.25:
            first, last = rng.choice(phrases.FIRST_NAMES), rng.choice(phrases.LAST_NAMES)
            domain = rng.choice(phrases.PERSONAL_MAIL_DOMAINS)
            consent = rng.random() < 0.6
            return None, f"{first} {last}", f"{first}.{last}@{domain}".lower(), consent
        elif channel in ("interview", "focus_group"):
            index = self.research_customers.pick(rng)
        else:
            index = self.external_customers.pick(rng)
        return index, "", "", self.customers[index].consent_contact

    def _status(self, age_days: float) -> str:
        if age_days < 7:
            return _STATUS_RECENT.pick(self.rng)
        if age_days < 30:
            return _STATUS_WEEKS.pick(self.rng)
        return _STATUS_OLD.pick(self.rng)

    def _tags(self, kind: str, product: str | None, topic: str, status: str) -> tuple[str, ...]:
        rng = self.rng
        chance = 0.6 if topic == TOPIC_PROBLEM else 0.08
        # Only triaged rows carry tags: tagging is part of triage.
        if rng.random() >= chance or status == "new":
            return ()
        if topic:
            options = _TOPIC_TAGS[topic]
        elif kind == INTERNAL:
            options = _INTERNAL_TAGS
        else:
            options = _PRODUCT_TAGS[product]
        first = rng.choice(options)
        second = rng.choice(options)
        return (first,) if first == second else tuple(sorted((first, second)))


def _append(text: str, sentence: str) -> str:
    return f"{text} {sentence}" if sentence else text


def generate_feedback(
    *,
    size: int,
    seed: int,
    now: dt.datetime,
    customers: Sequence[CustomerSeed],
    sequence_start: int = 0,
) -> Iterator[FeedbackSeed]:
    """Yield ``size`` feedback rows oldest first, lazily, received over the year to ``now``.

    External ids of sources that deliver their own are ``<prefix>-<sequence_start + n>``;
    the loader passes the highest feedback id so appended runs never reuse one.
    """
    writer = _ContentWriter(seed=seed, customers=customers)
    timing = random.Random(f"{seed}:timing-of-day")
    index = 0
    for day_start, count, hours in day_counts(size=size, seed=seed, now=now):
        if not count:
            continue
        hour_picker = Weighted(list(zip(range(hours), HOURLY_WEIGHTS[:hours], strict=True)))
        seconds = sorted(
            hour_picker.pick(timing) * 3600 + timing.randrange(3600) for _ in range(count)
        )
        for second in seconds:
            row = writer.row(estimated_age_days((index + 0.5) / size))
            if row.external_id:
                row.external_id = f"{row.external_id}-{sequence_start + index + 1:08d}"
            row.received_at = day_start + dt.timedelta(seconds=second)
            index += 1
            yield row
