"""Discounting after the Ministry of Finance circular R-109 (real rates, discount to the base year).

Two schemes:

* ``"r109_2014"`` — R-109/14 (and R-109/21): a real rate of 4 % for the years 0–40, 3 % for 40–75
  and 2 % after 75. The factors are chained, so the discount factor is continuous at the step years:
  ``d(t) = 1.04^-min(t, 40) · 1.03^-clip(t - 40, 0, 35) · 1.02^-max(t - 75, 0)``.
* ``"r109_2005_flat"`` — R-109/2005: 4 % real, flat: ``d(t) = 1.04^-t``.

``t`` is the number of years after the base year (the first year of the analysis): a flow in the
base year is not discounted, a flow in the next year is divided by 1.04, and so on (annual flows,
end-of-year convention relative to the base year). All rates and step years are registry parameters
(``discounting.*``).
"""

from __future__ import annotations

import numpy as np

from model.parameters import ParameterSet

SCHEMES = ("r109_2014", "r109_2005_flat")


def _segments(scheme: str, params: ParameterSet) -> list[tuple[float, float, float]]:
    """(start year, end year, rate) pieces of the rate schedule."""
    if scheme == "r109_2014":
        s1 = params.v("discounting.r109_2014.first_step_year")
        s2 = params.v("discounting.r109_2014.second_step_year")
        return [
            (0.0, s1, params.v("discounting.r109_2014.rate_years_0_40")),
            (s1, s2, params.v("discounting.r109_2014.rate_years_40_75")),
            (s2, np.inf, params.v("discounting.r109_2014.rate_after_75")),
        ]
    if scheme == "r109_2005_flat":
        return [(0.0, np.inf, params.v("discounting.r109_2005.rate"))]
    raise ValueError(f"unknown discounting scheme {scheme!r}; one of {list(SCHEMES)}")


def discount_rates(
    years_after_base: np.ndarray | float, scheme: str, params: ParameterSet
) -> np.ndarray:
    """The real annual rate that applies in year ``t`` after the base year (between ``t`` and
    ``t+1``).

    Args:
        years_after_base: ``t`` ≥ 0.
        scheme: ``"r109_2014"`` or ``"r109_2005_flat"``.
        params: the registry.

    Returns:
        Rates (1/year), same shape as ``years_after_base``.
    """
    t = np.asarray(years_after_base, dtype=float)
    out = np.empty_like(t)
    for start, end, rate in _segments(scheme, params):
        out[(t >= start) & (t < end)] = rate
    return out


def discount_factors(
    years_after_base: np.ndarray | float, scheme: str, params: ParameterSet
) -> np.ndarray:
    """Discount factors ``d(t)`` for flows ``t`` years after the base year (``d(0) = 1``).

    The factor is the product of ``(1 + r)^-(years spent in each rate segment)``, so it is
    continuous where the rate steps down. Works for fractional ``t``.

    Args:
        years_after_base: ``t`` ≥ 0 (years).
        scheme: ``"r109_2014"`` or ``"r109_2005_flat"``.
        params: the registry.

    Returns:
        Factors in (0, 1], same shape as ``years_after_base``.

    Raises:
        ValueError: a negative ``t`` (flows before the base year) or an unknown scheme.
    """
    t = np.asarray(years_after_base, dtype=float)
    if np.any(t < 0):
        raise ValueError("flows before the base year cannot be discounted to it")
    log_d = np.zeros_like(t)
    for start, end, rate in _segments(scheme, params):
        span = np.clip(t - start, 0.0, end - start)
        log_d -= span * np.log1p(rate)
    return np.exp(log_d)


def annuity_factor(n_years: int, scheme: str, params: ParameterSet) -> float:
    """Present value of NOK 1 a year paid in years ``0 … n_years-1``: ``Σ d(t)``."""
    return float(discount_factors(np.arange(n_years), scheme, params).sum())
