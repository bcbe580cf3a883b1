"""Value of information (model.voi): EVPI and the Strong-Oakley-Brennan regression EVPPI against closed
forms (linear-Gaussian net benefit) and brute-force nested Monte Carlo (a nonlinear one), and the cba.json
document.

Every tolerance is four Monte Carlo standard errors of the estimates compared (the standard error of the mean
of ``max(g, 0) − g·1[mean > 0]`` over the draws, from the true conditional means ``g``), plus, against
nested Monte Carlo, the inner loop's bias bound.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy.stats import norm

from model import voi

N = 1000  # draws of the regression estimates


def _e_max0(mu: float, sd: float) -> float:
    """E[max(X, 0)] for X ~ N(mu, sd²)."""
    return sd * norm.pdf(mu / sd) + mu * norm.cdf(mu / sd)


def _se(g: np.ndarray) -> float:
    """Monte Carlo standard error of mean(max(g, 0)) − max(mean(g), 0) over the draws of g."""
    loss = np.maximum(g, 0) - g * (g.mean() > 0)
    return float(loss.std(ddof=1) / math.sqrt(len(g)))


@pytest.fixture(scope="module")
def linear():
    """NB = a + bᵀθ, θ ~ N(μ, Σ) (correlated), and an irrelevant fourth parameter."""
    rng = np.random.default_rng(20140311)
    mu = np.array([1.0, -0.5, 2.0])
    sd = np.array([1.0, 0.8, 0.5])
    corr = np.array([[1.0, 0.3, 0.0], [0.3, 1.0, -0.2], [0.0, -0.2, 1.0]])
    cov = corr * np.outer(sd, sd)
    b = np.array([0.6, 0.9, -0.7])
    a = 0.3 - b @ mu  # mean net benefit 0.3
    theta = rng.multivariate_normal(mu, cov, N)
    inputs = pd.DataFrame(theta, columns=["t1", "t2", "t3"])
    inputs["irrelevant"] = rng.normal(5.0, 2.0, N)
    nb = a + theta @ b

    def conditional(s: list[int]) -> tuple[float, float, np.ndarray]:
        """Mean, sd and draws of E[NB | θ_S]."""
        c = cov[s][:, :] @ b  # Cov(θ_S, NB)
        w = np.linalg.solve(cov[np.ix_(s, s)], c)
        g = 0.3 + (theta[:, s] - mu[s]) @ w
        return 0.3, float(math.sqrt(c @ w)), g

    return {"nb": nb, "inputs": inputs, "conditional": conditional, "sd": float(math.sqrt(b @ cov @ b))}


def test_evpi_linear_gaussian_closed_form(linear):
    nb = linear["nb"]
    exact = _e_max0(0.3, linear["sd"]) - 0.3
    est = voi.evpi(np.column_stack([nb, np.zeros_like(nb)]))
    assert est == pytest.approx(voi.evpi(nb))  # 1-D: against an option worth 0
    assert abs(est - exact) <= 4 * _se(nb), (est, exact)
    assert voi.evpi_standard_error(nb) == pytest.approx(_se(nb), rel=1e-9)


@pytest.mark.parametrize("group", [[0], [1], [0, 1], [0, 2]])
def test_evppi_linear_gaussian_closed_form(linear, group):
    mean, sd, g = linear["conditional"](group)
    exact = _e_max0(mean, sd) - mean
    inputs = linear["inputs"].iloc[:, group]
    est = voi.evppi_estimate(linear["nb"], inputs)
    assert est.method in ((voi.METHOD_GAM,) if len(group) == 1 else tuple(voi.METHODS.values()))
    assert abs(est.value - exact) <= 4 * _se(g), (group, est, exact)
    assert 0 <= est.value <= voi.evpi(linear["nb"])


def test_evppi_all_parameters_is_evpi_and_irrelevant_is_zero(linear):
    nb, inputs = linear["nb"], linear["inputs"]
    total = voi.evpi(nb)
    every = voi.evppi_estimate(nb, inputs[["t1", "t2", "t3"]])
    assert every.value == pytest.approx(total, rel=0.02)  # NB is a function of the three: nothing is left
    assert every.r2 > 0.999
    for method in ("gam", "gp"):
        assert voi.evppi(nb, inputs[["irrelevant"]], method) <= 0.02 * total
    assert voi.evppi(nb, inputs[["t1", "irrelevant"]]) <= voi.evppi(nb, inputs[["t1"]]) + 4 * _se(linear["conditional"]([0])[2])


def test_evppi_nonlinear_against_nested_monte_carlo():
    """NB = θ1² − 0.8 + 0.5 θ2 θ3 + 0.3 θ2, θ iid N(0, 1): a quadratic term (one parameter, the GAM) and an
    interaction (two parameters, which an additive model cannot fit: the GP), each against the nested
    estimate mean_outer(max(mean_inner NB, 0)) − max(mean NB, 0) with 2 000 × 2 000 loops."""
    rng = np.random.default_rng(34311)

    def f(t1, t2, t3):
        return t1**2 - 0.8 + 0.5 * t2 * t3 + 0.3 * t2

    theta = rng.standard_normal((N, 3))
    nb = f(*theta.T)
    inputs = pd.DataFrame(theta, columns=["t1", "t2", "t3"])
    outer, inner = 2000, 2000
    mean_nb = 0.2
    # phi = t1: inner over (t2, t3)
    t1 = rng.standard_normal((outer, 1))
    g1 = f(t1, rng.standard_normal((outer, inner)), rng.standard_normal((outer, inner))).mean(axis=1)
    nested_1 = float(np.maximum(g1, 0).mean() - max(g1.mean(), 0))
    # phi = (t2, t3): inner over t1
    t2, t3 = rng.standard_normal((2, outer, 1))
    g23 = f(rng.standard_normal((outer, inner)), t2, t3).mean(axis=1)
    nested_23 = float(np.maximum(g23, 0).mean() - max(g23.mean(), 0))
    for nested, g_nested, cols, exact_g in (
        (nested_1, g1, ["t1"], theta[:, 0] ** 2 - 0.8),
        (nested_23, g23, ["t2", "t3"], mean_nb + 0.5 * theta[:, 1] * theta[:, 2] + 0.3 * theta[:, 1]),
    ):
        est = voi.evppi_estimate(nb, inputs[cols])
        inner_sd = float(np.std(nb - exact_g))  # sd of NB given phi (homoscedastic here)
        bias = inner_sd * norm.pdf(0) / math.sqrt(inner)  # E max(mean_inner, 0) − max(E, 0) ≤ this
        tol = 4 * math.hypot(_se(exact_g), _se(g_nested)) + bias
        assert abs(est.value - nested) <= tol, (cols, est, nested, tol)
        assert est.value <= voi.evpi(nb)
    # the interaction needs the GP: the additive GAM misses it
    assert voi.evppi_estimate(nb, inputs[["t2", "t3"]]).method == voi.METHOD_GP
    assert voi.evppi(nb, inputs[["t2", "t3"]], "gam") < nested_23 - 4 * _se(g23)


def test_evppi_is_deterministic_and_checks_input(linear):
    a = voi.evppi_estimate(linear["nb"], linear["inputs"][["t1", "t2"]])
    b = voi.evppi_estimate(linear["nb"], linear["inputs"][["t1", "t2"]])
    assert a == b
    with pytest.raises(ValueError):
        voi.evppi(linear["nb"], linear["inputs"].iloc[:10])
    with pytest.raises(ValueError):
        voi.evppi(linear["nb"], linear["inputs"][["t1"]], "kriging")
    assert voi.evppi(np.abs(linear["nb"]) + 1, linear["inputs"][["t1"]]) == 0.0  # same decision in every draw


def test_value_of_information_document():
    """The cba.json part on registry draws: every group and single entry names varying registry parameters,
    every EVPPI ≤ its perspective's EVPI, a perspective that never changes decision has EVPI 0, and the
    population value is the per-cohort EVPI times the discounted number of cohorts."""
    from model.economics.discounting import annuity_factor
    from model.runner import scenario_parameters
    from model.scenario import load_scenario
    from model.uncertainty import sample_parameters

    scen = load_scenario("scenarios/ny_sjanse_2005_2006.toml", [])
    params = scenario_parameters(scen)
    sample = sample_parameters(params, 120, 7)
    sample["fixed.constant"] = 1.0  # a column that does not vary: never counted
    z = (sample - sample.mean()) / sample.std().replace(0, 1)
    rng = np.random.default_rng(3)
    society = 1e7 * (z["jobs.loss_hazard_per_year"] * -2 + z["completion.p_work"] + rng.normal(0, 1, len(z)))
    summary = pd.DataFrame({"society_npv_nok": society, "participant_npv_nok": 5e6 + 1e5 * z["jobs.p_full_time"]})
    doc = voi.value_of_information(sample, summary, scen, params, cohorts=5, top=3, perspectives=("society", "participant"))
    assert set(doc) >= {"evpi_nok", "evppi", "voi_population"}
    assert doc["evpi_nok"]["participant"] == 0.0 and doc["evpi_nok"]["society"] > 0
    varying = set(voi.varying_parameters(sample))
    assert "fixed.constant" not in varying
    groups = {e["group"] for e in doc["evppi"] if e["kind"] == "group"}
    assert groups == {g.name for g in voi.PARAMETER_GROUPS}
    for e in doc["evppi"]:
        assert set(e["parameters"]) <= varying and e["parameters"]
        assert 0 <= e["evppi_nok"] <= doc["evpi_nok"][e["perspective"]]
        assert e["method"] in voi.METHODS.values()
    singles = [e for e in doc["evppi"] if e["kind"] == "parameter" and e["perspective"] == "society"]
    assert len(singles) == 3 and singles[0]["parameters"] == ["jobs.loss_hazard_per_year"]
    assert not [e for e in doc["evppi"] if e["kind"] == "parameter" and e["perspective"] == "participant"]
    retention = next(e for e in doc["evppi"] if e["group"] == "job_retention" and e["perspective"] == "society")
    assert retention["evppi_nok"] >= singles[0]["evppi_nok"] * 0.9  # the group holds the top parameter
    pop = doc["voi_population"]
    factor = annuity_factor(5, scen.analysis.discounting, params)
    assert pop["cohorts"] == 5 and pop["annuity_factor"] == pytest.approx(factor)
    assert pop["evpi_nok"]["society"] == pytest.approx(doc["evpi_nok"]["society"] * factor)
    assert 4 < factor < 5  # five cohorts at 4 %


def test_report_shows_what_to_find_out_next(tmp_path):
    """report.html gains the ranked EVPPI figure only when given the value of information; the society
    entries are the bars, ranked, and the reading names the largest."""
    from model.economics import EconomicPolicy, arm_effects, build_ledger, evaluate, write_html_report
    from model.economics.report import _voi_figure
    from model.economics.synthetic import scripted_tables
    from model.parameters import default_parameters

    params = default_parameters()
    persons, pm, ev = scripted_tables(n_reps=2, n_months=24)
    policy = EconomicPolicy(price_year=2025, analysis_horizon_years=10, staff_fte_by_month={"2006-01-01": 1.0})
    evaluation = evaluate(arm_effects(build_ledger(persons, pm, ev, policy, params)), policy, params)
    entry = {"method": voi.METHOD_GAM, "kind": "parameter", "group": None}
    doc = {
        "evpi_nok": {"society": 5e6, "state": 1e6},
        "evppi": [
            {**entry, "parameters": ["jobs.loss_hazard_per_year"], "perspective": "society", "evppi_nok": 3e6},
            {**entry, "parameters": ["jobs.loss_hazard_per_year", "jobs.p_full_time"], "perspective": "society",
             "evppi_nok": 4e6, "kind": "group", "group": "job_retention"},
            {**entry, "parameters": ["wages.part_time_fraction"], "perspective": "state", "evppi_nok": 9e5},
        ],
        "voi_population": {"cohorts": 10, "discounting": "r109_2014", "evpi_nok": {"society": 4.2e7}, "assumption": "ten cohorts"},
        "voi_draws": 100,
    }
    fig, reading = _voi_figure(doc)
    assert list(fig.data[0].y) == ["job retention"] and list(fig.data[1].y) == ["jobs.loss_hazard_per_year"]
    assert list(fig.data[0].x) == [4.0] and list(fig.data[1].x) == [3.0]  # NOK million, society only
    assert "job retention" in reading and "42" in reading
    with_voi = write_html_report(tmp_path / "a.html", evaluation=evaluation, params=params, voi=doc).read_text(encoding="utf-8")
    without = write_html_report(tmp_path / "b.html", evaluation=evaluation, params=params).read_text(encoding="utf-8")
    assert "What to find out next" in with_voi and "What to find out next" not in without
    assert with_voi.count("Plotly.newPlot") == without.count("Plotly.newPlot") + 1


def test_decision_between_scenarios_is_paired():
    """compare's value of information: the paired PSAs give a scenario against itself an incremental net
    benefit of exactly 0 in every draw, so nothing is worth finding out (EVPI 0); against a 36-month
    programme every EVPPI is within its EVPI."""
    from model.compare import decision_value
    from model.scenario import load_scenario

    base = load_scenario("tests/data/two_projects.toml")
    longer = load_scenario("tests/data/two_projects.toml", ["programme.length_months=36", "name=Two projects, 36 months"])
    doc = decision_value([base, base, longer], seed=4, draws=24)
    same = doc[base.name]
    assert all(v == 0.0 for v in same["evpi_nok"].values())
    assert all(e["evppi_nok"] == 0.0 for e in same["evppi"])
    other = doc[longer.name]
    assert set(other["evpi_nok"]) == {"society", "state", "municipality", "participant"}
    for e in other["evppi"]:
        assert 0 <= e["evppi_nok"] <= other["evpi_nok"][e["perspective"]]
