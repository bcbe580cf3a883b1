"""Prices: the grunnbeløp (G) series, G-indexed conversion between years, and real wage growth.

Conventions (see docs/economics.md, "Prices"):

* **G in force.** G is adjusted on 1 May. In a month of year *y* the G in force is ``G[y]`` from May
  on and ``G[y-1]`` in January–April. The stipend (a G multiple) is paid at the G in force.
* **Average G of a year.** ``Gavg(y) = (4·G[y-1] + 8·G[y]) / 12``, the calendar-year average NAV
  publishes ("gjennomsnittlig G"; 2006: NOK 62 161).
* **Price year.** NOK of year *y* are converted to NOK of the price year *P* with ``Gavg(P) /
  Gavg(y)``. G follows the general wage growth, so this is a *wage* index: amounts that follow wages
  (wages, G-indexed benefits, staff costs) are constant in these units. Registry amounts named
  ``..._2006`` are NOK of 2006 and are converted with ``Gavg(P) / Gavg(2006)``. CPI indexing is not
  offered.
* **After 2025.** ``G[y] = G[2025]·(1 + g)^(y-2025)`` with ``g =
  prices.g_growth_after_2025_per_year``.
* **Real wage growth** (``prices.real_wage_growth_per_year``) lifts the employment-related flows
  that are extrapolated beyond the simulated horizon (``model.economics.ledger``), relative to the
  last simulated year: G-indexing already carries wage growth inside the simulated years.
"""

from __future__ import annotations

import numpy as np

from model.parameters import ParameterSet

#: First and last year of G values in the registry (``prices.g_nok_from_1_may.y<year>``).
G_FIRST_YEAR = 2003
G_LAST_PUBLISHED_YEAR = 2025
#: Registry amounts carry their price year in the name (``..._2006``); this is that year.
PARAMETER_PRICE_YEAR = 2006
#: Month (1-12) from which a year's G applies.
G_VALID_FROM_MONTH = 5


def g_parameter_name(year: int) -> str:
    """Registry name of the G valid from 1 May ``year``."""
    return f"prices.g_nok_from_1_may.y{year}"


class GIndex:
    """The G series of a parameter set, with the conversions that use it.

    Args:
        params: the registry (G values ``prices.g_nok_from_1_may.y2003`` … ``y2025`` and
            ``prices.g_growth_after_2025_per_year``).
        last_year: the last year that will be asked for (G is projected up to it).
    """

    def __init__(self, params: ParameterSet, last_year: int = 2100) -> None:
        last = max(int(last_year), G_LAST_PUBLISHED_YEAR)
        published = np.array(
            [params.v(g_parameter_name(y)) for y in range(G_FIRST_YEAR, G_LAST_PUBLISHED_YEAR + 1)],
            dtype=float,
        )
        growth = params.v("prices.g_growth_after_2025_per_year")
        extra = published[-1] * (1.0 + growth) ** np.arange(1, last - G_LAST_PUBLISHED_YEAR + 1)
        self._g = np.concatenate([published, extra])
        self.first_year = G_FIRST_YEAR
        self.last_year = last

    def _idx(self, years: np.ndarray, first: int) -> np.ndarray:
        years = np.asarray(years, dtype=np.int64)
        if years.size and (years.min() < first or years.max() > self.last_year):
            raise ValueError(
                f"G asked for years {years.min()}..{years.max()}; known {first}..{self.last_year}"
            )
        return years - self.first_year

    def from_may(self, years: np.ndarray | int) -> np.ndarray:
        """G valid from 1 May of ``years`` (NOK/year)."""
        return self._g[self._idx(years, self.first_year)]

    def in_force(self, years: np.ndarray | int, months: np.ndarray | int) -> np.ndarray:
        """G in force in calendar month ``months`` (1-12) of ``years`` (NOK/year).

        January–April use the previous year's G, May–December the year's own.
        """
        years = np.asarray(years, dtype=np.int64)
        months = np.asarray(months, dtype=np.int64)
        use = np.where(months >= G_VALID_FROM_MONTH, years, years - 1)
        return self._g[self._idx(use, self.first_year)]

    def average(self, years: np.ndarray | int) -> np.ndarray:
        """Calendar-year average G: ``(4·G[y-1] + 8·G[y]) / 12`` (NOK/year)."""
        i = self._idx(years, self.first_year + 1)
        before = G_VALID_FROM_MONTH - 1
        return (before * self._g[i - 1] + (12 - before) * self._g[i]) / 12.0

    def factor(self, from_years: np.ndarray | int, to_year: int) -> np.ndarray:
        """Factor from NOK of ``from_years`` to NOK of ``to_year``: ``Gavg(to) / Gavg(from)``."""
        return self.average(to_year) / self.average(from_years)


def to_price_year(
    amount_nok: np.ndarray | float, year: np.ndarray | int, price_year: int, params: ParameterSet
) -> np.ndarray:
    """Convert NOK of ``year`` to NOK of ``price_year`` with the G index.

    Args:
        amount_nok: amounts in NOK of ``year``.
        year: the year(s) the amounts are stated in.
        price_year: the target price year.
        params: the registry (G series).

    Returns:
        Amounts in NOK of ``price_year``: ``amount · Gavg(price_year) / Gavg(year)``.
    """
    years = np.asarray(year)
    g = GIndex(params, max(int(np.max(years)), int(price_year)))
    return np.asarray(amount_nok, dtype=float) * g.factor(years, price_year)


def parameter_amount(
    name: str, price_year: int, params: ParameterSet, gindex: GIndex | None = None
) -> float:
    """A registry amount named ``..._2006`` (NOK of 2006), in NOK of ``price_year``."""
    g = gindex or GIndex(params, price_year)
    return float(params.v(name) * g.factor(PARAMETER_PRICE_YEAR, price_year))


def real_wage_growth_factor(years_after: np.ndarray | float, params: ParameterSet) -> np.ndarray:
    """Real wage level ``(1 + r)^t`` after ``t`` years, ``r = prices.real_wage_growth_per_year``."""
    r = params.v("prices.real_wage_growth_per_year")
    return (1.0 + r) ** np.asarray(years_after, dtype=float)
