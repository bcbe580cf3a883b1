"""The plain-language answer at the top of the results: one paragraph per scenario, written by
``model.narrative.plain_language_answer`` from the numbers on the page (the PSA's society NPV per
participant and P(NPV > 0), the tornado's swings once it has run, the value of information when shown)."""

from __future__ import annotations

from typing import Any

import streamlit as st

from format import guard, tag
from model.narrative import plain_language_answer
from model.uncertainty import stats


def inputs_for(i: int, c: Any) -> dict:
    """The numbers of scenario ``i`` that the paragraph is written from."""
    res = c.results[i]
    if c.psas:
        draws = c.psas[i]["summary"]
        per = stats(draws["society_npv_per_participant_nok"].to_numpy(dtype=float))
        args: dict = {
            "npv_mean": per["mean"],
            "npv_p05": per["p05"],
            "npv_p95": per["p95"],
            "prob_npv_positive": float((draws["society_npv_nok"] > 0).mean()),
            "interval": f"90 % interval over {len(draws)} parameter draws",
        }
    else:
        row = c.npv[(c.npv["scenario"] == c.names[i]) & (c.npv["perspective"] == "society")].iloc[0]
        args = {
            "npv_mean": row["mean"],
            "npv_p05": row["p05"],
            "npv_p95": row["p95"],
            "prob_npv_positive": row["p_npv_positive"],
            "unit": "in all",
            "interval": "90 % Monte Carlo interval, simulation noise only",
        }
    torn = st.session_state.get("tornado_result")
    if torn and torn["hash"] == (res["scenario"].hash, c.conventions):
        args["sensitivity"] = {f"`{r.parameter}`": r.swing for r in torn["table"].itertuples()}
        args["sensitivity_measure"] = "tornado"
    voi = c.voi[i]
    if voi:
        if "sensitivity" not in args and voi.get("single"):
            args["sensitivity"] = voi["single"]
            args["sensitivity_measure"] = "evppi"
        args["worth_finding_out"] = voi.get("groups")
        args["worth_unit"] = "per cohort"
    return args


def render(c: Any) -> None:
    with guard("The plain-language answer"):
        for i, name in enumerate(c.names):
            text = plain_language_answer(**inputs_for(i, c))
            st.markdown(f"{tag(i)} **{name}.** {text}", unsafe_allow_html=True)
        if not st.session_state.get("tornado_result") and not any(c.voi):
            st.caption(
                "Run the tornado under *Why the difference* (or switch on the value of information) to add "
                "what the answer is most sensitive to."
            )
