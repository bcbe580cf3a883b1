"""Posterior-predictive check of a scenario against target sets (``nysjanse check``).

For every target: the observed value, the predicted mean and 90 % predictive interval, and whether the
observation falls inside. Predictive means over parameter draws (the PSA's: calibrated parameters jointly
from the fit's posterior draws, the others from their priors) × replications (each draw its own replications, so
the pooled values are independent predictive draws), plus the noise of each target's observation model that the simulation
does not already hold (:func:`calibration.targets.draw_observation`). The noise is drawn after all
simulations, from one named stream per target, so serial and parallel runs give the same numbers.
"""

from __future__ import annotations

import html
from collections.abc import Callable
from concurrent.futures import Executor

import numpy as np
import pandas as pd

from calibration.statistics import target_statistics
from calibration.targets import Target, TargetSet, draw_observation
from model.parallel import map_chunks, split
from model.parameters import ParameterSet
from model.rng import Streams
from model.scenario import Scenario

DRAWS_PER_TASK = 4


def _chunk(scenario: Scenario, params: ParameterSet, seed: int, replications: int, targets: tuple[Target, ...],
           values: list[dict[str, float]], indices: list[int]) -> list[list[dict[str, float]]]:
    out = []
    for k in indices:
        p = params.with_values(values[k])
        # Draw k's own replications k·R … k·R+R−1: every simulated observable has its own persons, so the
        # pooled values are independent draws of the predictive distribution (with the same R seeds for
        # every draw, a small R would carry the simulation noise of R seeds only).
        out.append([target_statistics(scenario, p, seed, k * replications + r, targets) for r in range(replications)])
    return out


def simulate_targets(
    scenario: Scenario,
    params: ParameterSet,
    targets: TargetSet,
    draws: int,
    replications: int,
    seed: int,
    executor: Executor | None = None,
    progress: Callable[[int], None] | None = None,
) -> pd.DataFrame:
    """The targets' simulated statistics: one row per (draw, replication), one column per target."""
    from model.uncertainty import calibration_draws, sample_parameters

    table = sample_parameters(params, draws, seed, calibration_draws(scenario))
    values = [{k: float(v) for k, v in row.items()} for row in table.to_dict(orient="records")]
    size = 1 if executor is None else DRAWS_PER_TASK
    chunks = split(list(range(draws)), -(-draws // size))
    per_draw = map_chunks(_chunk, (scenario, params, seed, replications, targets.targets, values), chunks, executor, progress)
    rows = [{"draw": k, "replication": k * replications + r, **stats} for k, reps in enumerate(per_draw) for r, stats in enumerate(reps)]
    return pd.DataFrame(rows)


def _inside(t: Target, p05: float, p95: float) -> bool:
    if not (np.isfinite(p05) and np.isfinite(p95)):
        return False
    if t.bound == "lower":  # the figure says "at least": the interval must reach it
        return bool(p95 >= t.value)
    if t.bound == "upper":
        return bool(p05 <= t.value)
    return bool(p05 <= t.value <= p95)


def predictive_check(
    scenario: Scenario,
    params: ParameterSet,
    targets: TargetSet,
    draws: int,
    replications: int,
    seed: int,
    executor: Executor | None = None,
    progress: Callable[[int], None] | None = None,
) -> dict:
    """The check (``check.json``): per target ``name, set, date, observation, observed, mean, p05, p95,
    inside`` (mean and percentiles of the simulated observables, NaN-free; None if there are none), the
    share of targets inside (``coverage``) overall and per set (``coverage_by_set``)."""
    sims = simulate_targets(scenario, params, targets, draws, replications, seed, executor, progress)
    streams = Streams(seed, 0)
    rows = []
    for t in targets.targets:
        observable = draw_observation(t, targets, sims[t.name].to_numpy(dtype=float), streams.generator(f"check.noise.{t.name}"))
        finite = observable[np.isfinite(observable)]
        if finite.size:
            mean, p05, p95 = float(finite.mean()), float(np.quantile(finite, 0.05)), float(np.quantile(finite, 0.95))
        else:
            mean = p05 = p95 = float("nan")
        rows.append(
            {
                "name": t.name,
                "set": t.set,
                "date": t.date.isoformat(),
                "observation": t.observation,
                "bound": t.bound or "",
                "observed": t.value,
                "mean": mean if finite.size else None,
                "p05": p05 if finite.size else None,
                "p95": p95 if finite.size else None,
                "inside": _inside(t, p05, p95),
                "simulated": int(finite.size),
                "source": t.source,
            }
        )
    by_set = {}
    for name in targets.sets:
        mine = [r for r in rows if r["set"] == name]
        by_set[name] = {"targets": len(mine), "inside": sum(r["inside"] for r in mine), "coverage": sum(r["inside"] for r in mine) / max(len(mine), 1)}
    inside = sum(r["inside"] for r in rows)
    return {
        "scenario": scenario.name,
        "interval": "predictive",
        "level": 0.90,
        "draws": draws,
        "replications_per_draw": replications,
        "seed": seed,
        "sets": list(targets.sets),
        "targets": rows,
        "inside": inside,
        "coverage": inside / max(len(rows), 1),
        "coverage_by_set": by_set,
    }


def _fmt(x: float | None) -> str:
    if x is None:
        return "–"
    return f"{x:.3g}" if abs(x) < 1000 else f"{x:,.0f}"


def check_html(doc: dict) -> str:
    """``check.html``: the coverage, a figure of observed vs predictive interval per target (grouped by
    set, each target scaled by its interval so counts and shares share an axis), and the table."""
    import plotly.graph_objects as go

    from model.artifacts import figure_html

    rows = doc["targets"]
    fig = go.Figure()
    for set_name in doc["sets"]:
        mine = [r for r in rows if r["set"] == set_name and r["mean"] is not None]
        labels = [r["name"] for r in mine]
        half = [max((r["p95"] - r["p05"]) / 2, 1e-12) for r in mine]
        centre = [(r["p95"] + r["p05"]) / 2 for r in mine]
        fig.add_trace(go.Scatter(
            x=[0.0] * len(mine), y=labels, mode="markers", name=f"{set_name}: 90 % predictive interval",
            error_x={"type": "data", "array": [1.0] * len(mine), "visible": True}, marker={"symbol": "line-ns-open"},
            customdata=[[r["p05"], r["p95"], r["mean"]] for r in mine],
            hovertemplate="%{y}<br>90 %%: %{customdata[0]:.4g} – %{customdata[1]:.4g}<br>mean %{customdata[2]:.4g}<extra></extra>",
        ))
        fig.add_trace(go.Scatter(
            x=[(r["observed"] - c) / h for r, c, h in zip(mine, centre, half, strict=True)], y=labels, mode="markers",
            name=f"{set_name}: observed", marker={"size": 8, "color": ["#2a7" if r["inside"] else "#c33" for r in mine]},
            customdata=[r["observed"] for r in mine], hovertemplate="%{y}<br>observed %{customdata:.4g}<extra></extra>",
        ))
    fig.update_layout(
        height=max(400, 18 * len(rows) + 120), margin={"l": 360},
        xaxis={"title": "observed, in half-widths of the 90 % interval from its centre (inside: −1 to 1)", "range": [-5, 5]},
        yaxis={"autorange": "reversed"},
    )
    body = [
        f"<h1>Predictive check: {html.escape(doc['scenario'])}</h1>",
        f"<p>{doc['draws']} parameter draws × {doc['replications_per_draw']} replications (seed {doc['seed']}), plus each "
        f"target's observation noise. <b>{doc['inside']} of {len(rows)} targets</b> inside their 90 % predictive interval "
        f"(coverage {doc['coverage']:.2f}).</p><ul>",
        *(f"<li>{html.escape(s)}: {c['inside']} of {c['targets']} (coverage {c['coverage']:.2f})</li>" for s, c in doc["coverage_by_set"].items()),
        "</ul>",
        figure_html(fig, include_plotlyjs=True),
        "<table><tr><th>set</th><th>target</th><th>date</th><th>observed</th><th>mean</th><th>90 % interval</th><th>inside</th></tr>",
        *(
            f"<tr><td>{html.escape(r['set'])}</td><td>{html.escape(r['name'])}</td><td>{r['date']}</td><td>{_fmt(r['observed'])}"
            f"{' (' + r['bound'] + ' bound)' if r['bound'] else ''}</td><td>{_fmt(r['mean'])}</td><td>{_fmt(r['p05'])} – {_fmt(r['p95'])}</td>"
            f"<td>{'yes' if r['inside'] else '<b>no</b>'}</td></tr>"
            for r in rows
        ),
        "</table>",
    ]
    style = "body{font-family:sans-serif;margin:2em;max-width:1200px}table{border-collapse:collapse}td,th{padding:2px 8px;border-bottom:1px solid #ddd;text-align:left}"
    return f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>Predictive check</title><style>{style}</style></head><body>{''.join(body)}</body></html>"
