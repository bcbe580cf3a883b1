"""The scenario's policy settings that the economics needs, as one small frozen value.

The engine knows nothing of money; the economics knows nothing of the engine. What passes between
them is the tidy tables (docs/data_model.md) and this :class:`EconomicPolicy`: the stipend rules,
the staff actually employed (adviser FTE by month), the price year, the analysis horizon and the
discounting scheme.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from typing import Any

import numpy as np
import pandas as pd

from model.errors import InputError
from model.vocabulary import EXCLUDABLE_FLOWS

STIPEND_LEVELS = ("g_multiple", "social_assistance")
ABSENCE_DEDUCTIONS = ("none", "introduction_act", "strict")
INCOME_OFFSETS = ("none", "discretionary", "full")
DISCOUNTING_SCHEMES = ("r109_2014", "r109_2005_flat")

#  Earliest price year: the G series in the registry starts in 2003, so the average G is known from
# 2004.
MIN_PRICE_YEAR = 2004


def _empty_fte() -> pd.Series:
    return pd.Series(
        [], index=pd.DatetimeIndex([], dtype="datetime64[s]", name="month"), dtype=float, name="fte"
    )


def _normalise_fte(value: Any, file: str) -> pd.Series:
    """Adviser FTE by month as a float Series on a first-of-month ``datetime64[s]`` index."""
    if value is None:
        return _empty_fte()
    if isinstance(value, Mapping) and not isinstance(value, pd.Series):
        value = pd.Series(dict(value))
    if not isinstance(value, pd.Series):
        raise InputError(
            file,
            "staff_fte_by_month",
            type(value).__name__,
            "a pandas Series or a mapping month → FTE",
        )
    if value.empty:
        return _empty_fte()
    fast = _normalised_fte(value)
    if fast is not None:
        return fast
    try:
        idx = pd.DatetimeIndex(pd.to_datetime(value.index))
    except (ValueError, TypeError):
        raise InputError(
            file, "staff_fte_by_month", list(value.index[:3]), "months as dates (YYYY-MM-01)"
        ) from None
    months = idx.to_period("M").to_timestamp()
    if (months != idx.normalize()).any():
        bad = idx[months != idx.normalize()][0]
        raise InputError(file, "staff_fte_by_month", str(bad.date()), "first-of-month dates")
    if months.has_duplicates:
        raise InputError(
            file,
            "staff_fte_by_month",
            str(months[months.duplicated()][0].date()),
            "each month once",
        )
    vals = pd.to_numeric(pd.Series(value.to_numpy()), errors="coerce").to_numpy(dtype=float)
    if np.isnan(vals).any() or (vals < 0).any():
        raise InputError(
            file, "staff_fte_by_month", value.tolist()[:5], "non-negative numbers (FTE)"
        )
    out = pd.Series(
        vals, index=pd.DatetimeIndex(months.astype("datetime64[s]"), name="month"), name="fte"
    )
    return out.sort_index()


def _normalised_fte(value: pd.Series) -> pd.Series | None:
    """What :func:`_normalise_fte` returns for the common case, checked with NumPy: float FTE,
    non-negative, on a time-zone-naive ``DatetimeIndex`` of first-of-month dates (any time of day)
    in increasing order. None for anything else (the general path decides)."""
    index = value.index
    if not (
        isinstance(index, pd.DatetimeIndex) and index.tz is None and value.dtype == np.float64
    ):
        return None
    dates = index.to_numpy()
    if np.isnat(dates).any():
        return None
    months = dates.astype("datetime64[M]")
    vals = value.to_numpy(dtype=float, copy=True)
    if (
        (months.astype("datetime64[D]") != dates.astype("datetime64[D]")).any()
        or (months[1:] <= months[:-1]).any()
        or np.isnan(vals).any()
        or (vals < 0).any()
    ):
        return None
    # freq inferred as the general path's PeriodIndex.to_timestamp infers it.
    index = pd.DatetimeIndex(months.astype("datetime64[s]"), name="month", freq="infer")
    return pd.Series(vals, index=index, name="fte")


@dataclass(frozen=True, eq=False)
class EconomicPolicy:
    """Policy settings of one scenario, in the units the economics uses.

    Defaults are the national Ny sjanse rules of 2005–2006 (IMDi 4-2007 appendix 1) and the analysis
    defaults of the scenario schema; a scenario overrides them.

    Attributes:
        stipend_level: ``"g_multiple"`` (``g_multiple_per_year`` G a year, the national rule) or
            ``"social_assistance"`` (the stipend equals what the household would get on social
            assistance).
        g_multiple_per_year: stipend in G per year for participants aged 25 or over (2.0
            nationally).
        under_25_fraction: share of the G-multiple stipend paid to participants under 25 (2/3
            nationally).
        absence_deduction: deduction rule for invalid absence: ``"none"``,
            ``"introduction_act"`` (pattern of the introduction act §10) or ``"strict"``.
        income_offset: offsetting of other household income against the stipend: ``"none"``,
            ``"discretionary"`` (the municipality's discretion, the national practice) or
            ``"full"``.
        staff_fte_by_month: total adviser FTE across the scenario's projects, indexed by month
            (``datetime64[s]`` first-of-month). Costed in the programme arm only.
        price_year: the year whose NOK all results are stated in (G-indexed, see
            ``model.economics.prices``).
        analysis_horizon_years: number of calendar years analysed, counted from the base year.
        discounting: ``"r109_2014"`` (R-109/14 and /21 step-down: 4 % → 3 % → 2 %) or
            ``"r109_2005_flat"`` (R-109/2005: 4 % flat).
        base_year: the year discounted to (factor 1). ``None``: the first calendar year in the
            ledger, i.e. the first year of the analysis.
        excluded_flows: ledger lines left out of the analysis (priced at zero in both arms), a subset of
            :data:`EXCLUDABLE_FLOWS`; none by default.
    """

    stipend_level: str = "g_multiple"
    g_multiple_per_year: float = 2.0
    under_25_fraction: float = 2 / 3
    absence_deduction: str = "introduction_act"
    income_offset: str = "discretionary"
    staff_fte_by_month: pd.Series = field(default_factory=_empty_fte)
    price_year: int = 2025
    analysis_horizon_years: int = 20
    discounting: str = "r109_2014"
    base_year: int | None = None
    excluded_flows: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        self._validate("economic policy")

    def _validate(self, file: str) -> None:
        choices = {
            "stipend_level": STIPEND_LEVELS,
            "absence_deduction": ABSENCE_DEDUCTIONS,
            "income_offset": INCOME_OFFSETS,
            "discounting": DISCOUNTING_SCHEMES,
        }
        for key, allowed in choices.items():
            if getattr(self, key) not in allowed:
                raise InputError(file, key, getattr(self, key), f"one of {list(allowed)}")
        for key, lo, hi in (("g_multiple_per_year", 0.0, 10.0), ("under_25_fraction", 0.0, 1.0)):
            v = getattr(self, key)
            if isinstance(v, bool) or not isinstance(v, int | float) or not lo <= float(v) <= hi:
                raise InputError(file, key, v, f"a number in [{lo}, {hi}]")
            object.__setattr__(self, key, float(v))
        for key, lo, hi in (
            ("price_year", MIN_PRICE_YEAR, 2100),
            ("analysis_horizon_years", 1, 200),
        ):
            v = getattr(self, key)
            if isinstance(v, bool) or not isinstance(v, int | np.integer) or not lo <= int(v) <= hi:
                raise InputError(file, key, v, f"a whole number in [{lo}, {hi}]")
            object.__setattr__(self, key, int(v))
        excluded = self.excluded_flows
        if isinstance(excluded, str) or not all(f in EXCLUDABLE_FLOWS for f in excluded):
            raise InputError(file, "excluded_flows", excluded, f"a list of flows among {list(EXCLUDABLE_FLOWS)}")
        object.__setattr__(self, "excluded_flows", tuple(dict.fromkeys(excluded)))
        if self.base_year is not None:
            if isinstance(self.base_year, bool) or not isinstance(self.base_year, int | np.integer):
                raise InputError(file, "base_year", self.base_year, "a year or None")
            object.__setattr__(self, "base_year", int(self.base_year))
        object.__setattr__(
            self, "staff_fte_by_month", _normalise_fte(self.staff_fte_by_month, file)
        )

    @classmethod
    def from_values(cls, *, file: str = "scenario", **values: Any) -> EconomicPolicy:
        """Build a policy from plain values, reporting bad ones against ``file``.

        Args:
            file: the file named in an :class:`~model.errors.InputError` (e.g. the scenario's path).
            **values: the fields of :class:`EconomicPolicy`; ``staff_fte_by_month`` may be a Series
            or a mapping ``"YYYY-MM-01" → FTE``.

        Raises:
            InputError: an unknown field or a value outside what is allowed.
        """
        known = {f.name for f in fields(cls)}
        for key in values:
            if key not in known:
                raise InputError(file, key, values[key], f"one of the fields {sorted(known)}")
        try:
            return cls(**values)
        except InputError as exc:
            raise InputError(file, exc.key, exc.value, exc.allowed) from None

    @classmethod
    def from_scenario(cls, scenario: Any, **overrides: Any) -> EconomicPolicy:
        """Build the policy from a ``model.scenario.Scenario`` (duck-typed; nothing is imported).

        Uses ``scenario.stipend`` (level, g_multiple_per_year, under_25_fraction, absence_deduction,
        income_offset), ``scenario.analysis`` (price_year, analysis_horizon_years, discounting,
        excluded_flows) and
        the adviser FTE in force on the 15th of each month from ``simulation.start_date`` to
        ``simulation.horizon_date`` (``scenario.total_fte_on``).

        Args:
            scenario: a validated scenario.
            **overrides: fields to set instead of the scenario's values.
        """
        values = {
            "stipend_level": scenario.stipend.level,
            "g_multiple_per_year": scenario.stipend.g_multiple_per_year,
            "under_25_fraction": scenario.stipend.under_25_fraction,
            "absence_deduction": scenario.stipend.absence_deduction,
            "income_offset": scenario.stipend.income_offset,
            "price_year": scenario.analysis.price_year,
            "analysis_horizon_years": scenario.analysis.analysis_horizon_years,
            "discounting": scenario.analysis.discounting,
            "excluded_flows": tuple(getattr(scenario.analysis, "excluded_flows", ())),
        }
        values.update(overrides)
        if "staff_fte_by_month" not in values:  # the scheduled staff (built only when needed)
            sim = scenario.simulation
            start = dt.date(sim.start_date.year, sim.start_date.month, 1)
            months = pd.date_range(start, sim.horizon_date, freq="MS")
            values["staff_fte_by_month"] = pd.Series(
                [float(scenario.total_fte_on(dt.date(m.year, m.month, 15))) for m in months],
                index=months,
            )
        return cls.from_values(file=str(getattr(scenario, "path", "scenario")), **values)

    def replace(self, **changes: Any) -> EconomicPolicy:
        """A copy with some fields changed (validated again)."""
        values = {f.name: getattr(self, f.name) for f in fields(self)}
        values.update(changes)
        return type(self)(**values)

    def to_dict(self) -> dict[str, Any]:
        """Plain values for manifests and reports (the FTE series as ``{"YYYY-MM": fte}``)."""
        out = {
            f.name: getattr(self, f.name) for f in fields(self) if f.name != "staff_fte_by_month"
        }
        out["staff_fte_by_month"] = {
            m.strftime("%Y-%m"): float(v) for m, v in self.staff_fte_by_month.items()
        }
        return out
