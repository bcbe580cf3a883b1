"""Running replications: seeds, parameters, summaries.

A replication is a pure function of (scenario, parameters, seed, replication index), so replications can
run in any order, in any process, and give the same numbers.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from model.engine import simulate
from model.errors import InputError
from model.outcomes import FLOW_KEYS, ReplicationOutcome, tidy
from model.parameters import ParameterSet, default_parameters, load_parameters
from model.population import draw_population
from model.rng import Streams
from model.scenario import Scenario


def scenario_parameters(scenario: Scenario) -> ParameterSet:
    """The registry for a scenario: defaults, then the scenario's parameter files, then its point values.

    Raises:
        InputError: a parameter file is bad, or ``[parameters.values]`` names an unknown parameter.
    """
    params = default_parameters()
    if scenario.parameters.files:
        params = params.merged(load_parameters(scenario.parameters.files))
    values = dict(scenario.parameters.values)
    for name, value in values.items():
        if name not in params:
            raise InputError(str(scenario.path), f"parameters.values.{name}", value, "the name of a registry parameter (see `nysjanse parameters`)")
    return params.with_values(values) if values else params


def run_replication(scenario: Scenario, params: ParameterSet, seed: int, replication: int) -> ReplicationOutcome:
    """Simulate one replication of both arms and return its tidy outcomes."""
    streams = Streams(seed, replication)
    pop = draw_population(scenario, params, streams)
    logs = simulate(scenario, params, pop, streams)
    return tidy(scenario, pop, logs, replication)


@dataclass
class RunResult:
    """All replications of one scenario run."""

    scenario: Scenario
    params: ParameterSet
    seed: int
    outcomes: list[ReplicationOutcome]
    seconds: float = 0.0
    timings: dict = field(default_factory=dict)

    @property
    def replications(self) -> int:
        return len(self.outcomes)

    def table(self, name: str) -> pd.DataFrame:
        """One tidy table over all replications: ``persons``, ``person_months``, ``events`` or ``participant_states``."""
        return pd.concat([getattr(o, name) for o in self.outcomes], ignore_index=True)


def run_scenario(
    scenario: Scenario,
    replications: int,
    seed: int,
    params: ParameterSet | None = None,
    progress: Callable[[int], None] | None = None,
    indices: Iterable[int] | None = None,
) -> RunResult:
    """Run ``replications`` replications serially.

    Args:
        scenario: the scenario.
        replications: how many.
        seed: the root seed (SeedSequence entropy).
        params: parameters to use (default: the scenario's registry).
        progress: called with 1 after each replication (e.g. a progress bar's ``advance``).
        indices: explicit replication indices (default ``range(replications)``).
    """
    params = params or scenario_parameters(scenario)
    started = time.perf_counter()
    outcomes = []
    for rep in indices if indices is not None else range(replications):
        outcomes.append(run_replication(scenario, params, seed, rep))
        if progress:
            progress(1)
    return RunResult(scenario, params, seed, outcomes, time.perf_counter() - started)


def _stats(values: Sequence[float]) -> dict[str, float]:
    a = np.asarray(values, dtype=float)
    return {
        "mean": float(a.mean()),
        "p05": float(np.quantile(a, 0.05)),
        "p95": float(np.quantile(a, 0.95)),
    }


def summarize(result: RunResult) -> dict:
    """The run's summary (``summary.json``): flows at the report date with 90 % intervals, and state shares."""
    scen = result.scenario
    report = scen.report_date.isoformat()
    per = [o.flows[report] for o in result.outcomes]

    def flows_of(key: str) -> dict:
        return {k: _stats([p[key][k] for p in per]) for k in FLOW_KEYS}

    summary = {
        "scenario": scen.name,
        "replications": result.replications,
        "seed": result.seed,
        "report_date": report,
        "flows": flows_of("all"),
        "flows_by_sex": {"women": flows_of("women"), "men": flows_of("men")},
        # Table 3 reports the persons still under assessment and those waiting as one number (63).
        "flows_combined": {
            "under_assessment_or_waiting": _stats([p["all"]["under_assessment"] + p["all"]["waiting"] for p in per])
        },
        "broke_off_reasons": {k: _stats([p["broke_off_reasons"][k] for p in per]) for k in per[0]["broke_off_reasons"]},
        "broke_off_reasons_men": {k: _stats([p["broke_off_reasons_men"][k] for p in per]) for k in per[0]["broke_off_reasons_men"]},
        "not_admitted_reasons": {k: _stats([p["not_admitted_reasons"][k] for p in per]) for k in per[0]["not_admitted_reasons"]},
        "contact_persons": {k: _stats([p["contact_persons"][k] for p in per]) for k in per[0]["contact_persons"]},
    }
    if scen.has_groups:
        names = per[0]["groups"].keys()
        summary["flows_by_group"] = {g: {k: _stats([p["groups"][g][k] for p in per]) for k in FLOW_KEYS} for g in names}
    if len(scen.simulation.report_dates) > 1:
        summary["flows_by_report_date"] = {
            d.isoformat(): {k: _stats([o.flows[d.isoformat()]["all"][k] for o in result.outcomes]) for k in FLOW_KEYS}
            for d in scen.simulation.report_dates
        }
    states = result.table("participant_states")
    mean_states = states.drop(columns="replication").groupby(["month", "arm"], sort=True, observed=True).mean().reset_index()
    mean_states["arm"] = pd.Categorical(mean_states["arm"], categories=["programme", "counterfactual"])
    mean_states = mean_states.sort_values(["arm", "month"], kind="stable")
    summary["participant_states"] = [
        {k: (float(v) if isinstance(v, float | np.floating) else str(v)) for k, v in row.items()}
        for row in mean_states.to_dict(orient="records")
    ]
    return summary
