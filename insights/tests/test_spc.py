"""Control limits against hand-computed values, and the run rules."""

import math

import pytest

from insights.analysis import spc


def test_p_chart_limits_follow_each_weeks_size_and_flag_the_spike():
    chart = spc.p_chart([("w1", 5, 100), ("w2", 10, 100), ("w3", 30, 100), ("w4", 5, 50)])
    p_bar = 50 / 350

    assert chart.centre == pytest.approx(p_bar)
    w1, w2, w3, w4 = chart.points
    # n = 100: σ = √(.142857 · .857143 / 100) = .034993 → UCL .247835, LCL .037878
    assert w1.upper == pytest.approx(0.247835, abs=1e-6)
    assert w1.lower == pytest.approx(0.037879, abs=1e-6)
    # n = 50: σ = .049487 → UCL .291318, LCL clipped at 0
    assert w4.upper == pytest.approx(0.291318, abs=1e-6)
    assert w4.lower == 0
    assert w3.value == 0.3 and w3.out_of_control and "we1" in w3.rules
    assert [p.label for p in chart.out_of_control] == ["w3"]


def test_p_chart_week_without_data_has_no_limits():
    chart = spc.p_chart([("w1", 2, 10), ("w2", 0, 0)])
    assert chart.points[1].value is None and chart.points[1].upper is None
    empty = spc.p_chart([("w1", 0, 0)])
    assert empty.centre is None


def test_xbar_chart_uses_the_pooled_sigma():
    chart = spc.xbar_chart([("w1", 10, 4.0, 0.5), ("w2", 10, 4.2, 0.5), ("w3", 20, 3.0, 1.0)])
    # grand mean (40 + 42 + 60) / 40 = 3.55; σ = √((9·.25 + 9·.25 + 19·1) / 37) = .796954
    assert chart.centre == pytest.approx(3.55)
    assert chart.sigma == pytest.approx(math.sqrt(23.5 / 37))
    w1, _, w3 = chart.points
    assert w1.lower == pytest.approx(3.55 - 3 * 0.796954 / math.sqrt(10), abs=1e-5)
    assert w1.upper == pytest.approx(4.306053, abs=1e-5)
    assert w3.lower == pytest.approx(3.015388, abs=1e-5)
    assert w3.out_of_control and not w1.out_of_control


def test_eight_weeks_on_one_side_trip_rule_four_without_leaving_the_limits():
    weeks = [(f"w{i}", 2, 100) for i in range(8)] + [(f"v{i}", 6, 100) for i in range(8)]
    chart = spc.p_chart(weeks)
    assert not chart.out_of_control
    assert "we4" in chart.points[7].rules  # eighth week below the centre
    assert "we4" not in chart.points[6].rules


def test_two_of_three_beyond_two_sigma_trip_rule_two():
    # centre .10 over the 6 weeks; n = 400 → σ = .015; 2σ = .13
    weeks = [
        ("a", 40, 400),
        ("b", 40, 400),
        ("c", 28, 400),
        ("d", 55, 400),
        ("e", 55, 400),
        ("f", 22, 400),
    ]
    chart = spc.p_chart(weeks)
    assert "we2" in chart.points[4].rules
