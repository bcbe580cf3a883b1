"""The assumptions tab: the parameter registry with sources and ranges."""

from __future__ import annotations

from typing import Any

import streamlit as st

import figures as fg
from format import SOURCE_HELP, guard, reading

def render(tab: Any, c: Any) -> None:
    results, names, doc, npv, n_rep, last = c.results, c.names, c.doc, c.npv, c.n_rep, c.last
    mc_note, all_key_names = c.mc_note, c.all_key_names
    with tab, guard("The parameter registry"):
        st.markdown("#### Every number the model uses, with its source")
        c1, c2, c3 = st.columns([2, 2, 2], vertical_alignment="bottom")
        r_pick = c1.selectbox(
            "Scenario",
            range(len(results)),
            format_func=lambda i: f"{fg.LETTERS[i]} · {names[i]}",
            key="reg_pick",
        )
        sources = c2.pills(
            "Source",
            ["calibrated", "literature", "assumption"],
            selection_mode="multi",
            default=["calibrated", "literature", "assumption"],
            key="reg_source",
            help="; ".join(f"{k}: {v}" for k, v in SOURCE_HELP.items()),
        )
        search = c3.text_input(
            "Search names and reasons", key="reg_search", placeholder="e.g. stipend, follow_up, wage"
        )
        reg = results[r_pick]["params"].to_frame()
        shown = reg[reg["source"].isin(sources or [])]
        if search:
            mask = shown["parameter"].str.contains(search, case=False, regex=False) | shown[
                "basis"
            ].str.contains(search, case=False, regex=False)
            shown = shown[mask]
        counts = reg["source"].value_counts()
        reading(
            f"{len(reg)} parameters: "
            + ", ".join(f"{counts.get(s, 0)} {s}" for s in ("calibrated", "literature", "assumption"))
            + f"; showing {len(shown)}. Low and high are the 5th and 95th percentiles used in the uncertainty "
            "analyses; the levers' results rest most on "
            + ", ".join(f"<code>{n}</code>" for n in all_key_names)
            + "."
        )
        shown = shown.assign(lever=shown["parameter"].isin(all_key_names))[
            ["parameter", "source", "value", "low", "high", "unit", "lever", "basis", "distribution"]
        ]
        st.dataframe(
            shown,
            hide_index=True,
            width="stretch",
            height=520,
            column_config={
                "parameter": st.column_config.TextColumn("parameter", width="medium"),
                "lever": st.column_config.CheckboxColumn(
                    "a lever rests on it", help="A key assumption behind a policy lever (model.compare)"
                ),
                "basis": st.column_config.TextColumn("basis (why this value)", width="large"),
                "value": st.column_config.NumberColumn(format="%.4g"),
                "low": st.column_config.NumberColumn(format="%.4g"),
                "high": st.column_config.NumberColumn(format="%.4g"),
            },
        )
