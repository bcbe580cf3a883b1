"""The what-to-find-out-next tab: the value of information of the society NPV on the page's PSA draws
(``model.voi.value_of_information``: EVPI, EVPPI by parameter group and of single parameters)."""

from __future__ import annotations

from typing import Any

import pandas as pd
import streamlit as st

import figures as fg
from format import guard, reading


def group_label(entry: dict) -> str:
    """A group's name in words: its description up to the colon (``the follow-up effect``)."""
    text = (entry.get("description") or entry.get("group") or "").split(":")[0].strip()
    text = text or ", ".join(entry["parameters"])
    return text[:1].lower() + text[1:]


def digest(doc: dict | None) -> dict | None:
    """The society numbers of a ``value_of_information`` result the page shows: ``evpi``, ``groups``
    (label → EVPPI), ``single`` (parameter → EVPPI), ``method``, ``population``."""
    if not doc:
        return None
    entries = [e for e in doc.get("evppi", []) if e["perspective"] == "society"]
    groups = {group_label(e): e["evppi_nok"] for e in entries if e["kind"] == "group"}
    single = {f"`{e['parameters'][0]}`": e["evppi_nok"] for e in entries if e["kind"] == "parameter"}
    methods = sorted({e["method"] for e in entries})
    return {
        "evpi": doc["evpi_nok"]["society"],
        "groups": groups,
        "single": single,
        "methods": methods,
        "population": doc.get("voi_population", {}),
        "draws": doc.get("voi_draws"),
    }


def render(tab: Any, c: Any) -> None:
    with tab, guard("The value of information"):
        st.markdown("#### What to find out next (value of information, society)")
        if not c.psas:
            st.info(
                "The value of information is computed on the parameter draws: choose *What we do not know* "
                "under *Intervals on the page* in the sidebar and run again.",
                icon=":material/arrow_back:",
            )
            return
        if not any(c.voi):
            st.info(
                "Switch on *Value of information* in the sidebar and run again.", icon=":material/arrow_back:"
            )
            return
        st.markdown(
            "If we could learn a group of parameters exactly before deciding whether to run the programme, "
            "how much better would the decision be on average? That is the **expected value of partial perfect "
            "information** (EVPPI) of the group; for all parameters at once it is the EVPI. Zero means that "
            "no answer the study could give would change the decision (run or not run) for society."
        )
        rows = [
            {"scenario": name, "group": g[:1].upper() + g[1:], "evppi_nok": v, "evpi_nok": d["evpi"]}
            for name, d in zip(c.names, c.voi, strict=True)
            if d
            for g, v in d["groups"].items()
        ]
        frame = pd.DataFrame(rows)
        st.plotly_chart(fg.evppi_bars(frame), width="stretch", key="evppi_bars")
        for i, (name, d) in enumerate(zip(c.names, c.voi, strict=True)):
            if not d:
                continue
            top = max(d["groups"].items(), key=lambda kv: kv[1], default=None)
            cohorts = d["population"].get("cohorts")
            over = d["population"].get("evpi_nok", {}).get("society")
            text = (
                f"<b>{fg.LETTERS[i]} · {name}</b>: perfect information on every parameter would be worth "
                f"{fg.nok(d['evpi'])} per cohort"
                + (f" ({fg.nok(over)} over {cohorts} cohorts, discounted)" if over is not None else "")
            )
            if top and top[1] > 0:
                text += f"; the group most worth finding out is <b>{top[0]}</b> ({fg.nok(top[1])})."
            else:
                text += "; no group is worth paying to resolve: the decision is the same in every draw."
            reading(text)
        with st.expander("Single parameters with the largest EVPPI"):
            single = pd.DataFrame(
                [
                    {"scenario": name, "parameter": k.strip("`"), "evppi_nok": v}
                    for name, d in zip(c.names, c.voi, strict=True)
                    if d
                    for k, v in d["single"].items()
                ]
            )
            st.dataframe(single, hide_index=True, width="stretch")
        methods = sorted({m for d in c.voi if d for m in d["methods"]})
        st.caption(
            f"On the page's {c.voi[0]['draws'] if c.voi[0] else ''} parameter draws (one replication each); "
            "per cohort = the scenario's participants as simulated. Methods: " + "; ".join(methods)
            + ". The same numbers as `nysjanse cba` (cba.json `evpi_nok`, `evppi`) for the same draws."
        )
