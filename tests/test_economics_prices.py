"""Prices: the G series, G in force per month, average G and conversion to the price year."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from model.economics.prices import GIndex, parameter_amount, real_wage_growth_factor, to_price_year
from model.parameters import default_parameters

# DOMAIN.md §8 (NAV's published series, valid from 1 May), plus 2003 and 2004 from the same series.
G_SERIES = {
    2003: 56861,
    2004: 58778,
    2005: 60699,
    2006: 62892,
    2007: 66812,
    2008: 70256,
    2009: 72881,
    2010: 75641,
    2011: 79216,
    2012: 82122,
    2013: 85245,
    2014: 88370,
    2015: 90068,
    2016: 92576,
    2017: 93634,
    2018: 96883,
    2019: 99858,
    2020: 101351,
    2021: 106399,
    2022: 111477,
    2023: 118620,
    2024: 124028,
    2025: 130160,
}


PARAMS = default_parameters()


@pytest.fixture(scope="module")
def params():
    return PARAMS


def test_registry_holds_the_published_series(params):
    g = GIndex(params)
    years = np.array(sorted(G_SERIES))
    assert g.from_may(years).tolist() == [float(G_SERIES[y]) for y in years]


def test_g_in_force_switches_on_1_may(params):
    g = GIndex(params)
    assert g.in_force(2006, 4) == 60699  # April 2006: last year's G
    assert g.in_force(2006, 5) == 62892  # May 2006: 2 G = 125 784 (IMDi 4-2007 appendix 1)
    assert 2 * g.in_force(2006, 12) == 125784
    assert g.in_force(2005, 1) == 58778
    months = np.arange(1, 13)
    expected = [G_SERIES[2009]] * 4 + [G_SERIES[2010]] * 8
    assert g.in_force(np.full(12, 2010), months).tolist() == expected


def test_average_g_matches_navs_published_averages(params):
    g = GIndex(params)
    # NAV publishes the calendar-year average G: 2006 = 62 161, 2024 = 122 225.
    assert round(float(g.average(2006))) == 62161
    assert round(float(g.average(2024))) == 122225
    for y in range(2004, 2026):
        assert g.average(y) == pytest.approx((4 * G_SERIES[y - 1] + 8 * G_SERIES[y]) / 12)


def test_conversion_is_the_ratio_of_average_g(params):
    g = GIndex(params)
    assert to_price_year(100.0, 2006, 2006, params) == pytest.approx(100.0)
    expected = (4 * G_SERIES[2024] + 8 * G_SERIES[2025]) / (4 * G_SERIES[2005] + 8 * G_SERIES[2006])
    assert to_price_year(1.0, 2006, 2025, params) == pytest.approx(expected)
    assert float(g.factor(2006, 2025)) == pytest.approx(expected)
    # Vectorised over years.
    got = to_price_year(np.array([1.0, 2.0]), np.array([2010, 2020]), 2025, params)
    assert got == pytest.approx(
        [g.average(2025) / g.average(2010), 2 * g.average(2025) / g.average(2020)]
    )


@given(a=st.integers(2004, 2040), b=st.integers(2004, 2040), c=st.integers(2004, 2040))
def test_conversion_chains_and_inverts(a, b, c):
    g = GIndex(PARAMS, 2040)
    assert float(g.factor(a, b) * g.factor(b, c)) == pytest.approx(float(g.factor(a, c)))
    assert float(g.factor(a, b) * g.factor(b, a)) == pytest.approx(1.0)


def test_g_after_2025_grows_at_the_parameter(params):
    p = params.with_values({"prices.g_growth_after_2025_per_year": 0.04})
    g = GIndex(p, 2030)
    assert g.from_may(2027) == pytest.approx(G_SERIES[2025] * 1.04**2)
    assert g.in_force(2026, 4) == G_SERIES[2025]
    assert g.in_force(2026, 5) == pytest.approx(G_SERIES[2025] * 1.04)
    with pytest.raises(ValueError):
        g.from_may(2031)
    with pytest.raises(ValueError):
        g.average(2003)  # needs G 2002


def test_parameter_amounts_are_nok_of_2006(params):
    g = GIndex(params)
    nok_2025 = parameter_amount("social_assistance.norm_single_nok_per_month_2006", 2025, params)
    assert nok_2025 == pytest.approx(4270 * g.average(2025) / g.average(2006))
    assert (
        parameter_amount("social_assistance.norm_single_nok_per_month_2006", 2006, params) == 4270
    )


def test_real_wage_growth(params):
    p = params.with_values({"prices.real_wage_growth_per_year": 0.02})
    assert real_wage_growth_factor(np.array([0.0, 1.0, 10.0]), p) == pytest.approx(
        [1.0, 1.02, 1.02**10]
    )
