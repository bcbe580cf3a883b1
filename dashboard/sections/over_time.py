"""The over-time tab: state shares and the employment gap, month by month."""

from __future__ import annotations

from typing import Any

import streamlit as st

import figures as fg
from format import G, guard, reading

def render(tab: Any, c: Any) -> None:
    results, names, doc, npv, n_rep, last = c.results, c.names, c.doc, c.npv, c.n_rep, c.last
    mc_note, all_key_names = c.mc_note, c.all_key_names
    with tab, guard("The charts over time"):
        st.markdown(
            "#### What the participants do, month by month", help=f"sosialhjelp: {G['sosialhjelp']}"
        )
        st.plotly_chart(
            fg.state_shares(
                [
                    (f"{fg.LETTERS[i]} · {n}", r["states"])
                    for i, (n, r) in enumerate(zip(names, results, strict=True))
                ]
            ),
            width="stretch",
            key="states",
        )
        parts = []
        for i, res in enumerate(results):
            emp = res["evaluation"].employment.groupby("arm", observed=True)["share_employed_2y"].mean()
            parts.append(
                f"{fg.LETTERS[i]}: {fg.pct(emp.get('programme'))} with against {fg.pct(emp.get('counterfactual'))} "
                "without"
            )
        reading(
            "Two years after their start, the share of participants in work is "
            + "; ".join(parts)
            + ". Left: the same persons with the programme; right: without it (the counterfactual)."
        )
        st.markdown("#### The programme's effect on employment")
        st.plotly_chart(
            fg.employment_gap(
                [
                    (f"{fg.LETTERS[i]} · {n}", r["gap"])
                    for i, (n, r) in enumerate(zip(names, results, strict=True))
                ]
            ),
            width="stretch",
            key="gap",
        )
        parts = []
        for i, res in enumerate(results):
            g = res["gap"].dropna(subset=["difference_mean"])
            if len(g):
                top = g.loc[g["difference_mean"].idxmax()]
                end = g.iloc[-1]
                parts.append(
                    f"{fg.LETTERS[i]} peaks at {fg.pp(top['difference_mean'])} ({top['month']}) and ends at "
                    f"{fg.pp(end['difference_mean'])} ({end['month']})"
                )
        reading(
            "Employed share with minus without the programme, in percentage points (band: 5–95 % over "
            "replications): " + "; ".join(parts) + "."
        )
