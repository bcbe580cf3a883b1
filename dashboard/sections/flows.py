"""The flows tab: the Sankey diagram of referred persons to outcomes."""

from __future__ import annotations

from typing import Any

import streamlit as st

import figures as fg
from format import G, guard, reading
from page_tables import flow_rows

def render(tab: Any, c: Any) -> None:
    results, names, doc, npv, n_rep, last = c.results, c.names, c.doc, c.npv, c.n_rep, c.last
    mc_note, all_key_names = c.mc_note, c.all_key_names
    with tab, guard("The flow diagram"):
        st.markdown(
            "#### From referral to outcome at the report date", help=f"kartlegging: {G['kartlegging']}"
        )
        per_row = 2
        for start in range(0, len(results), per_row):
            cols = st.columns(per_row, gap="medium")
            for j, (name, res) in enumerate(
                zip(names[start : start + per_row], results[start : start + per_row], strict=True)
            ):
                i = start + j
                sm = res["summary"]
                with cols[j]:
                    st.plotly_chart(
                        fg.sankey(sm, f"{fg.LETTERS[i]} · {name} — {sm['report_date']}"),
                        width="stretch",
                        key=f"sankey{i}",
                    )
                    f = {k: v["mean"] for k, v in sm["flows"].items()}
                    reading(
                        f"Of {f['referred']:,.0f} referred by {sm['report_date']}, {f['participants']:,.0f} "
                        f"({fg.pct(f['participants'] / max(f['referred'], 1))}) were admitted; of them "
                        f"{f['active']:,.0f} were still in the programme, {f['work_or_education']:,.0f} had left "
                        f"for work or education and {f['broke_off']:,.0f} had broken off."
                    )
        with st.expander("The numbers, with 90 % Monte Carlo intervals"):
            fr = flow_rows(results, names)
            st.dataframe(
                fr[fr["group"] == "flow"]
                .pivot_table(index="key", columns="scenario", values="mean", sort=False)
                .round(1),
                width="stretch",
            )
