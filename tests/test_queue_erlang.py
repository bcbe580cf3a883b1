"""The queue stage against Erlang-C, where its assumptions hold.

One project, Poisson referrals, nobody rejected and nothing competing, no give-up, no adviser
turnover and one constant exit hazard: the waiting list is then M/M/c with c = floor(FTE x caseload)
places. (Assessment is an M/G/infinity stage; its output in steady state is again Poisson at the
referral rate.) The simulated steady-state P(wait > 0) and mean wait, after a warm-up, are compared
with the Erlang-C formulas. The tolerance is z = 4 standard errors of the replication means,
computed from the spread across replications.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from model.engine import EVENTS, simulate
from model.parameters import default_parameters
from model.population import DAYS_PER_MONTH, DAYS_PER_YEAR, draw_population
from model.rng import Streams
from model.scenario import load_scenario

SCENARIO = Path(__file__).parent / "data" / "mmc_queue.toml"
Z = 4.0
REPLICATIONS = 32
WARM_UP_DAYS = 2 * DAYS_PER_YEAR
TAIL_DAYS = 180.0  # arrivals this close to the horizon may not be served yet: left out
MEAN_STAY_MONTHS = 1.0

ZERO = [
    "assessment.hazard_work_or_education_per_year",
    "assessment.hazard_self_supporting_per_year",
    "assessment.hazard_no_show_per_year",
    "assessment.hazard_moved_per_year",
    "decision.p_other_measures",
    "decision.p_no_childcare_if_child_0_5",
    "decision.p_disability_pension",
    "decision.p_no_need",
    "decision.p_other",
    "population.share_residence_in_municipality_under_2_years",
    "population.share_social_assistance_under_6_months",
    "waiting.give_up_per_year",
    "advisers.turnover_per_year",
    "participation.hazard_work_or_education_per_year",
    "participation.hazard_birth_per_year_women",
    "participation.hazard_invalid_absence_per_year",
    "participation.hazard_moved_per_year",
    "participation.hazard_other_measures_per_year",
    "participation.hazard_full_time_not_feasible_per_year",
    "participation.hazard_other_per_year",
    "life.sa_to_job_per_year",
    "life.sa_to_education_per_year",
    "life.sa_to_other_per_year",
]
ONE = [
    "participation.work_hr_months_0_6",
    "participation.work_hr_months_6_12",
    "participation.work_hr_after_24_months",
    "participation.work_hr_in_stage",
    "referral.intensity_multiplier",
]


def erlang_c(c: int, a: float) -> float:
    """P(wait > 0) in M/M/c with offered load a = lambda / mu < c (Erlang's C formula)."""
    assert a < c
    top = a**c / math.factorial(c) * c / (c - a)
    return top / (sum(a**k / math.factorial(k) for k in range(c)) + top)


def test_erlang_c_formula_known_values():
    assert erlang_c(1, 0.5) == pytest.approx(0.5)  # M/M/1: P(wait) = rho
    assert erlang_c(2, 1.0) == pytest.approx(1 / 3)
    assert erlang_c(5, 4.0) == pytest.approx(0.5541, abs=1e-4)


def replication_waits(scen, params, seed: int, rep: int, horizon: float) -> np.ndarray:
    streams = Streams(seed, rep)
    pop = draw_population(scen, params, streams)
    log = simulate(scen, params, pop, streams, counterfactual=False).programme
    n = pop.size
    rejected = log.event == EVENTS.index("rejected")
    assert not rejected.any(), "the M/M/c set-up must not reject anybody"
    arrival = np.full(n, np.inf)  # arrival at the desk: end of assessment
    admitted = np.full(n, np.inf)
    for name, target in (("waiting_started", arrival), ("admitted", admitted)):
        sel = log.event == EVENTS.index(name)
        target[log.person[sel]] = log.day[sel]
    immediate = np.isinf(arrival) & np.isfinite(admitted)
    arrival[immediate] = admitted[immediate]
    window = (arrival >= WARM_UP_DAYS) & (arrival <= horizon - TAIL_DAYS)
    assert np.isfinite(admitted[window]).all(), (
        "everyone in the window is served before the horizon"
    )
    return admitted[window] - arrival[window]


@pytest.mark.slow
def test_waiting_list_matches_erlang_c():
    scen = load_scenario(SCENARIO)
    mu_per_year = 12.0 / MEAN_STAY_MONTHS
    values = {name: 0.0 for name in ZERO} | {name: 1.0 for name in ONE}
    values["participation.hazard_discharged_other_per_year"] = mu_per_year  # the single exit cause
    params = default_parameters().with_values(values)

    project = scen.projects[0]
    c = math.floor(project.staff[0].advisers_fte * scen.follow_up.caseload_per_adviser)
    lam = project.referrals_per_month / DAYS_PER_MONTH  # per day
    mu = mu_per_year / DAYS_PER_YEAR
    a = lam / mu
    assert (c, a) == (5, pytest.approx(4.0))
    p_wait = erlang_c(c, a)
    mean_wait = p_wait / (c * mu - lam)  # days

    horizon = float((scen.simulation.horizon_date - scen.simulation.start_date).days)
    p_hat, w_hat, counts = [], [], []
    for rep in range(REPLICATIONS):
        w = replication_waits(scen, params, seed=20240601, rep=rep, horizon=horizon)
        assert (w >= 0).all()
        p_hat.append(float((w > 0).mean()))
        w_hat.append(float(w.mean()))
        counts.append(w.size)
    p_hat, w_hat = np.array(p_hat), np.array(w_hat)
    assert (
        min(counts) > 500
    )  # enough customers per replication for the replication means to be near-normal

    se_p = p_hat.std(ddof=1) / math.sqrt(REPLICATIONS)
    se_w = w_hat.std(ddof=1) / math.sqrt(REPLICATIONS)
    # The tolerances must be tight enough to tell c places from c + 1 (else it could not fail).
    assert Z * se_p < abs(erlang_c(c, a) - erlang_c(c + 1, a))
    assert Z * se_w < abs(mean_wait - erlang_c(c + 1, a) / ((c + 1) * mu - lam))
    print(
        f"P(wait>0): {p_hat.mean():.4f} vs {p_wait:.4f} (se {se_p:.4f}); "
        f"mean wait {w_hat.mean():.2f} vs {mean_wait:.2f} days (se {se_w:.2f})"
    )
    assert abs(p_hat.mean() - p_wait) < Z * se_p, (p_hat.mean(), p_wait, se_p)
    assert abs(w_hat.mean() - mean_wait) < Z * se_w, (w_hat.mean(), mean_wait, se_w)
