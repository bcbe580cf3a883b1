"""The plain-language answer: one paragraph, written from the numbers of a cost-benefit analysis.

"For society the programme returns NOK 41,000 per participant (90 % interval: from a cost of NOK 12,000 to
a return of NOK 95,000); the probability that it pays is 71 % (likely); the answer is most sensitive to
… ; the thing most worth finding out is …."

Every clause follows its number and only its number: a negative NPV *costs*, a positive one *returns*; the
interval says whether it crosses zero; the probability gets a verbal label from fixed bands; the most
sensitive parameter and the uncertainty most worth resolving are the largest of the values given (a
tornado's swings or single-parameter EVPPIs; the EVPPI of parameter groups), not the first listed. A
missing or non-finite number leaves its clause out (and says so when nothing is left). No streamlit, no
simulation: the dashboard and the CLI pass the numbers in.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

#: Verbal labels of P(NPV > 0): (upper bound, label), the first band whose bound exceeds p.
PROBABILITY_BANDS = (
    (0.05, "very unlikely"),
    (0.35, "unlikely"),
    (0.65, "about as likely as not"),
    (0.95, "likely"),
    (math.inf, "very likely"),
)
#: How a sensitivity value is described: a tornado swing or a single-parameter EVPPI.
SENSITIVITY_MEASURES = {
    "tornado": "a swing of {v} in the NPV across its 90 % range",
    "evppi": "the expected value of knowing it exactly is {v}",
}
PERSPECTIVE_WORDS = {
    "society": "For society",
    "state": "For the state",
    "municipality": "For the municipality",
    "participant": "For the participants",
}


def _number(x: object) -> float | None:
    """``x`` as a finite float, else None (None, NaN, ±inf and non-numbers are missing)."""
    if isinstance(x, bool) or x is None:
        return None
    try:
        v = float(x)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    return v if math.isfinite(v) else None


def nok(x: float) -> str:
    """An amount in NOK without its sign, to three significant figures: ``NOK 41,200``, ``NOK 3.4 million``."""
    a = abs(float(x))
    if a >= 1e9:
        return f"NOK {a / 1e9:,.{_decimals(a / 1e9)}f} billion"
    if a >= 1e6:
        return f"NOK {a / 1e6:,.{_decimals(a / 1e6)}f} million"
    if a == 0:
        return "NOK 0"
    digits = max(int(math.floor(math.log10(a))) - 2, 0)
    return f"NOK {round(a, -digits):,.0f}"


def _decimals(v: float) -> int:
    return 2 if v < 10 else (1 if v < 100 else 0)


def _signed(x: float, gain: str = "a return", loss: str = "a cost") -> str:
    """``a return of NOK …`` / ``a cost of NOK …`` / ``nothing`` for an amount with its sign."""
    if x > 0:
        return f"{gain} of {nok(x)}"
    if x < 0:
        return f"{loss} of {nok(x)}"
    return "nothing"


def probability_label(p: float) -> str:
    """The verbal label of a probability (:data:`PROBABILITY_BANDS`)."""
    for bound, label in PROBABILITY_BANDS:
        if p < bound:
            return label
    return PROBABILITY_BANDS[-1][1]


def _pct(p: float) -> str:
    if 0 < p < 0.01:
        return "below 1 %"
    if 0.99 < p < 1:
        return "above 99 %"
    return f"{100 * p:.0f} %"


def npv_clause(mean: float, p05: float | None, p95: float | None, *, unit: str, perspective: str,
               subject: str, interval: str) -> str:
    """``For society the programme returns NOK … per participant (90 % interval …)``."""
    head = PERSPECTIVE_WORDS.get(perspective, f"For the {perspective} perspective")
    per = f" {unit}" if unit else ""
    if mean > 0:
        text = f"{head} {subject} returns {nok(mean)}{per}"
    elif mean < 0:
        text = f"{head} {subject} costs {nok(mean)}{per} more than it returns"
    else:
        text = f"{head} {subject} breaks even{per}"
    if p05 is not None and p95 is not None:
        lo, hi = min(p05, p95), max(p05, p95)
        if lo > 0:
            span = f"a return of {nok(lo)} to {nok(hi)}"
        elif hi < 0:
            span = f"a cost of {nok(hi)} to {nok(lo)}"
        else:
            span = f"from {_signed(lo)} to {_signed(hi)}"
        text += f" ({interval}: {span})"
    return text


def _largest(items: Sequence[tuple[str, object]] | Mapping[str, object] | None) -> tuple[str, float] | None:
    """The name with the largest finite value (ties: the first), or None."""
    if items is None:
        return None
    pairs = items.items() if isinstance(items, Mapping) else items
    best: tuple[str, float] | None = None
    for name, value in pairs:
        v = _number(value)
        if v is None or not name:
            continue
        if best is None or v > best[1]:
            best = (str(name), v)
    return best


def plain_language_answer(
    npv_mean: float | None,
    npv_p05: float | None = None,
    npv_p95: float | None = None,
    prob_npv_positive: float | None = None,
    *,
    sensitivity: Sequence[tuple[str, float]] | Mapping[str, float] | None = None,
    sensitivity_measure: str = "tornado",
    worth_finding_out: Sequence[tuple[str, float]] | Mapping[str, float] | None = None,
    worth_unit: str = "",
    perspective: str = "society",
    unit: str = "per participant",
    subject: str = "the programme",
    interval: str = "90 % interval",
) -> str:
    """One plain-language paragraph from the results of a cost-benefit analysis.

    Args:
        npv_mean, npv_p05, npv_p95: the NPV (e.g. the society NPV per participant over the PSA draws: mean,
            5th and 95th percentile), NOK. Without ``npv_mean`` the NPV clause is left out; without either
            percentile, the interval.
        prob_npv_positive: P(NPV > 0) over the draws; its clause says the number and a verbal label.
        sensitivity: ``(parameter, value)`` pairs (or a mapping); the largest value is the parameter the
            answer is most sensitive to (left out if the largest is not positive: nothing moves it).
            ``sensitivity_measure``: ``tornado`` (the values are NPV swings across the parameter's 90 %
            range, NOK) or ``evppi`` (single-parameter EVPPIs, NOK).
        worth_finding_out: ``(uncertainty, EVPPI)`` pairs, e.g. parameter groups; the largest is the thing
            most worth finding out; if every value is zero, the paragraph says that no study would change
            the decision. ``worth_unit``: what the EVPPI is per (e.g. ``per cohort``).
        perspective: the perspective of the NPV (``society``, ``state``, ``municipality``, ``participant``).
        unit: what the NPV is per (``per participant``; ``""`` for a total).
        subject: what is evaluated.
        interval: the name of the interval.

    Returns:
        One paragraph (clauses joined by semicolons, ending with a full stop).

    Raises:
        ValueError: an unknown ``sensitivity_measure`` or a probability outside [0, 1].
    """
    if sensitivity_measure not in SENSITIVITY_MEASURES:
        raise ValueError(f"sensitivity_measure must be one of {list(SENSITIVITY_MEASURES)}, not {sensitivity_measure!r}")
    clauses: list[str] = []
    mean = _number(npv_mean)
    if mean is not None:
        clauses.append(
            npv_clause(mean, _number(npv_p05), _number(npv_p95), unit=unit, perspective=perspective,
                       subject=subject, interval=interval)
        )
    p = _number(prob_npv_positive)
    if p is not None:
        if not 0 <= p <= 1:
            raise ValueError(f"prob_npv_positive must be a probability, not {p}")
        clauses.append(f"the probability that it pays is {_pct(p)} ({probability_label(p)})")
    top = _largest(sensitivity)
    if top is not None and top[1] > 0:
        name, value = top
        clauses.append(
            f"the answer is most sensitive to {name} ("
            + SENSITIVITY_MEASURES[sensitivity_measure].format(v=nok(value))
            + ")"
        )
    worth = _largest(worth_finding_out)
    if worth is not None:
        name, value = worth
        if value > 0:
            clauses.append(
                f"the thing most worth finding out is {name} (the expected value of perfect information on it "
                f"is {nok(value)}{' ' + worth_unit if worth_unit else ''})"
            )
        else:
            clauses.append(
                "no uncertainty is worth paying to resolve: perfect information would not change the decision"
            )
    if not clauses:
        return "There are no results to summarise yet."
    text = "; ".join(clauses)
    return text[0].upper() + text[1:] + "."


__all__ = ["PROBABILITY_BANDS", "SENSITIVITY_MEASURES", "nok", "plain_language_answer", "probability_label"]
