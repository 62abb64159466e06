"""Customization writes: customer preferences, the request backlog and its workflow,
evidence, and promotion of similar requests to an innovation idea."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterable
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F, OuterRef, Subquery, Sum
from django.utils import timezone

from api import webhooks
from feedback.models import Customer, Feedback

from .models import (
    CustomerPreference,
    CustomizationEvidence,
    CustomizationRequest,
    CustomizationStatusChange,
    Segment,
)

logger = logging.getLogger(__name__)
Status = CustomizationRequest.Status

# The workflow: where each status may go next. Declined can be reopened.
TRANSITIONS: dict[str, tuple[str, ...]] = {
    Status.REQUESTED: (Status.ASSESSED, Status.DECLINED),
    Status.ASSESSED: (Status.ACCEPTED, Status.DECLINED),
    Status.ACCEPTED: (Status.DELIVERING, Status.DECLINED),
    Status.DELIVERING: (Status.DELIVERED, Status.DECLINED),
    Status.DELIVERED: (),
    Status.DECLINED: (Status.REQUESTED,),
}
MAX_EVIDENCE_PER_CALL = 500
# A request created from a theme carries at most this many of its feedback as evidence.
THEME_EVIDENCE_LIMIT = 50


# --- preferences -------------------------------------------------------------------------------


def _clean_preference(
    key: str, value: str, source: str, stated_on: dt.date | None
) -> tuple[str, str]:
    key, value = (key or "").strip(), (value or "").strip()
    errors = {}
    if stated_on is not None and stated_on > timezone.localdate():
        errors["stated_on"] = ["A preference cannot be stated on a future date."]
    if not key:
        errors["key"] = ["Name the preference."]
    elif len(key) > 80:
        errors["key"] = ["80 characters at most."]
    if not value:
        errors["value"] = ["Give the value they prefer."]
    elif len(value) > 500:
        errors["value"] = ["500 characters at most."]
    if source not in CustomerPreference.Source.values:
        errors["source"] = ["Unknown source."]
    if errors:
        raise ValidationError(errors)
    return key, value


def set_customer_preference(
    *,
    customer: Customer,
    key: str,
    value: str,
    source: str = CustomerPreference.Source.STAFF,
    stated_on: dt.date | None = None,
    recorded_by=None,
) -> CustomerPreference:
    """Record what a customer prefers; a key they stated before gets the new value.

    Raises ``ValidationError`` for an empty key or value, an unknown source or a date
    in the future.
    """
    key, value = _clean_preference(key, value, source, stated_on)
    preference, _ = CustomerPreference.objects.update_or_create(
        customer=customer,
        key=key,
        defaults={
            "value": value,
            "source": source,
            "stated_on": stated_on or timezone.localdate(),
            "recorded_by": recorded_by,
        },
    )
    return preference


def update_customer_preference(
    *,
    preference: CustomerPreference,
    key: str | None = None,
    value: str | None = None,
    source: str | None = None,
    stated_on: dt.date | None = None,
    recorded_by=None,
) -> CustomerPreference:
    """Change a stated preference; its key must stay unique for the customer.

    Raises ``ValidationError`` for empty values, an unknown source, a date in the future
    or a taken key.
    """
    key, value = _clean_preference(
        preference.key if key is None else key,
        preference.value if value is None else value,
        source or preference.source,
        stated_on,
    )
    taken = (
        CustomerPreference.objects.filter(customer_id=preference.customer_id, key=key)
        .exclude(pk=preference.pk)
        .exists()
    )
    if taken:
        raise ValidationError({"key": ["This customer already has a preference with this name."]})
    preference.key, preference.value = key, value
    preference.source = source or preference.source
    preference.stated_on = stated_on or preference.stated_on
    if recorded_by is not None:
        preference.recorded_by = recorded_by
    preference.save()
    return preference


def delete_customer_preference(*, preference: CustomerPreference) -> None:
    preference.delete()


# --- requests ----------------------------------------------------------------------------------


CENT = Decimal("0.01")


def value_at_stake_for(*, customer: Customer | None, segment: Segment | None) -> Decimal:
    """The customer's annual value, or the sum over the segment's members."""
    if customer is not None:
        return customer.annual_value or Decimal(0)
    if segment is not None:
        total = segment.customers.aggregate(total=Sum("annual_value"))["total"]
        # SQLite sums decimals as floats: back to cents.
        return Decimal(total or 0).quantize(CENT)
    return Decimal(0)


def refresh_segment_request_values(*, segment: Segment) -> int:
    """Bring the value at stake of the segment's open requests up to date (one UPDATE)."""
    value = value_at_stake_for(customer=None, segment=segment)
    return (
        CustomizationRequest.objects.filter(segment=segment)
        .exclude(status__in=[Status.DELIVERED, Status.DECLINED])
        .exclude(value_at_stake=value)
        .update(value_at_stake=value, updated_at=timezone.now())
    )


def refresh_customer_request_values() -> int:
    """Bring the value at stake of open requests for one customer up to that customer's
    annual value (one UPDATE); return how many changed."""
    annual_value = Customer.objects.filter(pk=OuterRef("customer_id")).values("annual_value")
    return (
        CustomizationRequest.objects.filter(customer__isnull=False)
        .exclude(status__in=[Status.DELIVERED, Status.DECLINED])
        .exclude(value_at_stake=F("customer__annual_value"))
        .update(value_at_stake=Subquery(annual_value[:1]), updated_at=timezone.now())
    )


def _check_target(customer, segment) -> None:
    if (customer is None) == (segment is None):
        message = (
            "Choose one customer or one segment, not both."
            if customer
            else ("Choose the customer or the segment this is for.")
        )
        raise ValidationError({"customer": [message], "segment": [message]})
    if segment is not None and segment.status != Segment.Status.ACTIVE:
        raise ValidationError({"segment": ["Only an active segment can carry requests."]})


def _check_title(title: str) -> str:
    title = (title or "").strip()
    if not title:
        raise ValidationError({"title": ["Give the request a title."]})
    return title[:200]


def _feedback_rows(feedback_ids: Iterable[int]) -> list[int]:
    ids = sorted({int(pk) for pk in feedback_ids})
    if len(ids) > MAX_EVIDENCE_PER_CALL:
        raise ValidationError({"feedback_ids": [f"At most {MAX_EVIDENCE_PER_CALL} at a time."]})
    found = set(Feedback.objects.filter(pk__in=ids).values_list("pk", flat=True))
    missing = [pk for pk in ids if pk not in found]
    if missing:
        raise ValidationError({"feedback_ids": [f"No feedback #{missing[0]}."]})
    return ids


def _link_evidence(request: CustomizationRequest, ids: list[int], by) -> int:
    rows = [CustomizationEvidence(request=request, feedback_id=pk, added_by=by) for pk in ids]
    before = request.evidence_links.count()
    CustomizationEvidence.objects.bulk_create(rows, ignore_conflicts=True)
    return request.evidence_links.count() - before


def create_customization_request(
    *,
    title: str,
    customer: Customer | None = None,
    segment: Segment | None = None,
    description: str = "",
    product=None,
    theme=None,
    owner=None,
    due_date: dt.date | None = None,
    requested_by=None,
    feedback_ids: Iterable[int] = (),
) -> CustomizationRequest:
    """Open a request for one customer or one active segment, with its evidence.

    The value at stake is computed here; the first history row (→ requested) is written.
    Raises ``ValidationError`` for both or neither target, a segment that is not active,
    an empty title or unknown feedback ids.
    """
    _check_target(customer, segment)
    title = _check_title(title)
    ids = _feedback_rows(feedback_ids)
    with transaction.atomic():
        request = CustomizationRequest(
            title=title,
            description=description or "",
            customer=customer,
            segment=segment,
            product=product,
            theme=theme,
            owner=owner,
            due_date=due_date,
            requested_by=requested_by,
            value_at_stake=value_at_stake_for(customer=customer, segment=segment),
        )
        request.full_clean(exclude=["evidence"])
        request.save()
        CustomizationStatusChange.objects.create(
            request=request, from_status="", to_status=Status.REQUESTED, changed_by=requested_by
        )
        if ids:
            _link_evidence(request, ids, requested_by)
    return request


EDITABLE = ("title", "description", "product", "theme", "owner", "due_date", "customer", "segment")


def update_customization_request(
    *, request: CustomizationRequest, **fields
) -> CustomizationRequest:
    """Edit a request's details (not its status: see ``change_request_status``).

    Changing the customer or segment recomputes the value at stake. Raises
    ``ValidationError`` for unknown fields, an empty title or both/neither target.
    """
    unknown = set(fields) - set(EDITABLE)
    if unknown:
        raise ValidationError({sorted(unknown)[0]: ["This field cannot be changed here."]})
    with transaction.atomic():
        request = CustomizationRequest.objects.select_for_update().get(pk=request.pk)
        for name, value in fields.items():
            setattr(request, name, value)
        if "title" in fields:
            request.title = _check_title(request.title)
        _check_target(request.customer, request.segment)
        if "customer" in fields or "segment" in fields:
            request.value_at_stake = value_at_stake_for(
                customer=request.customer, segment=request.segment
            )
        request.save()
    return request


def allowed_transitions(request: CustomizationRequest) -> tuple[str, ...]:
    return TRANSITIONS.get(request.status, ())


def change_request_status(
    *,
    request: CustomizationRequest,
    to_status: str,
    changed_by=None,
    note: str = "",
    delivery_note: str | None = None,
) -> CustomizationRequest:
    """Move a request along the workflow and record the change in its history.

    requested → assessed → accepted → delivering → delivered; any open status → declined;
    declined → requested. Anything else raises ``ValidationError`` (``status``). On
    delivered, the delivery time is set and, once committed, the customers are told
    (``innovation.tasks.close_the_loop_task``). The row is locked while it changes.
    """
    if to_status not in Status.values:
        raise ValidationError({"status": [f"Unknown status {to_status!r}."]})
    with transaction.atomic():
        request = CustomizationRequest.objects.select_for_update().get(pk=request.pk)
        if to_status not in TRANSITIONS[request.status]:
            raise ValidationError(
                {
                    "status": [
                        f"A {request.get_status_display().lower()} request cannot become "
                        f"{Status(to_status).label.lower()}."
                    ]
                }
            )
        from_status = request.status
        request.status = to_status
        if delivery_note is not None:
            request.delivery_note = delivery_note
        if to_status == Status.DELIVERED:
            request.delivered_at = timezone.now()
            pk = request.pk
            transaction.on_commit(lambda: _close_the_loop(pk))
        request.save()
        CustomizationStatusChange.objects.create(
            request=request,
            from_status=from_status,
            to_status=to_status,
            changed_by=changed_by,
            note=note or "",
        )
        webhooks.emit(
            "customization.status_changed",
            {"id": request.pk, "status": request.status, "previous_status": from_status},
        )
    return request


def _close_the_loop(request_id: int) -> None:
    try:
        # Imported here: the innovation app imports customization models at load time.
        from innovation.tasks import close_the_loop_task

        close_the_loop_task.delay(customization_request_id=request_id)
    except Exception:  # broker down: the delivery stands; the message is logged as not sent
        logger.warning("close-the-loop for request %s not queued", request_id, exc_info=True)


def add_evidence(
    *, request: CustomizationRequest, feedback_ids: Iterable[int], added_by=None
) -> int:
    """Link feedback to the request as evidence; already linked ones are skipped.

    Returns how many links were added. Raises ``ValidationError`` for unknown ids.
    """
    ids = _feedback_rows(feedback_ids)
    with transaction.atomic():
        return _link_evidence(request, ids, added_by)


def remove_evidence(*, request: CustomizationRequest, feedback_ids: Iterable[int]) -> int:
    """Unlink feedback from the request; returns how many links were removed."""
    deleted, _ = CustomizationEvidence.objects.filter(
        request=request, feedback_id__in=list(feedback_ids)
    ).delete()
    return deleted


def create_request_from_feedback(
    *, feedback: Feedback, requested_by=None
) -> tuple[CustomizationRequest, bool]:
    """One click on a feedback: a request for its customer with the feedback as evidence.

    Returns ``(request, created)``. Clicking again (a double submit, a second tab) finds
    the open request made from this feedback instead of opening a copy: clicks on one
    feedback are serialised by a row lock on it. Raises ``ValidationError`` when the
    feedback has no customer record.
    """
    if feedback.customer_id is None:
        raise ValidationError(
            "This feedback has no customer record: create the request from a segment instead."
        )
    text = " ".join(feedback.text.split())
    title = text if len(text) <= 120 else text[:117].rstrip() + "…"
    with transaction.atomic():
        list(Feedback.objects.select_for_update().filter(pk=feedback.pk).values("pk"))
        made_before = (
            CustomizationRequest.objects.filter(
                customer_id=feedback.customer_id, title=title, evidence_links__feedback=feedback
            )
            .exclude(status__in=[Status.DELIVERED, Status.DECLINED])
            .order_by("id")
            .first()
        )
        if made_before is not None:
            return made_before, False
        request = create_customization_request(
            title=title,
            description=feedback.text,
            customer=feedback.customer,
            product=feedback.product,
            requested_by=requested_by,
            feedback_ids=[feedback.pk],
        )
    return request, True


def create_request_from_theme(
    *, theme, segment: Segment, requested_by=None, title: str = ""
) -> CustomizationRequest:
    """A request for a segment about a theme, with the theme's feedback as evidence.

    The evidence is the theme's newest feedback from the segment's members, or, when they
    said nothing on it, the theme's newest feedback (at most ``THEME_EVIDENCE_LIMIT``).
    """
    links = Feedback.objects.filter(themes__theme=theme).order_by("-received_at", "-id")
    from_members = list(
        links.filter(customer__segments=segment).values_list("pk", flat=True)[:THEME_EVIDENCE_LIMIT]
    )
    ids = from_members or list(links.values_list("pk", flat=True)[:THEME_EVIDENCE_LIMIT])
    return create_customization_request(
        title=title or f"{theme.name} for {segment.name}",
        description=f"Customers in {segment.name} raise “{theme.name}”.",
        segment=segment,
        theme=theme,
        requested_by=requested_by,
        feedback_ids=ids,
    )


# --- promotion to an innovation idea --------------------------------------------------------


def promote_requests(*, request_ids: Iterable[int], promoted_by=None):
    """Turn a proposed group of similar requests into one innovation idea.

    The group must still be a proposal: open, not promoted, alike, and asked for by at
    least ``CUSTOMIZATION_PROMOTION_THRESHOLD`` distinct customers/segments (else
    ``ValidationError``). The idea is created by ``innovation.services.create_idea`` with
    all the requests' evidence; every request keeps its links and points to the idea.
    """
    from innovation.models import Idea, IdeaEvidence
    from innovation.services import create_idea

    from .selectors import promotable_requests, promotion_proposals

    wanted = sorted({int(pk) for pk in request_ids})
    with transaction.atomic():
        # Lock first (a plain query: FOR UPDATE refuses the evidence count's GROUP BY).
        list(CustomizationRequest.objects.select_for_update().filter(pk__in=wanted).values("pk"))
        locked = list(promotable_requests().filter(pk__in=wanted))
        proposals = promotion_proposals(locked)
        if len(locked) != len(wanted) or len(proposals) != 1 or proposals[0].ids != wanted:
            raise ValidationError(
                "These requests are no longer a promotion proposal (promoted, declined or "
                "not alike enough)."
            )
        requests = proposals[0].requests
        themes = {r.theme_id for r in requests}
        products = {r.product_id for r in requests}
        first = requests[0]
        theme = first.theme if len(themes) == 1 and first.theme_id else None
        product = first.product if len(products) == 1 and first.product_id else None
        asks = "\n".join(
            f"- {r.title} ({r.customer or r.segment}, {r.get_status_display().lower()})"
            for r in requests
        )
        feedback_ids = sorted(
            set(
                CustomizationEvidence.objects.filter(request__in=requests).values_list(
                    "feedback_id", flat=True
                )
            )
        )
        idea = create_idea(
            title=(theme.name if theme else first.title)[:200],
            problem=(
                f"{proposals[0].parties} customers and segments asked for this as a "
                f"customization:\n{asks}"
            ),
            created_by=promoted_by,
            product=product,
            theme=theme,
            origin=Idea.Origin.PROMOTED,
            feedback_ids=feedback_ids,
            evidence_source=IdeaEvidence.Source.PROMOTION,
        )
        CustomizationRequest.objects.filter(pk__in=wanted).update(
            promoted_to=idea, updated_at=timezone.now()
        )
    return idea
