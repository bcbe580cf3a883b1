"""Probabilistic sensitivity analysis: two-level PSA, a one-way tornado with switching values, Sobol indices.

- **Two-level PSA.** The outer level draws parameter sets: the calibrated parameters jointly, as rows of the
  calibration's posterior draws (``draws.parquet`` beside the fitted parameter file), and every other graded
  parameter independently from its registry distribution. The inner level runs ``inner`` replications of
  each draw with the same seeds (common random numbers), so the spread between draws is parameter
  uncertainty and not simulation noise; the inner mean is the draw's result.
- **Tornado.** Each graded parameter at its 5th and 95th percentile, all others at their point values, with
  the same inner replications; the society NPV at both ends, and the switching value: the parameter value at
  which the society NPV would be zero, by linear interpolation through (low, point, high), or ``None`` if the
  line does not cross zero within twice the range.
- **Sobol.** First-order and total indices of the society NPV (SALib, Saltelli sampling) over the parameters
  with the widest tornado swings. Every evaluation uses the same inner seeds (common random numbers), so the
  noise does not masquerade as variance; the remaining simulation noise is reported beside the indices.

Every draw is a pure function of (scenario, parameters, seed), so draws can run in any process, in any order.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import Executor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import tomllib

from model.cba import Evaluation, evaluate_parameters, summarize_parameter_columns
from model.columns import Columns
from model.parallel import REPLICATIONS_PER_TASK, map_chunks, split
from model.parameters import DEFAULTS_DIR, Parameter, ParameterSet, load_parameters
from model.rng import Streams
from model.scenario import Scenario

Progress = Callable[[int], None]


def calibration_draws(scenario: Scenario) -> pd.DataFrame | None:
    """The posterior draws of the calibration behind the scenario's parameter files, if any."""
    for path in scenario.parameters.files:
        try:
            meta = tomllib.loads(Path(path).read_text(encoding="utf-8")).get("meta", {})
        except (OSError, tomllib.TOMLDecodeError):
            continue
        draws = meta.get("draws")
        if draws and (Path(path).parent / draws).exists():
            return pd.read_parquet(Path(path).parent / draws)
    return None


def sample_parameters(params: ParameterSet, n: int, seed: int, calibrated: pd.DataFrame | None = None) -> pd.DataFrame:
    """``n`` PSA draws: one row per draw, one column per graded parameter (natural scale).

    Calibrated parameters present in ``calibrated`` are taken jointly from one of its rows per draw; every
    other graded parameter is drawn from its own registry distribution through its own named stream.
    """
    streams = Streams(seed, 0)
    columns: dict[str, np.ndarray] = {}
    joint = [c for c in (calibrated.columns if calibrated is not None else []) if c in params]
    if joint:
        rows = streams.generator("psa.calibration_row").integers(0, len(calibrated), n)
        for name in joint:
            columns[name] = calibrated[name].to_numpy()[rows]
    for p in params.graded():
        if p.name not in columns:
            columns[p.name] = p.ppf(streams.uniform(f"psa.{p.name}", n))
    return pd.DataFrame(columns)


def _evaluate_chunk(scenario: Scenario, params: ParameterSet, seed: int, inner: int,
                    settings: list[tuple[int, Mapping[str, float]]]) -> list[tuple[dict[str, float], Columns, dict]]:
    # The same numbers as summary_row(ev, ev.pooled(label)) of evaluate_parameters (tests/test_psa.py),
    # without the parts a draw does not use; the pooled evaluation as columns, one table built at the end.
    return [summarize_parameter_columns(scenario, params.with_values(values), seed, inner, label=label) for label, values in settings]


@dataclass
class DrawResults:
    """Results of a set of parameter settings: one summary row and one pooled evaluation per setting."""

    summary: pd.DataFrame  # one row per setting (model.cba.summary_row)
    evaluation: pd.DataFrame  # setting × perspective rows (model.economics.evaluate columns)


def run_draws(
    scenario: Scenario,
    params: ParameterSet,
    settings: Sequence[Mapping[str, float]],
    seed: int,
    inner: int,
    executor: Executor | None = None,
    progress: Progress | None = None,
) -> pd.DataFrame:
    """Evaluate each parameter setting (values replacing the point values; inner replications with common
    random numbers).

    Returns:
        The summaries and pooled evaluations, in the order of ``settings``.
    """
    # Serially one setting at a time; on an executor chunks of about REPLICATIONS_PER_TASK replications, so
    # that the scenario and parameter set cross to a worker once a chunk, not once a draw.
    size = 1 if executor is None else max(1, -(-REPLICATIONS_PER_TASK // inner))
    chunks = [[(k, dict(settings[k])) for k in chunk] for chunk in split(range(len(settings)), -(-len(settings) // size))]
    results = map_chunks(_evaluate_chunk, (scenario, params, seed, inner), chunks, executor, progress)
    evaluation = Columns.concat([pooled for _, pooled, _ in results]).frame()
    attrs = [a for _, _, a in results]
    if all(a == attrs[0] for a in attrs):  # as pd.concat keeps the attrs of its parts
        evaluation.attrs.update(attrs[0])
    return DrawResults(pd.DataFrame([row for row, _, _ in results]), evaluation)


def _switching_value(xs: Sequence[float], ys: Sequence[float]) -> float | None:
    """Where the piecewise-linear line through (x, y) crosses zero; within twice the range or None."""
    pts = sorted(zip(xs, ys, strict=True))
    span = pts[-1][0] - pts[0][0]
    if span <= 0:
        return None
    for (x0, y0), (x1, y1) in zip(pts, pts[1:], strict=False):
        if y0 == 0:
            return float(x0)
        if (y0 < 0) != (y1 < 0) and y1 != y0:
            return float(x0 - y0 * (x1 - x0) / (y1 - y0))
    # extrapolate from the nearest segment
    (x0, y0), (x1, y1) = (pts[0], pts[1]) if abs(pts[0][1]) < abs(pts[-1][1]) else (pts[-2], pts[-1])
    if y1 == y0:
        return None
    root = x0 - y0 * (x1 - x0) / (y1 - y0)
    if pts[0][0] - span <= root <= pts[-1][0] + span:
        return float(root)
    return None


def economic_parameter_names() -> set[str]:
    """Parameters only the economics reads (the engine never does): varying them needs no re-simulation."""
    return set(load_parameters([DEFAULTS_DIR / "economics.toml"]))


def _in_domain(p: Parameter, value: float | None) -> float | None:
    """``value`` if the parameter can take it (positive for lognormal, a probability for beta), else None."""
    if value is None:
        return None
    if p.distribution == "lognormal" and value <= 0:
        return None
    if p.distribution == "beta" and not 0 <= value <= 1:
        return None
    return value


def tornado(
    scenario: Scenario,
    params: ParameterSet,
    seed: int,
    inner: int,
    executor: Executor | None = None,
    progress: Progress | None = None,
    names: Sequence[str] | None = None,
    base: Evaluation | None = None,
) -> tuple[pd.DataFrame, float]:
    """One-way sensitivity of the society NPV to every graded parameter (5th and 95th percentiles).

    Behavioural parameters are re-simulated (same seeds); economic ones re-price the base simulation, which
    is the same thing because the engine never reads them.

    Returns:
        ``(table, base_npv)``: rows ``parameter, low, high, npv_low, npv_high, switching_value, swing``,
        sorted by swing; and the society NPV at the point values.
    """
    graded = [p for p in params.graded() if names is None or p.name in names]
    economic = economic_parameter_names()
    behavioural = [p for p in graded if p.name not in economic]
    priced = [p for p in graded if p.name in economic]
    base = base or evaluate_parameters(scenario, params, seed, inner)
    base_npv = float(base.pooled().set_index("perspective").loc["society", "npv_nok"])
    settings = [{p.name: float(p.ppf(q))} for q in (0.05, 0.95) for p in behavioural]
    sim = run_draws(scenario, params, settings, seed, inner, executor, progress).summary["society_npv_nok"].to_numpy()
    npv: dict[tuple[str, float], float] = {}
    for k, (q, p) in enumerate((q, p) for q in (0.05, 0.95) for p in behavioural):
        npv[(p.name, q)] = float(sim[k])
    for p in priced:
        for q in (0.05, 0.95):
            repriced = base.reprice(params.with_values({p.name: float(p.ppf(q))}))
            npv[(p.name, q)] = float(repriced.pooled().set_index("perspective").loc["society", "npv_nok"])
            if progress:
                progress(1)
    rows = []
    for p in graded:
        low, high = float(p.ppf(0.05)), float(p.ppf(0.95))
        npv_low, npv_high = npv[(p.name, 0.05)], npv[(p.name, 0.95)]
        rows.append(
            {
                "parameter": p.name,
                "low": low,
                "high": high,
                "npv_low": npv_low,
                "npv_high": npv_high,
                "switching_value": _in_domain(p, _switching_value([low, p.value, high], [npv_low, base_npv, npv_high])),
                "swing": abs(npv_high - npv_low),
            }
        )
    out = pd.DataFrame(rows).sort_values("swing", ascending=False, ignore_index=True)
    return out, base_npv


@dataclass
class SobolResult:
    """Sobol indices of the society NPV."""

    table: pd.DataFrame  # parameter, S1, S1_conf, ST, ST_conf
    evaluations: int
    npv_variance: float
    noise_variance: float  # variance of the NPV across replications at the point (simulation noise)


def sobol(
    scenario: Scenario,
    params: ParameterSet,
    names: Sequence[str],
    base_samples: int,
    seed: int,
    inner: int,
    executor: Executor | None = None,
    progress: Progress | None = None,
) -> SobolResult:
    """Sobol indices (SALib) of the society NPV over ``names``, on their 5-95 % ranges mapped through
    each parameter's own distribution."""
    from SALib.analyze import sobol as sobol_analyze
    from SALib.sample import sobol as sobol_sample

    problem = {"num_vars": len(names), "names": list(names), "bounds": [[0.0, 1.0]] * len(names)}
    unit = sobol_sample.sample(problem, base_samples, calc_second_order=False, seed=seed)
    q = 0.05 + 0.90 * unit  # the registry's 90 % range, in probability space
    values = {n: params[n].ppf(q[:, j]) for j, n in enumerate(names)}
    settings = [{n: float(values[n][i]) for n in names} for i in range(len(unit))]
    table = run_draws(scenario, params, settings, seed, inner, executor, progress).summary
    y = table["society_npv_nok"].to_numpy()
    res = sobol_analyze.analyze(problem, y, calc_second_order=False, print_to_console=False, seed=seed)
    noise = evaluate_parameters(scenario, params, seed, max(inner, 8))
    out = pd.DataFrame({"parameter": list(names), "S1": res["S1"], "S1_conf": res["S1_conf"], "ST": res["ST"], "ST_conf": res["ST_conf"]})
    return SobolResult(out, len(y), float(np.var(y)), float(np.var(noise.npv("society"), ddof=1) / inner))


def stats(values: Iterable[float]) -> dict[str, float | None]:
    """``{"mean", "p05", "p95"}`` of finite values (None if there are none)."""
    a = np.asarray([v for v in values if v is not None and math.isfinite(v)], dtype=float)
    if a.size == 0:
        return {"mean": None, "p05": None, "p95": None}
    return {"mean": float(a.mean()), "p05": float(np.quantile(a, 0.05)), "p95": float(np.quantile(a, 0.95))}
