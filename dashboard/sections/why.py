"""The why-the-difference tab: the ΔNPV waterfall and the tornado."""

from __future__ import annotations

from typing import Any

import numpy as np
import streamlit as st

import figures as fg
from format import G, guard, reading
from library_calls import Progress, SECONDS_PER_REPLICATION, run_with_bar, tornado_cached
from model.compare import KEY_ASSUMPTIONS, changed_levers
from model.uncertainty import economic_parameter_names

def render(tab: Any, c: Any) -> None:
    results, names, doc, npv, n_rep, last = c.results, c.names, c.doc, c.npv, c.n_rep, c.last
    mc_note, all_key_names = c.mc_note, c.all_key_names
    with tab:
        with guard("The waterfall"):
            st.markdown("#### Why the society NPV differs", help=f"{G['samfunnsøkonomisk analyse']}")
            if doc and doc["waterfalls"]:
                others = list(doc["waterfalls"])
                pick = (
                    st.selectbox("Compare with A", others, key="wf_pick")
                    if len(others) > 1
                    else others[0]
                )
                items = doc["waterfalls"][pick]
                total = doc["difference"][pick]["society_npv_nok_pooled"]
                by_mech = {it["mechanism"]: it["nok"] for it in items}
                exits = by_mech.get("more or fewer exits to work", 0.0)
                retention = by_mech.get("retention in work", 0.0)
                if abs(exits) + abs(retention) > 3 * max(abs(exits + retention), 1e6):
                    # The split of employment into more exits vs longer retention is ill-conditioned when the
                    # employed person-years barely differ: show the two together (their sum is exact).
                    items = [
                        {
                            "mechanism": "employment (more exits and retention together)",
                            "nok": exits + retention,
                        },
                        *[
                            it
                            for it in items
                            if it["mechanism"]
                            not in ("more or fewer exits to work", "retention in work")
                        ],
                    ]
                    st.caption(
                        f"Employment is shown as one bar: the employed person-years barely differ, so the "
                        f"library's split into *more exits to work* ({fg.nok(exits, True)}) and *retention in "
                        f"work* ({fg.nok(retention, True)}) would be two large bars that cancel."
                    )
                st.plotly_chart(
                    fg.waterfall_figure(items, total, f"{pick} against {names[0]}"),
                    width="stretch",
                    key="waterfall",
                )
                pos = max(items, key=lambda it: it["nok"])
                neg = min(items, key=lambda it: it["nok"])
                reading(
                    f"{pick} changes the society NPV by <b>{fg.nok(total, True)}</b> against A: the biggest gain "
                    f"is <b>{pos['mechanism']}</b> ({fg.nok(pos['nok'], True)}), the biggest cost <b>{neg['mechanism']}"
                    f"</b> ({fg.nok(neg['nok'], True)}). Each bar is one mechanism; they add up to the blue total."
                )
            else:
                st.info(
                    "Pick two or more scenarios to see what makes up the difference.",
                    icon=":material/arrow_back:",
                )
        with guard("The tornado"):
            st.markdown("#### How much does the answer rest on assumptions? (tornado)")
            eco = economic_parameter_names()
            st.markdown(
                "Each bar moves one parameter to its 5th and its 95th percentile, all others at their point values, "
                "and shows the scenario's society NPV. To keep it quick it runs on (1) the behavioural assumptions "
                "behind the levers in which the scenario differs from A (all of them for A itself), re-simulated with "
                "the same persons, and (2) every uncertain **economic** parameter (prices, wages, costs), re-priced "
                "without re-simulating — which is cheap because the simulation never reads them. The full one-way "
                "analysis over all parameters, and the probabilistic sensitivity analysis, are in `nysjanse cba`."
            )
            c1, c2, c3 = st.columns([2, 1, 1], vertical_alignment="bottom")
            t_pick = c1.selectbox(
                "Scenario",
                range(len(results)),
                format_func=lambda i: f"{fg.LETTERS[i]} · {names[i]}",
                index=min(1, len(results) - 1),
                key="tornado_pick",
            )
            inner = int(
                c2.number_input(
                    "Replications per point",
                    2,
                    50,
                    min(n_rep, 4),
                    1,
                    key="tornado_inner",
                    help="Inner replications for each parameter setting (common random numbers).",
                )
            )
            res_t = results[t_pick]
            levers_t = changed_levers(results[0]["scenario"], res_t["scenario"]) if t_pick > 0 else []
            key_names = (
                sorted({n for lv_ in levers_t for n in KEY_ASSUMPTIONS.get(lv_, ())})
                if levers_t
                else all_key_names
            )
            graded = [p.name for p in res_t["params"].graded()]
            t_names = tuple(sorted(n for n in graded if n in eco or n in key_names))
            st.caption(
                "Re-simulated here: "
                + (", ".join(f"`{n}`" for n in key_names if n in graded) or "none")
                + f"; re-priced: {sum(1 for n in t_names if n in eco)} economic parameters."
            )
            n_beh = sum(1 for n in t_names if n not in eco)
            est = (1 + 2 * n_beh) * inner * SECONDS_PER_REPLICATION + 2 * (
                len(t_names) - n_beh
            ) * 0.1 * inner
            go_t = c3.button(f"Run tornado (~{est:.0f} s)", key="tornado_run", width="stretch")
            original = c.originals[t_pick]  # as entered: the cached call applies the conventions
            tkey = (original.hash, c.conventions, last["seed"], inner, t_names)
            if go_t:
                st.session_state["tornado"] = tkey
            if st.session_state.get("tornado") == tkey:
                prog = Progress(2 * len(t_names))
                table_t, base_npv = run_with_bar(
                    f"Tornado: {len(t_names)} parameters × 2",
                    tornado_cached,
                    (*tkey, original),
                    prog,
                )
                st.session_state["tornado_result"] = {
                    "hash": (res_t["scenario"].hash, c.conventions),
                    "table": table_t,
                    "base": base_npv,
                }
                st.plotly_chart(
                    fg.tornado_figure(table_t, base_npv), width="stretch", key="tornado_fig"
                )
                top = table_t.iloc[0]
                sv = top["switching_value"]
                reading(
                    f"The society NPV of {names[t_pick]} ({fg.nok(base_npv)} with {inner} replications) moves most "
                    f"with <b>{top['parameter']}</b>: {fg.nok(top['npv_low'])} at {top['low']:.4g} and "
                    f"{fg.nok(top['npv_high'])} at {top['high']:.4g}"
                    + (
                        f"; it would be zero at {sv:.4g}."
                        if sv is not None and np.isfinite(sv)
                        else "."
                    )
                )
                with st.expander("The tornado as a table"):
                    st.dataframe(table_t, hide_index=True, width="stretch")
