"""Perspectives: NPV identities, the stipend as a transfer, BCR, payback and cost measures."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from model.economics import (
    ALL_PERSPECTIVES,
    EconomicPolicy,
    arm_effects,
    build_ledger,
    evaluate,
    perspective_ledger,
)
from model.economics.discounting import annuity_factor
from model.economics.ledger import FLOW_INDEX
from model.economics.synthetic import random_tables, scripted_tables
from model.parameters import default_parameters

PARAMS = default_parameters()
MCPF = PARAMS.v("cba.tax_financing_cost_share")


def _effects(rows: list[tuple[int, str, float]], replication: int = 0) -> pd.DataFrame:
    """A hand-made effect ledger: (year, flow, amount NOK or person-years)."""
    out = []
    for year, flow, amount in rows:
        f = FLOW_INDEX[flow]
        q = f.kind == "quantity"
        out.append(
            {
                "replication": replication,
                "year": year,
                "flow": flow,
                "payer": f.payer,
                "receiver": f.receiver,
                "kind": f.kind,
                "group": f.group,
                "extrapolated": False,
                "amount_nok": 0.0 if q else amount,
                "person_years": amount if q else 0.0,
            }
        )
    return pd.DataFrame(out)


def _npvs(evaluation: pd.DataFrame) -> pd.DataFrame:
    return evaluation.pivot_table(
        index="replication", columns="perspective", values="npv_nok", observed=True
    )


def _scripted_effects(policy: EconomicPolicy, params=PARAMS, n_reps: int = 2) -> pd.DataFrame:
    persons, pm, ev = scripted_tables(n_reps=n_reps, n_months=30)
    return arm_effects(build_ledger(persons, pm, ev, policy, params))


POLICY = EconomicPolicy(
    price_year=2025,
    analysis_horizon_years=15,
    staff_fte_by_month={f"2006-{m:02d}-01": 0.4 for m in range(1, 13)},
)


# -------------------------------------------------------------------------------------- identities
def test_society_is_the_sum_of_the_parties_less_the_tax_financing_cost():
    eff = _scripted_effects(POLICY)
    res = evaluate(eff, POLICY, PARAMS, perspectives=ALL_PERSPECTIVES)
    npv = _npvs(res)
    pl = perspective_ledger(eff, POLICY, PARAMS)
    mcpf = pl[(pl["perspective"] == "society") & (pl["flow"].astype(str) == "tax_financing_cost")]
    mcpf_pv = mcpf.groupby("replication")["pv_nok"].sum()
    parties = npv["state"] + npv["municipality"] + npv["participant"] + npv["employer"]
    assert np.allclose(npv["employer"], 0.0, atol=1e-6)
    assert np.allclose(npv["society"], parties + mcpf_pv, rtol=1e-12, atol=1e-6)
    # The tax financing cost is 20 % of the net public effect.
    assert np.allclose(mcpf_pv, MCPF * (npv["state"] + npv["municipality"]), rtol=1e-12)
    assert np.allclose(npv["public"], npv["state"] + npv["municipality"], rtol=1e-12)


def test_society_npv_from_real_resources_only():
    """Independent route: production − real resource use + MCPF, straight from the effect ledger."""
    eff = _scripted_effects(POLICY)
    res = evaluate(eff, POLICY, PARAMS, perspectives=ALL_PERSPECTIVES)
    npv = _npvs(res)
    pl = perspective_ledger(eff, POLICY, PARAMS)
    d = pl.drop_duplicates("year").set_index("year")["discount_factor"]
    real = eff[eff["kind"].astype(str) == "resource"]
    sign = np.where(
        real["payer"].astype(str) == "society", 1.0, -1.0
    )  # production in, resource use out
    pv = (real["amount_nok"] * sign * real["year"].map(d)).groupby(real["replication"]).sum()
    assert np.allclose(npv["society"], pv + MCPF * npv["public"], rtol=1e-12)


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 2**32 - 1), scheme=st.sampled_from(["r109_2014", "r109_2005_flat"]))
def test_identity_on_random_tables(seed, scheme):
    persons, pm, ev = random_tables(np.random.default_rng(seed), n_reps=2, n_persons=5, n_months=18)
    policy = EconomicPolicy(
        price_year=2015,
        analysis_horizon_years=60,
        discounting=scheme,
        staff_fte_by_month={"2005-06-01": 1.5},
    )
    eff = arm_effects(build_ledger(persons, pm, ev, policy, PARAMS))
    npv = _npvs(evaluate(eff, policy, PARAMS, perspectives=ALL_PERSPECTIVES))
    parties = npv["state"] + npv["municipality"] + npv["participant"] + npv["employer"]
    scale = float(np.abs(npv.to_numpy()).max()) + 1.0
    assert np.allclose(npv["society"], parties + MCPF * npv["public"], atol=1e-9 * scale)


# ---------------------------------------------------------------------------- the stipend is a
# transfer
def test_doubling_the_stipend_moves_money_between_public_budgets_and_participants():
    base = POLICY
    double = POLICY.replace(g_multiple_per_year=4.0)
    persons, pm, ev = scripted_tables(n_reps=2, n_months=30)  # behaviour (the tables) held fixed
    r1 = evaluate(
        arm_effects(build_ledger(persons, pm, ev, base, PARAMS)), base, PARAMS, ALL_PERSPECTIVES
    )
    r2 = evaluate(
        arm_effects(build_ledger(persons, pm, ev, double, PARAMS)), double, PARAMS, ALL_PERSPECTIVES
    )
    delta = _npvs(r2) - _npvs(r1)
    assert (delta["participant"] > 0).all()
    # Equal and opposite between the public budgets and the participants ...
    assert np.allclose(delta["state"] + delta["municipality"], -delta["participant"], rtol=1e-12)
    assert np.allclose(delta["state"], 0.0, atol=1e-6)  # the stipend is the municipality's
    # ... and for society only the tax financing cost of the extra public spending changes.
    assert np.allclose(
        delta["society"], MCPF * (delta["state"] + delta["municipality"]), rtol=1e-12
    )
    # The production gain is unchanged.
    p1 = perspective_ledger(arm_effects(build_ledger(persons, pm, ev, base, PARAMS)), base, PARAMS)
    p2 = perspective_ledger(
        arm_effects(build_ledger(persons, pm, ev, double, PARAMS)), double, PARAMS
    )

    def production(pl):
        return pl[(pl["perspective"] == "society") & (pl["flow"].astype(str) == "production")][
            "pv_nok"
        ].sum()

    assert production(p2) == pytest.approx(production(p1), rel=1e-12)


# ---------------------------------------------------------------------------------- the definitions
def test_npv_bcr_and_payback_by_hand():
    policy = EconomicPolicy(price_year=2006, analysis_horizon_years=3, discounting="r109_2005_flat")
    eff = _effects(
        [
            (2006, "project_staff", 100.0),  # municipality → society: a cost of 100 in year 0
            (2007, "production", 70.0),  # society → employer
            (2007, "wages", 70.0 / 1.141),
            (2007, "employer_contributions", 70.0 / 1.141 * 0.141),
            (2008, "production", 70.0),
            (2008, "wages", 70.0 / 1.141),
            (2008, "employer_contributions", 70.0 / 1.141 * 0.141),
            (2007, "employed_person_years", 1.0),
            (2008, "employed_person_years", 1.0),
        ]
    )
    res = evaluate(eff, policy, PARAMS, perspectives=ALL_PERSPECTIVES).set_index("perspective")
    d = np.array([1.0, 1 / 1.04, 1 / 1.04**2])
    gross_wage = 70.0 / 1.141
    # Municipality: pays 100 in 2006.
    assert res.loc["municipality", "npv_nok"] == pytest.approx(-100.0)
    assert res.loc["municipality", "bcr"] == 0.0
    assert pd.isna(res.loc["municipality", "payback_year"])
    # State: employer contributions.
    contrib = gross_wage * 0.141 * (d[1] + d[2])
    assert res.loc["state", "npv_nok"] == pytest.approx(contrib)
    assert res.loc["state", "bcr"] == np.inf
    assert res.loc["state", "payback_year"] == 2007
    # Participant: wages.
    assert res.loc["participant", "npv_nok"] == pytest.approx(gross_wage * (d[1] + d[2]))
    # Society: production − staff + MCPF on the public net effect (state + municipality).
    public = -100.0 + contrib
    soc_gain = 70.0 * (d[1] + d[2])
    mcpf = MCPF * public  # negative: a cost
    assert res.loc["society", "npv_nok"] == pytest.approx(soc_gain - 100.0 + mcpf)
    assert res.loc["society", "pv_gains_nok"] == pytest.approx(soc_gain)
    assert res.loc["society", "pv_costs_nok"] == pytest.approx(100.0 - mcpf)
    assert res.loc["society", "bcr"] == pytest.approx(soc_gain / (100.0 - mcpf))
    # Cumulative society NPV: about -120 (2006), -51 (2007), +15 (2008): pays back in 2008.
    cum = np.cumsum(
        [
            -100 * (1 + MCPF),
            (70 + MCPF * gross_wage * 0.141) * d[1],
            (70 + MCPF * gross_wage * 0.141) * d[2],
        ]
    )
    assert cum[1] < 0 < cum[2]
    assert res.loc["society", "payback_year"] == 2008
    # Public metrics.
    emp_pv = d[1] + d[2]
    assert res.loc["society", "programme_cost_public_pv_nok"] == pytest.approx(100.0)
    assert res.loc["society", "cost_per_extra_employed_person_year_nok"] == pytest.approx(
        100.0 / emp_pv
    )
    assert res.loc["society", "extra_employed_person_years"] == pytest.approx(2.0)
    annuity = annuity_factor(3, "r109_2005_flat", PARAMS)
    assert res.loc["society", "net_budget_effect_nok_per_year"] == pytest.approx(public / annuity)


def test_payback_must_stay_positive():
    policy = EconomicPolicy(price_year=2006, analysis_horizon_years=4, discounting="r109_2005_flat")
    # Participant: +10, -50, +100, +10 → cumulative +, -, +, + → pays back from 2008, not 2006.
    eff = _effects(
        [
            (2006, "wages", 10.0),
            (2007, "income_tax_state", 50.0),
            (2008, "wages", 100.0),
            (2009, "wages", 10.0),
        ]
    )
    res = evaluate(eff, policy, PARAMS).set_index("perspective")
    assert res.loc["participant", "payback_year"] == 2008
    assert res.loc["participant", "pv_gains_nok"] == pytest.approx(
        10 + 100 / 1.04**2 + 10 / 1.04**3
    )
    assert res.loc["participant", "pv_costs_nok"] == pytest.approx(50 / 1.04)
    # The state receives 50 in 2007 and nothing else: positive from 2007 on.
    assert res.loc["state", "payback_year"] == 2007
    # Positive from the base year on: pays back in the base year.
    eff2 = _effects([(2006, "wages", 10.0), (2008, "wages", 5.0)])
    assert (
        evaluate(eff2, policy, PARAMS).set_index("perspective").loc["participant", "payback_year"]
        == 2006
    )


def test_no_extra_employment_gives_nan_cost_effectiveness():
    policy = EconomicPolicy(price_year=2006, analysis_horizon_years=2)
    res = evaluate(_effects([(2006, "stipend", 100.0)]), policy, PARAMS)
    assert res["cost_per_extra_employed_person_year_nok"].isna().all()
    assert res.set_index("perspective").loc[
        ["state", "municipality", "participant"], "npv_nok"
    ].tolist() == [0.0, -100.0, 100.0]


def test_evaluate_shape_and_columns():
    eff = _scripted_effects(POLICY, n_reps=3)
    res = evaluate(eff, POLICY, PARAMS)
    assert len(res) == 3 * 4
    assert list(res["perspective"].cat.categories) == [
        "society",
        "state",
        "municipality",
        "participant",
    ]
    assert str(res["payback_year"].dtype) == "Int64"
    per_rep = res.groupby("replication")["net_budget_effect_nok_per_year"].nunique()
    assert (per_rep == 1).all()
    pl = perspective_ledger(eff, POLICY, PARAMS)
    assert set(pl["perspective"].astype(str)) == set(ALL_PERSPECTIVES)
    assert pl["discount_factor"].between(0, 1).all()
    assert pl.loc[pl["year"] == pl.attrs["base_year"], "discount_factor"].eq(1.0).all()
    # Society has no transfer lines.
    soc = pl[pl["perspective"] == "society"]
    assert not (soc["kind"].astype(str) == "transfer").any()
