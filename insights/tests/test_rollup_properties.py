"""Properties: the rollups equal a direct aggregate of the raw rows on random data, and
intervals and control limits behave as intervals should."""

import datetime as dt
import math

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from feedback.models import Customer, Feedback, Product
from insights import services
from insights.analysis import spc, stats
from insights.models import DailyFeedbackStat
from surveys.models import Response, Survey

from .rollup_data import answer_survey, make_survey

START = dt.datetime(2026, 5, 4, tzinfo=dt.UTC)
COUNTERS = [
    "feedback_count", "analysed_count", "sentiment_sum", "sentiment_sq_sum", "negative_count",
    "neutral_count", "positive_count", "rating_count", "rating_sum", "nps_promoters",
    "nps_passives", "nps_detractors", "csat_count", "csat_sum", "csat_sq_sum",
    "csat_satisfied", "ces_count", "ces_sum", "ces_sq_sum",
]  # fmt: skip

feedback_rows = st.lists(
    st.fixed_dictionaries(
        {
            "minutes": st.integers(0, 4 * 24 * 60 - 1),
            "channel": st.sampled_from(["form", "review", "survey"]),
            "product": st.sampled_from([None, 0, 1]),
            "customer": st.sampled_from([None, "external", "internal"]),
            "sentiment": st.one_of(st.none(), st.floats(-1, 1, allow_nan=False)),
            "rating": st.one_of(st.none(), st.floats(0, 1, allow_nan=False)),
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
        }
    ),
    max_size=20,
)


def label_of(score):
    if score is None:
        return ""
    return "negative" if score < -0.05 else "positive" if score > 0.05 else "neutral"


def expected_rollup(feedback: list[dict], answers: list[dict]) -> dict:
    """The rollup computed straight from the raw rows with pandas."""
    frames = []
    if feedback:
        df = pd.DataFrame(feedback)
        s = df["sentiment"]
        frames.append(
            pd.DataFrame({
                "day": df["day"], "channel": df["channel"], "product": df["product_id"],
                "kind": df["kind"], "feedback_count": 1,
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
                "kind": da["kind"],
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
        return {}
    frame = pd.concat(frames, ignore_index=True)
    frame["product"] = frame["product"].astype(object).where(frame["product"].notna(), None)
    for name in COUNTERS:
        frame[name] = frame.get(name, 0)
    frame[COUNTERS] = frame[COUNTERS].fillna(0)
    grouped = frame.groupby(["day", "channel", "product", "kind"], dropna=False)[COUNTERS].sum()
    result = {}
    for (day, channel, product, kind), row in grouped.iterrows():
        product = (
            None
            if product is None or (isinstance(product, float) and math.isnan(product))
            else int(product)
        )
        result[(day, channel, product, kind)] = {name: float(row[name]) for name in COUNTERS}
    return result


def stored_rollup() -> dict:
    return {
        (s.day, s.channel, s.product_id, s.customer_kind): {
            n: float(getattr(s, n)) for n in COUNTERS
        }
        for s in DailyFeedbackStat.objects.all()
    }


def assert_same(actual: dict, expected: dict):
    assert actual.keys() == expected.keys()
    for key, counts in expected.items():
        for name, value in counts.items():
            assert actual[key][name] == pytest.approx(value, abs=1e-9), (key, name)


@pytest.mark.django_db
@settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(feedback=feedback_rows, surveys=survey_rows, touched=st.sets(st.integers(0, 3)))
def test_rollup_equals_a_direct_aggregate_of_the_raw_rows(feedback, surveys, touched):
    Feedback.objects.all().delete()
    Response.objects.all().delete()
    DailyFeedbackStat.objects.all().delete()
    products = [
        Product.objects.get_or_create(slug=f"p{i}", defaults={"name": f"P{i}"})[0] for i in range(2)
    ]
    customers = {
        "external": Customer.objects.get_or_create(name="Ext", kind="external")[0],
        "internal": Customer.objects.get_or_create(
            name="Int", kind="internal", defaults={"department": "HR"}
        )[0],
    }
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

    raw_feedback, raw_answers = [], []
    for row in feedback:
        received = START + dt.timedelta(minutes=row["minutes"])
        product = products[row["product"]] if row["product"] is not None else None
        customer = customers.get(row["customer"])
        score = row["sentiment"]
        Feedback.objects.create(
            channel=row["channel"], text="x", received_at=received, product=product,
            customer=customer, sentiment_score=score, sentiment_label=label_of(score),
            analysed_at=received if score is not None else None, rating_normalised=row["rating"],
        )  # fmt: skip
        raw_feedback.append({
            "day": received.date(), "channel": row["channel"],
            "product_id": product.pk if product else None,
            "kind": customer.kind if customer else "external", "sentiment": score,
            "label": label_of(score), "rating": row["rating"],
        })  # fmt: skip
    for row in surveys:
        submitted = START + dt.timedelta(minutes=row["minutes"])
        survey = survey_objs[row["survey"]]
        customer = customers.get(row["customer"])
        answer_survey(
            survey, submitted_at=submitted, nps=row["nps"], csat=row["csat"], ces=row["ces"],
            customer=customer,
        )  # fmt: skip
        if row["nps"] is None and row["csat"] is None and row["ces"] is None:
            continue
        raw_answers.append({
            "day": submitted.date(), "product_id": survey.product_id,
            "kind": customer.kind if customer else survey.audience,
            "nps": row["nps"], "csat": row["csat"], "ces": row["ces"],
        })  # fmt: skip
    expected = expected_rollup(raw_feedback, raw_answers)

    # Incremental: recount only the touched days, from an empty rollup.
    days = [START.date() + dt.timedelta(days=n) for n in sorted(touched)]
    services.mark_days_dirty(days)
    services.refresh_dirty_days()
    assert_same(stored_rollup(), {k: v for k, v in expected.items() if k[0] in days})

    # Full rebuild.
    services.refresh_daily_stats()
    assert_same(stored_rollup(), expected)


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
