"""R-109 discounting against closed forms."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from model.economics.discounting import annuity_factor, discount_factors, discount_rates
from model.parameters import default_parameters

PARAMS = default_parameters()


@pytest.fixture(scope="module")
def params():
    return PARAMS


def test_step_down_factor_at_50_and_100(params):
    assert discount_factors(50, "r109_2014", params) == pytest.approx(
        1.04**-40 * 1.03**-10, rel=1e-12
    )
    assert discount_factors(100, "r109_2014", params) == pytest.approx(
        1.04**-40 * 1.03**-35 * 1.02**-25, rel=1e-12
    )
    assert discount_factors(0, "r109_2014", params) == 1.0
    t = np.arange(0, 41)
    assert discount_factors(t, "r109_2014", params) == pytest.approx(1.04**-t, rel=1e-12)


def test_step_down_is_continuous_at_the_steps(params):
    for step in (40.0, 75.0):
        left = discount_factors(step - 1e-9, "r109_2014", params)
        right = discount_factors(step + 1e-9, "r109_2014", params)
        assert left == pytest.approx(right, rel=1e-8)
    d = discount_factors(np.arange(0, 120), "r109_2014", params)
    assert (np.diff(d) < 0).all()


def test_rates_by_segment(params):
    r = discount_rates(np.array([0, 39, 40, 74, 75, 200]), "r109_2014", params)
    assert r.tolist() == [0.04, 0.04, 0.03, 0.03, 0.02, 0.02]
    assert discount_rates(np.array([0, 80]), "r109_2005_flat", params).tolist() == [0.04, 0.04]


@given(t=st.integers(0, 150))
def test_consecutive_factors_follow_the_rate(t):
    d = discount_factors(np.array([t, t + 1]), "r109_2014", PARAMS)
    r = discount_rates(t, "r109_2014", PARAMS)
    assert d[1] == pytest.approx(d[0] / (1 + r), rel=1e-12)


def test_flat_2005_scheme(params):
    t = np.arange(0, 121)
    assert discount_factors(t, "r109_2005_flat", params) == pytest.approx(1.04**-t, rel=1e-12)


def test_annuity_sums_against_closed_forms(params):
    # Σ_{t=0}^{n-1} v^t = (1 - v^n) / (1 - v)
    v4, v3, v2 = 1 / 1.04, 1 / 1.03, 1 / 1.02
    a40 = (1 - v4**40) / (1 - v4)
    assert annuity_factor(40, "r109_2014", params) == pytest.approx(a40, rel=1e-12)
    assert annuity_factor(20, "r109_2005_flat", params) == pytest.approx(
        (1 - v4**20) / (1 - v4), rel=1e-12
    )
    # 60 years: 40 at 4 %, then 20 at 3 % starting from 1.04^-40.
    a60 = a40 + v4**40 * (1 - v3**20) / (1 - v3)
    assert annuity_factor(60, "r109_2014", params) == pytest.approx(a60, rel=1e-12)
    # 100 years: ... then 25 at 2 %.
    a100 = a40 + v4**40 * (1 - v3**35) / (1 - v3) + v4**40 * v3**35 * (1 - v2**25) / (1 - v2)
    assert annuity_factor(100, "r109_2014", params) == pytest.approx(a100, rel=1e-12)


def test_rates_are_registry_parameters(params):
    p = params.with_values({"discounting.r109_2014.rate_years_0_40": 0.05})
    assert discount_factors(10, "r109_2014", p) == pytest.approx(1.05**-10)


def test_errors(params):
    with pytest.raises(ValueError):
        discount_factors(-1, "r109_2014", params)
    with pytest.raises(ValueError):
        discount_factors(1, "r109_1999", params)
