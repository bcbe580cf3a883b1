"""The overview tab: society NPV per scenario, NPV by perspective, differences against A (intervals over
the PSA's parameter draws by default, or over Monte Carlo replications)."""

from __future__ import annotations

from typing import Any

import pandas as pd
import streamlit as st

import figures as fg
from format import G, guard, reading, tag
from model.cba import PERSPECTIVES

def render(tab: Any, c: Any) -> None:
    results, names, doc, npv, n_rep, last = c.results, c.names, c.doc, c.npv, c.n_rep, c.last
    psa_diff = c.psa_diff
    society_diff = (
        psa_diff[psa_diff["perspective"] == "society"].set_index("scenario") if psa_diff is not None else None
    )
    spread = "the 5–95 % range over the parameter draws" if c.psas else "the 5–95 % Monte Carlo range"
    with tab, guard("The overview"):
        cards = st.columns(len(results), gap="medium")
        for i, (name, res) in enumerate(zip(names, results, strict=True)):
            row = npv[(npv["scenario"] == name) & (npv["perspective"] == "society")].iloc[0]
            with cards[i]:
                st.markdown(f"{tag(i)} **{name}**", unsafe_allow_html=True)
                delta = None
                if society_diff is not None and i > 0:
                    delta = fg.nok_delta(society_diff.loc[name, "mean"]) + " vs A"
                elif doc and i > 0:
                    delta = fg.nok_delta(doc["difference"][name]["society_npv_nok"]["mean"]) + " vs A"
                st.metric(
                    "Society NPV",
                    fg.nok(row["mean"]),
                    delta=delta,
                    help="Net present value for Norway as a whole (samfunnsøkonomisk analyse, R-109): "
                    f"gains minus costs, discounted, NOK of {res['scenario'].analysis.price_year}. "
                    f"{G['samfunnsøkonomisk analyse']}",
                )
                st.caption(
                    f"{c.interval_label}: {fg.nok(row['p05'])} to {fg.nok(row['p95'])} · "
                    f"P(NPV > 0) = {fg.pct(row['p_npv_positive'])}"
                )
                lv = doc["levels"][name] if doc else None
                m1, m2 = st.columns(2)
                m1.metric(
                    "Participants",
                    f"{res['summary']['flows']['participants']['mean']:,.0f}",
                    help=f"Admitted to the programme by {res['summary']['report_date']} (after kartlegging: "
                    f"{G['kartlegging']})",
                )
                if lv:
                    gain = (
                        lv["employed_person_years_per_participant"]["mean"]
                        - lv["counterfactual_employed_person_years_per_participant"]["mean"]
                    )
                    m2.metric(
                        "Extra years in work",
                        f"{gain:+.2f}",
                        help="Employed person-years per participant over the horizon, with minus without "
                        "the programme.",
                    )
        st.markdown("#### Net present value by perspective")
        st.plotly_chart(fg.npv_bars(npv), width="stretch", key="npv_bars")
        soc = npv[npv["perspective"] == "society"].set_index("scenario")
        stt = npv[npv["perspective"] == "state"].set_index("scenario")
        par = npv[npv["perspective"] == "participant"].set_index("scenario")
        best = soc["mean"].idxmax()
        reading(
            f"For society the best of these is <b>{best}</b> ({fg.nok(soc.loc[best, 'mean'])}); in "
            f"<b>{names[0]}</b> the state's NPV is {fg.nok(stt.loc[names[0], 'mean'])} and the participants' "
            f"{fg.nok(par.loc[names[0], 'mean'])} — the bars show who pays and who gains, the whiskers "
            f"{spread}."
        )
        table = pd.DataFrame(
            {
                f"{fg.LETTERS[i]} · {name}": [
                    f"{fg.nok(r['mean'])}  [{fg.nok(r['p05'])} to {fg.nok(r['p95'])}]  · P>0 {fg.pct(r['p_npv_positive'])}"
                    for _, r in npv[npv["scenario"] == name].iterrows()
                ]
                for i, name in enumerate(names)
            },
            index=[fg.PERSPECTIVE_LABELS[p] for p in PERSPECTIVES],
        )
        st.dataframe(table, width="stretch")
        if psa_diff is not None:
            st.markdown("#### Δ NPV against A over the parameter draws (the same draws and persons in both)")
            ptable = pd.DataFrame(
                {
                    f"{fg.LETTERS[names.index(name)]} · {name} − A": [
                        f"{fg.nok(r['mean'], True)}   [{fg.nok(r['p05'], True)} to {fg.nok(r['p95'], True)}]"
                        f"  · P(better) {fg.pct(r['p_difference_positive'])}"
                        for _, r in d.iterrows()
                    ]
                    for name, d in psa_diff.groupby("scenario", sort=False)
                },
                index=[fg.PERSPECTIVE_LABELS[p] for p in PERSPECTIVES],
            )
            st.dataframe(ptable, width="stretch")
            first = names[1]
            d = society_diff.loc[first]
            reading(
                f"<b>{first}</b> changes the society NPV by {fg.nok(d['mean'], True)} against A (90 % of the "
                f"parameter draws between {fg.nok(d['p05'], True)} and {fg.nok(d['p95'], True)}); it is the "
                f"better of the two in {fg.pct(d['p_difference_positive'])} of the draws."
            )
        if doc and doc["difference"]:
            st.markdown(
                "#### Differences against A (same persons in both)"
                + (" — Monte Carlo: simulation noise at the point values" if c.psas else "")
            )
            measures = [
                (f"{p}_npv_nok", f"Δ NPV, {fg.PERSPECTIVE_LABELS[p]}", lambda x: fg.nok(x, True))
                for p in PERSPECTIVES
            ]
            measures += [
                (
                    "employed_person_years_per_participant",
                    "Δ years in work per participant",
                    lambda x: "–" if x is None else f"{x:+.2f}",
                ),
                ("share_employed_2y", "Δ share in work 2 years after start", fg.pp),
            ]
            dtable = pd.DataFrame(
                {
                    f"{fg.LETTERS[names.index(name)]} · {name} − A": [
                        f"{fmt(d[m]['mean'])}   [{fmt(d[m]['p05'])} to {fmt(d[m]['p95'])}]"
                        for m, _, fmt in measures
                    ]
                    for name, d in doc["difference"].items()
                },
                index=[label_ for _, label_, _ in measures],
            )
            st.dataframe(dtable, width="stretch")
            if not c.psas:
                first = next(iter(doc["difference"]))
                d = doc["difference"][first]["society_npv_nok"]
                reading(
                    f"<b>{first}</b> changes the society NPV by {fg.nok(d['mean'], True)} against A "
                    f"(90 % of replications between {fg.nok(d['p05'], True)} and {fg.nok(d['p95'], True)})."
                )
        st.info(c.interval_note, icon=":material/info:")
