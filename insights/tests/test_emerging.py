"""Emerging detection: catches planted rises, rare themes included, and ignores noise."""

import numpy as np

from insights.analysis.emerging import Period, detect_emerging, holm_adjust


def noisy_items(rng, count=30, rate=20, weeks=7):
    return {
        f"theme-{i}": [
            Period(count=int(c), negative=int(rng.binomial(c, 0.2)))
            for c in rng.poisson(rate, weeks)
        ]
        for i in range(count)
    }


def test_noise_alone_rarely_raises_anything():
    # Holm keeps the chance of any false alarm in a run of 30 themes at alpha (1 %).
    runs_with_alarm = sum(
        bool(detect_emerging(noisy_items(np.random.default_rng(seed)))) for seed in range(200)
    )
    assert runs_with_alarm <= 4


def test_planted_volume_rise_and_rare_theme_are_caught_among_noise():
    items = noisy_items(np.random.default_rng(1))
    items["refunds"] = [Period(c, 2) for c in (18, 22, 19, 21, 20, 20)] + [Period(55, 8)]
    items["login-loop"] = [Period(c) for c in (0, 1, 0, 0, 1, 0)] + [Period(7)]

    flagged = {(s.key, s.metric): s for s in detect_emerging(items)}

    assert set(flagged) == {("refunds", "volume"), ("login-loop", "volume")}
    rare = flagged[("login-loop", "volume")]
    assert rare.baseline == round(2 / 6, 4) and rare.current == 7
    assert rare.adjusted_p_value < 0.01
    assert rare.evidence["baseline_counts"] == [0, 1, 0, 0, 1, 0]


def test_a_rare_theme_appearing_twice_is_not_an_alarm():
    items = {"new": [Period(0)] * 6 + [Period(2)]}
    assert detect_emerging(items) == []


def test_rising_negative_share_at_steady_volume_is_caught():
    items = {"billing": [Period(20, 2)] * 6 + [Period(20, 12)]}
    (signal,) = detect_emerging(items)
    assert signal.metric == "negative_share"
    assert signal.baseline == 0.1 and signal.current == 0.6


def test_growth_of_all_feedback_is_not_a_theme_rise_when_totals_are_given():
    items = {"delivery": [Period(20, total=200)] * 6 + [Period(60, total=600)]}
    assert detect_emerging(items) == []
    items = {"delivery": [Period(20)] * 6 + [Period(60)]}
    assert [s.metric for s in detect_emerging(items)] == ["volume"]


def test_holm_adjustment_by_hand():
    assert holm_adjust([0.01, 0.04, 0.03]) == [0.03, 0.06, 0.06]
