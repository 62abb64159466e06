"""Properties: the rollups equal a direct aggregate of the raw rows on random data, and
intervals and control limits behave as intervals should."""

import datetime as dt
import math

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from customization.models import Segment
from feedback.models import Customer, Feedback, Product
from insights import services
from insights.analysis import spc, stats
from insights.models import (
    DailyFeedbackStat,
    DailyThemeSegmentStat,
    DailyThemeStat,
    FeedbackTheme,
    Theme,
)
from surveys.models import Answer, Question, Response, Survey

from .rollup_data import answer_survey, make_survey

START = dt.datetime(2026, 5, 4, tzinfo=dt.UTC)
FEEDBACK_COUNTERS = [
    "feedback_count", "analysed_count", "sentiment_sum", "sentiment_sq_sum", "negative_count",
]  # fmt: skip
SCORE_COUNTERS = [
    "nps_promoters", "nps_passives", "nps_detractors", "csat_count", "csat_sum", "csat_sq_sum",
    "csat_satisfied", "ces_count", "ces_sum", "ces_sq_sum",
]  # fmt: skip
COUNTERS = [
    *FEEDBACK_COUNTERS, "neutral_count", "positive_count", "rating_count", "rating_sum",
    *SCORE_COUNTERS,
]  # fmt: skip
# What the theme rollups keep: the feedback counters and the survey scores.
THEME_COUNTERS = FEEDBACK_COUNTERS + SCORE_COUNTERS
DAILY_KEY = ["day", "channel", "product", "kind"]
THEME_KEY = [*DAILY_KEY, "theme"]
THEME_SEGMENT_KEY = [*THEME_KEY, "segment"]
# Themes 0 and 1 are live; theme 2 is merged into theme 0, so its links count nowhere.
MERGED_THEME = 2
themes = st.sets(st.integers(0, 2), max_size=3)
sentiments = st.one_of(st.none(), st.floats(-1, 1, allow_nan=False))

feedback_rows = st.lists(
    st.fixed_dictionaries(
        {
            "minutes": st.integers(0, 4 * 24 * 60 - 1),
            "channel": st.sampled_from(["form", "review", "survey"]),
            "product": st.sampled_from([None, 0, 1]),
            "customer": st.sampled_from([None, "external", "internal"]),
            "sentiment": sentiments,
            "rating": st.one_of(st.none(), st.floats(0, 1, allow_nan=False)),
            "themes": themes,
        }
    ),
    max_size=30,
)
survey_rows = st.lists(
    st.fixed_dictionaries(
        {
            "minutes": st.integers(0, 4 * 24 * 60 - 1),
            "survey": st.sampled_from([0, 1, 2]),
            "customer": st.sampled_from([None, "external", "internal"]),
            "nps": st.one_of(st.none(), st.integers(0, 10)),
            "csat": st.one_of(st.none(), st.integers(1, 5)),
            "ces": st.one_of(st.none(), st.integers(1, 7)),
            # Text answers ("why", "else"): feedback carrying themes.
            "comments": st.lists(
                st.fixed_dictionaries({"sentiment": sentiments, "themes": themes}), max_size=2
            ),
        }
    ),
    max_size=20,
)


def label_of(score):
    if score is None:
        return ""
    return "negative" if score < -0.05 else "positive" if score > 0.05 else "neutral"


def counter_frame(feedback: list[dict], answers: list[dict]) -> pd.DataFrame:
    """One row per raw feedback and per scored response with its counters, keeping the
    rows' themes and segments (lists) for the theme rollups."""
    frames = []
    if feedback:
        df = pd.DataFrame(feedback)
        s = df["sentiment"]
        frames.append(
            pd.DataFrame({
                "day": df["day"], "channel": df["channel"], "product": df["product_id"],
                "kind": df["kind"], "themes": df["themes"], "segments": df["segments"],
                "feedback_count": 1,
                "analysed_count": s.notna().astype(int),
                "sentiment_sum": s.fillna(0.0), "sentiment_sq_sum": (s**2).fillna(0.0),
                "negative_count": (df["label"] == "negative").astype(int),
                "neutral_count": (df["label"] == "neutral").astype(int),
                "positive_count": (df["label"] == "positive").astype(int),
                "rating_count": df["rating"].notna().astype(int),
                "rating_sum": df["rating"].fillna(0.0),
            })
        )  # fmt: skip
    if answers:
        da = pd.DataFrame(answers)
        nps, csat, ces = da["nps"].astype(float), da["csat"].astype(float), da["ces"].astype(float)
        frames.append(
            pd.DataFrame({
                "day": da["day"], "channel": "survey", "product": da["product_id"],
                "kind": da["kind"], "themes": da["themes"], "segments": da["segments"],
                "nps_promoters": (nps >= 9).astype(int),
                "nps_passives": ((nps >= 7) & (nps < 9)).astype(int),
                "nps_detractors": (nps < 7).astype(int),
                "csat_count": csat.notna().astype(int), "csat_sum": csat.fillna(0.0),
                "csat_sq_sum": (csat**2).fillna(0.0),
                "csat_satisfied": (csat >= 4).astype(int),
                "ces_count": ces.notna().astype(int), "ces_sum": ces.fillna(0.0),
                "ces_sq_sum": (ces**2).fillna(0.0),
            })
        )  # fmt: skip
    if not frames:
        return pd.DataFrame(columns=[*DAILY_KEY, "themes", "segments", *COUNTERS])
    frame = pd.concat(frames, ignore_index=True)
    frame["product"] = frame["product"].astype(object).where(frame["product"].notna(), None)
    for name in COUNTERS:
        frame[name] = frame.get(name, 0)
    frame[COUNTERS] = frame[COUNTERS].fillna(0)
    return frame


def _id(value):
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    return int(value)


def expected_rollup(frame: pd.DataFrame, key: list[str], counters: list[str]) -> dict:
    """The rollup computed straight from the raw rows with pandas: the counters summed
    per ``key``; a row counts once in each of its themes and segments when the key has
    them."""
    if "theme" in key:
        frame = frame.explode("themes").rename(columns={"themes": "theme"})
        frame = frame[frame["theme"].notna()]
    if "segment" in key:
        frame = frame.explode("segments").rename(columns={"segments": "segment"})
        frame = frame[frame["segment"].notna()]
    if frame.empty:
        return {}
    grouped = frame.groupby(key, dropna=False)[counters].sum()
    result = {}
    for index, row in grouped.iterrows():
        values = dict(zip(key, index, strict=True))
        values["product"] = _id(values["product"])
        for name in ("theme", "segment"):
            if name in values:
                values[name] = int(values[name])
        result[tuple(values[name] for name in key)] = {n: float(row[n]) for n in counters}
    return result


def stored_rollup() -> dict:
    return {
        (s.day, s.channel, s.product_id, s.customer_kind): {
            n: float(getattr(s, n)) for n in COUNTERS
        }
        for s in DailyFeedbackStat.objects.all()
    }


def stored_theme_rollup(model) -> dict:
    rows = {}
    for s in model.objects.all():
        key = (s.day, s.channel, s.product_id, s.customer_kind, s.theme_id)
        if model is DailyThemeSegmentStat:
            key += (s.segment_id,)
        assert key not in rows, key
        rows[key] = {n: float(getattr(s, n)) for n in THEME_COUNTERS}
    return rows


def assert_same(actual: dict, expected: dict):
    assert actual.keys() == expected.keys()
    for key, counts in expected.items():
        for name, value in counts.items():
            assert actual[key][name] == pytest.approx(value, abs=1e-9), (key, name)


def _fixtures():
    products = [
        Product.objects.get_or_create(slug=f"p{i}", defaults={"name": f"P{i}"})[0] for i in range(2)
    ]
    customers = {
        "external": Customer.objects.get_or_create(name="Ext", kind="external")[0],
        "internal": Customer.objects.get_or_create(
            name="Int", kind="internal", defaults={"department": "HR"}
        )[0],
    }
    # Everyone in "all", only the external customer in "external".
    segments = {
        "all": Segment.objects.get_or_create(name="prop-all")[0],
        "external": Segment.objects.get_or_create(name="prop-external")[0],
    }
    segments["all"].customers.set(customers.values())
    segments["external"].customers.set([customers["external"]])
    theme_objs = [
        Theme.objects.get_or_create(slug=f"prop-theme-{i}", defaults={"name": f"T{i}"})[0]
        for i in range(3)
    ]
    Theme.objects.filter(pk=theme_objs[MERGED_THEME].pk).update(
        status=Theme.Status.MERGED, merged_into=theme_objs[0]
    )
    survey_objs = [
        Survey.objects.filter(slug=f"prop-{i}").first()
        or make_survey(
            product=products[i] if i < 2 else None, audience="internal" if i == 2 else "external"
        )
        for i in range(3)
    ]
    for i, survey in enumerate(survey_objs):
        if survey.slug != f"prop-{i}":
            survey.slug = f"prop-{i}"
            survey.save(update_fields=["slug"])
        Question.objects.get_or_create(
            survey=survey, key="else", defaults={"position": 4, "kind": "long_text", "text": "?"}
        )
    return products, customers, theme_objs, survey_objs


def _segments_of(customer) -> list[int]:
    return sorted(customer.segments.values_list("pk", flat=True)) if customer else []


def _live(theme_numbers, theme_objs) -> list[int]:
    return sorted(theme_objs[n].pk for n in theme_numbers if n != MERGED_THEME)


def _link(feedback: Feedback, theme_numbers, theme_objs) -> None:
    FeedbackTheme.objects.bulk_create(
        [
            FeedbackTheme(feedback=feedback, theme=theme_objs[n], score=0.5, source="model")
            for n in sorted(theme_numbers)
        ]
    )


@pytest.mark.django_db
@settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(feedback=feedback_rows, surveys=survey_rows, touched=st.sets(st.integers(0, 3)))
def test_rollup_equals_a_direct_aggregate_of_the_raw_rows(feedback, surveys, touched):
    """The daily rollup, and the theme rollups with each response's scores counted once per
    theme its text answers carry, equal pandas aggregates of the raw rows: after a recount
    of the touched days and after a full rebuild."""
    Feedback.objects.all().delete()
    Response.objects.all().delete()
    for model in (DailyFeedbackStat, DailyThemeStat, DailyThemeSegmentStat):
        model.objects.all().delete()
    products, customers, theme_objs, survey_objs = _fixtures()

    raw_feedback, raw_answers = [], []

    def store_feedback(*, channel, received, product, customer, score, rating=None, numbers=()):
        row = Feedback.objects.create(
            channel=channel, text="x", received_at=received, product=product,
            customer=customer, sentiment_score=score, sentiment_label=label_of(score),
            analysed_at=received if score is not None else None, rating_normalised=rating,
        )  # fmt: skip
        _link(row, numbers, theme_objs)
        raw_feedback.append({
            "day": received.date(), "channel": channel,
            "product_id": product.pk if product else None,
            "kind": customer.kind if customer else "external", "sentiment": score,
            "label": label_of(score), "rating": rating,
            "themes": _live(numbers, theme_objs), "segments": _segments_of(customer),
        })  # fmt: skip
        return row

    for row in feedback:
        store_feedback(
            channel=row["channel"], received=START + dt.timedelta(minutes=row["minutes"]),
            product=products[row["product"]] if row["product"] is not None else None,
            customer=customers.get(row["customer"]), score=row["sentiment"],
            rating=row["rating"], numbers=row["themes"],
        )  # fmt: skip
    for row in surveys:
        submitted = START + dt.timedelta(minutes=row["minutes"])
        survey = survey_objs[row["survey"]]
        customer = customers.get(row["customer"])
        response = answer_survey(
            survey, submitted_at=submitted, nps=row["nps"], csat=row["csat"], ces=row["ces"],
            customer=customer,
        )  # fmt: skip
        carried = set()
        for key, comment in zip(("why", "else"), row["comments"], strict=False):
            comment_feedback = store_feedback(
                channel="survey", received=submitted, product=survey.product,
                customer=customer, score=comment["sentiment"], numbers=comment["themes"],
            )  # fmt: skip
            Answer.objects.create(
                response=response, question=survey.questions.get(key=key), text="x",
                feedback=comment_feedback,
            )  # fmt: skip
            carried |= comment["themes"]
        if row["nps"] is None and row["csat"] is None and row["ces"] is None:
            continue
        raw_answers.append({
            "day": submitted.date(), "product_id": survey.product_id,
            "kind": customer.kind if customer else survey.audience,
            "nps": row["nps"], "csat": row["csat"], "ces": row["ces"],
            "themes": _live(carried, theme_objs), "segments": _segments_of(customer),
        })  # fmt: skip
    frame = counter_frame(raw_feedback, raw_answers)
    expected = expected_rollup(frame, DAILY_KEY, COUNTERS)
    expected_themes = expected_rollup(frame, THEME_KEY, THEME_COUNTERS)
    expected_theme_segments = expected_rollup(frame, THEME_SEGMENT_KEY, THEME_COUNTERS)

    def on(days, rollup):
        return {key: counts for key, counts in rollup.items() if key[0] in days}

    # Incremental: recount only the touched days, from empty rollups.
    days = [START.date() + dt.timedelta(days=n) for n in sorted(touched)]
    services.mark_days_dirty(days)
    services.refresh_dirty_days()
    assert_same(stored_rollup(), on(days, expected))
    assert_same(stored_theme_rollup(DailyThemeStat), on(days, expected_themes))
    assert_same(stored_theme_rollup(DailyThemeSegmentStat), on(days, expected_theme_segments))

    # Full rebuild (what manage.py rebuild_rollups runs).
    services.rebuild_rollups()
    assert_same(stored_rollup(), expected)
    assert_same(stored_theme_rollup(DailyThemeStat), expected_themes)
    assert_same(stored_theme_rollup(DailyThemeSegmentStat), expected_theme_segments)


# --- Intervals and limits ----------------------------------------------------------------


@given(promoters=st.integers(0, 500), passives=st.integers(0, 500), detractors=st.integers(0, 500))
def test_nps_interval_contains_the_estimate_and_stays_on_the_scale(promoters, passives, detractors):
    estimate = stats.nps(promoters, passives, detractors)
    if promoters + passives + detractors == 0:
        assert estimate is None
        return
    assert -100 <= estimate.ci_low <= estimate.value <= estimate.ci_high <= 100


@given(successes=st.integers(0, 200), n=st.integers(1, 200), scale=st.integers(2, 10))
def test_proportion_interval_contains_the_estimate_and_narrows_with_more_data(successes, n, scale):
    successes = min(successes, n)
    small = stats.proportion(successes, n)
    large = stats.proportion(successes * scale, n * scale)
    assert 0 <= small.ci_low <= small.value <= small.ci_high <= 1
    assert (large.ci_high - large.ci_low) < (small.ci_high - small.ci_low)


@given(
    values=st.lists(st.floats(-1, 1, allow_nan=False), min_size=2, max_size=50),
    repeat=st.integers(2, 5),
)
def test_mean_interval_contains_the_mean_and_narrows_with_more_data(values, repeat):
    small = stats.mean(stats.summary_of(values))
    large = stats.mean(stats.summary_of(values * repeat))
    assert small.ci_low <= small.value + 1e-12 and small.value <= small.ci_high + 1e-12
    assert large.ci_high - large.ci_low <= small.ci_high - small.ci_low + 1e-12


@given(
    weeks=st.lists(
        st.tuples(st.integers(0, 100), st.integers(1, 100)).map(lambda t: (min(t), t[1])),
        min_size=1,
        max_size=20,
    )
)
def test_p_chart_limits_bracket_the_centre_and_widen_for_smaller_weeks(weeks):
    chart = spc.p_chart([(str(i), d, n) for i, (d, n) in enumerate(weeks)])
    for point in chart.points:
        assert point.lower <= chart.centre <= point.upper
        assert point.out_of_control == (point.value < point.lower or point.value > point.upper) or (
            point.z is not None and abs(point.z) > 3
        )
    by_n = sorted(chart.points, key=lambda p: p.n)
    for smaller, larger in zip(by_n, by_n[1:], strict=False):
        if smaller.n < larger.n and 0 < chart.centre < 1:
            assert smaller.upper - smaller.lower >= larger.upper - larger.lower - 1e-12
