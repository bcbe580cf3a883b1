"""Plotly figures and number formats for the dashboard: presentation only, no model logic.

Every function takes tables or documents the library produced (``summarize``, ``compare_runs``,
``employment_gap_by_month``, ``desk_months``, ``tornado``) and returns a figure or a string.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

FONT = "Helvetica Neue, Helvetica, Arial, sans-serif"
INK = "#1f2933"
MUTED = "#616e7c"
GRID = "#e4e7eb"
# One colour per compared scenario (A, B, C, D), colour-blind safe (Okabe-Ito).
SCENARIO_COLORS = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00")
LETTERS = "ABCDEF"

STATE_ORDER = ("in_programme", "employed", "education", "social_assistance", "other")
STATE_LABELS = {
    "in_programme": "In the programme",
    "employed": "Employed",
    "education": "In education",
    "social_assistance": "On social assistance (sosialhjelp)",
    "other": "Other (moved, leave, other agency)",
}
STATE_COLORS = {
    "in_programme": "#4C78A8",
    "employed": "#2E9E5B",
    "education": "#8BC7A6",
    "social_assistance": "#E07B54",
    "other": "#BAB0AC",
}
PERSPECTIVE_LABELS = {
    "society": "Society",
    "state": "State",
    "municipality": "Municipality",
    "participant": "Participants",
}
NOT_ADMITTED_LABELS = {
    "other_measures": "other measures",
    "work_or_education": "went to work or education",
    "self_supporting": "became self-supporting",
    "no_show": "did not show up",
    "moved": "moved",
    "no_childcare": "no childcare",
    "disability_pension": "disability pension",
    "residence_under_2_years": "under 2 years in the municipality",
    "social_assistance_under_6_months": "under 6 months on social assistance",
    "no_need": "no need",
    "other": "other (not specified)",
}


# --------------------------------------------------------------------------------------------- formats
def nok(x: float | None, signed: bool = False) -> str:
    """``NOK 12.3 M``-style amounts (ASCII minus, so the text is searchable)."""
    if x is None or (isinstance(x, float) and not math.isfinite(x)):
        return "NOK –"
    sign = "+" if signed and x > 0 else ("-" if x < 0 else "")
    a = abs(x)
    if a >= 1e9:
        body = f"{a / 1e9:,.2f} bn"
    elif a >= 1e6:
        body = f"{a / 1e6:,.1f} M"
    elif a >= 1e3:
        body = f"{a / 1e3:,.0f} k"
    else:
        body = f"{a:,.0f}"
    return f"NOK {sign}{body}"


def nok_delta(x: float | None) -> str:
    """A difference as ``+NOK 1.2 M`` / ``-NOK 1.2 M`` (the sign first, as Streamlit's metric arrows expect)."""
    if x is None or (isinstance(x, float) and not math.isfinite(x)):
        return "NOK –"
    return ("-" if x < 0 else "+") + nok(abs(x))


def pct(x: float | None, digits: int = 0) -> str:
    """A share as a percentage."""
    if x is None or (isinstance(x, float) and not math.isfinite(x)):
        return "–"
    return f"{100 * x:.{digits}f} %"


def pp(x: float | None) -> str:
    """A difference of shares in percentage points."""
    if x is None or (isinstance(x, float) and not math.isfinite(x)):
        return "–"
    return f"{100 * x:+.1f} pp"


def color(i: int) -> str:
    """The colour of the ``i``-th scenario."""
    return SCENARIO_COLORS[i % len(SCENARIO_COLORS)]


def _rgba(hex_color: str, alpha: float) -> str:
    h = hex_color.lstrip("#")
    r, g, b = (int(h[k : k + 2], 16) for k in (0, 2, 4))
    return f"rgba({r},{g},{b},{alpha})"


def _style(fig: go.Figure, height: int, legend: bool = True) -> go.Figure:
    fig.update_layout(
        height=height,
        template="plotly_white",
        font={"family": FONT, "color": INK, "size": 13},
        margin={"l": 10, "r": 10, "t": 40, "b": 10},
        paper_bgcolor="rgba(0,0,0,0)",
        plot_bgcolor="rgba(0,0,0,0)",
        showlegend=legend,
        legend={
            "orientation": "h",
            "yanchor": "bottom",
            "y": 1.02,
            "xanchor": "left",
            "x": 0,
            "title": None,
        },
        hoverlabel={"font": {"family": FONT}},
    )
    fig.update_xaxes(gridcolor=GRID, zerolinecolor=GRID)
    fig.update_yaxes(gridcolor=GRID, zerolinecolor="#9aa5b1")
    return fig


def _month_axis(months: Sequence[str]) -> pd.DatetimeIndex:
    return (
        pd.to_datetime(pd.Series(list(months)).astype(str) + "-01")
        if len(months)
        else pd.DatetimeIndex([])
    )


# --------------------------------------------------------------------------------------------- sankey
def sankey(summary: Mapping, title: str) -> go.Figure:
    """Referral → admitted / not admitted / in assessment / waiting → the participants' outcomes and the
    reasons for not being admitted, at the report date (means over replications)."""
    f = {k: float(v["mean"]) for k, v in summary["flows"].items()}
    reasons = {k: float(v["mean"]) for k, v in summary.get("not_admitted_reasons", {}).items()}
    height_px, pad_px = 500 - 50, 12  # plot height (figure less margins) and the gap between nodes
    pad = pad_px / height_px

    first = [
        # Small groups first, so their labels sit above the big flows and clear of the reasons below.
        (
            "under_assessment",
            "In assessment (kartlegging)",
            f.get("under_assessment", 0.0),
            "#9AA5B1",
        ),
        ("waiting", "Waiting for a place", f.get("waiting", 0.0), "#CBD2D9"),
        ("participants", "Admitted", f["participants"], "#4C78A8"),
        ("not_admitted", "Not admitted", f["not_admitted"], "#C5835B"),
    ]
    outcomes = [
        ("active", "Still in the programme", f.get("active", 0.0), "#4C78A8"),
        (
            "work_or_education",
            "Left for work or education",
            f.get("work_or_education", 0.0),
            "#2E9E5B",
        ),
        ("completed", "Completed", f.get("completed", 0.0), "#8BC7A6"),
        ("broke_off", "Broke off", f.get("broke_off", 0.0), "#D64545"),
        ("discharged_other", "Discharged (other)", f.get("discharged_other", 0.0), "#BAB0AC"),
    ]
    ranked = sorted(((v, k) for k, v in reasons.items() if v >= 0.5), reverse=True)
    shown, rest = ranked[:3], sum(v for v, _ in ranked[3:])
    why = [
        (f"r:{k}", NOT_ADMITTED_LABELS.get(k, k.replace("_", " ")), v, "#E3B58F") for v, k in shown
    ]
    if rest >= 0.5:
        why.append(("r:rest", "smaller reasons together", rest, "#E3B58F"))
    columns = [
        [("referred", "Referred", f["referred"], "#52606d")],
        [nd for nd in first if nd[2] >= 0.5],
        [nd for nd in outcomes + why if nd[2] >= 0.5],
    ]
    # The same vertical scale as plotly's: the fullest column (values and gaps) fills the height.
    scale = min(
        (1 - pad * (len(c) - 1)) / max(sum(v for *_, v, _ in c), 1e-9) for c in columns if c
    )

    labels: list[str] = []
    colors: list[str] = []
    xs: list[float] = []
    ys: list[float] = []
    index: dict[str, int] = {}
    span: dict[str, tuple[float, float]] = {}

    def place(nodes: list[tuple[str, str, float, str]], x: float, top: float) -> float:
        """Stack ``nodes`` (key, label, value, colour) downwards from ``top``; returns the bottom."""
        y = top
        for key, label, value, col in nodes:
            h = value * scale
            index[key] = len(labels)
            labels.append(f"{label}: {value:,.0f}")
            colors.append(col)
            xs.append(x)
            ys.append(y + h / 2)
            span[key] = (y, y + h)
            y += h + pad
        return y - pad

    place(columns[0], 0.001, 0.0)
    place(columns[1], 0.33, 0.0)
    out_nodes = [nd for nd in columns[2] if not nd[0].startswith("r:")]
    why_nodes = [nd for nd in columns[2] if nd[0].startswith("r:")]

    def extent(nodes: list) -> float:
        return sum(v for *_, v, _ in nodes) * scale + pad * max(len(nodes) - 1, 0)

    # Outcomes beside the admitted, reasons beside the not admitted, moved up as needed to fit.
    room = 1.0 - extent(why_nodes) - (pad if why_nodes else 0.0)
    bottom = place(
        out_nodes,
        0.999,
        max(min(span.get("participants", (0.0, 0.0))[0], room - extent(out_nodes)), 0.0),
    )
    place(
        why_nodes,
        0.999,
        max(min(span.get("not_admitted", (0.0, 0.0))[0], 1.0 - extent(why_nodes)), bottom + pad),
    )
    # Keep every node inside the plot (y is the node's centre).
    ys = [min(max(y, 0.001), 0.999) for y in ys]

    src, dst, val, lcol = [], [], [], []

    def link(a: str, b: str, v: float) -> None:
        if v >= 0.5 and a in index and b in index:
            src.append(index[a])
            dst.append(index[b])
            val.append(v)
            lcol.append(_rgba(colors[index[b]], 0.35))

    for key, _, v, _ in first:
        link("referred", key, v)
    for key, _, v, _ in outcomes:
        link("participants", key, v)
    for key, _, v, _ in why:
        link("not_admitted", key, v)

    fig = go.Figure(
        go.Sankey(
            arrangement="fixed",
            valueformat=",.0f",
            node={
                "label": labels,
                "color": colors,
                "pad": 12,
                "thickness": 16,
                "line": {"width": 0},
                "x": xs,
                "y": ys,
                "hovertemplate": "%{label}<extra></extra>",
            },
            link={
                "source": src,
                "target": dst,
                "value": val,
                "color": lcol,
                "hovertemplate": "%{source.label} → %{target.label}<extra></extra>",
            },
            textfont={"family": FONT, "size": 12, "color": INK},
        )
    )
    fig.update_layout(title={"text": title, "font": {"size": 15}, "x": 0, "xanchor": "left"})
    return _style(fig, 500, legend=False)


# --------------------------------------------------------------------------------------------- states
def state_shares(tables: Sequence[tuple[str, pd.DataFrame]]) -> go.Figure:
    """Stacked monthly state shares of the participants: one row per scenario, programme vs
    counterfactual arm side by side."""
    n = len(tables)
    titles = []
    for name, _ in tables:
        titles += [f"{name} — with the programme", f"{name} — without (counterfactual)"]
    fig = make_subplots(
        rows=n,
        cols=2,
        shared_xaxes=True,
        shared_yaxes=True,
        subplot_titles=titles,
        vertical_spacing=0.12 / max(n - 1, 1) if n > 1 else 0.1,
        horizontal_spacing=0.03,
    )
    for r, (_name, df) in enumerate(tables, start=1):
        for c, arm in enumerate(("programme", "counterfactual"), start=1):
            sub = df[df["arm"].astype(str) == arm]
            x = _month_axis(sub["month"])
            for state in STATE_ORDER:
                fig.add_trace(
                    go.Scatter(
                        x=x,
                        y=sub[state].to_numpy(),
                        name=STATE_LABELS[state],
                        legendgroup=state,
                        showlegend=(r == 1 and c == 1),
                        stackgroup=f"s{r}{c}",
                        mode="lines",
                        line={"width": 0.5, "color": STATE_COLORS[state]},
                        fillcolor=STATE_COLORS[state],
                        hovertemplate="%{x|%b %Y}: %{y:.0%}<extra>"
                        + STATE_LABELS[state]
                        + "</extra>",
                    ),
                    row=r,
                    col=c,
                )
    fig.update_yaxes(tickformat=".0%", range=[0, 1])
    for ann in fig.layout.annotations:
        ann.font = {"size": 13, "color": MUTED}
    height = 250 * n + 120
    _style(fig, height)
    fig.update_layout(
        legend={
            "orientation": "h",
            "yanchor": "bottom",
            "y": 1 + 46 / (height - 120),
            "xanchor": "left",
            "x": 0,
        },
        margin={"t": 90, "b": 30},
    )
    return fig


def employment_gap(gaps: Sequence[tuple[str, pd.DataFrame]]) -> go.Figure:
    """Programme − counterfactual employed share of the participants per month, with 5–95 % bands."""
    fig = go.Figure()
    for i, (name, g) in enumerate(gaps):
        x = _month_axis(g["month"])
        col = color(i)
        fig.add_trace(
            go.Scatter(
                x=list(x) + list(x[::-1]),
                y=list(g["difference_p95"]) + list(g["difference_p05"][::-1]),
                fill="toself",
                fillcolor=_rgba(col, 0.18),
                line={"width": 0},
                hoverinfo="skip",
                showlegend=False,
                legendgroup=name,
            )
        )
        fig.add_trace(
            go.Scatter(
                x=x,
                y=g["difference_mean"],
                name=name,
                legendgroup=name,
                mode="lines",
                line={"color": col, "width": 2.5},
                customdata=g[["difference_p05", "difference_p95"]].to_numpy(),
                hovertemplate="%{x|%b %Y}: %{y:+.1%} (5–95 %: %{customdata[0]:+.1%} to "
                "%{customdata[1]:+.1%})<extra>" + name + "</extra>",
            )
        )
    fig.add_hline(y=0, line={"color": "#9aa5b1", "width": 1})
    fig.update_yaxes(tickformat="+.0%", title="employed: with − without the programme")
    return _style(fig, 380)


# --------------------------------------------------------------------------------------------- money
def npv_bars(rows: pd.DataFrame) -> go.Figure:
    """NPV per perspective and scenario (NOK million) with 5–95 % intervals (over parameter draws or
    over Monte Carlo replications, as the rows say).

    ``rows``: scenario, perspective, mean, p05, p95 (NOK).
    """
    fig = go.Figure()
    for i, (name, df) in enumerate(rows.groupby("scenario", sort=False)):
        fig.add_trace(
            go.Bar(
                x=[PERSPECTIVE_LABELS.get(p, p) for p in df["perspective"]],
                y=df["mean"] / 1e6,
                name=name,
                marker_color=color(i),
                error_y={
                    "type": "data",
                    "symmetric": False,
                    "array": (df["p95"] - df["mean"]) / 1e6,
                    "arrayminus": (df["mean"] - df["p05"]) / 1e6,
                    "color": "#3e4c59",
                    "thickness": 1.2,
                },
                customdata=df[["p05", "p95"]].to_numpy() / 1e6,
                hovertemplate="%{x}: NOK %{y:,.1f} M (5–95 %: %{customdata[0]:,.1f} to %{customdata[1]:,.1f})"
                "<extra>" + name + "</extra>",
            )
        )
    fig.add_hline(y=0, line={"color": "#52606d", "width": 1})
    fig.update_layout(barmode="group", bargap=0.25)
    fig.update_yaxes(title="NPV, NOK million", tickformat=",.0f")
    return _style(fig, 400)


def waterfall_figure(items: Sequence[Mapping], total: float, title: str) -> go.Figure:
    """The society ΔNPV split by mechanism (``model.compare.waterfall``)."""
    names = [str(it["mechanism"]) for it in items]
    values = [float(it["nok"]) / 1e6 for it in items]
    fig = go.Figure(
        go.Waterfall(
            x=[_wrap(n[0].upper() + n[1:]) for n in names] + ["<b>Society ΔNPV</b>"],
            y=values + [total / 1e6],
            measure=["relative"] * len(values) + ["total"],
            text=[f"{v:+,.1f}" for v in values] + [f"{total / 1e6:+,.1f}"],
            textposition="outside",
            connector={"line": {"color": "#9aa5b1", "width": 1, "dash": "dot"}},
            increasing={"marker": {"color": "#2E9E5B"}},
            decreasing={"marker": {"color": "#D64545"}},
            totals={"marker": {"color": "#0072B2"}},
            hovertemplate="%{x}: NOK %{y:+,.1f} M<extra></extra>",
        )
    )
    fig.update_layout(title={"text": title, "font": {"size": 15}, "x": 0, "xanchor": "left"})
    fig.update_yaxes(title="NOK million", tickformat=",.0f")
    fig.update_xaxes(tickangle=0)
    return _style(fig, 460, legend=False)


def _wrap(text: str, width: int = 16) -> str:
    """Break a tick label into lines of about ``width`` characters."""
    lines, line = [], ""
    for word in text.split():
        if line and len(line) + 1 + len(word) > width:
            lines.append(line)
            line = word
        else:
            line = f"{line} {word}".strip()
    return "<br>".join([*lines, line])


def evppi_bars(rows: pd.DataFrame) -> go.Figure:
    """What to find out next: the EVPPI of each parameter group (society), NOK million, one bar per
    scenario, the groups ranked by their largest EVPPI.

    ``rows``: scenario, group (a label), evppi_nok, evpi_nok.
    """
    order = rows.groupby("group", sort=False)["evppi_nok"].max().sort_values().index.tolist()
    fig = go.Figure()
    for i, (name, df) in enumerate(rows.groupby("scenario", sort=False)):
        df = df.set_index("group").reindex(order)
        fig.add_trace(
            go.Bar(
                y=[_wrap(g, 28) for g in order],
                x=df["evppi_nok"] / 1e6,
                orientation="h",
                name=name,
                marker_color=color(i),
                customdata=df[["evpi_nok"]].to_numpy() / 1e6,
                hovertemplate="%{y}: NOK %{x:,.2f} M (EVPI of all parameters: NOK %{customdata[0]:,.2f} M)"
                "<extra>" + name + "</extra>",
            )
        )
    fig.update_layout(barmode="group", bargap=0.25)
    fig.update_xaxes(title="EVPPI for society, NOK million per cohort", tickformat=",.1f", rangemode="tozero")
    return _style(fig, 150 + 40 * len(order))


def tornado_figure(table: pd.DataFrame, base_npv: float, top: int = 15) -> go.Figure:
    """One-way sensitivity of the society NPV: each parameter at its 5th and 95th percentile."""
    t = table.head(top).iloc[::-1]
    base = base_npv / 1e6
    labels = [str(p) for p in t["parameter"]]
    fig = go.Figure()
    fig.add_trace(
        go.Bar(
            y=labels,
            x=t["npv_low"] / 1e6 - base,
            base=base,
            orientation="h",
            name="at the 5th percentile",
            marker_color="#56B4E9",
            customdata=t[["low"]].to_numpy(),
            hovertemplate="%{y} = %{customdata[0]:.4g}: NOK %{x:+,.1f} M vs base<extra></extra>",
        )
    )
    fig.add_trace(
        go.Bar(
            y=labels,
            x=t["npv_high"] / 1e6 - base,
            base=base,
            orientation="h",
            name="at the 95th percentile",
            marker_color="#0072B2",
            customdata=t[["high"]].to_numpy(),
            hovertemplate="%{y} = %{customdata[0]:.4g}: NOK %{x:+,.1f} M vs base<extra></extra>",
        )
    )
    fig.add_vline(x=base, line={"color": INK, "width": 1.5})
    fig.add_vline(x=0, line={"color": "#D64545", "width": 1, "dash": "dot"})
    fig.update_layout(barmode="group", bargap=0.25, bargroupgap=0.05)
    fig.update_xaxes(title="Society NPV, NOK million", tickformat=",.0f")
    return _style(fig, 130 + 34 * len(t))


# --------------------------------------------------------------------------------------------- staffing
def staffing(desks: Sequence[tuple[str, pd.DataFrame]]) -> go.Figure:
    """Places, participants and the waiting list (left); participants per adviser FTE (right)."""
    fig = make_subplots(
        rows=1,
        cols=2,
        subplot_titles=(
            "Participants (solid), places (dotted), waiting (dashed)",
            "Participants per adviser (FTE in post)",
        ),
        horizontal_spacing=0.08,
    )
    for i, (name, d) in enumerate(desks):
        col = color(i)
        for metric, dash, label in (
            ("active", "solid", "participants"),
            ("capacity", "dot", "places"),
            ("waiting", "dash", "waiting"),
        ):
            fig.add_trace(
                go.Scatter(
                    x=d["month"],
                    y=d[metric],
                    mode="lines",
                    name=name,
                    line={"color": col, "dash": dash, "width": 2.4 if metric == "active" else 1.5},
                    legendgroup=name,
                    showlegend=metric == "active",
                    hovertemplate="%{x|%b %Y}: %{y:,.0f} " + label + "<extra>" + name + "</extra>",
                ),
                row=1,
                col=1,
            )
        fig.add_trace(
            go.Scatter(
                x=d["month"],
                y=d["caseload_per_adviser"],
                mode="lines",
                name=name,
                line={"color": col, "width": 2.4},
                legendgroup=name,
                showlegend=False,
                customdata=d[["utilisation"]].to_numpy(),
                hovertemplate="%{x|%b %Y}: %{y:.1f} per adviser, places %{customdata[0]:.0%} "
                "filled<extra>" + name + "</extra>",
            ),
            row=1,
            col=2,
        )
    for ann in fig.layout.annotations:
        ann.font = {"size": 13, "color": MUTED}
    fig.update_yaxes(title="persons", row=1, col=1)
    fig.update_yaxes(title="participants per adviser FTE", row=1, col=2)
    # Show the period in which the programme runs (until the last participant leaves, plus a quarter).
    busy = [d.loc[(d["active"] > 0.5) | (d["waiting"] > 0.5), "month"] for _, d in desks]
    busy = [b for b in busy if len(b)]
    if busy:
        first = min(b.min() for b in busy) - pd.DateOffset(months=2)
        last = max(b.max() for b in busy) + pd.DateOffset(months=3)
        fig.update_xaxes(range=[first, last])
    _style(fig, 420)
    fig.update_layout(
        legend={"orientation": "h", "yanchor": "top", "y": -0.1, "xanchor": "left", "x": 0},
        margin={"t": 30, "b": 10},
    )
    return fig
