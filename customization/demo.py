"""Demo content for the customization backlog, on top of the demo organisation.

``seed_demo_customization()`` defines a few rule segments and refreshes them, runs the
clustering once, opens a handful of requests in different statuses linked to demo
feedback, and records some stated preferences. It goes through the services, and it is
idempotent: segments and requests are found by name/title, so a second run adds nothing.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone

from feedback.models import Customer, Feedback, Product

from . import segment_services, services
from .models import CustomerPreference, CustomizationRequest, Segment

Status = CustomizationRequest.Status

RULE_SEGMENTS = [
    (
        "Enterprise accounts",
        "Companies on the enterprise tier.",
        [{"field": "tier", "op": "eq", "value": "enterprise"}],
    ),
    (
        "High-value EMEA customers",
        "External customers in EMEA worth 5,000 a year or more.",
        [
            {"field": "kind", "op": "eq", "value": "external"},
            {"field": "annual_value", "op": "gte", "value": "5000"},
            {"field": "attributes.region", "op": "eq", "value": "EMEA"},
        ],
    ),
    (
        "Payments users",
        "Customers who gave feedback on payments.",
        [{"field": "product", "op": "in", "value": ["payments"]}],
    ),
    (
        "Internal departments",
        "Colleagues in other departments.",
        [{"field": "kind", "op": "eq", "value": "internal"}],
    ),
]

# (title, walk to this status, product slug or None)
CUSTOMER_REQUESTS = [
    ("Invoices exported to our ERP every night", Status.REQUESTED, "web-portal"),
    ("Single sign-on with our identity provider", Status.ASSESSED, "web-portal"),
    ("Dedicated delivery window for our warehouse", Status.ACCEPTED, "delivery-service"),
    ("Direct-debit mandate in our own bank format", Status.DELIVERING, "payments"),
    ("Priority support line for our branch managers", Status.DELIVERED, "support-desk"),
    ("White-labelled mobile app with our logo", Status.DECLINED, "mobile-app"),
]
SEGMENT_REQUEST = ("Quarterly business review pack", "Enterprise accounts", Status.ASSESSED)
WORKFLOW = [Status.ASSESSED, Status.ACCEPTED, Status.DELIVERING, Status.DELIVERED]
PREFERENCES = [
    ("contact channel", "email", CustomerPreference.Source.INTERVIEW),
    ("invoice format", "PDF with purchase-order number", CustomerPreference.Source.STAFF),
    ("language", "German", CustomerPreference.Source.SURVEY),
]


@dataclass(frozen=True)
class DemoCustomizationSummary:
    segments: int
    suggested_segments: int
    requests: int
    preferences: int


def _walk(request: CustomizationRequest, target: str) -> None:
    if target == Status.DECLINED:
        services.change_request_status(request=request, to_status=Status.DECLINED)
        return
    for step in WORKFLOW:
        if request.status == target:
            return
        delivery_note = (
            "Set up and announced to the customer." if step == Status.DELIVERED else None
        )
        request = services.change_request_status(
            request=request, to_status=step, delivery_note=delivery_note
        )


def _ensure_segments() -> dict[str, Segment]:
    segments = {}
    for name, description, rules in RULE_SEGMENTS:
        if name == "Payments users" and not Product.objects.filter(slug="payments").exists():
            continue
        segment = Segment.objects.filter(name=name).first()
        if segment is None:
            segment = segment_services.create_rule_segment(
                name=name, description=description, rules=rules
            )
        else:
            segment_services.refresh_segment_membership(segment=segment)
        segments[name] = segment
    return segments


def _customers_with_feedback() -> list[tuple[Customer, Feedback]]:
    """External customers with the highest annual value, each with one of their feedback."""
    pairs = []
    seen = set()
    rows = (
        Feedback.objects.filter(customer__kind=Customer.Kind.EXTERNAL)
        .select_related("customer", "product")
        .order_by("-customer__annual_value", "customer_id", "-received_at", "-id")[:500]
    )
    for feedback in rows:
        if feedback.customer_id in seen:
            continue
        seen.add(feedback.customer_id)
        pairs.append((feedback.customer, feedback))
        if len(pairs) == len(CUSTOMER_REQUESTS):
            break
    return pairs


def seed_demo_customization(*, suggest: bool = True) -> DemoCustomizationSummary:
    """Write the customization demo content; a second call adds nothing."""
    segments = _ensure_segments()
    if suggest and not Segment.objects.filter(kind=Segment.Kind.SUGGESTED).exists():
        segment_services.suggest_segments()
    products = {p.slug: p for p in Product.objects.all()}
    pairs = _customers_with_feedback()
    with transaction.atomic():
        for (title, target, slug), (customer, feedback) in zip(
            CUSTOMER_REQUESTS, pairs, strict=False
        ):
            if CustomizationRequest.objects.filter(title=title).exists():
                continue
            request = services.create_customization_request(
                title=title,
                description=f"Asked for by {customer.name}: “{feedback.text[:300]}”",
                customer=customer,
                product=products.get(slug),
                due_date=timezone.localdate() + dt.timedelta(days=30 + 7 * len(title) % 60),
                feedback_ids=[feedback.pk],
            )
            _walk(request, target)
        title, segment_name, target = SEGMENT_REQUEST
        segment = segments.get(segment_name)
        if segment is not None and not CustomizationRequest.objects.filter(title=title).exists():
            evidence = list(
                Feedback.objects.filter(customer__segments=segment)
                .order_by("-received_at", "-id")
                .values_list("pk", flat=True)[:5]
            )
            request = services.create_customization_request(
                title=title,
                description="A quarterly review of their feedback, requests and delivery.",
                segment=segment,
                feedback_ids=evidence,
            )
            _walk(request, target)
        for customer, _ in pairs[:3]:
            for key, value, source in PREFERENCES:
                if not CustomerPreference.objects.filter(customer=customer, key=key).exists():
                    services.set_customer_preference(
                        customer=customer, key=key, value=value, source=source
                    )
    return DemoCustomizationSummary(
        segments=Segment.objects.filter(kind=Segment.Kind.RULE).count(),
        suggested_segments=Segment.objects.filter(kind=Segment.Kind.SUGGESTED).count(),
        requests=CustomizationRequest.objects.count(),
        preferences=CustomerPreference.objects.count(),
    )
