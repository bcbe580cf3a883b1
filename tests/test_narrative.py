"""model.narrative: the plain-language paragraph follows its numbers (sign, interval, probability band,
ranking of the sensitivities and of the value of information) and leaves out what is missing."""

from __future__ import annotations

import math

import pytest

from model.narrative import PROBABILITY_BANDS, nok, plain_language_answer, probability_label


def test_a_positive_npv_returns_and_a_negative_one_costs() -> None:
    good = plain_language_answer(41_234.0, 12_000.0, 95_000.0, 0.93)
    assert good.startswith("For society the programme returns NOK 41,200 per participant")
    assert "costs" not in good and "a cost" not in good
    assert "(90 % interval: a return of NOK 12,000 to NOK 95,000)" in good
    bad = plain_language_answer(-41_234.0, -95_000.0, -12_000.0, 0.02)
    assert bad.startswith("For society the programme costs NOK 41,200 per participant more than it returns")
    assert "returns NOK" not in bad and "a return" not in bad
    assert "(90 % interval: a cost of NOK 12,000 to NOK 95,000)" in bad
    assert plain_language_answer(0.0).startswith("For society the programme breaks even per participant")


def test_an_interval_across_zero_says_both_ends() -> None:
    text = plain_language_answer(-3_000.0, -12_000.0, 95_000.0)
    assert "costs NOK 3,000 per participant" in text
    assert "(90 % interval: from a cost of NOK 12,000 to a return of NOK 95,000)" in text
    # percentiles given in the wrong order are still read as low and high
    assert plain_language_answer(-3_000.0, 95_000.0, -12_000.0) == text


def test_the_probability_clause_has_the_number_and_its_band() -> None:
    assert "the probability that it pays is 71 % (likely)" in plain_language_answer(5e3, prob_npv_positive=0.71)
    assert "is 50 % (about as likely as not)" in plain_language_answer(5e3, prob_npv_positive=0.5)
    assert "is 0 % (very unlikely)" in plain_language_answer(-5e3, prob_npv_positive=0.0)
    assert "is 100 % (very likely)" in plain_language_answer(5e3, prob_npv_positive=1.0)
    assert "is below 1 % (very unlikely)" in plain_language_answer(-5e3, prob_npv_positive=0.004)
    # the bands in order, each label at a value inside it
    lower = 0.0
    for bound, label in PROBABILITY_BANDS:
        assert probability_label(lower) == label
        lower = bound
    with pytest.raises(ValueError):
        plain_language_answer(1.0, prob_npv_positive=1.2)


def test_the_most_sensitive_and_the_most_worth_finding_out_are_the_largest() -> None:
    swings = [("stipend.level_response", 2e6), ("participation.work_hr_after_24_months", 9e6), ("jobs.retention", 5e6)]
    text = plain_language_answer(1e4, sensitivity=swings)
    assert "most sensitive to participation.work_hr_after_24_months (a swing of NOK 9.00 million" in text
    reordered = plain_language_answer(1e4, sensitivity=dict(reversed(swings)))
    assert reordered == text
    evppi = {"the counterfactual": 1.2e5, "the follow-up effect": 4.5e5, "economic prices": math.nan}
    text = plain_language_answer(1e4, sensitivity={"a": 1.0, "b": 3.0}, sensitivity_measure="evppi",
                                 worth_finding_out=evppi)
    assert "most sensitive to b (the expected value of knowing it exactly is NOK 3)" in text
    assert "the thing most worth finding out is the follow-up effect" in text
    assert "NOK 450,000" in text and "counterfactual" not in text
    assert "is NOK 450,000 per cohort)" in plain_language_answer(1e4, worth_finding_out=evppi, worth_unit="per cohort")
    nothing = plain_language_answer(1e4, sensitivity={"a": 0.0}, sensitivity_measure="evppi",
                                    worth_finding_out={"x": 0.0, "y": 0.0})
    assert "no uncertainty is worth paying to resolve" in nothing
    assert "most worth finding out" not in nothing
    assert "sensitive" not in nothing  # a largest EVPPI (or swing) of zero: nothing moves the answer
    with pytest.raises(ValueError):
        plain_language_answer(1.0, sensitivity_measure="sobol")


def test_missing_numbers_leave_their_clauses_out() -> None:
    assert plain_language_answer(None) == "There are no results to summarise yet."
    assert plain_language_answer(math.nan, math.nan, math.inf, None, sensitivity=[], worth_finding_out={}) == (
        "There are no results to summarise yet."
    )
    only_p = plain_language_answer(None, prob_npv_positive=0.3)
    assert only_p == "The probability that it pays is 30 % (unlikely)."
    no_interval = plain_language_answer(-2e4, None, 5e3)
    assert "interval" not in no_interval and "costs NOK 20,000" in no_interval
    no_sens = plain_language_answer(2e4, 1e4, 3e4, 0.99, sensitivity=[("x", math.nan)])
    assert "sensitive" not in no_sens and "worth" not in no_sens
    assert no_sens.count(";") == 1


def test_one_paragraph_with_every_clause() -> None:
    text = plain_language_answer(
        -41_000.0, -80_000.0, 5_000.0, 0.12,
        sensitivity=[("p", 1e6)], worth_finding_out=[("g", 2e6)], perspective="state", unit="",
    )
    assert "\n" not in text and text.endswith(".") and text.count(";") == 3
    assert text.startswith("For the state the programme costs NOK 41,000 more than it returns (90 % interval")


def test_amounts() -> None:
    assert nok(41_234) == "NOK 41,200"
    assert nok(-987) == "NOK 987"
    assert nok(3_456_000) == "NOK 3.46 million"
    assert nok(123_456_789) == "NOK 123 million"
    assert nok(2.5e9) == "NOK 2.50 billion"
    assert nok(0) == "NOK 0"
