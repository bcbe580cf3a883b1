"""Background work and the cached library calls of the page (simulate and price, the PSA, compare,
tornado, staff sizing), with the progress bar; the numbers all come from ``model.*``."""

from __future__ import annotations

import concurrent.futures as cf
import dataclasses
import importlib.util
import multiprocessing as mp
import os
import sys
import threading
import time
import types
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path
from typing import Any

import pandas as pd
import streamlit as st
from streamlit.runtime.scriptrunner import add_script_run_ctx, get_script_run_ctx

import figures as fg
from model.cba import evaluate_outcomes
from model.compare import ScenarioRun, compare_runs
from model.conventions import apply_conventions
from model.errors import InputError
from model.parameters import ParameterSet
from model.outcomes import employment_gap_by_month
from model.runner import run_scenario, scenario_parameters, summarize
from model.scenario import Scenario, load_scenario
from model.staffing import desk_months
from model.staffing import size as staffing_size
from model.uncertainty import calibration_draws, run_draws, sample_parameters, tornado

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
SECONDS_PER_REPLICATION = 0.5  # national scenario incl. economics, one core
#: A PSA draw with one inner replication (both arms, priced): national scenario, one core, measured with
#: benchmarks/harness.py (dashboard_psa_rerun_seconds) on 2 cores: about 0.025 s of one core per draw.
SECONDS_PER_DRAW = 0.025
DEFAULT_CONVENTIONS = "default"
#: The value of information needs model.voi (EVPI/EVPPI by the Strong-Oakley-Brennan regression).
VOI_AVAILABLE = importlib.util.find_spec("model.voi") is not None


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


def default_draws() -> int:
    """PSA draws offered by default: ?draws=N, else NYSJANSE_DASHBOARD_DRAWS, else 200 (20 to 1 000)."""
    raw = st.query_params.get("draws") or os.environ.get("NYSJANSE_DASHBOARD_DRAWS") or "200"
    try:
        n = int(raw)
    except ValueError:
        n = 200
    return min(max(n, 20), 1000)


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


# ================================================================================ background work
class Progress:
    """A thread-safe progress counter that library callbacks advance in a worker thread while the page
    script polls it (so no Streamlit call happens inside a cached function)."""

    def __init__(self, total: int, unit: str = "replication") -> None:
        self.total = max(int(total), 1)
        self.unit = unit
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
            or f"{progress.unit} {min(progress.done + 1, progress.total)} of {progress.total}"
        )
        if progress.done >= progress.total and not progress.note and progress.unit == "replication":
            note = "pricing the ledger (economics)"
        bar.progress(min(start + span * frac, 0.999), text=f"{label} — {note}")


# ================================================================================ cached library calls
def prepared(scenario: Scenario, conventions: str) -> tuple[Scenario, ParameterSet]:
    """The scenario and its registry under the analysis convention set ``conventions``
    (``model.conventions.apply_conventions``, as ``nysjanse cba --conventions``)."""
    return apply_conventions(scenario, scenario_parameters(scenario), conventions)


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
    conventions: str,
    seed: int,
    replications: int,
    _scenario: Scenario,
    _progress: Progress | None = None,
) -> dict:
    """Simulate a scenario once (both arms) and price it: the same calls as ``nysjanse run`` + ``cba``.

    Cached on the scenario hash (the merged document incl. every override), the convention set, the seed
    and the replications, so going back to an earlier setting is instant.
    """
    started = time.perf_counter()
    _scenario, params = prepared(_scenario, conventions)

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


@st.cache_data(show_spinner=False, max_entries=24)
def psa_cached(
    scenario_hash: str,
    conventions: str,
    seed: int,
    draws: int,
    inner: int,
    _scenario: Scenario,
    _progress: Progress | None = None,
) -> dict:
    """The probabilistic sensitivity analysis of one scenario, as ``nysjanse cba`` makes it: ``draws``
    parameter draws (``model.uncertainty.sample_parameters``: the calibration's posterior draws jointly,
    ``calibration_draws``, every other graded parameter from its registry distribution) × ``inner``
    replications with common random numbers (``model.uncertainty.run_draws``).

    The same seed gives every scenario the same parameter draws and the same persons, so the difference of
    two scenarios draw by draw is paired. Cached like :func:`simulate_and_price`.

    Returns:
        ``sample`` (one row per draw, one column per graded parameter), ``summary`` (one row per draw:
        ``model.cba.summary_row``), ``draws``, ``inner`` and ``seconds``.
    """
    started = time.perf_counter()
    scen, params = prepared(_scenario, conventions)
    sample = sample_parameters(params, draws, seed, calibration_draws(scen))
    settings = sample.to_dict(orient="records")

    def run(executor: cf.Executor | None) -> pd.DataFrame:
        return run_draws(
            scen, params, settings, seed, inner, executor, _progress.advance if _progress else None
        ).summary

    try:
        summary = run(process_pool(dashboard_workers()))
    except BrokenProcessPool:
        process_pool.clear()
        if _progress:
            _progress.done = 0
        summary = run(None)
    return {
        "sample": sample,
        "summary": summary,
        "draws": draws,
        "inner": inner,
        "seconds": time.perf_counter() - started,
    }


@st.cache_data(show_spinner=False, max_entries=24)
def voi_cached(
    scenario_hash: str, conventions: str, seed: int, draws: int, _scenario: Scenario, _psa: dict
) -> dict:
    """``model.voi.value_of_information`` (as ``nysjanse cba``) of the society NPV on the page's PSA draws
    of the scenario (:func:`psa_cached` with the same key): EVPI, EVPPI per parameter group and of the
    single parameters with the largest EVPPI."""
    from model.voi import value_of_information

    scen, params = prepared(_scenario, conventions)
    return value_of_information(_psa["sample"], _psa["summary"], scen, params, perspectives=("society",))


@st.cache_data(show_spinner=False, max_entries=32)
def comparison(
    hashes: tuple[str, ...], conventions: str, seed: int, replications: int, _runs: list[ScenarioRun]
) -> dict:
    """``model.compare.compare_runs``: differences with intervals and ΔNPV waterfalls."""
    return compare_runs(_runs, seed, replications)


@st.cache_data(show_spinner=False, max_entries=16)
def tornado_cached(
    scenario_hash: str,
    conventions: str,
    seed: int,
    inner: int,
    names: tuple[str, ...],
    _scenario: Scenario,
    _progress: Progress | None = None,
) -> tuple[pd.DataFrame, float]:
    """``model.uncertainty.tornado`` on the named parameters."""
    _scenario, params = prepared(_scenario, conventions)
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
    conventions: str,
    seed: int,
    replications: int,
    max_wait_weeks: float,
    service_level: float,
    _scenario: Scenario,
    _progress: Progress | None = None,
) -> dict:
    """``model.staffing.size`` (the same as ``nysjanse size``)."""
    _scenario, params = prepared(_scenario, conventions)
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


def _run_all(scenarios: list[Scenario], start, progress_of, running: str, done: str, suffix: str = "") -> list[dict]:
    """``start(scenario, progress)`` (a future) for every scenario, taken from the cache when it answers at
    once; otherwise one status box and progress bar over all of them. ``running`` and ``done`` are the status
    texts, formatted with ``n``, ``plural`` (and ``seconds`` for ``done``)."""
    out: list[dict] = []
    status = bar = None
    n = len(scenarios)
    plural = "s" if n > 1 else ""
    t0 = time.perf_counter()
    for i, s in enumerate(scenarios):
        progress = progress_of()
        future = start(s, progress)
        try:
            out.append(future.result(timeout=0.05))
            continue
        except TimeoutError:
            pass
        if status is None:
            status = st.status(running.format(n=n, plural=plural), expanded=True)
            with status:
                bar = st.progress(0.0, text="starting")
        out.append(wait_for(future, progress, bar, i / n, 1 / n, f"{fg.LETTERS[i]} · {s.name}{suffix}"))
    if status is not None:
        bar.progress(1.0, text="done")
        status.update(
            label=done.format(n=n, plural=plural, seconds=time.perf_counter() - t0),
            state="complete",
            expanded=False,
        )
    return out


def run_scenarios(
    scenarios: list[Scenario], seed: int, replications: int, conventions: str = DEFAULT_CONVENTIONS
) -> list[dict]:
    """Every scenario's results, from the cache when possible, with a progress bar while simulating."""
    return _run_all(
        scenarios,
        lambda s, progress: in_worker(simulate_and_price, s.hash, conventions, seed, replications, s, progress),
        lambda: Progress(replications),
        f"Simulating {{n}} scenario{{plural}} × {replications} replications …",
        f"Simulated {{n}} scenario{{plural}} × {replications} replications in {{seconds:.0f}} s "
        "(cached: going back to these settings is instant)",
    )


def run_psas(
    scenarios: list[Scenario], seed: int, draws: int, inner: int, conventions: str = DEFAULT_CONVENTIONS
) -> list[dict]:
    """Every scenario's PSA (:func:`psa_cached`), from the cache when possible, with a progress bar."""
    return _run_all(
        scenarios,
        lambda s, progress: in_worker(psa_cached, s.hash, conventions, seed, draws, inner, s, progress),
        lambda: Progress(draws, unit="parameter draw"),
        f"PSA: {{n}} scenario{{plural}} × {draws} parameter draws …",
        f"PSA of {{n}} scenario{{plural}} × {draws} parameter draws in {{seconds:.1f}} s (cached)",
        suffix=" (PSA)",
    )


def run_vois(
    scenarios: list[Scenario], psas: list[dict], seed: int, draws: int, conventions: str = DEFAULT_CONVENTIONS
) -> list[dict]:
    """Every scenario's value of information (:func:`voi_cached`) on its PSA, with a status while fitting."""
    out: list[dict] = []
    status = None
    t0 = time.perf_counter()
    for i, (s, psa) in enumerate(zip(scenarios, psas, strict=True)):
        future = in_worker(voi_cached, s.hash, conventions, seed, draws, s, psa)
        try:
            out.append(future.result(timeout=0.05))
            continue
        except TimeoutError:
            pass
        if status is None:
            status = st.status("Value of information: fitting the EVPPI regressions …", expanded=False)
        with status:
            st.caption(f"{fg.LETTERS[i]} · {s.name}")
        out.append(future.result())
    if status is not None:
        status.update(
            label=f"Value of information of {len(scenarios)} scenario{'s' if len(scenarios) > 1 else ''} "
            f"in {time.perf_counter() - t0:.1f} s (cached)",
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


