"""Confidence intervals and tests against values worked out by hand (and scipy where noted)."""

import math

import pytest
from scipy import stats as sps

from insights.analysis import stats


def test_nps_interval_uses_the_variance_of_the_promoter_detractor_difference():
    # 50 promoters, 30 passives, 20 detractors: NPS 30; var = .5 + .2 − .3² = .61
    estimate = stats.nps(50, 30, 20)

    assert estimate.value == pytest.approx(30.0)
    assert estimate.std_error == pytest.approx(100 * math.sqrt(0.61 / 100))  # 7.8102
    assert estimate.ci_low == pytest.approx(30 - 1.959964 * 7.810250, abs=1e-4)  # 14.6923
    assert estimate.ci_high == pytest.approx(45.3078, abs=1e-4)
    assert estimate.n == 100


def test_nps_without_respondents_is_none_not_an_error():
    assert stats.nps(0, 0, 0) is None


def test_nps_interval_stays_on_the_scale():
    estimate = stats.nps(3, 0, 0)
    assert estimate.value == 100 and estimate.ci_high == 100 and estimate.std_error == 0


def test_nps_difference_of_twenty_points_on_a_hundred_each_is_not_significant():
    # prev (40,30,30): NPS 10, var .69; cur (50,30,20): NPS 30, var .61
    # SE = √(69 + 61) = 11.4018, z = 1.7541, p = 0.0794
    comparison = stats.nps_difference((40, 30, 30), (50, 30, 20))

    assert comparison.difference == pytest.approx(20.0)
    assert comparison.std_error == pytest.approx(math.sqrt(130), rel=1e-9)
    assert comparison.statistic == pytest.approx(1.75412, abs=1e-4)
    assert comparison.p_value == pytest.approx(0.07941, abs=1e-4)
    assert comparison.significant is False
    assert comparison.ci_low == pytest.approx(20 - 1.959964 * 11.40175, abs=1e-3)


def test_nps_difference_is_significant_with_more_respondents_and_alpha_is_respected():
    comparison = stats.nps_difference((400, 300, 300), (500, 300, 200))
    assert comparison.significant is True and comparison.p_value < 0.001
    strict = stats.nps_difference((40, 30, 30), (50, 30, 20), alpha=0.1)
    assert strict.significant is True and strict.alpha == 0.1


def test_mean_has_a_student_t_interval():
    estimate = stats.mean(stats.summary_of([1, 2, 3, 4, 5]))
    # sd 1.5811, se 0.7071, t(.975, 4) = 2.776445
    assert estimate.value == 3
    assert estimate.std_error == pytest.approx(0.707107, abs=1e-6)
    assert estimate.ci_low == pytest.approx(3 - 2.776445 * 0.707107, abs=1e-5)
    assert estimate.ci_high == pytest.approx(4.963243, abs=1e-5)


def test_summary_from_rollup_sums_matches_the_values():
    values = [4, 5, 3, 5, 1, 2]
    from_sums = stats.summary_from_sums(6, sum(values), sum(v * v for v in values))
    assert from_sums.mean == pytest.approx(10 / 3)
    assert from_sums.sd == pytest.approx(1.632993, abs=1e-6)


def test_mean_needs_two_values():
    assert stats.mean(stats.summary_of([4])) is None
    assert stats.mean(stats.summary_of([])) is None
    assert stats.mean_difference(stats.summary_of([4]), stats.summary_of([1, 2])) is None


def test_welch_difference_matches_scipy_and_hand_value():
    before, after = [3, 4, 5, 4, 3, 4], [4, 5, 5, 5, 4, 5, 5, 4]
    comparison = stats.mean_difference(stats.summary_of(before), stats.summary_of(after))
    reference = sps.ttest_ind(after, before, equal_var=False)

    assert comparison.difference == pytest.approx(4.625 - 23 / 6)
    assert comparison.statistic == pytest.approx(reference.statistic)
    assert comparison.p_value == pytest.approx(reference.pvalue)
    assert comparison.p_value > 0.05 and comparison.significant is False
    assert comparison.ci_low < comparison.difference < comparison.ci_high


def test_wilson_interval_by_hand():
    half = stats.proportion(5, 10)
    assert half.ci_low == pytest.approx(0.236593, abs=1e-5)
    assert half.ci_high == pytest.approx(0.763407, abs=1e-5)
    none = stats.proportion(0, 10)
    assert none.value == 0 and none.ci_low == 0
    assert none.ci_high == pytest.approx(0.277535, abs=1e-5)
    assert stats.proportion(0, 0) is None


def test_two_proportion_z_test_by_hand():
    # 30/100 → 45/100: pooled .375, SE √(.375 · .625 · .02) = .068465, z = 2.1909, p = .02846
    comparison = stats.proportion_difference((30, 100), (45, 100))
    assert comparison.difference == pytest.approx(0.15)
    assert comparison.statistic == pytest.approx(2.19089, abs=1e-4)
    assert comparison.p_value == pytest.approx(0.028459, abs=1e-5)
    assert comparison.significant is True
    assert stats.proportion_difference((0, 0), (1, 2)) is None


def test_identical_degenerate_proportions_are_not_a_change():
    comparison = stats.proportion_difference((10, 10), (20, 20))
    assert comparison.p_value == 1.0 and comparison.significant is False


def test_bad_levels_and_counts_raise_value_error():
    with pytest.raises(ValueError):
        stats.nps(1, 1, 1, confidence=1.5)
    with pytest.raises(ValueError):
        stats.proportion(3, 2)


def test_an_interval_is_shown_from_a_minimum_number_of_answers_or_for_counts():
    from insights.analysis import stats as s

    assert not s.nps(0, 0, 1).has_interval  # −100 to −100 says nothing
    assert s.nps(2, 2, 1).has_interval == (5 >= s.MIN_INTERVAL_N)
    assert s.count(1).has_interval


def test_nps_of_two_unanimous_periods_is_tested_under_no_change_not_called_certain():
    # One promoter before, one detractor now: each period alone has no spread (SE 0), which
    # is not certainty. Under no change the two scores (+1, −1) share one distribution:
    # var = 1, SE = 100 · √(1 · (1/1 + 1/1)) = 141.42, z = −1.4142, p = .1573.
    comparison = stats.nps_difference((1, 0, 0), (0, 0, 1))

    assert comparison.difference == pytest.approx(-200.0)
    assert comparison.std_error == pytest.approx(100 * math.sqrt(2))
    assert comparison.p_value == pytest.approx(0.15730, abs=1e-4)
    assert comparison.significant is False
    # −200 ± 1.96 · 141.42 reaches past the scale: an NPS change lies in −200…200.
    assert (comparison.ci_low, comparison.ci_high) == pytest.approx((-200.0, 77.18), abs=1e-2)


def test_means_without_spread_in_either_period_are_tested_under_no_change():
    # CSAT 5, 5 before and 4, 4 now: Welch's SE is 0, which is not certainty. Under no
    # change the four answers share one variance, s² = (0 + 0 + 2 · 2 / 4 · 1²) / 3 = 1/3,
    # SE = √(1/3 · (1/2 + 1/2)) = .57735, t = −1.7321 on 2 + 2 − 2 degrees of freedom:
    # p = 2 · (1/2 − t / (2 √(2 + t²))) = .2254.
    comparison = stats.mean_difference(stats.summary_of([5, 5]), stats.summary_of([4, 4]))

    assert comparison.std_error == pytest.approx(math.sqrt(1 / 3))
    assert comparison.statistic == pytest.approx(-math.sqrt(3))
    assert comparison.p_value == pytest.approx(2 * sps.t.sf(math.sqrt(3), 2))
    assert comparison.p_value == pytest.approx(0.2254, abs=1e-4)
    assert comparison.significant is False
    assert comparison.ci_low < -1 < 0 < comparison.ci_high


def test_the_interval_of_a_change_between_unanimous_shares_is_not_zero_wide():
    # 0 of 3 → 3 of 3: the unpooled (Wald) SE is 0, the pooled one √(.5 · .5 · 2/3) = .40825.
    comparison = stats.proportion_difference((0, 3), (3, 3))

    assert comparison.std_error == pytest.approx(0.40825, abs=1e-5)
    assert comparison.ci_low == pytest.approx(1 - 1.959964 * 0.40825, abs=1e-4)
    assert comparison.ci_high == 1.0  # a change of share lies in −1…1
