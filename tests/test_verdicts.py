"""The verdict rule on hand-made cases: every verdict reachable, each for its reason."""
import math

import pytest

from cnnrepro import verdicts as v


def test_a_number_inside_a_narrow_interval_holds_and_outside_is_contradicted():
    ours = [0.975, 0.977, 0.978, 0.976, 0.974]
    hit = v.number("accuracy", 0.98, ours, decimals=2, test_size=10000)
    assert hit.verdict == v.HOLDS and hit.low < 0.98 < hit.high
    miss = v.number("accuracy", 0.93, ours, decimals=2, test_size=10000)
    assert miss.verdict == v.CONTRADICTED
    assert miss.direction == "ours higher" and miss.difference == pytest.approx(0.046)


def test_a_wide_interval_is_inconclusive_never_holds():
    # one of three seeds collapsed: the report's 0.94 lies inside, but the interval
    # is far wider than the 2 points that "holds" needs
    wide = v.number("accuracy", 0.94, [0.872, 0.967, 0.971], decimals=2, test_size=10000)
    assert wide.verdict == v.INCONCLUSIVE and "too wide" in wide.reason
    assert v.comparison([0.872, 0.967, 0.971], [0.95, 0.951, 0.949]).verdict == v.INCONCLUSIVE


def test_a_short_profile_is_not_tested_whatever_the_difference():
    out = v.number("accuracy", 0.99, [0.02], decimals=3, at_protocol=False)
    assert out.verdict == v.NOT_TESTED and out.direction == "ours lower"
    assert v.comparison([0.1, 0.2], [0.9, 0.8], at_protocol=False).verdict == v.NOT_TESTED
    assert v.trend([[0.1, 0.11], [0.9, 0.91]], at_protocol=False).verdict == v.NOT_TESTED


def test_one_run_needs_a_stated_noise_figure():
    assert v.number("accuracy", 0.97, [0.975], decimals=4).verdict == v.INCONCLUSIVE
    noise = v.Noise(0.001, 5, "the base model's seeds")
    judged = v.number("accuracy", 0.97, [0.975], decimals=4, noise=noise)
    assert judged.verdict == v.CONTRADICTED and "the base model's seeds" in judged.reason
    with pytest.raises(ValueError, match="seeds=1"):
        v.Noise(0.01, 1, "one run")


def test_comparisons_report_direction_and_size():
    deep, shallow = [0.96, 0.961, 0.962], [0.93, 0.931, 0.929]
    out = v.comparison(deep, shallow, ">")
    assert out.verdict == v.HOLDS and out.direction == "A higher"
    assert out.difference == pytest.approx(0.031) and 0 < out.low < out.high
    reversed_ = v.comparison(shallow, deep, ">")
    assert reversed_.verdict == v.CONTRADICTED and reversed_.direction == "A lower"
    assert v.comparison(deep, [0.9601, 0.9612, 0.9618], "~", margin=0.01).verdict == v.HOLDS


def test_a_trend_holds_only_if_every_step_does():
    assert v.trend([[0.98, 0.981], [0.95, 0.951], [0.9, 0.901]]).verdict == v.HOLDS
    broken = v.trend([[0.98, 0.981], [0.99, 0.991], [0.9, 0.901]])
    assert broken.verdict == v.CONTRADICTED and len(broken.parts) == 2


def test_parameters_are_exact_and_seconds_never_judged():
    assert v.number("parameters", 98060, [98060], decimals=0).verdict == v.HOLDS
    assert v.number("parameters", 98060, [98061], decimals=0).verdict == v.CONTRADICTED
    assert v.number("seconds", 640, [40], decimals=0).verdict == v.NOT_TESTED


def test_the_report_against_itself():
    assert v.consistency(100.13, 100, 0.01, "shares").verdict == v.INCONSISTENT
    assert v.consistency(0.0333, 0.033347, 0.00005, "log").verdict == v.HOLDS


def test_combining_parts():
    h, c, i = (v.Verdict(x, 0.1) for x in (v.HOLDS, v.CONTRADICTED, v.INCONCLUSIVE))
    assert v.combine([h, h]).verdict == v.HOLDS
    assert v.combine([h, c]).verdict == v.CONTRADICTED
    assert v.combine([h, i]).verdict == v.INCONCLUSIVE
    n = v.Verdict(v.NOT_TESTED)
    assert v.combine([h, i, n]).verdict == v.INCONCLUSIVE
    # the held part cannot speak for the untested one: the claim waits for its runs
    both = v.combine([h, n])
    assert both.verdict == v.NOT_TESTED and both.reason.startswith("Of its 2 parts: 1 holds, 1 not tested")
    assert v.combine([n, n]).verdict == v.NOT_TESTED
    # a part that is itself combined already ends its sentence: one full stop, not two
    nested = v.combine([v.combine([h, i], ["a", "b"]), h], ["model x", "model y"])
    assert ".." not in nested.reason and nested.reason.count("model x: Of its 2 parts") == 1
    with pytest.raises(ValueError, match="verdict='reproduced' is not allowed"):
        v.Verdict("reproduced")


def test_a_systematic_offset_shows_in_the_sign_test():
    positive, n, p = v.sign_test([0.01] * 24 + [-0.01])
    assert (positive, n) == (24, 25) and p < 0.001
    assert math.isclose(v.sign_test([0.01, -0.01])[2], 1.0)


# --- effect sizes: an answer in size as well as in sign ---------------------------

DEEP, SHALLOW = [0.96, 0.961, 0.962], [0.95, 0.951, 0.949]      # +1.1 points, tight
NOISY, FLAT = [0.96, 0.97, 0.95], [0.958, 0.962, 0.957]           # +0.1 points, wide


def test_a_level_the_report_does_not_name_says_whose_it_is():
    out = v.versus([0.98], 0.95, ">", line="good, as this book reads it")
    assert "; good, as this book reads it: above 95.00%" in out.reason
    assert "the report: above 95.00%" in v.versus([0.98], 0.95, ">").reason


def test_an_effect_smaller_than_the_reports_is_contradicted_in_size():
    out = v.comparison(DEEP, SHALLOW, effect=v.Effect(0.05, reported=True))
    assert out.verdict == v.CONTRADICTED and "too little for the report's +5.00 points" in out.reason
    assert "as claimed" not in out.reason  # the direction is; the size is what fails
    # the same runs hold against a claim of direction only, or of a size they reach
    assert v.comparison(DEEP, SHALLOW).verdict == v.HOLDS
    assert v.comparison(DEEP, SHALLOW, effect=v.Effect(0.012, reported=True)).verdict == v.HOLDS


def test_a_size_read_off_rounded_numbers_fails_only_below_what_their_rounding_allows():
    # 0.96 against 0.95 printed to 2 decimals may be 0.955 against 0.955: no size at all
    assert v.comparison(DEEP, SHALLOW, effect=v.Effect(0.01, reported=True, rounding=0.01)
                        ).verdict == v.HOLDS
    # +5 points printed to 2 decimals is at least +4: our +1.1 still falls short
    out = v.comparison(DEEP, SHALLOW, effect=v.Effect(0.05, reported=True, rounding=0.01))
    assert out.verdict == v.CONTRADICTED
    assert "+5.00 points (at least +4.00 points once its rounding is allowed for)" in out.reason
    # +2 points printed to 2 decimals may be +1: our +1.1 (interval about +0.9 to +1.3) allows it
    assert v.comparison(DEEP, SHALLOW, effect=v.Effect(0.02, reported=True)).verdict == v.CONTRADICTED
    assert v.comparison(DEEP, SHALLOW, effect=v.Effect(0.02, reported=True, rounding=0.01)
                        ).verdict == v.HOLDS
    bounded = v.comparison(NOISY, FLAT, effect=v.Effect(0.04, reported=True, rounding=0.01))
    assert bounded.verdict == v.CONTRADICTED and "at least +3.00 points" in bounded.reason


def test_an_interval_around_zero_answers_when_it_excludes_the_claimed_size():
    bounded = v.comparison(NOISY, FLAT, effect=v.Effect(0.03, reported=True))
    assert bounded.verdict == v.CONTRADICTED
    assert "no difference larger than 2.39 points" in bounded.reason
    open_ = v.comparison(NOISY, FLAT, effect=v.Effect(0.02, reported=True), minutes=2)
    assert open_.verdict == v.INCONCLUSIVE and "would settle it" in open_.reason
    assert "CPU minutes" in open_.reason
    # where the report's size comes from, and its rounding, said in one parenthesis
    told = v.comparison(NOISY, FLAT, effect=v.Effect(0.03, reported=True, rounding=0.01,
                                                     why="its table: 0.96 against 0.93"))
    assert "the report's +3.00 points (its table: 0.96 against 0.93; at least +2.00 points " \
           "once its rounding is allowed for)" in told.reason


def test_the_smallest_effect_that_matters_bounds_a_claim_without_a_printed_size():
    tiny = [0.9601, 0.9603, 0.9602], [0.9600, 0.9601, 0.9602]
    out = v.comparison(*tiny, effect=v.Effect(0.005, why="half a point"))
    assert out.verdict == v.CONTRADICTED and "that would matter (half a point)" in out.reason
    # a real effect in the claimed direction holds even if small: it is not the report's size
    assert v.comparison(DEEP, SHALLOW, effect=v.Effect(0.05)).verdict == v.HOLDS
    with pytest.raises(ValueError, match="size=0"):
        v.Effect(0)


def test_two_quantities_of_the_same_runs_are_compared_paired():
    # per-class F1 of "same" and "different" on five runs: the runs differ a lot,
    # the two classes of each run hardly at all
    same = [0.88, 0.90, 0.92, 0.89, 0.91]
    different = [x + d for x, d in zip(same, [0.002, -0.001, 0.001, 0.0, -0.002])]
    unpaired = v.comparison(same, different, "~", margin=0.01)
    paired = v.comparison(same, different, "~", margin=0.01, paired=True)
    assert unpaired.verdict == v.INCONCLUSIVE and paired.verdict == v.HOLDS
    assert "paired over the same 5 runs" in paired.reason
    assert paired.high - paired.low < unpaired.high - unpaired.low
    with pytest.raises(ValueError, match="equal counts"):
        v.comparison([0.1, 0.2], [0.1], paired=True)
    # what would settle an open paired comparison counts runs, not seeds of one setting
    drift = v.comparison([0.90, 0.91, 0.93], [0.89, 0.91, 0.90], ">", paired=True)
    assert drift.verdict == v.INCONCLUSIVE and "more runs (" in drift.reason and "seed" not in drift.reason


def test_an_equivalence_claim_can_fail_and_stay_open():
    assert v.comparison(DEEP, SHALLOW, "~", margin=0.005).verdict == v.CONTRADICTED
    assert v.comparison(NOISY, FLAT, "~", margin=0.01).verdict == v.INCONCLUSIVE


def test_a_shares_interval_stays_inside_0_and_1():
    out = v.number("accuracy", 0.99, [0.995, 0.999, 0.97], decimals=2, test_size=10000)
    assert 0 <= out.low and out.high <= 1
    assert v.number("loss", 0.03, [0.031, 0.035], decimals=3).low >= 0


def test_a_number_printed_to_one_decimal_is_judged_to_that_digit():
    five = [0.889, 0.908, 0.9, 0.895, 0.902]
    assert v.number("accuracy", 0.9, five, decimals=1, test_size=10000).verdict == v.HOLDS
    assert v.number("accuracy", 0.89, five, decimals=2, test_size=10000).verdict == v.INCONCLUSIVE


def test_an_open_verdict_says_what_would_settle_it_or_that_nothing_will():
    few = v.number("accuracy", 0.89, [0.889, 0.908, 0.9, 0.895, 0.902], decimals=2,
                   test_size=10000, minutes=3)
    assert "about 3 more seeds (8 in all, about 9 CPU minutes here)" in few.reason
    wild = v.number("accuracy", 0.89, [0.85, 0.908, 0.95, 0.895, 0.902], decimals=2,
                    test_size=10000)
    assert wild.verdict == v.INCONCLUSIVE and "no number of seeds narrows it" in wild.reason
    never = v.comparison([0.96, 0.97, 0.95], [0.96, 0.97, 0.951])
    assert "no practical number of seeds" in never.reason


def test_a_single_run_says_what_a_first_interval_costs():
    one = v.comparison([0.97], [0.96], minutes=4.0)
    assert one.verdict == v.INCONCLUSIVE
    assert "a second seed of each (about 8 CPU minutes here) would give a first interval" in one.reason
    assert "(about" not in v.comparison([0.97], [0.96]).reason  # speed unknown: no cost guessed


def test_one_run_against_several_names_the_lone_side_and_its_own_cost():
    # the other side's spread is not borrowed: only a second seed of the lone side helps,
    # at its own speed (a slow network against a fast one)
    lone = v.comparison([0.99], [0.97, 0.975, 0.972], names=("ResNet", "DNN"), minutes=(60.0, 4.0))
    assert lone.verdict == v.INCONCLUSIVE
    assert "on one run of ResNet against 3 seeds of DNN" in lone.reason
    assert "a second seed of ResNet (about 60 CPU minutes here)" in lone.reason
    flipped = v.comparison([0.97, 0.975], [0.99], names=("DNN", "ResNet"), minutes=(4.0, 60.0))
    assert "one run of ResNet against 2 seeds of DNN" in flipped.reason
    assert "(about 60 CPU minutes here)" in flipped.reason


def test_an_interval_end_that_rounds_to_zero_shows_its_side():
    # "−0.72 to −0.00" hides that the interval excludes 0; the verdict turns on it
    assert v._interval(-0.0072, -0.00004, share=True) == "−0.72 to −0.004"
    assert v._interval(-0.0072, 0.0000004, share=True) == "−0.72 to +0.00004"
    assert v._interval(-0.0072, 0.0, share=True) == "−0.72 to +0.00"
    assert v._interval(0.5, 0.6, share=True, signed=False) == "50.00% to 60.00%"


def test_a_bound_just_below_the_claimed_size_reads_below_it():
    # "rules out +1.00 (at least +0.99) ... no difference larger than 0.99" reads as a tie
    digits = v._apart(0.009874, 0.0099, share=True)
    assert (v.magnitude(0.009874, True, digits), v.magnitude(0.0099, True, digits)) == \
        ("0.987", "0.990")
    assert v._apart(0.0048, 0.0099, share=True) == 2
    digits = v._apart(0.01234, 0.0124, share=False)
    assert (v.magnitude(0.01234, False, digits), v.magnitude(0.0124, False, digits)) == \
        ("0.0123", "0.0124")
