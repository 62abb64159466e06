import datetime as dt
import time
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from customization.models import Segment
from feedback.tests.factories import CustomerFactory, FeedbackFactory
from innovation import selectors, services
from innovation.models import Idea, IdeaEvidence, IdeaStatusChange, IdeaVote, SegmentWeight

pytestmark = pytest.mark.django_db


def _idea(user, **kwargs):
    return services.create_idea(
        title=kwargs.pop("title", "Export to spreadsheet"),
        problem=kwargs.pop("problem", "Customers copy reports by hand into spreadsheets."),
        created_by=user,
        **kwargs,
    )


def test_create_idea_records_new_status_and_links_evidence(manager):
    customer = CustomerFactory(annual_value=Decimal("1200.00"))
    feedback = [FeedbackFactory(customer=customer), FeedbackFactory()]

    idea = _idea(manager, feedback_ids=[f.pk for f in feedback])

    assert idea.status == Idea.Status.NEW
    history = list(idea.history.values_list("from_status", "to_status"))
    assert history == [("", Idea.Status.NEW)]
    assert set(idea.evidence.values_list("feedback_id", flat=True)) == {f.pk for f in feedback}
    assert idea.evidence_count == 2
    assert idea.customer_count == 1
    assert idea.value_at_stake == Decimal("1200.00")
    assert idea.evidence_refreshed_at is not None


@pytest.mark.parametrize("field", ["title", "problem"])
def test_create_idea_rejects_blank_text(manager, field):
    kwargs = {"title": "A title", "problem": "A problem"}
    kwargs[field] = "   "
    with pytest.raises(ValidationError) as error:
        services.create_idea(created_by=manager, **kwargs)
    assert field in error.value.message_dict
    assert not Idea.objects.exists()


def test_create_idea_rejects_unknown_feedback_and_creates_nothing(manager):
    with pytest.raises(ValidationError) as error:
        _idea(manager, feedback_ids=[987654])
    assert "feedback_ids" in error.value.message_dict
    assert not Idea.objects.exists()


def test_allowed_transitions_are_recorded(manager):
    idea = _idea(manager)
    for status in [Idea.Status.UNDER_REVIEW, Idea.Status.PLANNED, Idea.Status.IN_PROGRESS]:
        idea = services.change_idea_status(idea=idea, to_status=status, by=manager, note="ok")
    assert idea.status == Idea.Status.IN_PROGRESS
    assert list(idea.history.values_list("to_status", flat=True)) == [
        "new",
        "under_review",
        "planned",
        "in_progress",
    ]
    assert IdeaStatusChange.objects.filter(idea=idea, changed_by=manager, note="ok").count() == 3


@pytest.mark.parametrize(
    "to_status", [Idea.Status.SHIPPED, Idea.Status.IN_PROGRESS, Idea.Status.NEW, "nonsense"]
)
def test_disallowed_transition_from_new_is_refused(manager, to_status):
    idea = _idea(manager)
    with pytest.raises(ValidationError) as error:
        services.change_idea_status(idea=idea, to_status=to_status, by=manager)
    assert "to_status" in error.value.message_dict
    idea.refresh_from_db()
    assert idea.status == Idea.Status.NEW
    assert idea.history.count() == 1


@pytest.mark.services
@pytest.mark.django_db(transaction=True)
def test_shipping_sets_dates_and_closes_the_loop_after_commit(manager, settings, celery_worker):
    """Shipping dates are set; a real worker on Redis tells the customer, after the commit."""
    from django.core import mail
    from django.db import transaction

    from conftest import wait_until
    from innovation.models import LoopMessage

    settings.IDEA_IMPACT_CHECK_WEEKS = 4
    customer = CustomerFactory(consent_contact=True)
    idea = _idea(manager, feedback_ids=[FeedbackFactory(customer=customer).pk])
    for status in [Idea.Status.PLANNED, Idea.Status.IN_PROGRESS]:
        idea = services.change_idea_status(idea=idea, to_status=status, by=manager)
    with transaction.atomic():
        idea = services.change_idea_status(idea=idea, to_status=Idea.Status.SHIPPED, by=manager)
        assert idea.shipped_at is not None
        assert idea.impact_check_due == timezone.localdate() + dt.timedelta(weeks=4)
        time.sleep(1)  # the worker is running: had the task been sent, it would have run
        assert not LoopMessage.objects.filter(idea=idea).exists()
    assert wait_until(lambda: LoopMessage.objects.filter(idea=idea, customer=customer).exists())
    assert wait_until(lambda: len(mail.outbox) == 1)
    assert mail.outbox[0].to == [customer.email]
    with pytest.raises(ValidationError):
        services.change_idea_status(idea=idea, to_status=Idea.Status.PLANNED, by=manager)


def test_rice_and_value_effort_computed_by_hand(manager):
    """Reach: 3 unique customers; one of them is in a segment weighted 2 and one weighted 0.5,
    the third is in both the 0.5 and a 3 segment (counts with its highest weight, 3).
    reach = 2 + 0.5 + 3 = 5.5; RICE = 5.5 × 2 × 0.8 ÷ 4 = 2.2; value/effort = 6 ÷ 4 = 1.5."""
    a, b, c = CustomerFactory(), CustomerFactory(), CustomerFactory(internal=True)
    gold = Segment.objects.create(name="Gold")
    low = Segment.objects.create(name="Low")
    key = Segment.objects.create(name="Key accounts")
    ignored = Segment.objects.create(name="Old", status=Segment.Status.DISCARDED)
    gold.customers.add(a)
    low.customers.add(b, c)
    key.customers.add(c)
    ignored.customers.add(a, b, c)
    SegmentWeight.objects.create(segment=gold, weight=2)
    SegmentWeight.objects.create(segment=low, weight=0.5)
    SegmentWeight.objects.create(segment=key, weight=3)
    SegmentWeight.objects.create(segment=ignored, weight=10)
    feedback = [
        FeedbackFactory(customer=a),
        FeedbackFactory(customer=a),
        FeedbackFactory(customer=b),
    ]
    idea = _idea(manager, feedback_ids=[f.pk for f in feedback])
    services.record_vote(idea=idea, customer=c, by=manager)
    services.record_vote(idea=idea, customer=a, by=manager)

    idea = services.set_idea_scores(
        idea=idea, by=manager, impact=2, confidence=0.8, effort=4, value=6
    )
    idea.refresh_from_db()

    assert idea.reach == pytest.approx(5.5)
    assert idea.rice_score == pytest.approx(2.2)
    assert idea.value_effort_score == pytest.approx(1.5)
    assert idea.customer_count == 3
    assert idea.internal_customer_count == 1
    assert idea.external_customer_count == 2
    assert idea.vote_count == 2
    assert idea.evidence_count == 3
    assert idea.segment_counts == {"Gold": 1, "Key accounts": 1, "Low": 2}
    formulas = selectors.idea_formulas(idea)
    assert formulas.rice == "RICE = reach 5.5 × impact 2 × confidence 0.8 ÷ effort 4 = 2.2"
    assert formulas.value_effort == "Value/effort = value 6 ÷ effort 4 = 1.5"


def test_scores_need_all_inputs_and_valid_ranges(manager):
    idea = _idea(manager)
    idea = services.set_idea_scores(
        idea=idea, by=manager, impact=1, confidence=None, effort=2, value=None
    )
    assert idea.rice_score is None
    assert idea.value_effort_score is None
    assert "missing: confidence" in selectors.idea_formulas(idea).rice
    for bad in ({"confidence": 1.5}, {"effort": 0}, {"impact": -1}):
        inputs = {"impact": 1, "confidence": 0.5, "effort": 1, "value": 1, **bad}
        with pytest.raises(ValidationError) as error:
            services.set_idea_scores(idea=idea, by=manager, **inputs)
        assert set(bad) <= set(error.value.message_dict)


@pytest.mark.parametrize(
    "bad", [{"value": 1e308}, {"value": 1_000_001}, {"effort": 1e-320}, {"effort": 0.0005}]
)
def test_scores_that_would_make_an_infinite_score_are_refused(manager, bad):
    # 1e308 ÷ 0.5 and 1 ÷ 1e-320 overflow to infinity: no page prints it, JSON cannot carry it.
    idea = _idea(manager, feedback_ids=[FeedbackFactory(customer=CustomerFactory()).pk])
    inputs = {"impact": 10, "confidence": 1, "effort": 0.5, "value": 10, **bad}
    with pytest.raises(ValidationError) as error:
        services.set_idea_scores(idea=idea, by=manager, **inputs)
    assert set(error.value.message_dict) == set(bad)
    idea.refresh_from_db()
    assert idea.rice_score is None and idea.value_effort_score is None


def test_the_extreme_scores_allowed_stay_finite_and_printable(manager):
    idea = _idea(manager, feedback_ids=[FeedbackFactory(customer=CustomerFactory()).pk])
    idea = services.set_idea_scores(
        idea=idea, by=manager, impact=10, confidence=1, effort=services.EFFORT_MIN,
        value=services.VALUE_MAX,
    )  # fmt: skip
    assert idea.rice_score == pytest.approx(10_000)
    assert idea.value_effort_score == pytest.approx(1e9)
    formulas = selectors.idea_formulas(idea)
    assert formulas.rice.endswith("= 10000") and formulas.value_effort.endswith("= 1000000000")


def test_evidence_and_votes_refresh_numbers(staff_member):
    customer = CustomerFactory()
    idea = _idea(staff_member)
    feedback = FeedbackFactory(customer=customer)
    assert (
        services.add_evidence(idea=idea, feedback_ids=[feedback.pk, feedback.pk], by=staff_member)
        == 1
    )
    assert services.add_evidence(idea=idea, feedback_ids=[feedback.pk], by=staff_member) == 0
    idea.refresh_from_db()
    assert (idea.evidence_count, idea.customer_count) == (1, 1)
    _, created = services.record_vote(idea=idea, customer=customer, by=staff_member)
    _, again = services.record_vote(idea=idea, customer=customer, by=staff_member)
    assert (created, again) == (True, False)
    idea.refresh_from_db()
    assert (idea.vote_count, idea.customer_count) == (1, 1)
    assert services.remove_evidence(idea=idea, feedback_id=feedback.pk, by=staff_member)
    assert services.remove_vote(idea=idea, customer_id=customer.pk, by=staff_member)
    idea.refresh_from_db()
    assert (idea.evidence_count, idea.vote_count, idea.customer_count) == (0, 0, 0)


def _evidence_set(idea):
    return set(
        IdeaEvidence.objects.filter(idea=idea).values_list(
            "pk", "feedback_id", "source", "similarity", "merged_from"
        )
    )


def _vote_set(idea):
    return set(IdeaVote.objects.filter(idea=idea).values_list("pk", "customer_id", "merged_from"))


def test_merge_moves_evidence_and_votes_and_unmerge_restores_them_exactly(manager):
    shared_customer, own_customer, target_customer = (
        CustomerFactory(),
        CustomerFactory(),
        CustomerFactory(),
    )
    shared = FeedbackFactory(customer=shared_customer)
    own = [FeedbackFactory(customer=own_customer), FeedbackFactory()]
    target_only = FeedbackFactory(customer=target_customer)
    source = _idea(manager, title="Dark mode", feedback_ids=[shared.pk, *(f.pk for f in own)])
    target = _idea(manager, title="Night theme", feedback_ids=[shared.pk, target_only.pk])
    services.add_evidence(
        idea=source,
        feedback_ids=[FeedbackFactory().pk],
        by=manager,
        source=IdeaEvidence.Source.SIMILAR,
        similarities=None,
    )
    services.record_vote(idea=source, customer=shared_customer, by=manager)
    services.record_vote(idea=source, customer=own_customer, by=manager)
    services.record_vote(idea=target, customer=shared_customer, by=manager)
    before_source, before_target = _evidence_set(source), _evidence_set(target)
    votes_source, votes_target = _vote_set(source), _vote_set(target)

    target = services.merge_ideas(source=source, target=target, by=manager)
    source.refresh_from_db()

    assert source.merged_into == target
    # Everything but the shared feedback/customer moved, marked with where it came from.
    assert target.evidence_count == 5
    assert set(
        target.evidence.filter(merged_from=source).values_list("feedback_id", flat=True)
    ) == {
        *(f.pk for f in own),
        *IdeaEvidence.objects.filter(idea=target, source="similar").values_list(
            "feedback_id", flat=True
        ),
    }
    assert list(source.evidence.values_list("feedback_id", flat=True)) == [shared.pk]
    assert list(source.votes.values_list("customer_id", flat=True)) == [shared_customer.pk]
    assert target.vote_count == 2
    assert source not in selectors.idea_list()
    with pytest.raises(ValidationError):
        services.add_evidence(idea=source, feedback_ids=[own[0].pk], by=manager)

    source = services.unmerge_idea(idea=source, by=manager)
    target.refresh_from_db()

    assert source.merged_into is None
    assert _evidence_set(source) == before_source
    assert _evidence_set(target) == before_target
    assert _vote_set(source) == votes_source
    assert _vote_set(target) == votes_target
    assert (source.evidence_count, target.evidence_count) == (4, 2)


def test_merge_refuses_self_merged_and_chains(manager):
    a, b, c = _idea(manager, title="A"), _idea(manager, title="B"), _idea(manager, title="C")
    with pytest.raises(ValidationError):
        services.merge_ideas(source=a, target=a, by=manager)
    services.merge_ideas(source=a, target=b, by=manager)
    a.refresh_from_db()
    with pytest.raises(ValidationError):
        services.merge_ideas(source=a, target=c, by=manager)
    with pytest.raises(ValidationError):
        services.merge_ideas(source=c, target=a, by=manager)
    with pytest.raises(ValidationError):
        services.merge_ideas(source=b, target=c, by=manager)
    with pytest.raises(ValidationError):
        services.unmerge_idea(idea=c, by=manager)


def test_possible_duplicates_find_the_similar_live_idea_only(manager):
    twin = _idea(
        manager,
        title="Export reports to Excel",
        problem="Finance copies the monthly report into Excel by hand every month.",
    )
    _idea(manager, title="Faster login", problem="Signing in takes too long on mobile.")
    merged = _idea(manager, title="Excel export of reports", problem="Report export to Excel.")
    services.merge_ideas(source=merged, target=twin, by=manager)

    found = selectors.possible_duplicates(
        title="Excel export for reports",
        problem="People paste the report into Excel by hand.",
    )

    assert [d.idea for d in found] == [twin]
    assert 0 < found[0].score <= 1
    assert (
        selectors.possible_duplicates(title="Faster login", problem="x", exclude_pk=None)[
            0
        ].idea.title
        == "Faster login"
    )
    assert selectors.possible_duplicates(title="Quantum teleport", problem="Nothing alike") == []


def test_find_similar_ranks_unlinked_feedback_by_meaning(manager, monkeypatch):
    monkeypatch.setenv("FOCUSLOOP_EMBEDDING_MODEL_DIR", "")
    linked = FeedbackFactory(text="The invoice PDF export is broken and invoices look wrong.")
    idea = _idea(
        manager,
        title="Fix invoice export",
        problem="Invoice PDF export fails for customers.",
        feedback_ids=[linked.pk],
    )
    best = FeedbackFactory(text="Invoice export to PDF fails every time I download an invoice.")
    good = FeedbackFactory(text="Downloading the invoice is broken.")
    FeedbackFactory(text="Lovely staff at the front desk, thank you.")
    old = FeedbackFactory(
        text="Invoice PDF export fails.", received_at=timezone.now() - dt.timedelta(days=800)
    )

    found = selectors.similar_feedback(idea)

    ids = [row.feedback.pk for row in found]
    assert ids[:2] == [best.pk, good.pk]
    assert linked.pk not in ids and old.pk not in ids
    assert found[0].score > found[1].score > 0
