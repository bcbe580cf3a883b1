"""EconomicPolicy: one-line input errors, construction from plain values and from a scenario."""

from __future__ import annotations

import datetime as dt
from types import SimpleNamespace

import pandas as pd
import pytest

from model.economics import EconomicPolicy
from model.errors import InputError


def test_defaults_are_the_national_rules():
    p = EconomicPolicy()
    assert (p.stipend_level, p.g_multiple_per_year, p.under_25_fraction) == (
        "g_multiple",
        2.0,
        pytest.approx(2 / 3),
    )
    assert (p.absence_deduction, p.income_offset, p.discounting) == (
        "introduction_act",
        "discretionary",
        "r109_2014",
    )
    assert p.staff_fte_by_month.empty


@pytest.mark.parametrize(
    "field,value",
    [
        ("stipend_level", "3G"),
        ("absence_deduction", "lenient"),
        ("income_offset", "partial"),
        ("discounting", "r109_1999"),
        ("under_25_fraction", 1.5),
        ("g_multiple_per_year", -1),
        ("price_year", 1990),
        ("analysis_horizon_years", 0),
        ("price_year", 2025.5),
    ],
)
def test_bad_values_name_the_file_key_and_what_is_allowed(field, value):
    with pytest.raises(InputError) as exc:
        EconomicPolicy.from_values(file="scenarios/x.toml", **{field: value})
    assert exc.value.file == "scenarios/x.toml"
    assert exc.value.key == field
    assert str(exc.value).startswith(f"scenarios/x.toml: {field} = ")


def test_unknown_field():
    with pytest.raises(InputError) as exc:
        EconomicPolicy.from_values(stipend=2)
    assert exc.value.key == "stipend"


def test_staff_series_is_normalised():
    p = EconomicPolicy(staff_fte_by_month={"2006-02-01": 2, "2006-01-01": 1.5})
    s = p.staff_fte_by_month
    assert list(s.index) == [pd.Timestamp("2006-01-01"), pd.Timestamp("2006-02-01")]
    assert s.index.dtype == "datetime64[s]"
    assert s.tolist() == [1.5, 2.0]
    with pytest.raises(InputError, match="first-of-month"):
        EconomicPolicy(staff_fte_by_month={"2006-01-15": 1.0})
    with pytest.raises(InputError, match="non-negative"):
        EconomicPolicy(staff_fte_by_month={"2006-01-01": -1.0})


def test_replace_and_to_dict():
    p = EconomicPolicy(staff_fte_by_month={"2006-01-01": 1.0})
    q = p.replace(g_multiple_per_year=3)
    assert q.g_multiple_per_year == 3.0 and p.g_multiple_per_year == 2.0
    d = q.to_dict()
    assert d["staff_fte_by_month"] == {"2006-01": 1.0}
    assert d["price_year"] == 2025


def test_from_scenario_duck_typed():
    def total_fte_on(day: dt.date) -> float:
        return 2.0 if day >= dt.date(2005, 6, 1) else 0.0

    scenario = SimpleNamespace(
        path="scenarios/national.toml",
        simulation=SimpleNamespace(
            start_date=dt.date(2005, 4, 10), horizon_date=dt.date(2005, 8, 31)
        ),
        stipend=SimpleNamespace(
            level="g_multiple",
            g_multiple_per_year=2.0,
            under_25_fraction=2 / 3,
            absence_deduction="introduction_act",
            income_offset="discretionary",
        ),
        analysis=SimpleNamespace(
            price_year=2024, analysis_horizon_years=10, discounting="r109_2014"
        ),
        total_fte_on=total_fte_on,
    )
    p = EconomicPolicy.from_scenario(scenario)
    assert p.price_year == 2024 and p.analysis_horizon_years == 10
    assert p.staff_fte_by_month.tolist() == [
        0.0,
        0.0,
        2.0,
        2.0,
        2.0,
    ]  # Apr..Aug 2005, FTE on the 15th
    assert (
        EconomicPolicy.from_scenario(scenario, g_multiple_per_year=3.0).g_multiple_per_year == 3.0
    )
