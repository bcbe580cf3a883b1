"""The project random effect (issue 12, item 4): per project and replication, mean-one log-normal multipliers
on the exit-to-work hazard and on the break-off hazards (``projects.work_hazard_sd_log``,
``projects.breakoff_hazard_sd_log``, stream ``projects.random_effect``), the same in the SimPy engine and the
fast path (both run the one plan of :func:`model.engine.plan_programme`)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from scipy import stats

import model.hazards as hz
from model.runner import run_replication, scenario_parameters
from model.scenario import load_scenario

ROOT = Path(__file__).resolve().parent.parent
SKIEN = ROOT / "scenarios" / "skien_intropuls.toml"
SD_KEYS = ("projects.work_hazard_sd_log", "projects.breakoff_hazard_sd_log")


def _params(scen, work: float, breakoff: float):
    return scenario_parameters(scen).with_values(dict(zip(SD_KEYS, (work, breakoff), strict=True)))


def test_multipliers_mean_one_and_sd_zero_exactly_one() -> None:
    scen = load_scenario(SKIEN)
    z = np.random.default_rng(3).standard_normal((200_000, 2))
    m = hz.project_multipliers(_params(scen, 0.5, 0.3), z)
    # Mean one on the hazard scale: the sample mean of exp(s z - s^2/2) has sd sqrt(exp(s^2) - 1) / sqrt(n).
    for col, s in ((0, 0.5), (1, 0.3)):
        se = np.sqrt(np.expm1(s * s) / z.shape[0])
        assert abs(m[:, col].mean() - 1.0) < 4 * se
        assert abs(np.log(m[:, col]).std() - s) < 0.01
    assert (hz.project_multipliers(_params(scen, 0.0, 0.0), z) == 1.0).all()


@pytest.mark.parametrize("reference", [False, True], ids=["fast", "simpy"])
def test_sd_zero_reproduces_the_model_without_the_effect(monkeypatch, reference: bool) -> None:
    from model.engine import simulate
    from model.population import draw_population
    from model.rng import Streams

    scen = load_scenario(ROOT / "scenarios" / "ny_sjanse_2005_2006.toml")
    params = _params(scen, 0.0, 0.0)

    def logs():
        streams = Streams(11, 0)
        pop = draw_population(scen, params, streams)
        return simulate(scen, params, pop, streams, reference=reference)

    with_effect = logs()
    monkeypatch.setattr(hz, "project_multipliers", lambda params, z: None)
    without = logs()
    for a, b in ((with_effect.programme, without.programme), (with_effect.counterfactual, without.counterfactual)):
        assert a.day.size > 1000
        for name in ("person", "day", "event", "detail", "state"):
            np.testing.assert_array_equal(getattr(a, name), getattr(b, name))
    np.testing.assert_array_equal(with_effect.desks, without.desks)


def _work_exits(scen, params, n: int) -> np.ndarray:
    report = scen.report_date.isoformat()
    return np.array(
        [run_replication(scen, params, 5, r, tables=False).flows[report]["all"]["work_or_education"] for r in range(n)],
        dtype=float,
    )


def test_spread_of_one_projects_work_exits_grows_with_the_sd() -> None:
    # Skien is one project of 43 participants. Across n replications the variance of its work exits at the
    # report date is the binomial-like variance plus (with sd s) about mean^2 (exp(s^2) - 1). F-test of the
    # variance ratio at one-sided level 1e-3 (F(n-1, n-1) quantile), n = 150 replications per sd.
    scen = load_scenario(SKIEN)
    n = 150
    base = _work_exits(scen, _params(scen, 0.0, 0.0), n)
    wide = _work_exits(scen, _params(scen, 0.6, 0.0), n)
    ratio = wide.var(ddof=1) / base.var(ddof=1)
    assert ratio > stats.f.ppf(0.999, n - 1, n - 1), (ratio, base.var(ddof=1), wide.var(ddof=1))
    # Mean one on the hazard scale: the mean count moves little (the count is concave in the hazard, so
    # it may fall a bit); within 4 standard errors plus 15 % of the base mean.
    se = np.sqrt(base.var(ddof=1) / n + wide.var(ddof=1) / n)
    assert abs(wide.mean() - base.mean()) < 4 * se + 0.15 * base.mean()
