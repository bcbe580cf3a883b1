"""Reports: an auditable Excel workbook and a self-contained HTML report with plotly figures.

Both writers take DataFrames and dicts and write one file atomically (a temporary file in the target
folder, then ``os.replace``), so a reader never sees half a report.
"""

from __future__ import annotations

import datetime as dt
import html
import json
import math
import os
import tempfile
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from model.artifacts import figure_html
from model.economics.ledger import FLOWS
from model.economics.perspectives import summarize_evaluation, summarize_ledger
from model.parameters import ParameterSet

_NOK_COLUMNS = {
    "amount_nok",
    "pv_nok",
    "mean",
    "p05",
    "p95",
    "npv_low",
    "npv_high",
    "switching_value",
}


# ---------------------------------------------------------------------------------------------
# helpers
def _atomic_write(path: Path | str, write: Callable[[Path], None]) -> Path:
    """Call ``write(tmp)`` on a temporary file beside ``path``, then move it into place."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        write(tmp)
        tmp.chmod(0o644)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return path


def _flatten(d: Mapping[str, Any], prefix: str = "") -> list[tuple[str, str]]:
    rows: list[tuple[str, str]] = []
    for key, value in d.items():
        name = f"{prefix}.{key}" if prefix else str(key)
        if isinstance(value, Mapping):
            rows.extend(_flatten(value, name))
        elif isinstance(value, list | tuple):
            rows.append((name, json.dumps(value, default=str, ensure_ascii=False)))
        else:
            rows.append((name, str(value)))
    return rows


def _fmt_nok(x: float) -> str:
    """NOK with a readable scale: 'NOK 12.3 M', 'NOK 450 k', 'NOK -1.2 bn'."""
    if x is None or not np.isfinite(x):
        return "–"
    a = abs(x)
    if a >= 1e9:
        return f"NOK {x / 1e9:,.2f} bn"
    if a >= 1e6:
        return f"NOK {x / 1e6:,.1f} M"
    if a >= 1e4:
        return f"NOK {x / 1e3:,.0f} k"
    return f"NOK {x:,.0f}"


def _fmt_num(x: float, digits: int = 2) -> str:
    if x is None or (isinstance(x, float) and not np.isfinite(x)):
        return "∞" if x == math.inf else "–"
    return f"{x:,.{digits}f}"


# ----------------------------------------------------------------------------------------------
# Excel
def write_workbook(
    path: Path | str,
    *,
    params: ParameterSet,
    evaluation: pd.DataFrame,
    perspective_ledger: pd.DataFrame | None = None,
    manifest: Mapping[str, Any] | None = None,
) -> Path:
    """Write the Excel workbook an economist can audit.

    Sheets: ``inputs`` (every parameter: value, unit, source, basis, range, distribution),
    ``ledger`` (by year, flow, payer, receiver and perspective; mean over replications, undiscounted
    and discounted), ``results`` (per perspective and metric: mean, p05, p95),
    ``results_by_replication`` (the raw evaluation), ``flows`` (the ledger lines, payer → receiver)
    and ``manifest``.

    Args:
        path: the ``.xlsx`` file to write.
        params: the parameter registry used (point values or the base case of a PSA).
        evaluation: from :func:`model.economics.evaluate` (one row per replication × perspective).
        perspective_ledger: from :func:`model.economics.perspective_ledger`; ``None`` leaves
            the ledger sheet empty.
        manifest: run metadata (scenario hash, seed, code version, …), nested dicts allowed.

    Returns:
        The path written.
    """
    from openpyxl.styles import Alignment, Font
    from openpyxl.utils import get_column_letter

    inputs = params.to_frame()[
        ["parameter", "value", "unit", "source", "basis", "low", "high", "distribution"]
    ]
    if perspective_ledger is not None and len(perspective_ledger):
        ledger = summarize_ledger(perspective_ledger)
        ledger = ledger[
            [
                "year",
                "perspective",
                "flow",
                "payer",
                "receiver",
                "kind",
                "group",
                "extrapolated",
                "amount_nok",
                "discount_factor",
                "pv_nok",
            ]
        ]
    else:
        ledger = pd.DataFrame(
            columns=["year", "perspective", "flow", "payer", "receiver", "amount_nok", "pv_nok"]
        )
    results = summarize_evaluation(evaluation)
    raw = evaluation.copy()
    raw["payback_year"] = raw["payback_year"].astype("Float64")
    flows = pd.DataFrame(
        [
            {
                "flow": f.name,
                "payer": f.payer,
                "receiver": f.receiver,
                "kind": f.kind,
                "group": f.group,
                "description": f.description,
            }
            for f in FLOWS
        ]
    )
    meta = pd.DataFrame(_flatten(dict(manifest or {})), columns=["key", "value"])
    sheets = {
        "inputs": inputs,
        "ledger": ledger,
        "results": results,
        "results_by_replication": raw,
        "flows": flows,
        "manifest": meta,
    }

    def write(tmp: Path) -> None:
        with pd.ExcelWriter(tmp, engine="openpyxl") as xw:
            for name, df in sheets.items():
                out = df.copy()
                for col in out.columns:
                    if isinstance(out[col].dtype, pd.CategoricalDtype):
                        out[col] = out[col].astype(str)
                out = out.replace([np.inf, -np.inf], np.nan)
                out.to_excel(xw, sheet_name=name, index=False)
                ws = xw.sheets[name]
                ws.freeze_panes = "A2"
                for cell in ws[1]:
                    cell.font = Font(bold=True)
                for j, col in enumerate(out.columns, start=1):
                    letter = get_column_letter(j)
                    if col in ("basis", "description", "value") and name in (
                        "inputs",
                        "flows",
                        "manifest",
                    ):
                        width = 80 if col != "value" or name == "manifest" else 14
                    else:
                        sample = [len(str(col))] + [len(str(v)) for v in out[col].head(200)]
                        width = min(max(sample) + 2, 40)
                    ws.column_dimensions[letter].width = width
                    fmt = (
                        "#,##0"
                        if (col in _NOK_COLUMNS or col.endswith("_nok") or "_nok_" in col)
                        else None
                    )
                    if col == "discount_factor":
                        fmt = "0.0000"
                    if name == "results":
                        fmt = "#,##0.00"
                    for (cell,) in ws.iter_rows(min_row=2, min_col=j, max_col=j):
                        if fmt and isinstance(cell.value, int | float):
                            cell.number_format = fmt
                        if col in ("basis", "description"):
                            cell.alignment = Alignment(wrap_text=True, vertical="top")

    return _atomic_write(path, write)


# -----------------------------------------------------------------------------------------------
# HTML
_CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;max-width:1100px;margin:2em
auto;
padding:0 1em;color:#222;line-height:1.45}
h1{font-size:1.7em;margin-bottom:.2em}h2{margin-top:2em;border-bottom:1px solid
#ddd;padding-bottom:.2em}
p.reading{background:#f4f7fb;border-left:4px solid #4a7bd0;padding:.5em .8em;margin:.4em 0 1.2em}
table{border-collapse:collapse;font-size:.88em;margin:.5em 0}
th,td{border:1px solid #ddd;padding:.3em
.55em;vertical-align:top}th{background:#f1f1f1;text-align:left}
td.num{text-align:right;white-space:nowrap}.scroll{max-height:520px;overflow:auto}
.meta{color:#666;font-size:.9em}
"""

_PERSPECTIVE_LABELS = {
    "society": "Society (R-109 social CBA)",
    "state": "State",
    "municipality": "Municipality",
    "participant": "Participants",
    "employer": "Employers",
    "public": "Public budgets (state + municipality)",
}


def _table(df: pd.DataFrame, num_cols: set[str] | None = None) -> str:
    num_cols = num_cols or set()
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in df.columns)
    body = []
    for _, row in df.iterrows():
        cells = []
        for c in df.columns:
            v = row[c]
            cls = ' class="num"' if c in num_cols else ""
            cells.append(f"<td{cls}>{html.escape('' if v is None else str(v))}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def _perspective_table(evaluation: pd.DataFrame) -> tuple[pd.DataFrame, str]:
    rows = []
    for persp, g in evaluation.groupby("perspective", observed=True, sort=False):
        npv = g["npv_nok"].to_numpy(float)
        bcr = g["bcr"].to_numpy(float)
        pay = pd.to_numeric(g["payback_year"], errors="coerce").to_numpy(float)
        finite_bcr = bcr[np.isfinite(bcr)]
        lo, hi = float(np.quantile(npv, 0.05)), float(np.quantile(npv, 0.95))
        rows.append(
            {
                "perspective": _PERSPECTIVE_LABELS.get(str(persp), str(persp)),
                "NPV mean": _fmt_nok(float(npv.mean())),
                "NPV 5–95 %": f"{_fmt_nok(lo)} … {_fmt_nok(hi)}",
                "P(NPV > 0)": f"{(npv > 0).mean():.0%}",
                "BCR mean": _fmt_num(float(finite_bcr.mean())) if finite_bcr.size else "–",
                "payback year (median)": (
                    str(int(np.nanmedian(pay))) if np.isfinite(pay).any() else "none in horizon"
                ),
                "pays back": f"{np.isfinite(pay).mean():.0%}",
            }
        )
    df = pd.DataFrame(rows)
    soc = evaluation[evaluation["perspective"].astype(str) == "society"]
    if len(soc):
        m = float(soc["npv_nok"].mean())
        reading = (
            f"For society the programme's net present value averages {_fmt_nok(m)} "
            f"({'a net gain' if m > 0 else 'a net cost'}), positive in "
            f"{(soc['npv_nok'] > 0).mean():.0%} of "
            f"{len(soc)} runs; transfers such as the stipend move money between the parties but "
            "cancel for society."
        )
    else:
        reading = (
            "The table gives each perspective's net present value, benefit-cost ratio and payback."
        )
    return df, reading


def _public_metrics(evaluation: pd.DataFrame) -> tuple[pd.DataFrame, str]:
    one = evaluation.drop_duplicates("replication")
    cols = {
        "cost_per_extra_employed_person_year_nok": (
            "Programme cost to public budgets per extra employed person-year"
        ),
        "net_budget_effect_nok_per_year": "Net effect on public budgets, equivalent NOK per year",
        "extra_employed_person_years": "Extra employed person-years (undiscounted)",
        "programme_cost_public_pv_nok": "Programme cost to public budgets (PV)",
    }
    rows = []
    for col, label in cols.items():
        x = pd.to_numeric(one[col], errors="coerce").to_numpy(float)
        x = x[np.isfinite(x)]
        is_nok = col.endswith("_nok") or "_nok_" in col
        f = _fmt_nok if is_nok else (lambda v: _fmt_num(v, 1))
        rows.append(
            {
                "measure": label,
                "mean": f(float(x.mean())) if x.size else "–",
                "5 %": f(float(np.quantile(x, 0.05))) if x.size else "–",
                "95 %": f(float(np.quantile(x, 0.95))) if x.size else "–",
            }
        )
    x = pd.to_numeric(one["net_budget_effect_nok_per_year"], errors="coerce").to_numpy(float)
    reading = (
        f"On average the public budgets {'gain' if np.nanmean(x) > 0 else 'pay'} about "
        f"{_fmt_nok(abs(float(np.nanmean(x))))} a year over the analysis horizon (state and "
        "municipality together, equivalent annual amount of the discounted net effect)."
        if x.size
        else ""
    )
    return pd.DataFrame(rows), reading


def _npv_figure(evaluation: pd.DataFrame) -> tuple[Any, str]:
    import plotly.graph_objects as go

    fig = go.Figure()
    for persp, g in evaluation.groupby("perspective", observed=True, sort=False):
        fig.add_trace(
            go.Box(
                x=g["npv_nok"].to_numpy(float) / 1e6,
                name=_PERSPECTIVE_LABELS.get(str(persp), str(persp)),
                boxpoints="all" if len(g) <= 200 else "outliers",
                jitter=0.4,
                pointpos=0,
                orientation="h",
            )
        )
    fig.add_vline(x=0, line_dash="dash", line_color="grey")
    fig.update_layout(
        title="Net present value by perspective",
        xaxis_title="NPV, NOK million (price year)",
        showlegend=False,
        height=380,
        margin={"l": 230, "r": 20, "t": 50, "b": 50},
    )
    spread = evaluation.groupby("perspective", observed=True)["npv_nok"].agg(
        lambda s: s.quantile(0.95) - s.quantile(0.05)
    )
    widest = str(spread.idxmax()) if len(spread) else ""
    reading = (
        f"Each box spans the runs' NPVs; the widest spread is for the {widest} perspective, so "
        "that is where the uncertainty matters most."
    )
    return fig, reading


def _ledger_figure(perspective_ledger: pd.DataFrame) -> tuple[Any, str]:
    import plotly.graph_objects as go

    led = summarize_ledger(perspective_ledger)
    led = led[
        led["perspective"].astype(str).isin(("society", "state", "municipality", "participant"))
    ]
    by = led.groupby(["perspective", "year"], observed=True)["amount_nok"].sum().reset_index()
    fig = go.Figure()
    for persp, g in by.groupby("perspective", observed=True, sort=False):
        fig.add_trace(
            go.Scatter(
                x=g["year"],
                y=g["amount_nok"] / 1e6,
                mode="lines+markers",
                name=_PERSPECTIVE_LABELS.get(str(persp), str(persp)),
            )
        )
    fig.add_hline(y=0, line_dash="dash", line_color="grey")
    fig.update_layout(
        title="Net effect by year (undiscounted, mean over runs)",
        xaxis_title="year",
        yaxis_title="NOK million (price year)",
        height=380,
    )
    soc = by[by["perspective"].astype(str) == "society"].sort_values("year")
    cum = soc["amount_nok"].cumsum().to_numpy()
    if len(cum) and (cum > 0).any():
        turn = int(soc["year"].to_numpy()[np.argmax(cum > 0)])
        reading = (
            "Costs come first and gains later: society's undiscounted cumulative net effect first "
            "turns "
            f"positive in {turn}."
        )
    else:
        reading = "Society's undiscounted cumulative net effect stays negative over the horizon."
    return fig, reading


def _tornado_figure(tornado: pd.DataFrame, base_npv: float) -> tuple[Any, str]:
    import plotly.graph_objects as go

    t = tornado.copy()
    t["swing"] = (t["npv_high"] - t["npv_low"]).abs()
    t = t.sort_values("swing")
    fig = go.Figure()
    for col, name, color in (
        ("npv_low", "parameter at low", "#d0674a"),
        ("npv_high", "parameter at high", "#4a7bd0"),
    ):
        fig.add_trace(
            go.Bar(
                y=t["parameter"],
                x=(t[col] - base_npv) / 1e6,
                base=base_npv / 1e6,
                orientation="h",
                name=name,
                marker_color=color,
                customdata=np.stack(
                    [t["low"] if col == "npv_low" else t["high"], t["switching_value"]], axis=1
                ),
                hovertemplate="%{y}: value %{customdata[0]} → NPV %{x:.1f} M<br>"
                "switching value %{customdata[1]}<extra></extra>",
            )
        )
    fig.update_layout(
        title="Tornado: society NPV when one parameter is at its low or high value",
        xaxis_title="NPV, NOK million",
        barmode="overlay",
        height=max(320, 28 * len(t) + 120),
        margin={"l": 330, "r": 20, "t": 50, "b": 50},
    )
    fig.add_vline(x=base_npv / 1e6, line_color="black")
    if len(t):
        top = t.iloc[-1]
        sv = top["switching_value"]
        sv_text = (
            f"; the NPV changes sign at {top['parameter']} = {sv:,.4g}"
            if pd.notna(sv) and np.isfinite(sv)
            else ""
        )
        reading = (
            f"The NPV is most sensitive to {top['parameter']}: between its low and high value it "
            "moves from "
            f"{_fmt_nok(min(top['npv_low'], top['npv_high']))} to "
            f"{_fmt_nok(max(top['npv_low'], top['npv_high']))}"
            f"{sv_text}."
        )
    else:
        reading = "No parameters were varied."
    return fig, reading


def _sobol_figure(sobol: pd.DataFrame) -> tuple[Any, str]:
    import plotly.graph_objects as go

    s = sobol.sort_values("ST", ascending=False)
    fig = go.Figure(
        [
            go.Bar(
                x=s["parameter"],
                y=s["S1"],
                name="first order S1",
                error_y={"type": "data", "array": s["S1_conf"]},
            ),
            go.Bar(
                x=s["parameter"],
                y=s["ST"],
                name="total order ST",
                error_y={"type": "data", "array": s["ST_conf"]},
            ),
        ]
    )
    fig.update_layout(
        title="Sobol sensitivity indices of society's NPV",
        yaxis_title="share of variance",
        barmode="group",
        height=420,
        xaxis_tickangle=-35,
        margin={"b": 160},
    )
    if len(s):
        top = s.iloc[0]
        inter = float((s["ST"] - s["S1"]).clip(lower=0).sum())
        reading = (
            f"{top['parameter']} accounts for the largest share of the NPV's variance (total order "
            f"{top['ST']:.2f}); gaps between ST and S1 (summing to {inter:.2f}) show interactions."
        )
    else:
        reading = "No Sobol indices were given."
    return fig, reading


def _voi_figure(voi: Mapping[str, Any]) -> tuple[Any, str]:
    """"What to find out next": the society EVPPI of the groups and the top single parameters, ranked,
    with the EVPI as a reference line."""
    import plotly.graph_objects as go

    evpi = float(voi.get("evpi_nok", {}).get("society", 0.0))
    rows = [
        {
            "label": (e.get("group") or e["parameters"][0]).replace("_", " ") if e.get("kind") == "group" else e["parameters"][0],
            "kind": e.get("kind", "parameter"),
            "evppi": float(e["evppi_nok"]),
            "parameters": ", ".join(e["parameters"]),
            "method": e.get("method", ""),
        }
        for e in voi.get("evppi", [])
        if e.get("perspective") == "society"
    ]
    t = pd.DataFrame(rows, columns=["label", "kind", "evppi", "parameters", "method"]).sort_values("evppi")
    fig = go.Figure()
    for kind, name, color in (("group", "group of parameters", "#4a7bd0"), ("parameter", "single parameter", "#9bb7e6")):
        sub = t[t["kind"] == kind]
        fig.add_trace(
            go.Bar(
                y=sub["label"],
                x=sub["evppi"] / 1e6,
                orientation="h",
                name=name,
                marker_color=color,
                customdata=np.stack([sub["parameters"], sub["method"]], axis=1) if len(sub) else None,
                hovertemplate="%{y}: EVPPI %{x:.2f} M NOK<br>%{customdata[0]}<br>%{customdata[1]}<extra></extra>",
            )
        )
    fig.add_vline(x=evpi / 1e6, line_dash="dash", line_color="black", annotation_text="EVPI (everything known)", annotation_position="top")
    fig.update_layout(
        title="What to find out next: value of resolving each uncertainty before deciding (society, per cohort)",
        xaxis_title="expected value of perfect information, NOK million per cohort",
        yaxis={"categoryorder": "array", "categoryarray": list(t["label"])},
        barmode="overlay",
        height=max(320, 26 * len(t) + 140),
        margin={"l": 330, "r": 20, "t": 60, "b": 50},
    )
    pop = voi.get("voi_population", {})
    pop_text = (
        f" Over {pop['cohorts']} cohorts (discounted, {pop.get('discounting', '')}) the EVPI is "
        f"{_fmt_nok(pop['evpi_nok']['society'])}."
        if pop.get("evpi_nok") and "society" in pop["evpi_nok"]
        else ""
    )
    if evpi <= 0:
        reading = "For society the decision is the same in every PSA draw: no further information would change it." + pop_text
    elif len(t):
        top = t.iloc[-1]
        reading = (
            f"Knowing everything before deciding would be worth {_fmt_nok(evpi)} per cohort to society; "
            f"of the uncertainties, resolving {top['label']} is worth the most ({_fmt_nok(top['evppi'])})."
            + pop_text
        )
    else:
        reading = f"EVPI {_fmt_nok(evpi)} per cohort; no parameter varied." + pop_text
    return fig, reading


def write_html_report(
    path: Path | str,
    *,
    evaluation: pd.DataFrame,
    params: ParameterSet,
    manifest: Mapping[str, Any] | None = None,
    perspective_ledger: pd.DataFrame | None = None,
    tornado: pd.DataFrame | None = None,
    sobol: pd.DataFrame | None = None,
    tornado_base_npv_nok: float | None = None,
    title: str = "Ny sjanse – social cost-benefit analysis",
    voi: Mapping[str, Any] | None = None,
) -> Path:
    """Write a self-contained HTML report (plotly.js embedded once, no network needed to view it).

    Sections: perspective table, public-budget measures, NPV distributions per perspective, net
    effect by year (if ``perspective_ledger``), tornado (if ``tornado``), Sobol indices (if
    ``sobol``), what to find out next (if ``voi``), the parameter registry and the manifest. Each figure has a one-sentence reading
    under it.

    Args:
        path: the ``.html`` file to write.
        evaluation: from :func:`model.economics.evaluate` (replications or PSA draws ×
            perspectives).
        params: the parameter registry used.
        manifest: run metadata (nested dicts allowed).
        perspective_ledger: from :func:`model.economics.perspective_ledger` (optional).
        tornado: columns ``parameter, low, high, npv_low, npv_high, switching_value`` (NOK;
            optional).
        sobol: columns ``parameter, S1, S1_conf, ST, ST_conf`` (optional).
        tornado_base_npv_nok: the base-case NPV the tornado bars start from; default: the mean
            society NPV.
        title: the page title.
        voi: the value of information (:func:`model.voi.value_of_information`, or a ``cba.json``
            document holding its keys); if given with ``evppi`` entries, the figure "What to find out
            next" (society EVPPI of the groups and top parameters, EVPI as a reference line).

    Returns:
        The path written.
    """
    manifest = dict(manifest or {})
    sections: list[str] = []
    figures: list[tuple[Any, str]] = []

    def fig_html(fig: Any) -> str:
        first = not figures
        figures.append((fig, ""))
        return figure_html(fig, include_plotlyjs=first, config={"displaylogo": False, "responsive": True})

    price_year = evaluation.attrs.get("price_year", manifest.get("price_year", ""))
    base_year = evaluation.attrs.get("base_year", "")
    discounting = evaluation.attrs.get("discounting", "")
    n_runs = evaluation["replication"].nunique()
    sections.append(
        f"<h1>{html.escape(title)}</h1><p class='meta'>NOK of {html.escape(str(price_year))} "
        "(G-indexed), "
        f"discounted to {html.escape(str(base_year))} ({html.escape(str(discounting))}); {n_runs} "
        "runs. "
        f"Written {dt.datetime.now().isoformat(timespec='seconds')}.</p>"
    )
    table, reading = _perspective_table(evaluation)
    sections.append(
        "<h2>Results by perspective</h2>"
        + _table(table)
        + f"<p class='reading'>{html.escape(reading)}</p>"
    )
    pub, reading = _public_metrics(evaluation)
    sections.append(
        "<h2>Public budgets and cost-effectiveness</h2>"
        + _table(pub, {"mean", "5 %", "95 %"})
        + f"<p class='reading'>{html.escape(reading)}</p>"
    )
    fig, reading = _npv_figure(evaluation)
    sections.append(
        "<h2>NPV distributions</h2>"
        + fig_html(fig)
        + f"<p class='reading'>{html.escape(reading)}</p>"
    )
    if perspective_ledger is not None and len(perspective_ledger):
        fig, reading = _ledger_figure(perspective_ledger)
        sections.append(
            "<h2>Net effect by year</h2>"
            + fig_html(fig)
            + f"<p class='reading'>{html.escape(reading)}</p>"
        )
    if tornado is not None and len(tornado):
        base = tornado_base_npv_nok
        if base is None:
            soc = evaluation[evaluation["perspective"].astype(str) == "society"]
            base = float(soc["npv_nok"].mean()) if len(soc) else 0.0
        fig, reading = _tornado_figure(tornado, base)
        t = tornado.copy()
        for c in ("npv_low", "npv_high"):
            t[c] = t[c].map(_fmt_nok)
        t["switching_value"] = t["switching_value"].map(
            lambda v: "–" if pd.isna(v) else f"{v:,.4g}"
        )
        sections.append(
            "<h2>One-way sensitivity (tornado)</h2>"
            + fig_html(fig)
            + f"<p class='reading'>{html.escape(reading)}</p>"
            + _table(t, {"low", "high"})
        )
    if sobol is not None and len(sobol):
        fig, reading = _sobol_figure(sobol)
        sections.append(
            "<h2>Global sensitivity (Sobol)</h2>"
            + fig_html(fig)
            + f"<p class='reading'>{html.escape(reading)}</p>"
        )
    if voi is not None and voi.get("evppi"):
        fig, reading = _voi_figure(voi)
        sections.append(
            "<h2>What to find out next</h2>"
            + fig_html(fig)
            + f"<p class='reading'>{html.escape(reading)}</p>"
            + "<p class='meta'>"
            + html.escape(
                "Expected value of partial perfect information (EVPPI) of the decision to run the programme, "
                "by the regression method of Strong, Oakley & Brennan (2014) on the PSA draws; "
                f"{voi.get('voi_draws', '')} draws. "
                + str(voi.get("voi_population", {}).get("assumption", ""))
            )
            + "</p>"
        )
    reg = params.to_frame()[
        ["parameter", "value", "unit", "source", "low", "high", "distribution", "basis"]
    ]
    counts = reg["source"].value_counts()
    reg_reading = (
        f"{len(reg)} parameters: "
        + ", ".join(f"{n} {s}" for s, n in counts.items())
        + "; low and high are the 5th and 95th percentiles used in the uncertainty analyses."
    )
    sections.append(
        "<h2>Parameter registry</h2>"
        + f"<p class='reading'>{html.escape(reg_reading)}</p>"
        + "<div class='scroll'>"
        + _table(reg, {"value", "low", "high"})
        + "</div>"
    )
    if manifest:
        man = pd.DataFrame(_flatten(manifest), columns=["key", "value"])
        sections.append("<h2>Manifest</h2>" + _table(man))

    page = (
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
        f"<title>{html.escape(title)}</title><style>{_CSS}</style></head><body>"
        + "\n".join(sections)
        + "</body></html>"
    )
    return _atomic_write(path, lambda tmp: tmp.write_text(page, encoding="utf-8"))
