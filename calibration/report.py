"""Writing a fit: parameters.toml, draws.parquet, fit_report.json/.html, fit_details.json."""

from __future__ import annotations

import html
import math
from pathlib import Path

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import tomli_w
from plotly.subplots import make_subplots
from scipy import stats

from calibration.posterior import Fit, correlations, method_name, parameter_table, sets_calibrating
from calibration.targets import TargetSet
from model.artifacts import atomic_write_text, figure_html, write_json
from model.parameters import ParameterSet

REPORT_KEYS = ("target", "observed", "sim_mean", "sim_p05", "sim_p95", "within_90")


def _registry_distribution(base_distribution: str, low: float) -> str:
    """The shape of a fitted entry: the prior's, except that a uniform prior's posterior is not uniform."""
    if base_distribution != "uniform":
        return base_distribution
    return "lognormal" if low > 0 else "normal"


def fitted_registry(fit: Fit, base: ParameterSet, date: str, table: pd.DataFrame) -> dict:
    """The calibrated parameters as registry entries: value = posterior median, range = 90 % posterior.

    The PSA and the predictive runs use the joint draws (``draws.parquet``); the marginal range here feeds
    the one-way analyses (tornado) and is what a reader of the registry sees.
    """
    nested: dict = {"meta": {"title": "Fitted parameters (nysjanse calibrate)", "fitted": date, "draws": "draws.parquet", "method": method_name(fit.settings)}}
    rows = table.set_index("parameter")
    for name in fit.names:
        p, row = base[name], rows.loc[name]
        lo, med, hi = float(row["posterior_p05"]), float(row["posterior_p50"]), float(row["posterior_p95"])
        entry = {
            "value": med,
            "unit": p.unit,
            "source": "calibrated",
            "basis": (
                f"{p.basis}. Fitted {date} by nysjanse calibrate (neural posterior estimation, target sets: "
                f"{row['target_sets'] or '-'}): prior 5-95 % {row['prior_p05']:.4g}-{row['prior_p95']:.4g}, posterior "
                f"{lo:.4g}-{hi:.4g}; {100 * max(row['data_share'], 0.0):.0f} % of the information from the data"
            ),
            "low": min(lo, med),
            "high": max(hi, med),
            "distribution": _registry_distribution(p.distribution, lo),
        }
        node = nested
        *path, leaf = name.split(".")
        for part in path:
            node = node.setdefault(part, {})
        node[leaf] = entry
    return nested


def _clean(v: object) -> object:
    if isinstance(v, float | np.floating):
        return None if math.isnan(float(v)) else float(v)
    if isinstance(v, np.bool_):
        return bool(v)
    if isinstance(v, np.integer):
        return int(v)
    return v


def _records(frame: pd.DataFrame) -> list[dict]:
    return [{k: _clean(v) for k, v in r.items()} for r in frame.to_dict(orient="records")]


def write_fit(out: Path, fit: Fit, base: ParameterSet, report: pd.DataFrame, targets: TargetSet, date: str) -> list[str]:
    """Write every file of a fit into ``out`` (a folder being written atomically). Returns the file names."""
    table = parameter_table(fit, sets_calibrating(targets))
    corr = correlations(fit)
    atomic_write_text(
        out / "parameters.toml",
        "# Written by `nysjanse calibrate`; do not edit by hand. Values are posterior medians, ranges 90 % posterior;\n"
        "# the joint posterior draws are in draws.parquet.\n" + tomli_w.dumps(fitted_registry(fit, base, date, table)),
    )
    fit.draws.to_parquet(out / "draws.parquet", index=False)
    within = int(report["within_90"].sum())
    write_json(
        out / "fit_report.json",
        {
            "method": method_name(fit.settings),
            "seconds": round(fit.seconds, 1),
            "draws": len(fit.draws),
            "simulations": fit.simulations,
            "targets_files": [str(p) for p in targets.paths],
            "within_90": within,
            "targets_total": len(report),
            "targets": [{k: _clean(r[k]) for k in REPORT_KEYS} for r in report.to_dict(orient="records")],
        },
    )
    details = {
        "method": method_name(fit.settings),
        "targets_files": [str(p) for p in targets.paths],
        "report_dates": {s: d.isoformat() for s, d in _set_dates(targets).items()},
        "seconds": round(fit.seconds, 1),
        "timings_seconds": fit.timings,
        "settings": fit.settings.__dict__,
        "simulations": fit.simulations,
        "valid_simulations": fit.valid_simulations,
        "effective_sample_size": len(fit.draws),
        "effective_sample_size_note": "The draws are independent samples from the trained flow (no chain, no weights), so the effective sample size is the number of draws.",
        "training": fit.training,
        "within_90": f"{within} of {len(report)}",
        "within_90_by_set": {s: f"{int(g['within_90'].sum())} of {len(g)}" for s, g in report.groupby("set", sort=False)},
        "parameters": _records(table),
        "correlations": _records(corr),
        "targets": _records(report),
        "prior_driven_parameters_not_calibrated": [
            {"parameter": p.name, "value": p.value, "source": p.source, "low": p.low, "high": p.high, "distribution": p.distribution, "basis": p.basis}
            for p in base.values()
            if p.name not in fit.names and p.graded
        ],
    }
    write_json(out / "fit_details.json", details)
    atomic_write_text(out / "fit_report.html", render_html(fit, base, report, targets, date, table, corr))
    return ["parameters.toml", "draws.parquet", "fit_report.json", "fit_details.json", "fit_report.html"]


def _set_dates(targets: TargetSet) -> dict[str, object]:
    out: dict[str, object] = {}
    for t in targets.targets:
        out[t.set] = max(out.get(t.set, t.date), t.date)
    return out


def _predictive_figure(report: pd.DataFrame) -> go.Figure:
    shares = report[report["observation"] == "share"]
    counts = report[report["observation"] != "share"]
    fig = make_subplots(rows=1, cols=2, subplot_titles=("Counts (log scale)", "Shares"), horizontal_spacing=0.28)
    for col, part in ((1, counts), (2, shares)):
        part = part.iloc[::-1]
        color = np.where(part["within_90"], "#1b7837", "#b2182b")
        fig.add_trace(
            go.Scatter(
                x=part["sim_mean"],
                y=part["target"],
                mode="markers",
                marker={"color": color, "size": 8},
                error_x={
                    "type": "data",
                    "symmetric": False,
                    "array": (part["sim_p95"] - part["sim_mean"]).clip(lower=0),
                    "arrayminus": (part["sim_mean"] - part["sim_p05"]).clip(lower=0),
                    "color": "#777",
                },
                name="posterior predictive mean and 90 % interval",
                showlegend=col == 1,
                hovertemplate="%{y}<br>predicted %{x:.3g}<extra></extra>",
            ),
            row=1,
            col=col,
        )
        fig.add_trace(
            go.Scatter(
                x=part["observed"],
                y=part["target"],
                mode="markers",
                marker={"symbol": "diamond-open", "color": "black", "size": 10},
                name="reported",
                showlegend=col == 1,
                hovertemplate="%{y}<br>reported %{x:.3g}<extra></extra>",
            ),
            row=1,
            col=col,
        )
    fig.update_xaxes(type="log", row=1, col=1)
    fig.update_layout(height=max(500, 22 * max(len(counts), len(shares)) + 150), template="plotly_white", legend={"orientation": "h", "y": 1.06})
    return fig


def _prior_posterior_figure(fit: Fit, table: pd.DataFrame) -> go.Figure:
    """Every parameter on its prior's probability scale F(θ): the prior is uniform on [0, 1] there."""
    names = list(fit.names)[::-1]
    u = stats.norm.cdf(fit.z_draws)
    q = np.quantile(u, (0.05, 0.5, 0.95), axis=0)
    k = [fit.names.index(n) for n in names]
    fig = go.Figure()
    fig.add_trace(go.Bar(y=names, x=[0.9] * len(names), base=[0.05] * len(names), orientation="h", marker_color="#d9d9d9", name="prior 90 %", hoverinfo="skip"))
    rows = table.set_index("parameter")
    fig.add_trace(
        go.Scatter(
            x=q[1, k],
            y=names,
            mode="markers",
            marker={"color": "#2166ac", "size": 8},
            error_x={"type": "data", "symmetric": False, "array": q[2, k] - q[1, k], "arrayminus": q[1, k] - q[0, k], "color": "#2166ac"},
            name="posterior median and 90 %",
            customdata=np.column_stack([rows.loc[names, "posterior_p05"], rows.loc[names, "posterior_p50"], rows.loc[names, "posterior_p95"], rows.loc[names, "data_share"]]),
            hovertemplate="%{y}<br>posterior %{customdata[0]:.4g} – %{customdata[2]:.4g} (median %{customdata[1]:.4g})<br>data share %{customdata[3]:.2f}<extra></extra>",
        )
    )
    fig.update_layout(
        height=max(450, 20 * len(names) + 120),
        template="plotly_white",
        xaxis={"title": "prior cumulative probability F(θ) (the prior is uniform on this scale)", "range": [0, 1]},
        legend={"orientation": "h", "y": 1.04},
        barmode="overlay",
    )
    return fig


def _training_figure(fit: Fit) -> go.Figure:
    fig = go.Figure()
    for key, label in (("training_loss", "training"), ("validation_loss", "validation")):
        values = fit.training.get(key) or []
        fig.add_trace(go.Scatter(x=list(range(1, len(values) + 1)), y=values, mode="lines", name=label))
    fig.update_layout(height=320, template="plotly_white", xaxis_title="epoch", yaxis_title="negative log-probability per simulation")
    return fig


def _table(frame: pd.DataFrame) -> str:
    return frame.to_html(index=False, float_format=lambda v: f"{v:.4g}", classes="tbl", border=0, escape=True)


def render_html(fit: Fit, base: ParameterSet, report: pd.DataFrame, targets: TargetSet, date: str, table: pd.DataFrame, corr: pd.DataFrame) -> str:
    """A self-contained HTML page: training, prior vs posterior, correlations, the predictive check."""
    n_in = int(report["within_90"].sum())
    prior = base.to_frame()
    prior = prior[~prior["parameter"].isin(fit.names) & (prior["low"] < prior["high"]) & (prior["distribution"] != "fixed")]
    by_set = ", ".join(f"{s}: {int(g['within_90'].sum())} of {len(g)}" for s, g in report.groupby("set", sort=False))
    files = ", ".join(html.escape(str(p)) for p in targets.paths)
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>nysjanse calibration: fit report</title>
<style>
body {{ font-family: system-ui, sans-serif; margin: 2rem auto; max-width: 1200px; color: #222; }}
.tbl {{ border-collapse: collapse; font-size: 0.85rem; }} .tbl td, .tbl th {{ padding: 3px 8px; border-bottom: 1px solid #ddd; text-align: right; }}
.tbl td:first-child, .tbl th:first-child {{ text-align: left; }} .note {{ color: #555; }}
</style></head><body>
<h1>Calibration: posterior of {len(fit.names)} parameters given {len(report)} reported figures</h1>
<p class="note">Targets: {files}. Fitted {html.escape(date)} in {fit.seconds:.0f} s by {html.escape(method_name(fit.settings))}:
{fit.simulations} simulations from the prior ({fit.valid_simulations} with every statistic defined), {len(fit.draws)} posterior draws.
Timings (s): {html.escape(str(fit.timings))}.</p>
<h2>Posterior-predictive check</h2>
<p><b>{n_in} of {len(report)}</b> reported figures lie inside their 90 % posterior-predictive interval ({by_set}):
{min(fit.settings.predictive_draws, len(fit.draws))} posterior draws, each simulated with its own persons (one replication) and the
target's observation noise. Green: inside; red: outside. A bound ("over half", "at most") counts as inside when the
interval does not contradict it. With 90 % intervals about one target in ten is expected outside by chance.</p>
{figure_html(_predictive_figure(report), include_plotlyjs=True)}
{_table(report[["set", "target", "observed", "sim_mean", "sim_p05", "sim_p95", "within_90", "observation", "bound", "date", "source"]])}
<h2>Prior and posterior of every calibrated parameter</h2>
<p>Each parameter on its prior's probability scale (prior 90 % = the grey band from 0.05 to 0.95); the blue bar is the
posterior's 90 % interval. <i>Data share</i> = 1 − posterior variance / prior variance on the normal-score scale:
0 when the data leave the prior untouched, near 1 when they pin the parameter down.</p>
{figure_html(_prior_posterior_figure(fit, table), include_plotlyjs=False)}
{_table(table)}
<h2>Strongest posterior correlations</h2>
<p>On the normal-score scale. Strong correlations are directions the data identify only jointly (e.g. a rate and the
time at risk); the PSA keeps them because it samples the joint draws.</p>
{_table(corr)}
<h2>Training of the posterior estimator</h2>
<p>Negative log-probability of the held-out simulations (validation) per epoch; training stops when it has not improved
for {fit.settings.stop_after_epochs} epochs. Effective sample size: {len(fit.draws)} — the draws are independent samples of the trained flow
(no chain, no weights). Whether the flow's intervals are calibrated is checked on synthetic data with known truth:
<code>python -m benchmarks.sbc</code> (results in the README).</p>
{figure_html(_training_figure(fit), include_plotlyjs=False)}
<h2>What the data cannot tell (prior-driven, not calibrated)</h2>
<p>These graded parameters have no reported figure behind them in these target sets (e.g. the follow-up effect: only ≈ 1:10 was
observed; job retention after exit). Their priors feed the uncertainty analyses unchanged.</p>
{_table(prior[["parameter", "value", "unit", "source", "low", "high", "distribution"]])}
</body></html>
"""
