"""feedback.inserts: the same rows as the ORM's insert, in one statement."""

import datetime as dt
from decimal import Decimal

import pytest
from django.db import IntegrityError, connection, transaction
from django.forms.models import model_to_dict
from django.test.utils import CaptureQueriesContext

from feedback.inserts import insert_rows, new_row
from feedback.models import Feedback
from feedback.tests.factories import CustomerFactory, ProductFactory

pytestmark = pytest.mark.django_db


def _row(**extra):
    return Feedback(
        channel=Feedback.Channel.REVIEW,
        source="trustpilot",
        text="Late again — 50% of my orders",
        rating=Decimal("2.50"),
        rating_min=Decimal("1"),
        rating_max=Decimal("5"),
        rating_normalised=0.375,
        received_at=dt.datetime(2026, 3, 1, 12, 30, tzinfo=dt.UTC),
        submitter_name="Ana",
        consent=True,
        consent_text="You may contact me",
        **extra,
    )


def _stored(pk):
    data = model_to_dict(Feedback.objects.get(pk=pk))
    data.pop("id")
    return data


def test_rows_equal_those_the_orm_stores():
    customer, product = CustomerFactory(), ProductFactory()
    ours = [_row(external_id=f"a{n}", customer=customer, product=product) for n in range(3)]
    theirs = [_row(external_id=f"b{n}", customer=customer, product=product) for n in range(3)]
    insert_rows(ours)
    for row in theirs:
        row.save(force_insert=True)
    assert all(row.pk and not row._state.adding for row in ours)
    assert len({row.pk for row in ours}) == 3
    for mine, orm in zip(ours, theirs, strict=True):
        a, b = _stored(mine.pk), _stored(orm.pk)
        assert a.pop("external_id") != b.pop("external_id")
        assert a == b
    created = Feedback.objects.get(pk=ours[0].pk).created_at
    assert created is not None and ours[0].created_at == created


def test_one_statement_in_order_and_chunked_under_the_parameter_limit(monkeypatch):
    from feedback import inserts

    rows = [_row(external_id=f"c{n}") for n in range(7)]
    with CaptureQueriesContext(connection) as queries:
        insert_rows(rows)
    if connection.vendor == "postgresql":
        assert sum(q["sql"].startswith("INSERT") for q in queries.captured_queries) == 1
    assert [Feedback.objects.get(pk=r.pk).external_id for r in rows] == [
        r.external_id for r in rows
    ]

    monkeypatch.setattr(inserts, "_MAX_PARAMETERS", 60)  # two rows per statement
    more = [_row(external_id=f"d{n}") for n in range(5)]
    with CaptureQueriesContext(connection) as queries:
        insert_rows(more)
    if connection.vendor == "postgresql":
        assert sum(q["sql"].startswith("INSERT") for q in queries.captured_queries) == 3
    assert [Feedback.objects.get(pk=r.pk).external_id for r in more] == [
        r.external_id for r in more
    ]


def test_a_duplicate_external_id_stores_nothing_of_the_statement():
    insert_rows([_row(external_id="dup")])
    with pytest.raises(IntegrityError), transaction.atomic():
        insert_rows([_row(external_id="new"), _row(external_id="dup")])
    assert not Feedback.objects.filter(external_id="new").exists()


def _fields(row):
    return {f.attname: getattr(row, f.attname) for f in Feedback._meta.concrete_fields}


def test_new_row_equals_the_keyword_constructor():
    customer, product = CustomerFactory(), ProductFactory()
    values = {
        "channel": Feedback.Channel.REVIEW,
        "source": "trustpilot",
        "text": "Late again",
        "rating": Decimal("2"),
        "received_at": dt.datetime(2026, 3, 1, 12, 30, tzinfo=dt.UTC),
        "customer": customer,
        "product_id": product.pk,
    }
    ours, theirs = new_row(Feedback, **values), Feedback(**values)
    assert _fields(ours) == _fields(theirs)
    assert ours._state.adding and ours.pk is None
    with CaptureQueriesContext(connection) as queries:
        assert ours.customer is customer  # cached as assignment caches it: no query
    assert len(queries) == 0
    assert new_row(Feedback, customer=None).customer_id is None


def test_new_row_computes_callable_defaults_per_row():
    from surveys.models import Question

    first, second = new_row(Question, key="a"), new_row(Question, key="b")
    # choices defaults to a new list: rows never share one
    assert first.choices == [] and first.choices is not second.choices


def test_new_row_refuses_an_unknown_field():
    with pytest.raises(TypeError, match="no field 'colour'"):
        new_row(Feedback, text="x", colour="red")
