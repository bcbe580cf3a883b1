"""nysjanse dashboard: compare Ny sjanse scenarios in the browser.

A thin shell over the library (no model logic here): scenarios are loaded and validated by
``model.scenario`` (presets, uploads and lever overrides, exactly as ``--set`` in the CLI), simulated by
``model.runner``, priced by ``model.cba``, compared by ``model.compare`` and explained by
``model.uncertainty`` and ``model.staffing``; downloads are written by ``model.economics`` and
``model.artifacts``. Start it with ``make dashboard`` (port 8501, ``PORT=…`` overrides).

The NPV intervals and P(NPV > 0) are by default over a probabilistic sensitivity analysis (parameter
draws × one replication each, common random numbers: ``model.uncertainty``), the Monte Carlo view
(replications at the point values) is an option; the value of information (``model.voi``) and the
analysis convention sets (``model.conventions``) are on the page, and a plain-language answer
(``model.narrative``) heads the results. Settings read from the environment / URL:
``NYSJANSE_DASHBOARD_REPLICATIONS`` or ``?replications=N`` (the default number of replications, 10);
``NYSJANSE_DASHBOARD_DRAWS`` or ``?draws=N`` (the default PSA draws, 200); ``NYSJANSE_DASHBOARD_WORKERS`` (processes that simulate
replications in parallel; default: the machine's CPUs, at most 8; 1 = in the page's process).
"""

from __future__ import annotations

import sys
import time
import types
from pathlib import Path

import streamlit as st

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))

# The page is run as a script: its own folder goes first on the path, so the sections import as modules.
from format import CSS, G, guard  # noqa: E402
from library_calls import comparison, run_psas, run_scenarios, run_vois  # noqa: E402
from page_tables import npv_rows, psa_difference_rows, psa_npv_rows  # noqa: E402
from sections import (  # noqa: E402
    answer, assumptions, downloads, find_out, flows, inputs, over_time, overview, staffing, why,
)

from model.compare import KEY_ASSUMPTIONS, ScenarioRun  # noqa: E402

st.set_page_config(
    page_title="nysjanse — Ny sjanse scenario dashboard",
    page_icon=":material/explore:",
    layout="wide",
    initial_sidebar_state="expanded",
)

# ================================================================================ page: header and sidebar
st.markdown(CSS, unsafe_allow_html=True)
st.title("Ny sjanse — scenario dashboard", help=G["Ny sjanse"], anchor=False)
st.markdown(
    "<p class='lede'>What would a longer programme, closer follow-up or another stipend achieve for "
    "long-term social-assistance recipients — what would it cost, who pays and who gains? Each scenario is "
    "simulated person by person <b>with and without the programme</b> (the same persons in both), then priced "
    "as a social cost-benefit analysis (R-109).</p>",
    unsafe_allow_html=True,
)

st.session_state.setdefault("uploads", {})
st.session_state.setdefault("selection", list(inputs.DEFAULT_SCENARIOS))

selected, replications, seed, settings = inputs.sidebar()

# ================================================================================ page: levers
current = inputs.levers(selected, seed, replications, settings)

# ================================================================================ page: results
last = st.session_state.get("last")
if last is None:
    st.info(
        "Adjust the levers if you like, then press **Run comparison**."
        + (
            " The defaults compare the national 2005–2006 scheme with a 36-month programme."
            if selected == inputs.DEFAULT_SCENARIOS
            else ""
        ),
        icon=":material/play_circle:",
    )
    st.stop()

st.divider()
st.subheader("③ Results", anchor=False)
if {k: last[k] for k in current} != current:
    st.warning(
        "The settings above have changed since these results were run — press **Run comparison** to "
        "update.",
        icon=":material/update:",
    )

results: list[dict] = []
psas: list[dict] = []
conventions = last.get("conventions", "default")
with guard("The simulation") as ok:
    t_run = time.perf_counter()
    results = run_scenarios(last["scenarios"], last["seed"], last["replications"], conventions)
    if last.get("interval", "psa") == "psa":
        psas = run_psas(last["scenarios"], last["seed"], last["draws"], 1, conventions)
    last.setdefault("seconds", time.perf_counter() - t_run)
if not ok["ok"] or not results:
    st.stop()
voi: list[dict | None] = [None] * len(results)
if psas and last.get("voi"):
    with guard("The value of information"):
        voi = [find_out.digest(v) for v in run_vois(last["scenarios"], psas, last["seed"], last["draws"], conventions)]

names = [r["scenario"].name for r in results]
n_rep = last["replications"]
doc: dict | None = None
if len(results) > 1:
    with guard("Comparing the scenarios"):
        runs = [ScenarioRun(r["scenario"], r["params"], r["evaluation"]) for r in results]
        doc = comparison(tuple(last["hashes"]), conventions, last["seed"], n_rep, runs)
npv = psa_npv_rows(psas, names) if psas else npv_rows(results, names)
psa_diff = psa_difference_rows(psas, names) if len(psas) > 1 else None
all_key_names = sorted({n for names_ in KEY_ASSUMPTIONS.values() for n in names_})
mc_note = (
    f"Intervals are **Monte Carlo intervals** (5–95 % over {n_rep} replications) at the point values of "
    "the parameters: they show simulation noise only, not what we do not know about the parameters. For "
    "the intervals over parameter draws choose *What we do not know* in the sidebar (or run `nysjanse cba`)."
)
n_draws = len(psas[0]["summary"]) if psas else 0
interval_label = (
    f"90 % interval over {n_draws} parameter draws: what we do not know" if psas
    else f"90 % Monte Carlo interval over {n_rep} replications: simulation noise only"
)
interval_note = (
    f"NPV intervals and P(NPV > 0) are **{interval_label}** — a probabilistic sensitivity analysis as in "
    "`nysjanse cba`: each draw takes every uncertain parameter from its distribution (the calibrated ones "
    "jointly from the calibration's posterior) with one replication, the same persons in every draw and "
    "scenario (common random numbers). The flows, the years in work and the tabs after this one are Monte "
    f"Carlo results of {n_rep} replications at the point values (simulation noise only)."
    if psas else mc_note
)
if conventions != "default":
    interval_note += f" Analysis conventions: **{conventions}** (model/defaults/conventions.toml)."

context = types.SimpleNamespace(results=results, names=names, doc=doc, npv=npv, n_rep=n_rep, last=last,
                                mc_note=mc_note, all_key_names=all_key_names, psas=psas, psa_diff=psa_diff,
                                interval_label=interval_label, interval_note=interval_note,
                                conventions=conventions, originals=last["scenarios"], voi=voi)
# The answer goes first but is written last: the tabs may add to its numbers (the tornado, once run).
answer_box = st.container()

tabs = st.tabs(
    [
        ":material/payments: Overview",
        ":material/account_tree: Flows",
        ":material/show_chart: Over time",
        ":material/waterfall_chart: Why the difference",
        ":material/lightbulb: What to find out next",
        ":material/groups: Staffing",
        ":material/fact_check: Assumptions",
        ":material/download: Downloads",
    ]
)

for tab, section in zip(tabs, (overview, flows, over_time, why, find_out, staffing, assumptions, downloads), strict=True):
    section.render(tab, context)
with answer_box:
    answer.render(context)
