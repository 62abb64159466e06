"""Demo content for the idea backlog, on top of the demo organisation.

``seed_demo_innovation()`` creates a dozen ideas on the demo products (and on a matching
theme when discovery has found one), each with feedback that mentions it as evidence,
a few customers' votes and RICE inputs; walks them to every status, places several on the
roadmap's now/next/later lanes and ships one with a release note. It goes through the
services and is idempotent: ideas are found by title, so a second run adds nothing.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db import transaction
from django.db.models import Q

from feedback.models import Customer, Feedback, Product
from insights.models import Theme

from . import roadmap, services
from .models import Idea

Status = Idea.Status
EVIDENCE_PER_IDEA = 8
VOTES_PER_IDEA = 3


@dataclass(frozen=True)
class DemoIdea:
    title: str
    problem: str
    solution: str
    product: str
    # Feedback containing any of these words becomes evidence (and names the theme).
    words: tuple[str, ...]
    status: str
    lane: str
    # impact, confidence, effort, value
    scores: tuple[float, float, float, float]
    release_note: str = ""


IDEAS = [
    DemoIdea(
        "Stop the app crashing at checkout",
        "The mobile app crashes or freezes at the payment step and customers lose their basket.",
        "Fix the payment-step crash and keep the basket when the app restarts.",
        "mobile-app",
        ("crash", "freezes"),
        Status.SHIPPED,
        "",
        (3, 1.0, 2, 9),
        "The app no longer crashes at the payment step, and your basket is kept if it closes.",
    ),
    DemoIdea(
        "Save the basket across devices",
        "Customers who switch from the app to the website start their basket again.",
        "Store the basket on the account instead of the device.",
        "mobile-app",
        ("basket",),
        Status.IN_PROGRESS,
        "now",
        (2, 0.8, 3, 6),
    ),
    DemoIdea(
        "Faster login in the app",
        "Signing in to the app is slow and asks for the password too often.",
        "Biometric sign-in and longer sessions.",
        "mobile-app",
        ("login", "password"),
        Status.PLANNED,
        "next",
        (1, 0.8, 2, 5),
    ),
    DemoIdea(
        "Invoices with purchase-order numbers",
        "Business customers cannot match our invoices to their purchase orders.",
        "Let customers add a PO number that is printed on the invoice.",
        "web-portal",
        ("invoice",),
        Status.PLANNED,
        "now",
        (2, 0.5, 1, 8),
    ),
    DemoIdea(
        "Better search in the customer portal",
        "The portal search does not find orders by product name or date.",
        "Search orders by product, date and amount.",
        "web-portal",
        ("search",),
        Status.UNDER_REVIEW,
        "later",
        (1, 0.5, 3, 4),
    ),
    DemoIdea(
        "Refunds within three days",
        "Refunds take weeks and customers chase us by phone.",
        "Automate refunds for returns that the warehouse has scanned.",
        "payments",
        ("refund",),
        Status.UNDER_REVIEW,
        "",
        (2, 0.8, 5, 7),
    ),
    DemoIdea(
        "Direct debit set-up without paperwork",
        "Setting up direct debit needs a signed form sent by post.",
        "Online mandate with e-signature.",
        "payments",
        ("direct debit",),
        Status.NEW,
        "",
        (1, 0.5, 2, 5),
    ),
    DemoIdea(
        "Choose a one-hour delivery window",
        "Delivery windows are too wide: customers wait at home for half a day.",
        "Offer one-hour slots in cities.",
        "delivery-service",
        ("delivery window", "slot", "late"),
        Status.PLANNED,
        "later",
        (2, 0.5, 8, 6),
    ),
    DemoIdea(
        "Less packaging waste",
        "Small orders arrive in big boxes with a lot of plastic filling.",
        "Right-sized boxes and paper filling.",
        "delivery-service",
        ("packaging",),
        Status.NEW,
        "",
        (0.5, 0.8, 1, 3),
    ),
    DemoIdea(
        "Shorter waiting time on the phone line",
        "Customers wait too long on the phone before reaching an agent.",
        "Call-back instead of waiting, and more agents at peak hours.",
        "support-desk",
        ("phone", "wait"),
        Status.IN_PROGRESS,
        "now",
        (2, 0.8, 2, 7),
    ),
    DemoIdea(
        "Live chat outside office hours",
        "The live chat is closed in the evening when most customers shop.",
        "Extend chat hours with an answer bot for simple questions.",
        "support-desk",
        ("chat",),
        Status.DECLINED,
        "",
        (1, 0.5, 5, 3),
    ),
    DemoIdea(
        "Apple Pay in the web checkout",
        "Customers who pay with Apple Pay in the app cannot use it on the website.",
        "Offer Apple Pay on the web checkout.",
        "payments",
        ("apple pay",),
        Status.NEW,
        "",
        (1, 0.5, 1, 4),
    ),
]

_WALKS = {
    Status.NEW: [],
    Status.UNDER_REVIEW: [Status.UNDER_REVIEW],
    Status.PLANNED: [Status.PLANNED],
    Status.IN_PROGRESS: [Status.PLANNED, Status.IN_PROGRESS],
    Status.DECLINED: [Status.UNDER_REVIEW, Status.DECLINED],
}


@dataclass(frozen=True)
class DemoInnovationSummary:
    ideas: int
    created: int


def _matching(words: tuple[str, ...]) -> Q:
    query = Q()
    for word in words:
        query |= Q(text__icontains=word)
    return query


def _theme_for(words: tuple[str, ...]) -> Theme | None:
    query = Q()
    for word in words:
        query |= Q(name__icontains=word)
    return Theme.objects.assignable().filter(query).order_by("id").first()


def _seed_one(spec: DemoIdea, products: dict[str, Product]) -> Idea:
    product = products.get(spec.product)
    rows = Feedback.objects.filter(_matching(spec.words))
    if product is not None:
        rows = rows.filter(product=product)
    evidence = list(rows.order_by("-received_at", "-id").values_list("pk", "customer_id")[:40])
    idea = services.create_idea(
        title=spec.title,
        problem=spec.problem,
        proposed_solution=spec.solution,
        product=product,
        theme=_theme_for(spec.words),
        created_by=None,
        feedback_ids=[pk for pk, _ in evidence[:EVIDENCE_PER_IDEA]],
    )
    voters = [c for _, c in evidence[EVIDENCE_PER_IDEA:] if c is not None]
    for customer_id in list(dict.fromkeys(voters))[:VOTES_PER_IDEA]:
        services.record_vote(idea=idea, customer=Customer.objects.get(pk=customer_id), by=None)
    impact, confidence, effort, value = spec.scores
    services.set_idea_scores(
        idea=idea, by=None, impact=impact, confidence=confidence, effort=effort, value=value
    )
    if spec.status == Status.SHIPPED:
        return roadmap.ship_idea(idea=idea, release_note=spec.release_note, by=None, public=True)
    if spec.lane:
        idea = roadmap.move_idea(idea=idea, lane=spec.lane, by=None)
    for status in _WALKS[spec.status]:
        idea.refresh_from_db()
        if idea.status != status:
            idea = services.change_idea_status(idea=idea, to_status=status, by=None)
    return idea


@transaction.atomic
def seed_demo_innovation() -> DemoInnovationSummary:
    """Create the demo ideas that do not exist yet (found by title)."""
    products = {p.slug: p for p in Product.objects.all()}
    existing = set(
        Idea.objects.filter(title__in=[s.title for s in IDEAS]).values_list("title", flat=True)
    )
    created = 0
    for spec in IDEAS:
        if spec.title in existing:
            continue
        _seed_one(spec, products)
        created += 1
    return DemoInnovationSummary(ideas=len(IDEAS), created=created)
