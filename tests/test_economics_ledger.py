"""The ledger: pricing of person-months and events, payer → receiver, transfers, extrapolation."""

from __future__ import annotations

from collections import defaultdict

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from model.economics import (
    EconomicPolicy,
    arm_effects,
    build_ledger,
    count_states,
    household_norm_nok_per_month,
    ledger_from_counts,
    transfers_net,
)
from model.economics.ledger import FLOWS, POST_PROGRAMME_FLOWS
from model.economics.prices import GIndex
from model.economics.synthetic import random_tables, scripted_tables
from model.parameters import default_parameters

PARAMS = default_parameters()
V = PARAMS.v


def _sum(ledger: pd.DataFrame, flow: str, **where) -> float:
    m = ledger["flow"].astype(str) == flow
    for col, val in where.items():
        m &= (
            ledger[col].astype(type(val)) == val
            if not isinstance(val, str)
            else ledger[col].astype(str) == val
        )
    return float(ledger.loc[m, "amount_nok"].sum())


# -----------------------------------------------------------------------------------------
# structure
def test_every_row_has_a_known_payer_and_receiver():
    persons, pm, ev = scripted_tables(n_reps=2)
    led = build_ledger(
        persons, pm, ev, EconomicPolicy(price_year=2006, analysis_horizon_years=5), PARAMS
    )
    money = led[led["kind"].astype(str) != "quantity"]
    actors = {"state", "municipality", "participant", "employer", "society"}
    assert set(money["payer"].astype(str)) <= actors
    assert set(money["receiver"].astype(str)) <= actors
    assert (money["payer"].astype(str) != money["receiver"].astype(str)).all()
    transfers = money[money["kind"].astype(str) == "transfer"]
    assert "society" not in set(transfers["payer"].astype(str)) | set(
        transfers["receiver"].astype(str)
    )
    assert (led.loc[led["kind"].astype(str) == "quantity", "amount_nok"] == 0).all()
    assert sorted(led["year"].unique()) == [2006, 2007, 2008, 2009, 2010]
    assert led.attrs["base_year"] == 2006 and led.attrs["price_year"] == 2006


def test_transfers_net_to_zero_for_society():
    persons, pm, ev = scripted_tables(n_reps=2, n_months=30)
    policy = EconomicPolicy(price_year=2025, staff_fte_by_month={"2006-01-01": 1.0})
    led = build_ledger(persons, pm, ev, policy, PARAMS)
    scale = float(led["amount_nok"].abs().sum())
    assert abs(transfers_net(led)) <= 1e-9 * scale
    assert abs(transfers_net(arm_effects(led))) <= 1e-9 * scale


def test_transfers_net_detects_a_transfer_leaking_to_society():
    led = pd.DataFrame(
        {
            "flow": ["x", "y"],
            "payer": ["municipality", "state"],
            "receiver": ["participant", "society"],
            "kind": ["transfer", "transfer"],
            "amount_nok": [100.0, 40.0],
        }
    )
    assert transfers_net(led) == pytest.approx(-40.0)


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 2**32 - 1), level=st.sampled_from(["g_multiple", "social_assistance"]))
def test_transfers_net_to_zero_on_random_tables(seed, level):
    persons, pm, ev = random_tables(np.random.default_rng(seed), n_reps=2, n_persons=6, n_months=20)
    policy = EconomicPolicy(stipend_level=level, price_year=2020, analysis_horizon_years=8)
    led = build_ledger(persons, pm, ev, policy, PARAMS)
    scale = float(led["amount_nok"].abs().sum())
    assert abs(transfers_net(led)) <= 1e-9 * scale


# ------------------------------------------------------------------------- pricing, checked by hand
def test_stipend_by_hand():
    """2006: Mar-Dec in the programme; G 60 699 in Mar-Apr, 62 892 from May (NOK of 2006)."""
    persons, pm, ev = scripted_tables(n_reps=1)
    policy = EconomicPolicy(
        price_year=2006, absence_deduction="none", income_offset="none", analysis_horizon_years=2
    )
    led = build_ledger(persons, pm, ev, policy, PARAMS)
    g = GIndex(PARAMS)
    per_person = 2 * (2 * 60699 + 8 * 62892) / 12 * g.average(2006) / g.average(2006)
    assert per_person == pytest.approx(104089.0)
    expected = 3 * per_person + 2 / 3 * per_person  # person 2 is 22: two thirds
    assert _sum(led, "stipend", year=2006) == pytest.approx(expected)
    # Jan-Feb 2007 at G 2006, deflated from NOK of 2007 to NOK of 2006 with the average G.
    deflate = g.average(2006) / g.average(2007)
    assert _sum(led, "stipend", year=2007) == pytest.approx(
        (3 + 2 / 3) * 2 * 2 * 62892 / 12 * deflate
    )
    # Deductions scale it.
    policy2 = policy.replace(absence_deduction="strict", income_offset="full")
    led2 = build_ledger(persons, pm, ev, policy2, PARAMS)
    kept = (1 - V("stipend.absence_deduction_share.strict")) * (
        1
        - V("stipend.income_offset.share_with_offsettable_income")
        * V("stipend.income_offset.full_offset_share")
    )
    assert _sum(led2, "stipend", year=2006) == pytest.approx(expected * kept)


def test_social_assistance_norm_by_hand():
    single = household_norm_nok_per_month(False, 0, 0, 0, PARAMS)
    assert single == pytest.approx(4270 + V("social_assistance.housing_nok_per_month_2006"))
    family = household_norm_nok_per_month(True, 1, 1, 0, PARAMS)
    assert family == pytest.approx(
        7100 + 1630 + 2160 + V("social_assistance.housing_nok_per_month_2006") - 2 * 970
    )
    g = GIndex(PARAMS)
    assert household_norm_nok_per_month(False, 0, 0, 0, PARAMS, price_year=2025) == pytest.approx(
        single * g.average(2025) / g.average(2006)
    )
    # The scripted counterfactual: all four on social assistance all of 2006.
    persons, pm, ev = scripted_tables(n_reps=1)
    led = build_ledger(
        persons, pm, ev, EconomicPolicy(price_year=2006, analysis_horizon_years=2), PARAMS
    )
    norms = [
        household_norm_nok_per_month(m, a, b, c, PARAMS)
        for m, a, b, c in [(False, 0, 0, 0), (True, 1, 1, 0), (False, 0, 0, 0), (True, 0, 0, 2)]
    ]
    assert _sum(led, "social_assistance", arm="counterfactual", year=2006) == pytest.approx(
        12 * sum(norms)
    )
    # Programme arm: assessment in Jan-Feb only.
    assert _sum(led, "social_assistance", arm="programme", year=2006) == pytest.approx(
        2 * sum(norms)
    )


def test_housing_calibration_reproduces_ssb_year_long_recipients():
    """SSB 2005 (tables 3 and 4): year-long recipients were paid NOK 8 579/month on average.

    Their household mix (table 4, 12 months of payment): 8 320 singles without children, 2 148
    single parents, 3 382 couples (about half with children). Assumed: 1.7 children per single
    parent, 2 per couple with children, ages spread over 0-17 (bands 6/18, 5/18, 7/18).
    """
    bands = np.array([6, 5, 7]) / 18
    single = household_norm_nok_per_month(False, 0, 0, 0, PARAMS)
    parent = household_norm_nok_per_month(False, *(1.7 * bands), PARAMS)
    couple = household_norm_nok_per_month(True, 0, 0, 0, PARAMS)
    couple_kids = household_norm_nok_per_month(True, *(2.0 * bands), PARAMS)
    n = np.array([8320, 2148, 3382 / 2, 3382 / 2])
    mean = float(np.dot(n, [single, parent, couple, couple_kids]) / n.sum())
    assert mean == pytest.approx(8579, rel=0.01)


def test_wages_tax_and_production_by_hand():
    persons, pm, ev = scripted_tables(n_reps=1)
    led = build_ledger(
        persons, pm, ev, EconomicPolicy(price_year=2006, analysis_horizon_years=2), PARAMS
    )
    w = V("wages.full_time_gross_nok_per_year_2006") / 12
    pt = V("wages.part_time_fraction")
    # 2007, programme arm: persons 0 and 1 full-time Mar-Dec, person 2 part-time Mar-Dec.
    wages = 20 * w + 10 * w * pt
    assert _sum(led, "wages", arm="programme", year=2007) == pytest.approx(wages)
    rate = V("tax.employer_contribution_rate")
    assert _sum(led, "employer_contributions", arm="programme", year=2007) == pytest.approx(
        wages * rate
    )
    assert _sum(led, "production", arm="programme", year=2007) == pytest.approx(wages * (1 + rate))
    tax = 20 * w * V("tax.average_income_tax_rate_full_time") + 10 * w * pt * V(
        "tax.average_income_tax_rate_part_time"
    )
    share = V("tax.municipal_share_of_income_tax")
    assert _sum(led, "income_tax_municipality", arm="programme", year=2007) == pytest.approx(
        tax * share
    )
    assert _sum(led, "income_tax_state", arm="programme", year=2007) == pytest.approx(
        tax * (1 - share)
    )
    # Counterfactual: person 0 part-time Jul-Dec 2007.
    assert _sum(led, "wages", arm="counterfactual", year=2007) == pytest.approx(6 * w * pt)


def test_staff_costs_only_in_the_programme_arm():
    persons, pm, ev = scripted_tables(n_reps=3)
    fte = pd.Series(
        [2.0, 2.0, 3.0], index=pd.to_datetime(["2006-01-01", "2006-02-01", "2007-03-01"])
    )
    policy = EconomicPolicy(price_year=2006, analysis_horizon_years=3, staff_fte_by_month=fte)
    led = build_ledger(persons, pm, ev, policy, PARAMS)
    month_cost = V("staff.cost_nok_per_fte_year_2006") / 12
    for rep in range(3):
        assert _sum(
            led, "project_staff", arm="programme", year=2006, replication=rep
        ) == pytest.approx(4 * month_cost)
        assert _sum(
            led, "project_staff", arm="programme", year=2007, replication=rep
        ) == pytest.approx(3 * month_cost)
    assert _sum(led, "project_staff", arm="counterfactual") == 0.0


def test_programme_flows_are_absent_in_the_counterfactual():
    persons, pm, ev = scripted_tables(n_reps=2, n_months=30)
    led = build_ledger(
        persons, pm, ev, EconomicPolicy(staff_fte_by_month={"2006-01-01": 1.0}), PARAMS
    )
    cf = led[led["arm"].astype(str) == "counterfactual"]
    prog_lines = [f.name for f in FLOWS if f.group == "programme"]
    assert cf.loc[cf["flow"].astype(str).isin(prog_lines), "amount_nok"].abs().sum() == 0.0
    assert _sum(led, "stipend", arm="programme") > 0


def test_incentive_payments_counted_once_per_milestone_event():
    persons, pm, ev = scripted_tables(n_reps=2, n_months=30)
    policy = EconomicPolicy(price_year=2006, analysis_horizon_years=4)
    each = V("incentive.payment_nok_per_milestone_2006")
    led = build_ledger(persons, pm, ev, policy, PARAMS)
    n_events = int((ev["event"].astype(str) == "incentive_milestone").sum())
    assert n_events == 8  # 2 replications x persons 0 and 1 x (6, 12 months)
    assert _sum(led, "incentive_payments") == pytest.approx(n_events * each)
    assert _sum(led, "incentive_payments", replication=0, year=2007) == pytest.approx(
        2 * each
    )  # 6 months, Sep 2007
    assert _sum(led, "incentive_payments", replication=0, year=2008) == pytest.approx(
        2 * each
    )  # 12 months, Mar 2008
    # Not a flow that depends on months: the same event repeated is paid once ...
    dup = pd.concat([ev, ev[ev["event"].astype(str) == "incentive_milestone"]], ignore_index=True)
    assert _sum(
        build_ledger(persons, pm, dup, policy, PARAMS), "incentive_payments"
    ) == pytest.approx(n_events * each)
    # ... and one more milestone of another person adds one payment.
    extra = ev.iloc[[0]].copy()
    extra["person"] = np.int32(2)
    extra["event"] = pd.Categorical(["incentive_milestone"])
    extra["detail"] = pd.Categorical(["6_months"])
    more = pd.concat(
        [ev.astype({"event": str, "detail": str}), extra.astype({"event": str, "detail": str})]
    )
    led3 = build_ledger(persons, pm, more, policy, PARAMS)
    assert _sum(led3, "incentive_payments") == pytest.approx((n_events + 1) * each)
    # A transfer: state pays, municipality receives.
    row = led[led["flow"].astype(str) == "incentive_payments"].iloc[0]
    assert (row["payer"], row["receiver"]) == ("state", "municipality")


def test_assessment_effort_per_assessment_in_the_programme_arm():
    persons, pm, ev = scripted_tables(n_reps=2)
    policy = EconomicPolicy(price_year=2006, analysis_horizon_years=2)
    each = V("staff.assessment_cost_nok_per_assessment_2006")
    counts = count_states(persons, pm, ev)
    assert counts.assessment_source == "assessment_started"
    led = ledger_from_counts(counts, policy, PARAMS)
    assert _sum(led, "assessment", arm="programme") == pytest.approx(2 * 4 * each)
    assert _sum(led, "assessment", arm="counterfactual") == 0.0  # referred there too, not assessed
    # Tables without assessment_started: each person referred in the programme arm is assessed.
    no_start = ev[ev["event"].astype(str) != "assessment_started"]
    counts = count_states(persons, pm, no_start)
    assert counts.assessment_source == "referred"
    assert _sum(ledger_from_counts(counts, policy, PARAMS), "assessment") == pytest.approx(8 * each)


def test_grant_allocated_per_participant_month():
    persons, pm, ev = scripted_tables(n_reps=1)
    led = build_ledger(
        persons, pm, ev, EconomicPolicy(price_year=2006, analysis_horizon_years=2), PARAMS
    )
    per_month = V("grants.state_grant_nok_per_year_2006") / (
        V("grants.national_participants_2006") * 12
    )
    assert _sum(led, "state_project_grant", year=2006) == pytest.approx(
        40 * per_month
    )  # 4 persons x Mar-Dec


def test_social_assistance_level_stipend_pays_the_norm():
    persons, pm, ev = scripted_tables(n_reps=1)
    policy = EconomicPolicy(
        stipend_level="social_assistance",
        price_year=2006,
        absence_deduction="none",
        income_offset="none",
        analysis_horizon_years=2,
    )
    led = build_ledger(persons, pm, ev, policy, PARAMS)
    norms = [
        household_norm_nok_per_month(m, a, b, c, PARAMS)
        for m, a, b, c in [(False, 0, 0, 0), (True, 1, 1, 0), (False, 0, 0, 0), (True, 0, 0, 2)]
    ]
    assert _sum(led, "stipend", year=2006) == pytest.approx(10 * sum(norms))
    assert _sum(led, "supplementary_social_assistance") == 0.0


# ------------------------------------------------------------ independent row-by-row implementation
def _naive_ledger(persons, pm, policy, params) -> dict[tuple[int, str, int, str], float]:
    """Price every person-month row on its own (slow; written apart from the vectorised code)."""
    v = params.v
    g = GIndex(params)
    P = policy.price_year
    k = g.average(P) / g.average(2006)
    absence = {
        "none": 0,
        "introduction_act": v("stipend.absence_deduction_share.introduction_act"),
        "strict": v("stipend.absence_deduction_share.strict"),
    }[policy.absence_deduction]
    offset = {
        "none": 0,
        "discretionary": v("stipend.income_offset.discretionary_offset_share"),
        "full": v("stipend.income_offset.full_offset_share"),
    }[policy.income_offset]
    kept = (1 - absence) * (1 - offset * v("stipend.income_offset.share_with_offsettable_income"))
    info = persons.set_index(["replication", "person"])
    out: dict[tuple[int, str, int, str], float] = defaultdict(float)
    for r in pm.itertuples(index=False):
        p = info.loc[(r.replication, r.person)]
        month = pd.Timestamp(r.month)
        y = month.year
        kids = int(p.children_0_5) + int(p.children_6_10) + int(p.children_11_17)
        norm = k * (
            (
                v("social_assistance.norm_couple_nok_per_month_2006")
                if p.married
                else v("social_assistance.norm_single_nok_per_month_2006")
            )
            + int(p.children_0_5) * v("social_assistance.norm_child_0_5_nok_per_month_2006")
            + int(p.children_6_10) * v("social_assistance.norm_child_6_10_nok_per_month_2006")
            + int(p.children_11_17) * v("social_assistance.norm_child_11_17_nok_per_month_2006")
            + v("social_assistance.housing_nok_per_month_2006")
            - kids * v("social_assistance.child_benefit_offset_nok_per_child_month_2006")
        )
        age = (
            p.age_at_referral_years
            + ((month + pd.Timedelta(days=14)) - pd.Timestamp(p.referral_date)).days / 365.25
        )
        key = (int(r.replication), str(r.arm), y)
        s = str(r.state)
        sa_share = {
            "social_assistance": 1,
            "assessment": 1,
            "waiting": 1,
            "education": v("social_assistance.share_of_education_months_with_sa"),
            "employed_part_time": v("social_assistance.top_up_share_of_norm_when_part_time"),
        }.get(s, 0)
        out[(*key, "social_assistance")] += sa_share * norm
        wage = {"employed_full_time": 1.0, "employed_part_time": v("wages.part_time_fraction")}.get(
            s, 0.0
        )
        out[(*key, "wages")] += wage * v("wages.full_time_gross_nok_per_year_2006") * k / 12
        if s == "in_programme":
            g_now = g.from_may(y) if month.month >= 5 else g.from_may(y - 1)
            if policy.stipend_level == "g_multiple":
                gross = policy.g_multiple_per_year * g_now / 12 * g.average(P) / g.average(y)
                gross *= policy.under_25_fraction if age < 25 else 1.0
            else:
                gross = norm
            out[(*key, "stipend")] += gross * kept
            out[(*key, "supplementary_social_assistance")] += v(
                "stipend.supplementary_sa_share_of_gap"
            ) * max(0.0, norm - gross)
            out[(*key, "courses_and_measures")] += (
                v("measures.courses_nok_per_participant_month_2006") * k
            )
            places = int(p.children_0_5) * v("childcare.share_of_children_0_5_needing_place")
            out[(*key, "childcare_programme")] += (
                places * v("childcare.cost_nok_per_place_month_2006") * k
            )
    return out


@pytest.mark.parametrize(
    "policy",
    [
        EconomicPolicy(price_year=2006, analysis_horizon_years=6),
        EconomicPolicy(
            price_year=2025,
            absence_deduction="strict",
            income_offset="full",
            under_25_fraction=0.5,
            analysis_horizon_years=6,
        ),
        EconomicPolicy(
            stipend_level="social_assistance", price_year=2010, analysis_horizon_years=6
        ),
        EconomicPolicy(g_multiple_per_year=1.0, price_year=2025, analysis_horizon_years=6),
    ],
    ids=["national", "strict_full_2025", "sa_level", "one_g"],
)
def test_vectorised_pricing_matches_row_by_row(policy):
    persons, pm, ev = random_tables(
        np.random.default_rng(7), n_reps=2, n_persons=8, n_months=30, start="2005-03-01"
    )
    # Some persons cross 25 during the period.
    persons.loc[persons["person"] < 3, "age_at_referral_years"] = 24.3
    led = build_ledger(persons, pm, ev, policy, PARAMS)
    sim = led[~led["extrapolated"]]
    naive = _naive_ledger(persons, pm, policy, PARAMS)
    flows = [
        "social_assistance",
        "wages",
        "stipend",
        "supplementary_social_assistance",
        "courses_and_measures",
        "childcare_programme",
    ]
    got = (
        sim[sim["flow"].astype(str).isin(flows)]
        .groupby(
            [
                sim["replication"].astype(int),
                sim["arm"].astype(str),
                sim["year"].astype(int),
                sim["flow"].astype(str),
            ],
            observed=True,
        )["amount_nok"]
        .sum()
    )
    for key, value in got.items():
        assert value == pytest.approx(naive.get(key, 0.0), rel=1e-9, abs=1e-6), key
    for key, value in naive.items():
        assert got.get(key, 0.0) == pytest.approx(value, rel=1e-9, abs=1e-6), key


# ---------------------------------------------------------------------------------- extrapolation
def _extrapolated_effect(led: pd.DataFrame, flow: str, year: int) -> float:
    eff = arm_effects(led)
    m = (
        (eff["flow"].astype(str) == flow)
        & (eff["year"] == year)
        & eff["extrapolated"]
        & (eff["replication"] == 0)
    )
    return float(eff.loc[m, "amount_nok"].sum())


def test_extrapolation_carries_the_last_year_effect_with_persistence():
    persons, pm, ev = scripted_tables(n_reps=1, n_months=24)  # horizon Dec 2007
    w = V("wages.full_time_gross_nok_per_year_2006") / 12
    pt = V("wages.part_time_fraction")
    # Last 12 months (2007): programme arm 20 full-time + 10 part-time months, counterfactual 6
    # part-time months.
    basis_effect = 20 * w + 10 * w * pt - 6 * w * pt
    policy = EconomicPolicy(price_year=2006, analysis_horizon_years=6)
    p1 = PARAMS.with_values(
        {"cba.employment_effect_persistence_per_year": 1.0, "prices.real_wage_growth_per_year": 0.0}
    )
    led = build_ledger(persons, pm, ev, policy, p1)
    assert sorted(led.loc[led["extrapolated"], "year"].unique()) == [2008, 2009, 2010, 2011]
    for year in (2008, 2011):
        assert _extrapolated_effect(led, "wages", year) == pytest.approx(basis_effect)
    # Persistence 0.7: the effect in month j after the horizon is 0.7^(j/12).
    p2 = p1.with_values({"cba.employment_effect_persistence_per_year": 0.7})
    led2 = build_ledger(persons, pm, ev, policy, p2)
    j = np.arange(1, 13)
    assert _extrapolated_effect(led2, "wages", 2008) == pytest.approx(
        basis_effect * np.mean(0.7 ** (j / 12))
    )
    assert _extrapolated_effect(led2, "wages", 2010) == pytest.approx(
        basis_effect * np.mean(0.7 ** ((j + 24) / 12))
    )
    # Real wage growth lifts money, not person-years.
    p3 = p1.with_values({"prices.real_wage_growth_per_year": 0.02})
    led3 = build_ledger(persons, pm, ev, policy, p3)
    assert _extrapolated_effect(led3, "wages", 2009) == pytest.approx(
        basis_effect * np.mean(1.02 ** ((j + 12) / 12))
    )
    eff = arm_effects(led3)
    q = eff[
        (eff["flow"].astype(str) == "employed_person_years")
        & eff["extrapolated"]
        & (eff["year"] == 2009)
    ]
    assert float(q["person_years"].sum()) == pytest.approx((20 + 10 - 6) / 12)
    # Programme flows are never extrapolated; persons in the programme at the horizon return to
    # assistance.
    assert set(led.loc[led["extrapolated"], "flow"].astype(str)) <= {
        *POST_PROGRAMME_FLOWS,
        "employed_person_years",
    }


def test_analysis_horizon_truncates():
    persons, pm, ev = scripted_tables(n_reps=1, n_months=30)
    led = build_ledger(persons, pm, ev, EconomicPolicy(analysis_horizon_years=1), PARAMS)
    assert set(led["year"]) == {2006}
    assert not led["extrapolated"].any()
    policy = EconomicPolicy(analysis_horizon_years=3, base_year=2004)
    led = build_ledger(persons, pm, ev, policy, PARAMS)
    assert set(led["year"]) == {2004, 2005, 2006}
    assert led.loc[led["year"] < 2006, "amount_nok"].abs().sum() == 0.0
    with pytest.raises(ValueError, match="base_year 2007"):
        build_ledger(persons, pm, ev, EconomicPolicy(base_year=2007), PARAMS)


def test_counts_are_reusable_across_draws():
    persons, pm, ev = scripted_tables(n_reps=2, n_months=30)
    counts = count_states(persons, pm, ev)
    policy = EconomicPolicy(price_year=2025)
    a = ledger_from_counts(counts, policy, PARAMS)
    b = build_ledger(persons, pm, ev, policy, PARAMS)
    pd.testing.assert_frame_equal(a, b)
    draw = PARAMS.with_values({"wages.full_time_gross_nok_per_year_2006": 300000.0})
    c = ledger_from_counts(counts, policy, draw)
    assert _sum(c, "wages") == pytest.approx(_sum(a, "wages") * 300000 / 285000)


def test_arm_effects_is_the_difference_of_the_arms():
    persons, pm, ev = scripted_tables(n_reps=2, n_months=30)
    led = build_ledger(persons, pm, ev, EconomicPolicy(), PARAMS)
    eff = arm_effects(led)
    for flow in ("social_assistance", "wages", "stipend"):
        diff = _sum(led, flow, arm="programme") - _sum(led, flow, arm="counterfactual")
        assert _sum(eff, flow) == pytest.approx(diff)
    assert "arm" not in eff.columns
    assert len(eff) * 2 == len(led)


def test_bad_tables_raise():
    persons, pm, ev = scripted_tables(n_reps=1)
    bad = pm.copy()
    bad["state"] = bad["state"].astype(str)
    bad.loc[0, "state"] = "on_holiday"
    with pytest.raises(ValueError, match="on_holiday"):
        count_states(persons, bad, ev)
    with pytest.raises(ValueError, match="not in persons"):
        count_states(persons[persons["person"] != 1], pm, ev)
