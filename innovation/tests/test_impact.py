"""The impact check: the theme before and after shipping, from the daily theme rollup."""

import datetime as dt

import pytest
from django.core.exceptions import ValidationError

from feedback.tests.factories import ProductFactory
from innovation import impact
from innovation.analysis.impact import (
    IMPROVED,
    NO_CHANGE,
    NOT_ENOUGH_DATA,
    WORSE,
    Window,
    compare_windows,
    regrown,
)
from innovation.models import Idea
from innovation.tasks import check_idea_impact_task

from .roadmap_data import day_stat, idea, shipped, theme

# --- The comparison, without a database -------------------------------------------------


def _window(count, negative, daily, days=28):
    return Window(
        days=days,
        feedback_count=count,
        analysed_count=count,
        negative_count=negative,
        sentiment_sum=sum(daily) * count / len(daily),
        daily_sentiment=tuple(daily),
    )


def test_a_drop_in_negative_share_and_volume_is_an_improvement():
    before = _window(200, 140, [-0.5, -0.4, -0.6, -0.45, -0.55] * 5)
    after = _window(80, 10, [0.2, 0.1, 0.3, 0.15, 0.25] * 5)

    details = compare_windows(before, after)

    assert details["result"] == IMPROVED
    assert set(details["improved"]) == {"volume", "negative_share", "average_sentiment"}
    assert details["tests"]["negative_share"]["test"] == "two-proportion-z"
    assert details["tests"]["volume"]["test"] == "poisson-conditional-binomial"
    assert details["tests"]["average_sentiment"]["test"] == "welch-t"
    assert details["tests"]["negative_share"]["adjusted_p_value"] < 0.05
    assert (
        details["before"]["volume_per_week"] == 50.0 and details["after"]["volume_per_week"] == 20.0
    )


def test_the_same_numbers_after_shipping_are_no_change():
    daily = [-0.5, -0.4, -0.6, -0.45, -0.55] * 5
    details = compare_windows(_window(200, 140, daily), _window(200, 140, daily[::-1]))

    assert details["result"] == NO_CHANGE
    assert details["improved"] == [] and details["worse"] == []
    assert details["tests"]["negative_share"]["p_value"] == pytest.approx(1.0)


def test_a_small_wobble_is_not_called_an_improvement():
    # 70 % → 64 % negative on 100 items each: p ≈ 0.37, not significant.
    daily = [-0.5, -0.4, -0.6, -0.45, -0.55] * 5
    details = compare_windows(_window(100, 70, daily), _window(96, 61, daily[::-1]))
    assert details["result"] == NO_CHANGE


def test_more_and_angrier_feedback_is_worse():
    before = _window(60, 20, [0.1, 0.2, 0.0, 0.15, 0.05] * 5)
    after = _window(150, 110, [-0.4, -0.5, -0.3, -0.45, -0.35] * 5)
    assert compare_windows(before, after)["result"] == WORSE


def test_too_little_feedback_is_not_enough_data():
    daily = [-0.5, 0.1, -0.2]
    assert compare_windows(_window(5, 4, daily), _window(60, 1, daily))["result"] == (
        NOT_ENOUGH_DATA
    )
    assert compare_windows(_window(0, 0, [0.0]), _window(0, 0, [0.0]))["result"] == NOT_ENOUGH_DATA


def test_pain_that_all_but_vanished_after_shipping_is_improved_not_unknown():
    # 246 pieces of feedback before, 5 after: too few for a share or a mean, but the fall in
    # volume is no accident (exact test, p ≈ 1e-66).
    before = _window(246, 164, [-0.5, -0.4, -0.6] * 9, days=41)
    after = _window(5, 1, [0.1, 0.2], days=41)

    details = compare_windows(before, after)

    assert details["result"] == IMPROVED
    assert details["improved"] == ["volume"] and details["worse"] == []
    assert details["tests"]["negative_share"] == {"tested": False}
    assert details["tests"]["average_sentiment"] == {"tested": False}
    assert details["tests"]["volume"]["adjusted_p_value"] < 1e-40


def test_few_items_after_with_no_clear_fall_is_still_not_enough_data():
    # 12 → 8: p ≈ 0.5, and nothing else can be tested.
    details = compare_windows(_window(12, 6, [-0.2, -0.1]), _window(8, 4, [-0.2, -0.1]))
    assert details["result"] == NOT_ENOUGH_DATA
    assert details["tests"]["volume"]["significant"] is False


def test_windows_of_different_lengths_are_refused():
    daily = [0.1, 0.2]
    with pytest.raises(ValueError, match="equally long"):
        compare_windows(_window(20, 2, daily, days=28), _window(20, 2, daily, days=14))


@pytest.mark.parametrize(
    ("dismissed", "current", "expected"),
    [
        (30, 40, False),  # ×1.33: not grown enough
        (30, 46, False),  # ×1.53 but p ≈ 0.08: not significant
        (300, 400, False),  # significant, but only ×1.33
        (30, 60, True),  # ×2 and p ≈ 0.002
        (0, 12, True),  # from nothing to a dozen
    ],
)
def test_regrowth_needs_both_the_factor_and_significance(dismissed, current, expected):
    result = regrown(dismissed_volume=dismissed, current_volume=current, factor=1.5)
    assert result["regrown"] is expected


# --- The service, on the rollup ---------------------------------------------------------


def _seed(theme_row, idea_row, before, after, product=None):
    """``before``/``after``: (count, negative, mean sentiment) per day, oldest first."""
    (b_start, b_end), (a_start, a_end) = impact.impact_windows(idea_row)
    assert (b_end - b_start) == (a_end - a_start) == dt.timedelta(days=len(before))
    for offset, (count, negative, mean) in enumerate(before):
        day_stat(theme_row, b_start + dt.timedelta(days=offset), count=count, negative=negative,
                 sentiment_sum=count * mean, product=product)  # fmt: skip
    for offset, (count, negative, mean) in enumerate(after):
        day_stat(theme_row, a_start + dt.timedelta(days=offset), count=count, negative=negative,
                 sentiment_sum=count * mean, product=product)  # fmt: skip


def _days(n, count, negative, means):
    return [(count, negative, means[i % len(means)]) for i in range(n)]


@pytest.fixture
def checkout(db):
    return theme("Checkout errors")


def test_pain_that_drops_after_shipping_is_improved(manager, checkout):
    row = shipped(idea(manager, theme=checkout), days_ago=50)
    assert row.impact_check_due <= impact._today()
    _seed(checkout, row, _days(41, 6, 4, [-0.5, -0.4, -0.6]), _days(41, 3, 0, [0.2, 0.3, 0.1]))

    assert check_idea_impact_task() == {row.pk: IMPROVED}

    row.refresh_from_db()
    assert row.impact_result == Idea.ImpactResult.IMPROVED
    assert row.impact_checked_at is not None
    details = row.impact_details
    assert details["before"]["volume"] == 246 and details["after"]["volume"] == 123
    assert details["before"]["negative_share"] == pytest.approx(0.6667, abs=1e-4)
    assert details["after"]["negative_share"] == 0
    assert details["tests"]["negative_share"]["significant"] is True
    assert (
        details["windows"]["after"][0]
        == (row.shipped_at.astimezone(dt.UTC).date() + dt.timedelta(days=1)).isoformat()
    )


def test_pain_that_stays_after_shipping_is_no_change(manager, checkout):
    row = shipped(idea(manager, theme=checkout), days_ago=50)
    pattern = _days(41, 6, 4, [-0.5, -0.4, -0.6])
    _seed(checkout, row, pattern, pattern[::-1])

    assert impact.check_due_impacts() == {row.pk: NO_CHANGE}
    row.refresh_from_db()
    assert row.impact_result == Idea.ImpactResult.NO_CHANGE
    assert row.impact_details["improved"] == [] and row.impact_details["worse"] == []


def test_only_the_ideas_product_counts(manager, checkout):
    app, web = ProductFactory(name="App", slug="app"), ProductFactory(name="Web", slug="web")
    row = shipped(idea(manager, theme=checkout, product=app), days_ago=50)
    steady = _days(41, 6, 4, [-0.5, -0.4, -0.6])
    _seed(checkout, row, steady, steady[::-1], product=app)
    # The other product's feedback collapses after shipping: not this idea's doing.
    _seed(checkout, row, _days(41, 9, 8, [-0.7]), _days(41, 1, 0, [0.5]), product=web)

    assert impact.check_idea_impact(idea=row).impact_result == NO_CHANGE
    assert row.impact_details["product_id"] == app.pk


def test_little_feedback_around_shipping_is_not_enough_data(manager, checkout):
    row = shipped(idea(manager, theme=checkout), days_ago=50)
    _seed(checkout, row, _days(41, 0, 0, [0.0]), _days(41, 0, 0, [0.0]))
    assert impact.check_idea_impact(idea=row).impact_result == NOT_ENOUGH_DATA


def test_a_theme_gone_quiet_after_shipping_is_improved(manager, checkout):
    row = shipped(idea(manager, theme=checkout), days_ago=50)
    after = [(0, 0, 0.0)] * 41
    after[3] = (2, 1, -0.1)
    _seed(checkout, row, _days(41, 6, 4, [-0.5, -0.4, -0.6]), after)

    assert impact.check_idea_impact(idea=row).impact_result == IMPROVED
    row.refresh_from_db()
    assert row.impact_details["after"]["volume"] == 2
    assert row.impact_details["improved"] == ["volume"]


def test_only_due_unchecked_shipped_ideas_with_a_theme_are_checked(manager, checkout):
    due = shipped(idea(manager, theme=checkout, title="Due"), days_ago=50)
    not_yet = shipped(idea(manager, theme=checkout, title="Recent"), days_ago=10)
    no_theme = shipped(idea(manager, title="No theme"), days_ago=50)
    open_idea = idea(manager, theme=checkout, title="Open")

    assert set(impact.check_due_impacts()) == {due.pk}
    # Done once: the next day's run leaves it alone.
    assert impact.check_due_impacts() == {}
    for row in (not_yet, no_theme, open_idea):
        row.refresh_from_db()
        assert row.impact_result == "" and row.impact_checked_at is None


def test_an_open_idea_or_one_without_theme_cannot_be_checked(manager, checkout):
    with pytest.raises(ValidationError, match="shipped"):
        impact.check_idea_impact(idea=idea(manager, theme=checkout))
    with pytest.raises(ValidationError, match="theme"):
        impact.check_idea_impact(idea=shipped(idea(manager, title="x"), days_ago=50))


def test_the_task_checks_one_idea_by_id(manager, checkout):
    row = shipped(idea(manager, theme=checkout), days_ago=50)
    assert check_idea_impact_task(idea_id=row.pk) == {row.pk: NOT_ENOUGH_DATA}
    assert check_idea_impact_task(idea_id=999_999) == {}
