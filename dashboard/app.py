"""nysjanse dashboard: compare Ny sjanse scenarios in the browser.

A thin shell over the library (no model logic here): scenarios are loaded and validated by
``model.scenario`` (presets, uploads and lever overrides, exactly as ``--set`` in the CLI), simulated by
``model.runner``, priced by ``model.cba``, compared by ``model.compare`` and explained by
``model.uncertainty`` and ``model.staffing``; downloads are written by ``model.economics`` and
``model.artifacts``. Start it with ``make dashboard`` (port 8501, ``PORT=…`` overrides).

Settings read from the environment / URL: ``NYSJANSE_DASHBOARD_REPLICATIONS`` or ``?replications=N``
(the default number of replications, 10); ``NYSJANSE_DASHBOARD_WORKERS`` (processes that simulate
replications in parallel; default: the machine's CPUs, at most 8; 1 = in the page's process).
"""

from __future__ import annotations

import concurrent.futures as cf
import copy
import dataclasses
import datetime as dt
import io
import json
import multiprocessing as mp
import os
import re
import sys
import tempfile
import threading
import time
import traceback
import types
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import streamlit as st
import tomli_w
from streamlit.runtime.scriptrunner import add_script_run_ctx, get_script_run_ctx

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))

import figures as fg  # noqa: E402  (dashboard/figures.py: plotly figures only)

from model.artifacts import manifest  # noqa: E402
from model.cba import PERSPECTIVES, evaluate_outcomes  # noqa: E402
from model.compare import KEY_ASSUMPTIONS, ScenarioRun, changed_levers, compare_runs  # noqa: E402
from model.economics import perspective_ledger, write_html_report, write_workbook  # noqa: E402
from model.errors import InputError  # noqa: E402
from model.outcomes import employment_gap_by_month  # noqa: E402
from model.runner import run_scenario, scenario_parameters, summarize  # noqa: E402
from model.scenario import (  # noqa: E402
    Scenario,
    load_scenario,
    parse_override,
    parse_toml_text,
    scenario_from_document,
)
from model.staffing import desk_months  # noqa: E402
from model.staffing import size as staffing_size  # noqa: E402
from model.uncertainty import economic_parameter_names, stats, tornado  # noqa: E402

st.set_page_config(
    page_title="nysjanse — Ny sjanse scenario dashboard",
    page_icon=":material/explore:",
    layout="wide",
    initial_sidebar_state="expanded",
)

SCENARIOS_DIR = ROOT / "scenarios"
DEFAULT_SCENARIOS = ["scenarios/ny_sjanse_2005_2006.toml", "scenarios/policy/length_36_months.toml"]
MAX_UPLOAD_BYTES = 200_000
MAX_SCENARIOS = 4
SECONDS_PER_REPLICATION = 0.5  # national scenario incl. economics, one core

GLOSSARY = {
    "Ny sjanse": "“New chance”: IMDi's 2005–2007 trial of a paid, full-time, two-year qualification programme "
    "for immigrants who had lived on social assistance for years.",
    "IMDi": "The Directorate of Integration and Diversity, which ran Ny sjanse and wrote report 4-2007.",
    "kvalifiseringsstønad": "The qualification stipend: 2 G a year (2/3 for participants under 25), paid "
    "instead of social assistance while in the programme.",
    "sosialhjelp": "Financial social assistance: the municipality's means-tested, last-resort income support.",
    "kartlegging": "Mapping: the assessment of a referred person (background, skills, goals) before admission.",
    "G (grunnbeløp)": "The National Insurance basic amount, adjusted every 1 May (NOK 62 892 from 1 May 2006). "
    "Stipends are set as multiples of G.",
    "kontaktperson": "The participant's one fixed contact person, a programme adviser (programrådgiver). "
    "Close follow-up (tett oppfølging) meant about ten participants per adviser.",
    "NAV": "The Norwegian Labour and Welfare Administration, which buys labour-market courses and pays "
    "wage subsidies.",
    "introduksjonsprogram": "The introduction programme for newly arrived refugees (Introduction Act 2003). "
    "Ny sjanse copied its methods and its rules for deductions for invalid absence.",
    "samfunnsøkonomisk analyse": "Social cost-benefit analysis, following the Ministry of Finance circular "
    "R-109: every krone counted once for Norway as a whole, discounted, with a cost of tax financing.",
    "individuell plan": "The written individual plan of each participant.",
    "Jobbsjansen": "IMDi's successor grant scheme (target: 60 % into work or education).",
    "aktivitetsplikt": "Activity duty: social assistance conditional on taking part in activity.",
}
G = GLOSSARY

LEVEL_LABELS = {
    "g_multiple": "fixed, in G",
    "social_assistance": "social-assistance level",
}
ABSENCE_LABELS = {
    "none": "none",
    "introduction_act": "introduction act",
    "strict": "strict",
}
SOURCE_HELP = {
    "calibrated": "fitted to the reported 2005–2006 flows (IMDi 4-2007)",
    "literature": "taken from a published source",
    "assumption": "a graded assumption: the data cannot tell; its range feeds the uncertainty",
}

CSS = """
<style>
.block-container {padding-top: 2.2rem; padding-bottom: 3rem;}
div[data-testid="stMetric"] {background: #f6f8fb; border: 1px solid #e4e7eb; border-radius: 10px;
  padding: .6rem .9rem;}
div[data-testid="stMetricValue"] {font-size: 1.65rem;}
p.reading {color: #3e4c59; font-size: .95rem; margin: -.2rem 0 1.3rem 0; padding: .35rem .8rem;
  border-left: 4px solid #0072B2; background: #f6f8fb; border-radius: 0 6px 6px 0;}
[data-testid="stSidebar"] {min-width: 330px;}
p.reading b {color: #1f2933;}
span.tag {display: inline-block; min-width: 1.5em; text-align: center; border-radius: 6px; color: white;
  font-weight: 700; padding: 0 .35em; margin-right: .35em;}
.lede {font-size: 1.08rem; color: #3e4c59; max-width: 62rem;}
</style>
"""


# ================================================================================ small helpers
def tag(i: int) -> str:
    """The coloured scenario letter (A, B, …) as HTML."""
    return f"<span class='tag' style='background:{fg.color(i)}'>{fg.LETTERS[i]}</span>"


def reading(text: str) -> None:
    """One plain-language sentence under a chart."""
    st.markdown(f"<p class='reading'>{text}</p>", unsafe_allow_html=True)


@contextmanager
def guard(what: str) -> Iterator[dict]:
    """Run library calls; show bad input as the CLI's one-line message and anything else as a short
    error with the details in an expander. Never lets an exception blank the page."""
    state = {"ok": True}
    try:
        yield state
    except InputError as err:
        state["ok"] = False
        st.error(str(err), icon=":material/error:")
    except Exception as err:  # noqa: BLE001 — a page must survive any library failure
        state["ok"] = False
        st.error(
            f"{what} did not work: {type(err).__name__}: {err}. This may be an extreme setting the model "
            "cannot handle, or a bug; the details below help to report it.",
            icon=":material/report:",
        )
        with st.expander("Technical details (for a bug report)"):
            text = "".join(traceback.format_exception(err))
            st.code(
                text.replace(
                    "Traceback (most recent call last):", "Call stack (most recent call last):"
                )
            )


def default_replications() -> int:
    """Replications offered by default: ?replications=N, else NYSJANSE_DASHBOARD_REPLICATIONS, else 10."""
    raw = (
        st.query_params.get("replications")
        or os.environ.get("NYSJANSE_DASHBOARD_REPLICATIONS")
        or "10"
    )
    try:
        n = int(raw)
    except ValueError:
        n = 10
    return min(max(n, 2), 200)


def dashboard_workers() -> int:
    """Processes for simulating: NYSJANSE_DASHBOARD_WORKERS, else the machine's CPUs (at most 8)."""
    raw = os.environ.get("NYSJANSE_DASHBOARD_WORKERS") or str(min(os.cpu_count() or 1, 8))
    try:
        return max(int(raw), 1)
    except ValueError:
        return 1


@st.cache_resource(show_spinner=False)
def process_pool(workers: int) -> cf.ProcessPoolExecutor | None:
    """One pool of worker processes for the server's lifetime (started once, kept warm; None: serial).

    Forkserver start: the workers do not inherit the server's threads, and they are forked from a server
    that has imported the model. Streamlit runs this page as ``__main__``, which multiprocessing would
    re-run in every worker; so all workers are started here, at once, while ``__main__`` is a bare module
    (a worker is never started later: the pool would be broken before). Replications are pure functions
    of (scenario, parameters, seed, index), so the pool changes no number.
    """
    if workers <= 1:
        return None
    context = mp.get_context("forkserver")
    context.set_forkserver_preload(["model.runner"])
    page = sys.modules["__main__"]
    sys.modules["__main__"] = types.ModuleType("__main__")
    try:
        pool = cf.ProcessPoolExecutor(max_workers=workers, mp_context=context)
        started = [pool.submit(os.getpid) for _ in range(workers)]  # each submit starts one worker
    finally:
        sys.modules["__main__"] = page
    cf.wait(started)
    return pool


def _changed(value: float, base: float, tol: float = 1e-9) -> bool:
    return abs(float(value) - float(base)) > tol


def _nest(doc: dict, dotted: str, value: Any) -> None:
    node = doc
    *path, leaf = dotted.split(".")
    for part in path:
        node = node.setdefault(part, {})
    node[leaf] = value


# ================================================================================ background work
class Progress:
    """A thread-safe progress counter that library callbacks advance in a worker thread while the page
    script polls it (so no Streamlit call happens inside a cached function)."""

    def __init__(self, total: int) -> None:
        self.total = max(int(total), 1)
        self.done = 0
        self.note = ""
        self._lock = threading.Lock()

    def advance(self, k: int = 1) -> None:
        with self._lock:
            self.done += k

    def say(self, message: str) -> None:
        self.note = message
        self.advance(1)


def in_worker(fn: Callable, *args: Any) -> Future:
    """Run ``fn(*args)`` in a worker thread (the page keeps drawing the progress bar meanwhile)."""
    ctx = get_script_run_ctx()

    def call() -> Any:
        if ctx is not None:
            add_script_run_ctx(threading.current_thread(), ctx)
        return fn(*args)

    pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="nysjanse")
    future = pool.submit(call)
    pool.shutdown(wait=False)
    return future


def wait_for(
    future: Future, progress: Progress, bar: Any, start: float, span: float, label: str
) -> Any:
    """Poll a worker, moving the progress bar from ``start`` to ``start + span``."""
    while True:
        try:
            return future.result(timeout=0.25)
        except TimeoutError:
            pass
        frac = min(progress.done / progress.total, 1.0)
        note = (
            progress.note
            or f"replication {min(progress.done + 1, progress.total)} of {progress.total}"
        )
        if progress.done >= progress.total and not progress.note:
            note = "pricing the ledger (economics)"
        bar.progress(min(start + span * frac, 0.999), text=f"{label} — {note}")


# ================================================================================ cached library calls
@st.cache_data(show_spinner=False)
def preset_info(rel: str, mtime: float) -> dict:
    """Name and description of a preset (or why it does not load)."""
    try:
        s = load_scenario(ROOT / rel)
        return {"name": s.name, "description": s.description, "error": None}
    except InputError as err:
        return {"name": Path(rel).stem, "description": "", "error": str(err)}


@st.cache_data(show_spinner=False, max_entries=24)
def simulate_and_price(
    scenario_hash: str,
    seed: int,
    replications: int,
    _scenario: Scenario,
    _progress: Progress | None = None,
) -> dict:
    """Simulate a scenario once (both arms) and price it: the same calls as ``nysjanse run`` + ``cba``.

    Cached on the scenario hash (the merged document incl. every override), the seed and the
    replications, so going back to an earlier setting is instant.
    """
    started = time.perf_counter()
    params = scenario_parameters(_scenario)

    def run(executor: cf.Executor | None) -> Any:
        return run_scenario(
            _scenario,
            replications,
            seed,
            params,
            progress=_progress.advance if _progress else None,
            tables=False,  # the page shows flows, shares, desks and money: no per-person tables
            executor=executor,
        )

    try:
        result = run(process_pool(dashboard_workers()))
    except BrokenProcessPool:
        # A worker died (killed, out of memory): later runs get a fresh pool; this one runs here.
        process_pool.clear()
        if _progress:
            _progress.done = 0
        result = run(None)
    evaluation = evaluate_outcomes(_scenario, params, result.outcomes)
    summary = summarize(result)
    gap = employment_gap_by_month(result.table("participant_states"))
    desks = desk_months(_scenario, result.table("desks"))
    # Keep the cache small: the counts are only needed to re-price.
    slim = dataclasses.replace(evaluation, counts=None)
    return {
        "scenario": _scenario,
        "params": params,
        "evaluation": slim,
        "summary": summary,
        "states": pd.DataFrame(summary["participant_states"]),
        "gap": gap,
        "desks": desks,
        "seconds": time.perf_counter() - started,
    }


@st.cache_data(show_spinner=False, max_entries=32)
def comparison(
    hashes: tuple[str, ...], seed: int, replications: int, _runs: list[ScenarioRun]
) -> dict:
    """``model.compare.compare_runs``: differences with intervals and ΔNPV waterfalls."""
    return compare_runs(_runs, seed, replications)


@st.cache_data(show_spinner=False, max_entries=16)
def tornado_cached(
    scenario_hash: str,
    seed: int,
    inner: int,
    names: tuple[str, ...],
    _scenario: Scenario,
    _progress: Progress | None = None,
) -> tuple[pd.DataFrame, float]:
    """``model.uncertainty.tornado`` on the named parameters."""
    params = scenario_parameters(_scenario)
    return tornado(
        _scenario,
        params,
        seed,
        inner,
        progress=_progress.advance if _progress else None,
        names=list(names),
    )


@st.cache_data(show_spinner=False, max_entries=16)
def sizing_cached(
    scenario_hash: str,
    seed: int,
    replications: int,
    max_wait_weeks: float,
    service_level: float,
    _scenario: Scenario,
    _progress: Progress | None = None,
) -> dict:
    """``model.staffing.size`` (the same as ``nysjanse size``)."""
    params = scenario_parameters(_scenario)
    return staffing_size(
        _scenario,
        params,
        max_wait_weeks,
        service_level,
        seed,
        replications,
        economics_replications=2,
        progress=_progress.say if _progress else None,
    )


def run_scenarios(scenarios: list[Scenario], seed: int, replications: int) -> list[dict]:
    """Every scenario's results, from the cache when possible, with a progress bar while simulating."""
    out: list[dict] = []
    status = bar = None
    n = len(scenarios)
    t0 = time.perf_counter()
    for i, s in enumerate(scenarios):
        progress = Progress(replications)
        future = in_worker(simulate_and_price, s.hash, seed, replications, s, progress)
        try:
            out.append(future.result(timeout=0.05))
            continue
        except TimeoutError:
            pass
        if status is None:
            status = st.status(
                f"Simulating {n} scenario{'s' if n > 1 else ''} × {replications} replications …",
                expanded=True,
            )
            with status:
                bar = st.progress(0.0, text="starting")
        out.append(wait_for(future, progress, bar, i / n, 1 / n, f"{fg.LETTERS[i]} · {s.name}"))
    if status is not None:
        bar.progress(1.0, text="done")
        status.update(
            label=f"Simulated {n} scenario{'s' if n > 1 else ''} × {replications} replications in "
            f"{time.perf_counter() - t0:.0f} s (cached: going back to these settings is instant)",
            state="complete",
            expanded=False,
        )
    return out


def run_with_bar(label: str, fn: Callable, args: tuple, progress: Progress) -> Any:
    """A one-off background computation (tornado, staff sizing) with its own progress bar."""
    future = in_worker(fn, *args, progress)
    try:
        return future.result(timeout=0.05)
    except TimeoutError:
        pass
    with st.status(label, expanded=True) as status:
        bar = st.progress(0.0, text="starting")
        result = wait_for(future, progress, bar, 0.0, 1.0, label)
        status.update(label=f"{label} — done", state="complete", expanded=False)
    return result


# ================================================================================ scenarios
def preset_keys() -> list[str]:
    paths = sorted(SCENARIOS_DIR.glob("*.toml")) + sorted((SCENARIOS_DIR / "policy").glob("*.toml"))
    return [p.relative_to(ROOT).as_posix() for p in paths]


def upload_path(name: str) -> Path:
    """Where an upload is taken to live: in ``scenarios/``, so its ``extends`` resolves from there."""
    return SCENARIOS_DIR / name


def _upload_label(name: str) -> str:
    return f"upload: {name}"


def _inside(path: Path, folder: Path) -> bool:
    try:
        path.resolve().relative_to(folder.resolve())
        return True
    except ValueError:
        return False


def _check_upload_paths(name: str, doc: dict) -> None:
    """An upload may build on the presets and the repository's parameter files, nothing else on the server."""
    parent = doc.get("extends")
    if isinstance(parent, str) and not _inside(SCENARIOS_DIR / parent, SCENARIOS_DIR):
        raise InputError(
            _upload_label(name), "extends", parent, "a scenario file inside the scenarios/ folder"
        )
    params = doc.get("parameters")
    files = params.get("files", []) if isinstance(params, dict) else []
    for i, f in enumerate(files if isinstance(files, list) else []):
        if isinstance(f, str) and not _inside(SCENARIOS_DIR / f, ROOT):
            raise InputError(
                _upload_label(name),
                f"parameters.files[{i}]",
                f,
                "a parameter file inside the repository",
            )


def scenario_from_upload(name: str, text: str, overrides: dict | None = None) -> Scenario:
    """Validate an uploaded scenario: TOML only (no code runs), errors named after the upload."""
    doc = parse_toml_text(text, _upload_label(name))
    path = upload_path(name)
    _check_upload_paths(name, doc)
    try:
        return scenario_from_document(doc, path, overrides or {})
    except InputError as err:
        if err.file in (str(path), str(path.resolve())):
            raise InputError(_upload_label(name), err.key, err.value, err.allowed) from None
        raise


def base_scenario(key: str) -> Scenario:
    """The scenario behind a choice, without any lever changes."""
    if key.startswith("upload:"):
        name = key.split(":", 1)[1]
        return scenario_from_upload(name, st.session_state["uploads"][name])
    return load_scenario(ROOT / key)


def build_scenario(key: str, overrides: dict) -> Scenario:
    """The scenario with the levers applied as overrides (``--set`` in the CLI)."""
    if key.startswith("upload:"):
        name = key.split(":", 1)[1]
        return scenario_from_upload(name, st.session_state["uploads"][name], overrides)
    return load_scenario(ROOT / key, overrides)


def settings_toml(key: str, overrides: dict, seed: int, replications: int) -> str:
    """The current settings of one scenario as a TOML file that can be uploaded again."""
    if key.startswith("upload:"):
        name = key.split(":", 1)[1]
        doc = copy.deepcopy(parse_toml_text(st.session_state["uploads"][name], _upload_label(name)))
    else:
        doc = {"extends": Path(key).relative_to("scenarios").as_posix()}
    for k, v in overrides.items():
        _nest(doc, k, v)
    head = (
        "# nysjanse scenario saved from the dashboard on "
        f"{dt.datetime.now().isoformat(timespec='seconds')}\n"
        f"# Run it: nysjanse run <this file> --replications {replications} --seed {seed}\n"
        "# (extends is relative to the scenarios/ folder; keep the file there or upload it to the dashboard)\n\n"
    )
    scalars = {k: v for k, v in doc.items() if not isinstance(v, dict | list)}
    tables = {k: v for k, v in doc.items() if isinstance(v, dict | list)}
    return head + tomli_w.dumps({**scalars, **tables})


def lever_panel(
    i: int, key: str, base: Scenario, base_params: Any, compact: bool
) -> tuple[dict, list[str]]:
    """Widgets for one scenario's levers; returns the overrides and any extra ``key=value`` lines."""
    k = f"lv|{key}|"

    def row() -> tuple[Any, Any]:
        return tuple(st.columns(2, gap="small")) if compact else (st.container(), st.container())

    st.markdown(f"{tag(i)} **{base.name}**", unsafe_allow_html=True)
    source = key if not key.startswith("upload:") else f"uploaded file {key.split(':', 1)[1]}"
    with st.expander("What is this scenario?"):
        st.caption(source)
        st.write(base.description.strip() or "No description in the file.")
    over: dict[str, Any] = {}

    a, b = row()
    length = a.slider(
        "Programme length, months",
        min(1.0, base.programme.length_months),
        120.0,
        float(base.programme.length_months),
        1.0,
        format="%.0f",
        key=k + "length",
        help="`programme.length_months`: the longest a participant may stay. Ny sjanse: up to 24 "
        "months. Beyond month 24 the model rests on an assumed exit hazard (nobody had passed it "
        "by December 2006).",
    )
    if _changed(length, base.programme.length_months):
        over["programme.length_months"] = float(length)
    caseload = b.number_input(
        "Participants per adviser",
        min(1.0, base.follow_up.caseload_per_adviser),
        500.0,
        float(base.follow_up.caseload_per_adviser),
        1.0,
        format="%.0f",
        key=k + "caseload",
        help="`follow_up.caseload_per_adviser`, the follow-up ratio: places per adviser FTE. "
        f"kontaktperson: {G['kontaktperson']} Social offices: 60–120 per caseworker.",
    )
    if _changed(caseload, base.follow_up.caseload_per_adviser):
        over["follow_up.caseload_per_adviser"] = float(caseload)
    sized = base.follow_up.staff_sized_for_caseload
    keep = st.checkbox(
        "Keep the planned places (a looser ratio means fewer advisers)",
        value=sized is not None,
        key=k + "keep",
        help="`follow_up.staff_sized_for_caseload`: the projects' staff were planned for this "
        "ratio; when ticked, changing the ratio changes the number of advisers (and staff costs), "
        "not the number of places. Unticked: the advisers stay and the places change.",
    )
    if keep and sized is None:
        over["follow_up.staff_sized_for_caseload"] = float(base.follow_up.caseload_per_adviser)
    elif not keep and sized is not None:
        over["follow_up.staff_sized_for_caseload"] = float(
            caseload
        )  # scale 1: the staff as scheduled

    a, b = row()
    levels = list(LEVEL_LABELS)
    level = a.selectbox(
        "Stipend",
        levels,
        index=levels.index(base.stipend.level),
        format_func=LEVEL_LABELS.get,
        key=k + "level",
        help="`stipend.level`: *fixed, in G* = the qualification stipend (kvalifiseringsstønad): "
        f"{G['kvalifiseringsstønad']} *social-assistance level* = what the household would get on "
        f"social assistance (sosialhjelp): {G['sosialhjelp']}",
    )
    if level != base.stipend.level:
        over["stipend.level"] = level
    g = b.slider(
        "Stipend, G per year",
        0.0,
        10.0,
        float(base.stipend.g_multiple_per_year),
        0.1,
        format="%.1f",
        key=k + "g",
        disabled=level != "g_multiple",
        help=f"`stipend.g_multiple_per_year` (kvalifiseringsstønad). {G['G (grunnbeløp)']} Ny sjanse: 2 G.",
    )
    if _changed(g, base.stipend.g_multiple_per_year, 0.01):
        over["stipend.g_multiple_per_year"] = round(float(g), 2)

    a, b = row()
    u25 = a.slider(
        "Under 25: share of the stipend",
        0.0,
        1.0,
        float(base.stipend.under_25_fraction),
        0.01,
        format="%.2f",
        key=k + "u25",
        help="`stipend.under_25_fraction`: Ny sjanse paid participants under 25 two thirds (0.67), "
        "copying the introduction programme (introduksjonsprogram).",
    )
    if _changed(u25, base.stipend.under_25_fraction, 0.005):
        over["stipend.under_25_fraction"] = round(float(u25), 4)
    absences = list(ABSENCE_LABELS)
    absence = b.selectbox(
        "Deductions for invalid absence",
        absences,
        index=absences.index(base.stipend.absence_deduction),
        format_func=ABSENCE_LABELS.get,
        key=k + "absence",
        help="`stipend.absence_deduction`: *introduction act* = deductions for invalid absence as in the "
        f"introduction programme (introduksjonsprogram: {G['introduksjonsprogram']}); *strict* = "
        "a weekly link between attendance and payment (e.g. Drammen); *none* = no deductions.",
    )
    if absence != base.stipend.absence_deduction:
        over["stipend.absence_deduction"] = absence

    a, b = row()
    ref0 = float(base_params.v("referral.intensity_multiplier"))
    ref = a.slider(
        "Referrals, × the reported rate",
        min(0.1, ref0),
        max(3.0, ref0),
        ref0,
        0.05,
        format="%.2f",
        key=k + "ref",
        help="`[parameters.values] referral.intensity_multiplier`: scales every project's referrals "
        "from the social office (sosialhjelp) and NAV. 1.0 reproduces the 938 referred by December "
        "2006 (IMDi 4-2007). Places do not grow with it, so more referrals mean longer waits.",
    )
    if _changed(ref, ref0, 0.001):
        over["parameters.values.referral.intensity_multiplier"] = round(float(ref), 3)
    with b.popover("More overrides", icon=":material/tune:", width="stretch"):
        extra_text = st.text_area(
            "Any scenario key, one `key=value` per line (as `--set` in the CLI)",
            key=k + "extra",
            height=110,
            placeholder="analysis.analysis_horizon_years=30\n"
            "parameters.values.follow_up.work_elasticity=0.4",
            help="Validated exactly as `nysjanse run --set key=value`. See the Assumptions tab "
            "(or `nysjanse parameters`) for parameter names.",
        )
    extra = [
        line.strip()
        for line in (extra_text or "").splitlines()
        if line.strip() and not line.strip().startswith("#")
    ]
    return over, extra


# ================================================================================ tables for the page
def npv_rows(results: list[dict], names: list[str]) -> pd.DataFrame:
    rows = []
    for name, res in zip(names, results, strict=True):
        ev = res["evaluation"]
        for p in PERSPECTIVES:
            x = ev.npv(p)
            s = stats(x)
            rows.append(
                {
                    "scenario": name,
                    "perspective": p,
                    "mean": s["mean"],
                    "p05": s["p05"],
                    "p95": s["p95"],
                    "p_npv_positive": float(np.mean(x > 0)),
                    "replications": int(len(x)),
                }
            )
    return pd.DataFrame(rows)


def flow_rows(results: list[dict], names: list[str]) -> pd.DataFrame:
    rows = []
    for name, res in zip(names, results, strict=True):
        sm = res["summary"]
        for group, table in (
            ("flow", sm["flows"]),
            ("not_admitted_reason", sm["not_admitted_reasons"]),
            ("broke_off_reason", sm["broke_off_reasons"]),
        ):
            for k, v in table.items():
                rows.append(
                    {
                        "scenario": name,
                        "report_date": sm["report_date"],
                        "group": group,
                        "key": k,
                        **v,
                    }
                )
    return pd.DataFrame(rows)


def difference_rows(doc: dict, base_name: str) -> pd.DataFrame:
    rows = []
    for name, d in doc["difference"].items():
        for metric in [f"{p}_npv_nok" for p in PERSPECTIVES] + [
            "employed_person_years_per_participant",
            "share_employed_1y",
            "share_employed_2y",
            "share_employed_5y",
        ]:
            rows.append({"scenario": name, "against": base_name, "metric": metric, **d[metric]})
        for k, v in d["flows"].items():
            rows.append({"scenario": name, "against": base_name, "metric": f"flow_{k}", **v})
    return pd.DataFrame(rows)


def all_tables(
    results: list[dict], names: list[str], doc: dict | None, meta: dict
) -> dict[str, pd.DataFrame]:
    """Every table shown on the page, for CSV and Excel downloads."""
    out = {
        "scenarios": pd.DataFrame(
            [
                {
                    "letter": fg.LETTERS[i],
                    "scenario": n,
                    "file": meta["keys"][i],
                    "hash": r["scenario"].hash,
                    "overrides": json.dumps(meta["overrides"][i]),
                    "seed": meta["seed"],
                    "replications": meta["replications"],
                }
                for i, (n, r) in enumerate(zip(names, results, strict=True))
            ]
        ),
        "npv_by_perspective": npv_rows(results, names),
        "flows_at_report_date": flow_rows(results, names),
        "participant_states": pd.concat(
            [r["states"].assign(scenario=n) for n, r in zip(names, results, strict=True)]
        ),
        "employment_difference": pd.concat(
            [r["gap"].assign(scenario=n) for n, r in zip(names, results, strict=True)]
        ),
        "staffing_by_month": pd.concat(
            [r["desks"].assign(scenario=n) for n, r in zip(names, results, strict=True)]
        ),
        "parameters": pd.concat(
            [r["params"].to_frame().assign(scenario=n) for n, r in zip(names, results, strict=True)]
        ),
    }
    if doc and doc["difference"]:
        out["differences"] = difference_rows(doc, names[0])
        out["waterfall"] = pd.DataFrame(
            [
                {"scenario": n, "against": names[0], **it}
                for n, items in doc["waterfalls"].items()
                for it in items
            ]
        )
    return {k: v.reset_index(drop=True) for k, v in out.items()}


def excel_bytes(tables: dict[str, pd.DataFrame]) -> bytes:
    buf = io.BytesIO()
    with pd.ExcelWriter(buf, engine="openpyxl") as xw:
        for name, df in tables.items():
            out = df.copy()
            for col in out.columns:
                if isinstance(out[col].dtype, pd.CategoricalDtype):
                    out[col] = out[col].astype(str)
            out.replace([np.inf, -np.inf], np.nan).to_excel(xw, sheet_name=name[:31], index=False)
    return buf.getvalue()


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
st.session_state.setdefault("selection", list(DEFAULT_SCENARIOS))

with st.sidebar:
    st.header("① Scenarios", anchor=False)
    choose_box = st.container()
    up = st.file_uploader(
        "Add your own scenario (TOML, ≤ 200 kB)",
        type=["toml"],
        key="upload",
        help="A scenario file like those in scenarios/ (see README). It is read as TOML only — "
        'nothing in it is executed. `extends = "ny_sjanse_2005_2006.toml"` builds on a preset '
        "(paths are relative to the scenarios/ folder).",
    )
    if up is not None:
        data = up.getvalue()
        safe = re.sub(r"[^A-Za-z0-9_.-]", "_", Path(up.name).name) or "upload.toml"
        with guard("Reading the upload") as ok:
            if len(data) > MAX_UPLOAD_BYTES:
                raise InputError(
                    _upload_label(safe),
                    "",
                    f"{len(data) / 1000:.0f} kB",
                    "a scenario file of at most 200 kB",
                )
            try:
                text = data.decode("utf-8")
            except UnicodeDecodeError:
                raise InputError(
                    _upload_label(safe), "", "(binary)", "a UTF-8 TOML text file"
                ) from None
            scen = scenario_from_upload(safe, text)
            scenario_parameters(scen)  # parameter names in [parameters.values] must exist
            new = st.session_state["uploads"].get(safe) != text
            st.session_state["uploads"][safe] = text
            key = f"upload:{safe}"
            if new and key not in st.session_state["selection"]:
                st.session_state["selection"] = [*st.session_state["selection"], key][
                    -MAX_SCENARIOS:
                ]
            st.success(f"Added “{scen.name}”.", icon=":material/check_circle:")
    options = preset_keys() + [f"upload:{n}" for n in st.session_state["uploads"]]

    def label(key: str) -> str:
        if key.startswith("upload:"):
            return f"⬆ {key.split(':', 1)[1]} (uploaded)"
        info = preset_info(key, (ROOT / key).stat().st_mtime)
        return f"{'Policy: ' if '/policy/' in key else ''}{info['name']}"

    st.session_state["selection"] = [k for k in st.session_state["selection"] if k in options]
    with choose_box:
        selected = st.multiselect(
            "Scenarios to compare (the first is the reference)",
            options,
            key="selection",
            format_func=label,
            max_selections=MAX_SCENARIOS,
            help="Presets from scenarios/ (systems in the sources) and scenarios/policy/ "
            "(policy variants). Every scenario after the first is compared with the first, "
            "on the same simulated persons (common random numbers).",
        )

    st.header("Run settings", anchor=False)
    replications = st.slider(
        "Replications",
        2,
        200,
        default_replications(),
        key="replications",
        help="Monte Carlo replications per scenario (each a new set of referred persons, the "
        "same across scenarios). More = narrower intervals but slower: about "
        f"{SECONDS_PER_REPLICATION:g} s per replication per scenario.",
    )
    seed = int(
        st.number_input(
            "Seed",
            0,
            2**31 - 1,
            1,
            1,
            key="seed",
            help="Root seed: the same seed gives the same persons and draws (as `--seed` in the CLI).",
        )
    )
    st.divider()
    with st.expander("Norwegian terms", icon=":material/menu_book:"):
        for term, meaning in GLOSSARY.items():
            st.markdown(f"**{term}** — {meaning}")
    st.caption(
        "This page calls the same library functions as the command line (`nysjanse run`, `compare`, "
        "`cba`, `size`); it holds no model logic. Sources: IMDi-rapport 4-2007 and R-109."
    )

# ================================================================================ page: levers
st.subheader("② Scenarios and their levers", anchor=False)
if not selected:
    st.info(
        "Pick at least one scenario in the sidebar — two or more to compare them.",
        icon=":material/arrow_back:",
    )
    st.stop()

columns = st.columns(len(selected), gap="medium")
compact = len(selected) <= 2
specs: list[dict] = []
for i, key in enumerate(selected):
    box = columns[i].container(border=True)
    spec = {"key": key, "ok": False, "box": box}
    with box, guard(f"Loading {key}"):
        base = base_scenario(key)
        base_params = scenario_parameters(base)
        over, extra = lever_panel(i, key, base, base_params, compact)
        for line in extra:
            k_, v_ = parse_override(line)
            over[k_] = v_
        spec.update(base=base, overrides=over)
    specs.append(spec)

# Unique names: an edited scenario says so; duplicates get their letter.
names_seen: dict[str, int] = {}
for i, spec in enumerate(specs):
    if "base" not in spec:
        continue
    name = spec["base"].name + (" (edited)" if spec["overrides"] else "")
    if name in names_seen:
        name = f"{name} [{fg.LETTERS[i]}]"
    names_seen[name] = i
    if name != spec["base"].name:
        spec["overrides"] = {**spec["overrides"], "name": name}
for i, spec in enumerate(specs):
    if "base" not in spec:
        continue
    with spec["box"]:
        with guard(f"Applying the levers of {fg.LETTERS[i]}") as ok:
            spec["scenario"] = build_scenario(spec["key"], spec["overrides"])
            scenario_parameters(spec["scenario"])
        spec["ok"] = ok["ok"]
        if spec["ok"]:
            levers = {k: v for k, v in spec["overrides"].items() if k != "name"}
            st.caption(
                ("Changed: " + ", ".join(f"`{k}={v}`" for k, v in levers.items()))
                if levers
                else "As in the file."
            )
            st.download_button(
                "Save these settings (TOML)",
                settings_toml(spec["key"], spec["overrides"], seed, replications),
                file_name=f"{Path(spec['key'].split(':')[-1]).stem}_settings.toml",
                mime="application/toml",
                key=f"save|{spec['key']}",
                on_click="ignore",
                icon=":material/download:",
                width="stretch",
                type="tertiary",
            )

ready = [s for s in specs if s["ok"]]
all_ok = len(ready) == len(specs)
estimate = len(ready) * replications * SECONDS_PER_REPLICATION
run_col, note_col = st.columns([1, 3], vertical_alignment="center")
with run_col:
    clicked = st.button(
        "Run comparison",
        type="primary",
        key="run",
        disabled=not all_ok,
        width="stretch",
        icon=":material/play_arrow:",
    )
with note_col:
    if all_ok:
        st.caption(
            f"{len(ready)} scenario{'s' if len(ready) > 1 else ''} × {replications} replications: about "
            f"{estimate:.0f} s the first time, instant for settings already run."
        )
    else:
        st.caption("Fix the message above to run.")

current = {
    "hashes": [s["scenario"].hash for s in ready],
    "seed": seed,
    "replications": replications,
}
if clicked and all_ok:
    st.session_state["last"] = {
        **current,
        "scenarios": [s["scenario"] for s in ready],
        "keys": [s["key"] for s in ready],
        "overrides": [s["overrides"] for s in ready],
        "started": dt.datetime.now(dt.UTC),
    }

# ================================================================================ page: results
last = st.session_state.get("last")
if last is None:
    st.info(
        "Adjust the levers if you like, then press **Run comparison**."
        + (
            " The defaults compare the national 2005–2006 scheme with a 36-month programme."
            if selected == DEFAULT_SCENARIOS
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
with guard("The simulation") as ok:
    t_run = time.perf_counter()
    results = run_scenarios(last["scenarios"], last["seed"], last["replications"])
    last.setdefault("seconds", time.perf_counter() - t_run)
if not ok["ok"] or not results:
    st.stop()

names = [r["scenario"].name for r in results]
n_rep = last["replications"]
doc: dict | None = None
if len(results) > 1:
    with guard("Comparing the scenarios"):
        runs = [ScenarioRun(r["scenario"], r["params"], r["evaluation"]) for r in results]
        doc = comparison(tuple(last["hashes"]), last["seed"], n_rep, runs)
npv = npv_rows(results, names)
all_key_names = sorted({n for names_ in KEY_ASSUMPTIONS.values() for n in names_})
mc_note = (
    f"Intervals are **Monte Carlo intervals** (5–95 % over {n_rep} replications) at the point values of "
    "the parameters: they show simulation noise, not what we do not know about the parameters. For the "
    "full probabilistic sensitivity analysis run `nysjanse cba` (or the tornado under *Why the difference*)."
)

tabs = st.tabs(
    [
        ":material/payments: Overview",
        ":material/account_tree: Flows",
        ":material/show_chart: Over time",
        ":material/waterfall_chart: Why the difference",
        ":material/groups: Staffing",
        ":material/fact_check: Assumptions",
        ":material/download: Downloads",
    ]
)

# ---------------------------------------------------------------------------- overview
with tabs[0], guard("The overview"):
    cards = st.columns(len(results), gap="medium")
    for i, (name, res) in enumerate(zip(names, results, strict=True)):
        row = npv[(npv["scenario"] == name) & (npv["perspective"] == "society")].iloc[0]
        with cards[i]:
            st.markdown(f"{tag(i)} **{name}**", unsafe_allow_html=True)
            delta = None
            if doc and i > 0:
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
                f"90 % Monte Carlo interval {fg.nok(row['p05'])} to {fg.nok(row['p95'])} · "
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
        f"{fg.nok(par.loc[names[0], 'mean'])} — the bars show who pays and who gains, the whiskers the "
        "5–95 % Monte Carlo range."
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
    if doc and doc["difference"]:
        st.markdown("#### Differences against A (same persons in both)")
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
        first = next(iter(doc["difference"]))
        d = doc["difference"][first]["society_npv_nok"]
        reading(
            f"<b>{first}</b> changes the society NPV by {fg.nok(d['mean'], True)} against A "
            f"(90 % of replications between {fg.nok(d['p05'], True)} and {fg.nok(d['p95'], True)})."
        )
    st.info(mc_note, icon=":material/info:")

# ---------------------------------------------------------------------------- flows
with tabs[1], guard("The flow diagram"):
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

# ---------------------------------------------------------------------------- over time
with tabs[2], guard("The charts over time"):
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

# ---------------------------------------------------------------------------- why
with tabs[3]:
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
        tkey = (res_t["scenario"].hash, last["seed"], inner, t_names)
        if go_t:
            st.session_state["tornado"] = tkey
        if st.session_state.get("tornado") == tkey:
            prog = Progress(2 * len(t_names))
            table_t, base_npv = run_with_bar(
                f"Tornado: {len(t_names)} parameters × 2",
                tornado_cached,
                (*tkey, res_t["scenario"]),
                prog,
            )
            st.session_state["tornado_result"] = {
                "hash": tkey[0],
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

# ---------------------------------------------------------------------------- staffing
with tabs[4]:
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
            skey = (results[s_pick]["scenario"].hash, last["seed"], size_reps, weeks, level_)
            if st.button("Size the staff", key="size_run"):
                st.session_state["sizing"] = skey
            if st.session_state.get("sizing") == skey:
                sized_doc = run_with_bar(
                    "Staff sizing",
                    sizing_cached,
                    (*skey, results[s_pick]["scenario"]),
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

# ---------------------------------------------------------------------------- assumptions
with tabs[5], guard("The parameter registry"):
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

# ---------------------------------------------------------------------------- downloads
with tabs[6], guard("Preparing the downloads"):
    st.markdown("#### Take the results with you")
    tables = all_tables(results, names, doc, last)
    c1, c2 = st.columns(2, gap="large")
    with c1:
        st.markdown("**Tables shown on this page**")
        st.download_button(
            "All tables (Excel)",
            lambda: excel_bytes(tables),
            file_name="nysjanse_dashboard.xlsx",
            mime="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            key="dl_xlsx",
            on_click="ignore",
            icon=":material/download:",
            width="stretch",
        )
        pick_t = st.selectbox("One table as CSV", list(tables), key="dl_table")
        st.download_button(
            f"{pick_t}.csv",
            tables[pick_t].to_csv(index=False).encode(),
            file_name=f"{pick_t}.csv",
            mime="text/csv",
            key="dl_csv",
            on_click="ignore",
            icon=":material/download:",
            width="stretch",
        )

        def manifest_bytes() -> bytes:
            man = manifest(
                command="dashboard",
                scenarios=[r["scenario"] for r in results],
                params=results[0]["params"],
                seed=last["seed"],
                started=last["started"],
                seconds=float(last.get("seconds", 0.0)),
                files=["nysjanse_dashboard.xlsx"] + [f"{t}.csv" for t in tables],
                extra={
                    "replications": n_rep,
                    "overrides": {names[i]: o for i, o in enumerate(last["overrides"])},
                    "interface": "streamlit dashboard",
                },
            )
            return (json.dumps(man, indent=2, ensure_ascii=False, default=str) + "\n").encode()

        st.download_button(
            "Manifest (JSON)",
            manifest_bytes,
            file_name="manifest.json",
            mime="application/json",
            key="dl_manifest",
            on_click="ignore",
            icon=":material/download:",
            width="stretch",
            help="What was run, with what, by which code version: scenario hashes, seed, parameter sources.",
        )
    with c2:
        st.markdown("**Per scenario: the cost-benefit report and the audit workbook**")
        torn = st.session_state.get("tornado_result")
        for i, (name, res) in enumerate(zip(names, results, strict=True)):

            def _man(res: dict = res) -> dict:
                return manifest(
                    command="dashboard",
                    scenarios=[res["scenario"]],
                    params=res["params"],
                    seed=last["seed"],
                    started=last["started"],
                    seconds=float(res["seconds"]),
                    files=["report.html", "cba.xlsx"],
                    extra={"replications": n_rep, "interface": "streamlit dashboard"},
                )

            def report_bytes(res: dict = res, name: str = name) -> bytes:
                ev = res["evaluation"]
                t = torn if torn and torn["hash"] == res["scenario"].hash else None
                with tempfile.TemporaryDirectory() as tmp:
                    path = Path(tmp) / "report.html"
                    write_html_report(
                        path,
                        evaluation=ev.evaluation,
                        params=ev.params,
                        manifest=_man(res),
                        perspective_ledger=perspective_ledger(
                            ev.mean_effects(), ev.policy, ev.params
                        ),
                        tornado=t["table"] if t else None,
                        tornado_base_npv_nok=t["base"] if t else None,
                        title=f"{name}: social cost-benefit analysis ({n_rep} replications, point parameters)",
                    )
                    return path.read_bytes()

            def workbook_bytes(res: dict = res) -> bytes:
                ev = res["evaluation"]
                with tempfile.TemporaryDirectory() as tmp:
                    path = Path(tmp) / "cba.xlsx"
                    write_workbook(
                        path,
                        params=ev.params,
                        evaluation=ev.evaluation,
                        perspective_ledger=perspective_ledger(
                            ev.mean_effects(), ev.policy, ev.params
                        ),
                        manifest=_man(res),
                    )
                    return path.read_bytes()

            stem = re.sub(r"[^A-Za-z0-9]+", "_", name).strip("_").lower()[:40]
            st.markdown(f"{tag(i)} {name}", unsafe_allow_html=True)
            a, b = st.columns(2)
            a.download_button(
                "Report (HTML)",
                report_bytes,
                file_name=f"{stem}_report.html",
                mime="text/html",
                key=f"dl_html{i}",
                on_click="ignore",
                icon=":material/download:",
                width="stretch",
            )
            b.download_button(
                "Workbook (Excel)",
                workbook_bytes,
                file_name=f"{stem}_cba.xlsx",
                mime="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                key=f"dl_wb{i}",
                on_click="ignore",
                icon=":material/download:",
                width="stretch",
            )
    st.caption(
        "The report and the workbook are written by the same functions as `nysjanse cba` "
        "(`model.economics.write_html_report`, `write_workbook`), here at the point parameters with "
        f"{n_rep} replications; the tornado is included once you have run it for that scenario."
    )
