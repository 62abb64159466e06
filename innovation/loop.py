"""Close the loop: tell the customers who asked for something that it shipped or was delivered.

Who is told. For a shipped idea: the customers behind its evidence (the feedback linked to
it) and the customers who voted for it. For a delivered customization request: the customers
behind its evidence and the customer it was for. Only customers with an email address who
consented to be contacted — ``Customer.consent_contact``, or the consent box ticked on a
piece of feedback of theirs that is linked to the item — get a message. Each gets one
email (subject, plain text and HTML) saying what changed (the release note or the delivery
note) and reminding them what they had said.

Exactly once. ``LoopMessage`` has one row per customer and item (unique constraints). See
``_send_one`` for the order of writing the row and sending the email.
"""

from __future__ import annotations

import datetime as dt
import smtplib
from dataclasses import dataclass, field

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db import IntegrityError, transaction
from django.template.loader import render_to_string
from django.utils import timezone

from customization.models import CustomizationEvidence, CustomizationRequest
from feedback.models import Customer

from .models import Idea, IdeaEvidence, IdeaVote, LoopMessage

# Errors of the mail transport worth a retry; anything else is a bug and is raised.
TRANSPORT_ERRORS = (smtplib.SMTPException, OSError)
# At most this many of a customer's own words quoted back to them.
QUOTES_PER_CUSTOMER = 3
QUOTE_CHARS = 300
# The daily safety net looks this far back for items whose messages may have been lost.
RECENT_DAYS = 7
# Item pages list at most this many of the customers told.
LOOP_MESSAGES_SHOWN = 200


@dataclass
class Recipient:
    customer: Customer
    consented: bool = False
    # (received_at, text) of what they said, newest first.
    said: list[tuple] = field(default_factory=list)


def _collect(recipients: dict[int, Recipient], rows) -> None:
    """Add feedback rows (with ``customer`` loaded) to the recipients, by customer."""
    for feedback in rows:
        if feedback.customer_id is None:
            continue
        recipient = recipients.setdefault(feedback.customer_id, Recipient(feedback.customer))
        recipient.consented = (
            recipient.consented or feedback.consent or feedback.customer.consent_contact
        )
        recipient.said.append((feedback.received_at, feedback.text))


def _add_customer(recipients: dict[int, Recipient], customer: Customer | None) -> None:
    if customer is None:
        return
    recipient = recipients.setdefault(customer.pk, Recipient(customer))
    recipient.consented = recipient.consented or customer.consent_contact


def idea_recipients(idea: Idea) -> dict[int, Recipient]:
    """Everyone linked to the idea, by customer id, with whether they consented."""
    recipients: dict[int, Recipient] = {}
    links = IdeaEvidence.objects.filter(idea=idea).select_related("feedback__customer")
    _collect(recipients, (link.feedback for link in links))
    for vote in IdeaVote.objects.filter(idea=idea).select_related("customer"):
        _add_customer(recipients, vote.customer)
    return recipients


def request_recipients(request: CustomizationRequest) -> dict[int, Recipient]:
    recipients: dict[int, Recipient] = {}
    links = CustomizationEvidence.objects.filter(request=request).select_related(
        "feedback__customer"
    )
    _collect(recipients, (link.feedback for link in links))
    _add_customer(recipients, request.customer)
    return recipients


def _context(*, idea: Idea | None, request: CustomizationRequest | None) -> dict:
    if idea is not None:
        return {
            "kind": "idea",
            "title": idea.title,
            "what_changed": idea.release_note,
            "product": idea.product,
            "when": idea.shipped_at,
        }
    return {
        "kind": "customization",
        "title": request.title,
        "what_changed": request.delivery_note,
        "product": request.product,
        "when": request.delivered_at,
    }


def subject_for(context: dict) -> str:
    verb = "Now available" if context["kind"] == "idea" else "Delivered"
    # One line: a title sent through the API may hold any line break, and a header with
    # "\r" or "\n" is refused by the mail library (the whole run would stop there).
    title = " ".join(context["title"].split())
    return f"{verb}: {title}"[:200]


def build_email(recipient: Recipient, context: dict) -> EmailMultiAlternatives:
    said = sorted(recipient.said, key=lambda item: item[0], reverse=True)
    quotes = [
        {"received_at": when, "text": text[:QUOTE_CHARS] + ("…" if len(text) > QUOTE_CHARS else "")}
        for when, text in said[:QUOTES_PER_CUSTOMER]
    ]
    full = {**context, "customer": recipient.customer, "quotes": quotes}
    message = EmailMultiAlternatives(
        subject=subject_for(context),
        body=render_to_string("innovation/email/loop_message.txt", full),
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[recipient.customer.email],
        headers={"Auto-Submitted": "auto-generated"},
    )
    message.attach_alternative(
        render_to_string("innovation/email/loop_message.html", full), "text/html"
    )
    return message


def _send_one(recipient: Recipient, context: dict, item: dict) -> LoopMessage | None:
    """Write the customer's LoopMessage row, then send, then commit — in one transaction.

    Why this order. The row is inserted first, so the unique constraint decides who sends:
    a second run (a redelivered or concurrent task) inserting the same customer and item
    waits on the uncommitted row and then fails with an IntegrityError, so it sends
    nothing. The email is sent while the insert is still uncommitted: if the transport
    fails, the exception rolls the row back and a retry sends it; nobody is silently left
    untold (committing the row before sending would lose the message on a crash between
    the two). The one window left is a crash after the mail server accepted the message
    and before the commit: the customer may then get it twice, which we prefer to never.
    Returns the new row, or None when the customer was already told.
    """
    try:
        with transaction.atomic():
            message = LoopMessage.objects.create(
                customer=recipient.customer,
                email=recipient.customer.email,
                subject=subject_for(context),
                **item,
            )
            build_email(recipient, context).send()
    except IntegrityError:
        return None
    return message


def close_the_loop(
    *, idea: Idea | None = None, customization_request: CustomizationRequest | None = None
) -> list[LoopMessage]:
    """Email every consenting customer of a shipped idea or a delivered customization request
    once; return the messages sent now (empty on a second run).

    Give exactly one of ``idea`` and ``customization_request``; an idea not shipped or a
    request not delivered has nothing to announce (empty list). Customers without an email
    address or consent are skipped. A transport error is raised after everyone else was
    tried (the task retries; those already told are skipped then).
    """
    if (idea is None) == (customization_request is None):
        raise ValueError("give exactly one of idea and customization_request")
    if idea is not None:
        if idea.status != Idea.Status.SHIPPED:
            return []
        recipients, item = idea_recipients(idea), {"idea": idea}
        told = LoopMessage.objects.filter(idea=idea)
    else:
        if customization_request.status != CustomizationRequest.Status.DELIVERED:
            return []
        recipients = request_recipients(customization_request)
        item = {"customization_request": customization_request}
        told = LoopMessage.objects.filter(customization_request=customization_request)
    context = _context(idea=idea, request=customization_request)
    already = set(told.values_list("customer_id", flat=True))
    sent: list[LoopMessage] = []
    failure: Exception | None = None
    for customer_id, recipient in sorted(recipients.items()):
        if customer_id in already or not recipient.consented or not recipient.customer.email:
            continue
        try:
            message = _send_one(recipient, context, item)
        except TRANSPORT_ERRORS as exc:
            failure = failure or exc
            continue
        if message is not None:
            sent.append(message)
    if failure is not None:
        raise failure
    return sent


def close_recent_loops(*, days: int = RECENT_DAYS) -> int:
    """Run the loop again for every idea shipped and request delivered in the last ``days``
    days: the safety net for a message lost on the way to the worker (broker down at the
    commit). Customers already told are skipped, so this only sends what is missing.
    Returns how many emails went out."""
    since = timezone.now() - dt.timedelta(days=days)
    sent = 0
    ideas = Idea.objects.filter(status=Idea.Status.SHIPPED, shipped_at__gte=since)
    for idea in ideas.select_related("product").order_by("pk"):
        sent += len(close_the_loop(idea=idea))
    requests = CustomizationRequest.objects.filter(
        status=CustomizationRequest.Status.DELIVERED, delivered_at__gte=since
    )
    for request in requests.select_related("product", "customer").order_by("pk"):
        sent += len(close_the_loop(customization_request=request))
    return sent


def loop_messages_for(
    *, idea: Idea | None = None, customization_request: CustomizationRequest | None = None
):
    """Who was told about an item, newest first (for the ``_loop_messages.html`` fragment)."""
    rows = LoopMessage.objects.select_related("customer")
    if idea is not None:
        return rows.filter(idea=idea).order_by("-sent_at", "-id")
    return rows.filter(customization_request=customization_request).order_by("-sent_at", "-id")
