"""Running replications: seeds, parameters, summaries.

A replication is a pure function of (scenario, parameters, seed, replication index), so replications can
run in any order, in any process, and give the same numbers.
"""

from __future__ import annotations

import concurrent.futures as cf
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from model.columns import Columns
from model.engine import simulate
from model.errors import InputError
from model.outcomes import FLOW_KEYS, ReplicationOutcome, tidy
from model.parallel import REPLICATIONS_PER_TASK, map_chunks, split
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


def run_replication(scenario: Scenario, params: ParameterSet, seed: int, replication: int, *, tables: bool = True) -> ReplicationOutcome:
    """Simulate one replication of both arms and return its tidy outcomes.

    Args:
        tables: also build the per-person tables (``persons``, ``person_months``, ``events``); without
            them the outcome still has everything the summary and the economics read.
    """
    streams = Streams(seed, replication)
    pop = draw_population(scenario, params, streams)
    logs = simulate(scenario, params, pop, streams)
    return tidy(scenario, pop, logs, replication, tables=tables)


def _run_chunk(scenario: Scenario, params: ParameterSet, seed: int, tables: bool, indices: list[int]) -> list[ReplicationOutcome]:
    return [run_replication(scenario, params, seed, r, tables=tables) for r in indices]


@dataclass
class RunResult:
    """All replications of one scenario run."""

    scenario: Scenario
    params: ParameterSet
    seed: int
    outcomes: list[ReplicationOutcome]
    seconds: float = 0.0
    timings: dict = field(default_factory=dict)
    draws: int = 0  # parameter draws behind the outcomes (0: all at the point parameters)

    @property
    def replications(self) -> int:
        return len(self.outcomes)

    def table(self, name: str) -> pd.DataFrame:
        """One tidy table over all replications: ``persons``, ``person_months``, ``events``,
        ``participant_states``, ``desks`` or ``staff_months``.

        Raises:
            ValueError: a per-person table of a run made without them (``tables=False``).
        """
        if name in self.outcomes[0].columns:  # joined as columns: one table built, not one per replication
            return Columns.concat([o.columns[name] for o in self.outcomes]).frame()
        frames = [getattr(o, name) for o in self.outcomes]
        if any(f is None for f in frames):
            raise ValueError(f"the run was made without the per-person tables (tables=False): no {name!r}")
        return pd.concat(frames, ignore_index=True)


def run_scenario(
    scenario: Scenario,
    replications: int,
    seed: int,
    params: ParameterSet | None = None,
    progress: Callable[[int], None] | None = None,
    indices: Iterable[int] | None = None,
    *,
    tables: bool = True,
    executor: cf.Executor | None = None,
) -> RunResult:
    """Run ``replications`` replications, serially or on an executor (the same numbers either way).

    Args:
        scenario: the scenario.
        replications: how many.
        seed: the root seed (SeedSequence entropy).
        params: parameters to use (default: the scenario's registry).
        progress: called with the number of replications done as they finish (e.g. a progress bar's
            ``advance``): after each one serially, after each chunk on an executor.
        indices: explicit replication indices (default ``range(replications)``).
        tables: build the per-person tables (see :func:`run_replication`); the summary, the state shares,
            the desks and the economics do not need them.
        executor: run chunks of replications here (:func:`model.parallel.executor_for`: local processes or
            a Dask cluster); the outcomes come back in replication order.
    """
    params = params or scenario_parameters(scenario)
    started = time.perf_counter()
    reps = list(indices) if indices is not None else list(range(replications))
    # Serially one replication at a time; on an executor chunks of up to REPLICATIONS_PER_TASK, so that
    # any number of workers stays busy and progress comes as they finish, without a task per replication.
    size = 1 if executor is None else REPLICATIONS_PER_TASK
    chunks = split(reps, -(-len(reps) // size))
    outcomes = map_chunks(_run_chunk, (scenario, params, seed, tables), chunks, executor, progress)
    return RunResult(scenario, params, seed, outcomes, time.perf_counter() - started)


def _run_draw_chunk(scenario: Scenario, params: ParameterSet, seed: int, replications: int, tables: bool,
                    values: list[dict[str, float]], indices: list[int]) -> list[list[ReplicationOutcome]]:
    out = []
    for k in indices:
        p = params.with_values(values[k])
        out.append([run_replication(scenario, p, seed, k * replications + r, tables=tables) for r in range(replications)])
    return out


def run_predictive(
    scenario: Scenario,
    draws: int,
    replications: int,
    seed: int,
    params: ParameterSet | None = None,
    progress: Callable[[int], None] | None = None,
    *,
    tables: bool = False,
    executor: cf.Executor | None = None,
) -> RunResult:
    """A posterior-predictive run: ``draws`` parameter draws, ``replications`` replications of each.

    The draws are the PSA's (:func:`model.uncertainty.sample_parameters`: the calibrated parameters jointly
    from the fit's posterior draws, every other graded parameter from its prior); draw k runs the
    replications k·R … k·R+R−1, so every outcome has its own persons and the pooled outcomes are
    independent predictive draws (with the same R seeds for every draw, a small R would carry the
    simulation noise of R seeds only). Two scenarios run with the same seed, draws and R still share
    their seeds draw by draw (common random numbers between scenarios). The outcomes, draw-major, hold
    parameter uncertainty and simulation noise together, so the summary's intervals are predictive.

    Args:
        progress: called with the number of draws done.
    """
    from model.uncertainty import calibration_draws, sample_parameters

    params = params or scenario_parameters(scenario)
    started = time.perf_counter()
    table = sample_parameters(params, draws, seed, calibration_draws(scenario))
    values = [{k: float(v) for k, v in row.items()} for row in table.to_dict(orient="records")]
    size = 1 if executor is None else max(1, -(-REPLICATIONS_PER_TASK // replications))
    chunks = split(list(range(draws)), -(-draws // size))
    per_draw = map_chunks(_run_draw_chunk, (scenario, params, seed, replications, tables, values), chunks, executor, progress)
    outcomes = [o for group in per_draw for o in group]
    return RunResult(scenario, params, seed, outcomes, time.perf_counter() - started, draws=draws)


def run_summary(result: RunResult) -> dict:
    """:func:`summarize` with the kind of its intervals: ``"interval": "predictive"`` (and ``"draws"``)
    for a run over parameter draws, ``"monte_carlo"`` (replications at the point parameters) otherwise."""
    summary = summarize(result)
    if result.draws:
        summary["interval"] = "predictive"
        summary["draws"] = result.draws
        summary["replications_per_draw"] = result.replications // result.draws
    else:
        summary["interval"] = "monte_carlo"
    return summary


def _stats(values: Sequence[float]) -> dict[str, float]:
    a = np.asarray(values, dtype=float)
    return {
        "mean": float(a.mean()),
        "p05": float(np.quantile(a, 0.05)),
        "p95": float(np.quantile(a, 0.95)),
    }


def _unfilled_groups(scen: Scenario, per: list[dict]) -> dict:
    """Groups (started by the report date) with fewer participants than their ``size``, per replication."""
    sizes = {g.name: g.size for p in scen.projects for g in p.groups if g.start_date <= scen.report_date}
    counts = [sum(f["groups"][name]["participants"] < size for name, size in sizes.items()) for f in per]
    empty = [sum(max(size - f["groups"][name]["participants"], 0) for name, size in sizes.items()) for f in per]
    return {
        "count": _stats(counts),
        "empty_seats": _stats(empty),
        "replications_with_unfilled": int(sum(c > 0 for c in counts)),
        "note": "groups started by the report date whose participants fall short of the stated size (fewer "
        "referrals than seats); seats are never silently dropped",
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
        summary["unfilled_groups"] = _unfilled_groups(scen, per)
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
