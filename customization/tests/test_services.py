"""Customization services: requests and their workflow, evidence, value at stake,
preferences, suggestions and promotion."""

import importlib
import time
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from customization import segment_services, selectors, services
from customization.models import (
    CustomerPreference,
    CustomizationRequest,
    CustomizationStatusChange,
    Segment,
)
from feedback.models import Customer
from feedback.tests.factories import CustomerFactory, FeedbackFactory
from insights.models import FeedbackTheme, Theme

pytestmark = pytest.mark.django_db
Status = CustomizationRequest.Status


def require_attribute(module: str, name: str):
    """The object ``module.name``; the test skips while that module does not provide it."""
    try:
        return getattr(importlib.import_module(module), name)
    except (ImportError, AttributeError):
        pytest.skip(f"{module}.{name} is not available yet")


@pytest.fixture
def emea(population):
    return segment_services.create_rule_segment(
        name="EMEA", rules=[{"field": "attributes.region", "op": "eq", "value": "EMEA"}]
    )


# --- requests ----------------------------------------------------------------------------------


def test_a_request_for_a_customer_carries_their_annual_value(population, manager):
    request = services.create_customization_request(
        title="SAP export", customer=population["Acme"], requested_by=manager
    )
    assert request.value_at_stake == Decimal("120000")
    assert [(h.from_status, h.to_status) for h in request.history.all()] == [("", "requested")]


def test_a_request_for_a_segment_carries_the_sum_over_its_members(emea):
    request = services.create_customization_request(title="Local invoices", segment=emea)
    assert request.value_at_stake == Decimal("215000")  # Acme 120k + Bolt 40k + Hive 55k


def test_the_value_follows_segment_membership(population, emea):
    request = services.create_customization_request(title="Local invoices", segment=emea)
    Customer.objects.filter(name="Echo").update(attributes={"region": "EMEA"})
    segment_services.refresh_all_segments()
    request.refresh_from_db()
    assert request.value_at_stake == Decimal("515000")


def test_the_hourly_refresh_brings_customer_request_values_up_to_date(population):
    acme, cora = population["Acme"], population["Cora"]
    open_one = services.create_customization_request(title="SSO", customer=acme)
    delivered = services.create_customization_request(title="Logo", customer=cora)
    for step in ("assessed", "accepted", "delivering", "delivered"):
        services.change_request_status(request=delivered, to_status=step)
    Customer.objects.filter(pk__in=[acme.pk, cora.pk]).update(annual_value=Decimal("250000.50"))

    segment_services.refresh_all_segments()

    open_one.refresh_from_db(), delivered.refresh_from_db()
    assert open_one.value_at_stake == Decimal("250000.50")
    assert delivered.value_at_stake == Decimal(9000)  # closed: the value it was delivered at


def test_the_hourly_refresh_keeps_manual_and_accepted_segments_right(population):
    manual = Segment.objects.create(name="Key accounts", kind="manual")
    accepted = Segment.objects.create(name="Fans", kind="suggested", status="active")
    for segment in (manual, accepted):
        segment.customers.set([population["Acme"], population["Bolt"], population["Dune"]])
        segment_services.refresh_segment_membership(segment=segment)
    requests = [
        services.create_customization_request(title="QBR", segment=segment)
        for segment in (manual, accepted)
    ]
    assert {r.value_at_stake for r in requests} == {Decimal(160000)}
    population["Dune"].delete()
    Customer.objects.filter(pk=population["Bolt"].pk).update(annual_value=Decimal(50000))

    assert segment_services.refresh_all_segments() == 2

    for segment, request in zip((manual, accepted), requests, strict=True):
        segment.refresh_from_db(), request.refresh_from_db()
        assert segment.member_count == segment.customers.count() == 2
        assert request.value_at_stake == Decimal(170000)
        assert list(segment.customers.order_by("name").values_list("name", flat=True)) == [
            "Acme",
            "Bolt",
        ]


@pytest.mark.parametrize("both", [True, False])
def test_a_request_is_for_one_customer_or_one_segment(population, emea, both):
    with pytest.raises(ValidationError) as caught:
        services.create_customization_request(
            title="X",
            customer=population["Acme"] if both else None,
            segment=emea if both else None,
        )
    assert set(caught.value.message_dict) == {"customer", "segment"}
    assert not CustomizationRequest.objects.exists()


def test_a_pending_suggestion_cannot_carry_requests(population):
    pending = Segment.objects.create(name="Maybe", kind="suggested", status="suggested")
    with pytest.raises(ValidationError) as caught:
        services.create_customization_request(title="X", segment=pending)
    assert "segment" in caught.value.message_dict


def test_the_workflow_walks_forward_and_records_history(population, manager):
    request = services.create_customization_request(title="SSO", customer=population["Bolt"])
    for status in ("assessed", "accepted", "delivering"):
        request = services.change_request_status(
            request=request, to_status=status, changed_by=manager, note=f"to {status}"
        )
    assert request.status == "delivering"
    history = list(request.history.values_list("from_status", "to_status", "note"))
    assert history == [
        ("", "requested", ""),
        ("requested", "assessed", "to assessed"),
        ("assessed", "accepted", "to accepted"),
        ("accepted", "delivering", "to delivering"),
    ]


@pytest.mark.parametrize(
    ("path", "refused"),
    [
        ([], "accepted"),
        ([], "delivered"),
        (["assessed"], "delivering"),
        (["declined"], "accepted"),
        (["assessed", "accepted", "delivering"], "requested"),
        ([], "nonsense"),
    ],
)
def test_only_allowed_transitions_happen(population, path, refused):
    request = services.create_customization_request(title="SSO", customer=population["Bolt"])
    for status in path:
        request = services.change_request_status(request=request, to_status=status)
    before = CustomizationStatusChange.objects.count()
    with pytest.raises(ValidationError) as caught:
        services.change_request_status(request=request, to_status=refused)
    assert "status" in caught.value.message_dict
    request.refresh_from_db()
    assert request.status == (path[-1] if path else "requested")
    assert CustomizationStatusChange.objects.count() == before


def test_a_declined_request_can_be_reopened(population):
    request = services.create_customization_request(title="SSO", customer=population["Bolt"])
    request = services.change_request_status(request=request, to_status="declined")
    request = services.change_request_status(request=request, to_status="requested")
    assert request.status == "requested"


@pytest.mark.services
@pytest.mark.django_db(transaction=True)
def test_delivery_tells_the_customers_after_commit(celery_worker):
    """A real worker on Redis sends the message, and only once the delivery is committed."""
    from django.core import mail
    from django.db import transaction

    from conftest import wait_until
    from innovation.models import LoopMessage

    customer = CustomerFactory(name="Bolt", consent_contact=True)
    request = services.create_customization_request(title="SSO", customer=customer)
    for status in ("assessed", "accepted", "delivering"):
        services.change_request_status(request=request, to_status=status)
    with transaction.atomic():
        services.change_request_status(
            request=request, to_status="delivered", delivery_note="SSO is live"
        )
        time.sleep(1)  # the worker is running: had the task been sent, it would have run
        assert not LoopMessage.objects.filter(customization_request=request).exists()
        assert mail.outbox == []
    assert wait_until(
        lambda: LoopMessage.objects.filter(
            customization_request=request, customer=customer
        ).exists()
    )
    assert wait_until(lambda: len(mail.outbox) == 1)
    assert mail.outbox[0].to == [customer.email]
    request.refresh_from_db()
    assert request.delivered_at is not None and request.delivery_note == "SSO is live"


def test_evidence_is_linked_once_and_can_be_removed(population, staff_member):
    first, second = FeedbackFactory(), FeedbackFactory()
    request = services.create_customization_request(
        title="SSO", customer=population["Bolt"], feedback_ids=[first.pk]
    )
    assert (
        services.add_evidence(
            request=request, feedback_ids=[first.pk, second.pk], added_by=staff_member
        )
        == 1
    )
    assert set(request.evidence.values_list("pk", flat=True)) == {first.pk, second.pk}
    with pytest.raises(ValidationError):
        services.add_evidence(request=request, feedback_ids=[999_999])
    assert services.remove_evidence(request=request, feedback_ids=[first.pk]) == 1
    assert list(request.evidence.values_list("pk", flat=True)) == [second.pk]


def test_one_click_from_a_feedback(population, staff_member):
    feedback = FeedbackFactory(
        customer=population["Cora"], text="Please add <b>dark mode</b> to the portal"
    )
    request, created = services.create_request_from_feedback(
        feedback=feedback, requested_by=staff_member
    )
    assert created and request.customer == population["Cora"]
    assert request.title == "Please add <b>dark mode</b> to the portal"
    assert list(request.evidence.all()) == [feedback]
    assert list(selectors.requests_for_feedback(feedback)) == [request]
    anonymous = FeedbackFactory(customer=None)
    with pytest.raises(ValidationError):
        services.create_request_from_feedback(feedback=anonymous)


def test_a_second_click_on_a_feedback_finds_its_open_request(population, staff_member):
    feedback = FeedbackFactory(customer=population["Cora"], text="Dark mode please")
    first, _ = services.create_request_from_feedback(feedback=feedback)
    again, created = services.create_request_from_feedback(feedback=feedback)
    assert (again, created) == (first, False)
    assert CustomizationRequest.objects.count() == 1
    # Once that request is closed, a click opens a new one.
    services.change_request_status(request=first, to_status="declined")
    reopened, created = services.create_request_from_feedback(feedback=feedback)
    assert created and reopened != first


def test_from_a_theme_the_segment_members_feedback_is_the_evidence(population, emea):
    theme = Theme.objects.create(name="Invoices", slug="invoices")
    inside = FeedbackFactory(customer=population["Bolt"])
    outside = FeedbackFactory(customer=population["Cora"])
    for feedback in (inside, outside):
        FeedbackTheme.objects.create(feedback=feedback, theme=theme, score=1, source="model")
    request = services.create_request_from_theme(theme=theme, segment=emea)
    assert request.segment == emea and request.theme == theme
    assert list(request.evidence.all()) == [inside]
    assert list(selectors.requests_for_theme(theme)) == [request]


# --- preferences -----------------------------------------------------------------------------


def test_a_preference_is_one_per_key_and_can_be_edited(population, staff_member):
    acme = population["Acme"]
    services.set_customer_preference(
        customer=acme, key="channel", value="email", recorded_by=staff_member
    )
    pref = services.set_customer_preference(
        customer=acme, key="channel", value="phone", source="interview"
    )
    assert CustomerPreference.objects.filter(customer=acme).count() == 1
    assert (pref.value, pref.source) == ("phone", "interview")
    other = services.set_customer_preference(customer=acme, key="language", value="German")
    with pytest.raises(ValidationError) as caught:
        services.update_customer_preference(preference=other, key="channel")
    assert "key" in caught.value.message_dict
    with pytest.raises(ValidationError) as caught:
        services.set_customer_preference(customer=acme, key=" ", value="", source="rumour")
    assert set(caught.value.message_dict) == {"key", "value", "source"}


# --- suggestions -----------------------------------------------------------------------------


def _clustered_population():
    for index in range(12):
        CustomerFactory(
            name=f"Ent {index}", tier="enterprise", annual_value=Decimal(100_000 + index)
        )
    for index in range(12):
        CustomerFactory(name=f"Free {index}", tier="free", annual_value=Decimal(0))


def test_suggestions_replace_pending_ones_and_keep_decided_ones(db):
    _clustered_population()
    first = segment_services.suggest_segments(seed=5, max_clusters=4)
    assert len(first) == 2 and {s.member_count for s in first} == {12}
    groups_first = _groups(first)
    again = segment_services.suggest_segments(seed=5, max_clusters=4)
    # Deterministic for a seed: the same groups and traits each run, replacing the pending.
    assert _groups(again) == groups_first
    assert not Segment.objects.filter(pk__in=[s.pk for s in first]).exists()
    accepted = segment_services.accept_suggestion(segment=again[0], name="Big accounts")
    discarded = segment_services.discard_suggestion(segment=again[1])
    assert segment_services.suggest_segments(seed=5, max_clusters=4) == []
    assert not Segment.objects.filter(status="suggested").exists()
    assert Segment.objects.get(pk=accepted.pk).status == "active"
    assert Segment.objects.get(pk=accepted.pk).name == "Big accounts"
    assert Segment.objects.get(pk=accepted.pk).customers.count() == 12
    assert Segment.objects.get(pk=discarded.pk).status == "discarded"


def test_a_decided_suggestion_is_not_suggested_again(db):
    _clustered_population()
    enterprise, free = sorted(
        segment_services.suggest_segments(seed=5, max_clusters=4),
        key=lambda s: s.customers.first().tier,
    )
    segment_services.discard_suggestion(segment=free)
    # A few more customers like the discarded ones: nearly the same cluster comes again.
    for index in range(2):
        CustomerFactory(name=f"Free new {index}", tier="free", annual_value=Decimal(0))
    rerun = segment_services.suggest_segments(seed=5, max_clusters=4)
    assert [s.customers.first().tier for s in rerun] == ["enterprise"]
    assert Segment.objects.filter(status="suggested").count() == 1


def _groups(segments):
    return sorted(
        (tuple(sorted(s.customers.values_list("pk", flat=True))), tuple(s.traits)) for s in segments
    )


def test_only_a_pending_suggestion_can_be_accepted(population, emea):
    with pytest.raises(ValidationError):
        segment_services.accept_suggestion(segment=emea)
    with pytest.raises(ValidationError):
        segment_services.discard_suggestion(segment=emea)


# --- promotion -------------------------------------------------------------------------------


def _ask(customer, title, theme=None):
    feedback = FeedbackFactory(customer=customer, text=title)
    return services.create_customization_request(
        title=title, customer=customer, theme=theme, feedback_ids=[feedback.pk]
    )


def test_below_the_threshold_nothing_is_proposed(population, settings):
    settings.CUSTOMIZATION_PROMOTION_THRESHOLD = 3
    _ask(population["Acme"], "Export invoices to SAP every night")
    _ask(population["Bolt"], "Nightly SAP export of our invoices")
    _ask(population["Bolt"], "SAP invoices export, nightly please")  # same customer again
    _ask(population["Cora"], "Dark mode in the mobile app")
    assert selectors.promotion_proposals() == []


def test_at_the_threshold_similar_requests_are_proposed(population, settings):
    settings.CUSTOMIZATION_PROMOTION_THRESHOLD = 3
    asks = [
        _ask(population["Acme"], "Export invoices to SAP every night"),
        _ask(population["Bolt"], "Nightly SAP export of our invoices"),
        _ask(population["Hive"], "SAP invoices export, nightly please"),
    ]
    _ask(population["Cora"], "Dark mode in the mobile app")
    proposals = selectors.promotion_proposals()
    assert [p.ids for p in proposals] == [[r.pk for r in asks]]
    assert proposals[0].parties == 3


def test_the_same_theme_makes_requests_alike(population, settings):
    settings.CUSTOMIZATION_PROMOTION_THRESHOLD = 2
    theme = Theme.objects.create(name="Reporting", slug="reporting")
    a = _ask(population["Acme"], "Quarterly PDF pack", theme)
    b = _ask(population["Echo"], "Board dashboard", theme)
    assert [p.ids for p in selectors.promotion_proposals()] == [[a.pk, b.pk]]


def test_promotion_creates_one_idea_and_links_every_request(population, settings, manager):
    require_attribute("innovation.services", "create_idea")
    from innovation.models import Idea

    settings.CUSTOMIZATION_PROMOTION_THRESHOLD = 3
    asks = [
        _ask(population["Acme"], "Export invoices to SAP every night"),
        _ask(population["Bolt"], "Nightly SAP export of our invoices"),
        _ask(population["Hive"], "SAP invoices export, nightly please"),
    ]
    idea = services.promote_requests(request_ids=[r.pk for r in asks], promoted_by=manager)
    assert idea.origin == Idea.Origin.PROMOTED
    assert set(CustomizationRequest.objects.values_list("promoted_to", flat=True)) == {idea.pk}
    evidence = {fb for r in asks for fb in r.evidence.values_list("pk", flat=True)}
    assert set(idea.evidence.values_list("feedback_id", flat=True)) == evidence
    assert all(r.evidence.count() == 1 for r in asks)  # the requests keep their links
    assert selectors.promotion_proposals() == []
    with pytest.raises(ValidationError):
        services.promote_requests(request_ids=[r.pk for r in asks], promoted_by=manager)


def test_a_group_that_is_not_a_proposal_is_not_promoted(population, settings, manager):
    settings.CUSTOMIZATION_PROMOTION_THRESHOLD = 3
    a = _ask(population["Acme"], "Export invoices to SAP every night")
    b = _ask(population["Cora"], "Dark mode in the mobile app")
    with pytest.raises(ValidationError):
        services.promote_requests(request_ids=[a.pk, b.pk], promoted_by=manager)
    assert not CustomizationRequest.objects.filter(promoted_to__isnull=False).exists()


def test_a_segment_value_is_kept_in_cents_on_every_database():
    segment = Segment.objects.create(name="Small spenders")
    segment.customers.add(
        *(CustomerFactory(annual_value=Decimal(v)) for v in ("0.10", "0.20", "1234.56"))
    )
    request = services.create_customization_request(
        title="Invoice per cost centre", segment=segment
    )
    request.refresh_from_db()
    assert request.value_at_stake == Decimal("1234.86")
