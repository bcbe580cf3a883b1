"""The staffing tab: desks over time and the staff sizing (``nysjanse size``)."""

from __future__ import annotations

from typing import Any

import pandas as pd
import streamlit as st

import figures as fg
from format import G, guard, reading
from library_calls import Progress, run_with_bar, sizing_cached

def render(tab: Any, c: Any) -> None:
    results, names, doc, npv, n_rep, last = c.results, c.names, c.doc, c.npv, c.n_rep, c.last
    mc_note, all_key_names = c.mc_note, c.all_key_names
    with tab:
        with guard("The staffing view"):
            st.markdown(
                "#### Places, participants and advisers over time",
                help=f"kontaktperson: {G['kontaktperson']}",
            )
            st.plotly_chart(
                fg.staffing(
                    [
                        (f"{fg.LETTERS[i]} · {n}", r["desks"])
                        for i, (n, r) in enumerate(zip(names, results, strict=True))
                    ]
                ),
                width="stretch",
                key="staffing",
            )
            parts = []
            for i, res in enumerate(results):
                d = res["desks"]
                top = d.loc[d["active"].idxmax()]
                parts.append(
                    f"{fg.LETTERS[i]} peaks at {top['active']:,.0f} participants in {top['month']:%b %Y} "
                    f"({top['caseload_per_adviser']:.1f} per adviser, {fg.pct(top['utilisation'])} of the places "
                    f"filled), with up to {d['waiting'].max():,.0f} waiting"
                )
            reading(
                "; ".join(parts)
                + ". Solid: participants; dotted: places; dashed: waiting list (means over "
                "replications)."
            )
        with guard("Staff sizing"):
            with st.expander(
                "How many advisers keep the wait short? (staff sizing, like `nysjanse size`)"
            ):
                c1, c2, c3, c4 = st.columns(4, vertical_alignment="bottom")
                s_pick = c1.selectbox(
                    "Scenario",
                    range(len(results)),
                    format_func=lambda i: f"{fg.LETTERS[i]} · {names[i]}",
                    key="size_pick",
                )
                weeks = float(
                    c2.number_input(
                        "Longest wait, weeks", 1.0, 52.0, 8.0, 1.0, format="%.0f", key="size_weeks"
                    )
                )
                level_ = float(
                    c3.slider("for this share of people", 0.5, 0.99, 0.8, 0.01, key="size_level")
                )
                size_reps = int(c4.number_input("Replications", 1, 20, 2, 1, key="size_reps"))
                st.caption(
                    "Tries 1, 2, 3 … advisers (places in proportion to the planned staff) until the wait from "
                    "the admission decision to the start is within the limit for the chosen share; then prices "
                    "the answer ± 2 advisers. Takes from seconds to about a minute."
                )
                original = c.originals[s_pick]  # as entered: the cached call applies the conventions
                skey = (original.hash, c.conventions, last["seed"], size_reps, weeks, level_)
                if st.button("Size the staff", key="size_run"):
                    st.session_state["sizing"] = skey
                if st.session_state.get("sizing") == skey:
                    sized_doc = run_with_bar(
                        "Staff sizing",
                        sizing_cached,
                        (*skey, original),
                        Progress(60),
                    )
                    a, b = st.columns(2)
                    a.metric(
                        "Advisers needed (simulation)",
                        f"{sized_doc['advisers']}",
                        help=f"kontaktperson: {G['kontaktperson']}",
                    )
                    b.metric(
                        "Erlang-C rough guide",
                        f"{sized_doc['erlang_c_advisers'] or '–'}",
                        help="A steady M/M/c queue; a rough guide for a young project.",
                    )
                    reading(
                        f"With {sized_doc['advisers']} advisers {fg.pct(sized_doc['p_wait_within'])} of those found "
                        f"eligible start within {weeks:g} weeks of the decision."
                    )
                    table_s = pd.DataFrame(sized_doc["table"])
                    priced = (
                        table_s[table_s.get("society_npv_nok", pd.Series(dtype=float)).notna()]
                        if "society_npv_nok" in table_s
                        else table_s
                    )
                    st.dataframe(priced, hide_index=True, width="stretch")
                    with st.expander(f"Every adviser count tried ({len(table_s)})"):
                        st.dataframe(table_s, hide_index=True, width="stretch")
