import datetime as dt

import pytest
from django.db import transaction
from django.utils import timezone

from surveys.models import Survey
from surveys.prepared_queries import PreparedQuery
from surveys.tests.factories import ProductFactory, make_survey

pytestmark = pytest.mark.django_db

BY_ID = PreparedQuery(lambda pk: Survey.objects.filter(pk=pk).order_by(), int)
PUBLIC_BY_SLUG = PreparedQuery(
    lambda slug: Survey.objects.exclude(status=Survey.Status.DRAFT).filter(slug=slug), str
)
LOCKED_STATE = PreparedQuery(
    lambda pk: (
        Survey.objects.select_for_update()
        .filter(pk=pk)
        .order_by()
        .values("status", "closes_at", "response_quota")
    ),
    int,
)


def field_values(survey: Survey) -> dict:
    return {f.attname: getattr(survey, f.attname) for f in Survey._meta.concrete_fields}


def test_an_instance_is_the_one_the_queryset_gives_every_time():
    survey = make_survey(product=ProductFactory(), closes_at=timezone.now() + dt.timedelta(days=3))
    other = make_survey(title="Other")
    for _ in range(2):  # compiled on the first call, reused on the second
        found = BY_ID.first(survey.pk)
        assert field_values(found) == field_values(Survey.objects.get(pk=survey.pk))
        assert isinstance(found.closes_at, dt.datetime) and found.closes_at.tzinfo
        assert not found._state.adding and found._state.db == "default"
    assert BY_ID.first(other.pk).title == "Other"


def test_a_missing_row_or_an_id_no_column_holds_is_none():
    assert BY_ID.first(987_654) is None
    assert BY_ID.first(2**70) is None
    assert BY_ID.first(-(2**70)) is None


def test_the_queryset_rules_stay_in_the_compiled_query():
    draft = make_survey(status=Survey.Status.DRAFT)
    survey = make_survey()
    assert PUBLIC_BY_SLUG.first(draft.slug) is None
    assert PUBLIC_BY_SLUG.first(survey.slug).pk == survey.pk
    assert PUBLIC_BY_SLUG.first("no-such-slug") is None


def test_values_come_back_converted_under_the_lock():
    closes_at = timezone.now() + dt.timedelta(days=1)
    survey = make_survey(closes_at=closes_at, response_quota=5)
    with transaction.atomic():
        state = LOCKED_STATE.first(survey.pk)
    assert state == {"status": "open", "closes_at": closes_at, "response_quota": 5}


def test_a_share_lock_is_compiled_as_for_share(postgres_required):
    survey = make_survey(response_quota=5)
    shared = PreparedQuery(
        lambda pk: (
            Survey.objects.select_for_update(no_key=True)
            .filter(pk=pk)
            .order_by()
            .values("status", "response_quota")
        ),
        int,
        share_lock=True,
    )
    with transaction.atomic():
        assert shared.first(survey.pk) == {"status": "open", "response_quota": 5}
        compiled = next(iter(shared._compiled_for.values()))
    assert compiled.sql.endswith(" FOR SHARE")
    with pytest.raises(ValueError, match="no_key=True"):
        PreparedQuery(
            lambda pk: Survey.objects.select_for_update().filter(pk=pk), int, share_lock=True
        ).first(survey.pk)


def test_a_build_that_does_not_use_its_argument_is_refused():
    unused = PreparedQuery(lambda pk: Survey.objects.filter(pk=1), int)
    with pytest.raises(ValueError, match="not one parameter"):
        unused.first(1)
    with pytest.raises(TypeError):
        PreparedQuery(lambda when: Survey.objects.filter(created_at=when), dt.datetime)
