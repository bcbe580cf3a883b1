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

from calibration.estimate import Fit
from calibration.targets import TargetSet
from model.artifacts import atomic_write_text, figure_html, write_json
from model.parameters import ParameterSet

REPORT_KEYS = ("target", "observed", "sim_mean", "sim_p05", "sim_p95", "within_90")


def fitted_registry(fit: Fit, base: ParameterSet, date: str) -> dict:
    """The estimated parameters as registry entries (value = posterior mode; range = 90 % posterior)."""
    entries = {}
    for name in fit.names:
        p = base[name]
        col = fit.draws[name]
        lo, hi = float(col.quantile(0.05)), float(col.quantile(0.95))
        value = float(fit.params.v(name))
        row = fit.identification.set_index("parameter").loc[name]
        entries[name] = {
            "value": value,
            "unit": p.unit,
            "source": "calibrated",
            "basis": (
                f"{p.basis}. Fitted {date} by nysjanse calibrate (simulated method of moments, Laplace posterior): "
                f"prior {p.value:g}, posterior sd {row['posterior_sd_log']:.3f} on the log scale, "
                f"{100 * row['data_share_of_information']:.0f} % of the information from the data"
            ),
            "low": min(lo, value),
            "high": max(hi, value),
            "distribution": "lognormal",
        }
    nested: dict = {"meta": {"title": "Fitted parameters: Ny sjanse 2005-2006", "fitted": date, "draws": "draws.parquet"}}
    for name, entry in entries.items():
        node = nested
        *path, leaf = name.split(".")
        for part in path:
            node = node.setdefault(part, {})
        node[leaf] = entry
    return nested


def write_fit(out: Path, fit: Fit, base: ParameterSet, report: pd.DataFrame, targets: TargetSet, date: str) -> list[str]:
    """Write every file of a fit into ``out`` (a folder being written atomically). Returns the file names."""
    atomic_write_text(
        out / "parameters.toml",
        "# Written by `nysjanse calibrate`; do not edit by hand. Values are posterior modes, ranges 90 % posterior.\n"
        + tomli_w.dumps(fitted_registry(fit, base, date)),
    )
    fit.draws.to_parquet(out / "draws.parquet", index=False)
    rows = [{k: _clean(r[k]) for k in REPORT_KEYS} for r in report.to_dict(orient="records")]
    write_json(out / "fit_report.json", rows)
    details = {
        "targets_file": str(targets.path),
        "report_date": targets.report_date.isoformat(),
        "converged": fit.converged,
        "optimizer_message": fit.message,
        "seconds": round(fit.seconds, 1),
        "moment_evaluations": fit.evaluations,
        "settings": fit.settings.__dict__,
        "within_90": f"{int(report['within_90'].sum())} of {len(report)}",
        "targets": [{k: _clean(v) for k, v in r.items()} for r in report.to_dict(orient="records")],
        "identification": [{k: _clean(v) for k, v in r.items()} for r in fit.identification.to_dict(orient="records")],
        "prior_driven_parameters_not_estimated": [
            {"parameter": p.name, "value": p.value, "source": p.source, "low": p.low, "high": p.high, "basis": p.basis}
            for p in base.values()
            if p.name not in fit.names and p.source != "calibrated" and p.graded
        ],
        "residuals": {k: round(float(v), 4) for k, v in fit.residuals.items()},
    }
    write_json(out / "fit_details.json", details)
    atomic_write_text(out / "fit_report.html", render_html(fit, base, report, targets, date))
    return ["parameters.toml", "draws.parquet", "fit_report.json", "fit_details.json", "fit_report.html"]


def _clean(v: object) -> object:
    if isinstance(v, float | np.floating):
        return None if math.isnan(float(v)) else float(v)
    if isinstance(v, np.bool_):
        return bool(v)
    if isinstance(v, np.integer):
        return int(v)
    return v


def _figure(report: pd.DataFrame) -> go.Figure:
    shares = report[report["observation"] == "share"]
    counts = report[report["observation"] != "share"]
    fig = make_subplots(
        rows=1,
        cols=2,
        subplot_titles=("Counts (log scale)", "Shares"),
        horizontal_spacing=0.28,
        column_widths=[0.5, 0.5],
    )
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
                name="simulated mean and 90 % interval",
                showlegend=col == 1,
                hovertemplate="%{y}<br>simulated %{x:.3g}<extra></extra>",
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


def _table(frame: pd.DataFrame) -> str:
    return frame.to_html(index=False, float_format=lambda v: f"{v:.4g}", classes="tbl", border=0, escape=True)


def render_html(fit: Fit, base: ParameterSet, report: pd.DataFrame, targets: TargetSet, date: str) -> str:
    """A self-contained HTML page: observed vs simulated with 90 % intervals, identification, parameters."""
    fig = figure_html(_figure(report), include_plotlyjs=True)
    n_in = int(report["within_90"].sum())
    ident = fit.identification.copy()
    registry = fit.params.to_frame()
    registry = registry[registry["parameter"].isin(fit.names)]
    prior = base.to_frame()
    prior = prior[(prior["source"] != "calibrated") & (prior["low"] < prior["high"])]
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>nysjanse calibration: fit report</title>
<style>
body {{ font-family: system-ui, sans-serif; margin: 2rem auto; max-width: 1200px; color: #222; }}
.tbl {{ border-collapse: collapse; font-size: 0.85rem; }} .tbl td, .tbl th {{ padding: 3px 8px; border-bottom: 1px solid #ddd; text-align: right; }}
.tbl td:first-child, .tbl th:first-child {{ text-align: left; }} .note {{ color: #555; }}
</style></head><body>
<h1>Calibration to the reported Ny sjanse flows, {html.escape(targets.report_date.isoformat())}</h1>
<p class="note">Targets: {html.escape(str(targets.path))}. Fitted {html.escape(date)} in {fit.seconds:.0f} s
({fit.evaluations} moment evaluations of {fit.settings.replications} replications, common random numbers).
Optimizer: {html.escape(fit.message)}.</p>
<h2>Reported vs simulated</h2>
<p><b>{n_in} of {len(report)}</b> reported figures lie inside the model's 90 % interval
({fit.settings.report_replications} fresh replications at the fitted parameters). Green: inside; red: outside.
Bounds ("over half", "under a third") count as inside when the interval does not contradict them.</p>
{fig}
{_table(report[["target", "observed", "sim_mean", "sim_p05", "sim_p95", "within_90", "used_in_fit", "source"]])}
<h2>What the data identify</h2>
<p>For each estimated parameter: its prior and fitted value, and the share of the posterior information that comes
from the data (1 = all from the data). Parameters marked <i>prior</i> are driven by their prior.</p>
{_table(ident)}
<h2>What the data cannot tell (prior-driven, not estimated)</h2>
<p>These graded parameters have no reported figure behind them: the follow-up effect (only ≈ 1:10 was observed),
the hazards after month 24 (nobody had finished by December 2006), the counterfactual exit rates from social
assistance, job retention after exit, and more. Their ranges feed the uncertainty analyses.</p>
{_table(prior[["parameter", "value", "unit", "source", "low", "high", "basis"]])}
<h2>Fitted parameters</h2>
{_table(registry[["parameter", "value", "unit", "low", "high", "basis"]])}
</body></html>
"""
