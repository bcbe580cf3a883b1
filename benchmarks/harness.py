"""The benchmark harness: one run on one machine, a readable table and a JSON file.

What is measured (wall-clock seconds on this machine, in one process unless stated):

- **kernel**: bare SimPy, a minimal timeout loop: 1 000 processes, each waiting 100 Exp(1) timeouts
  (about as many pending events as the engine has on the national scenario), run with ``env.run()``.
  Events = timeouts + one start and one end event per process.
- **engine**: :func:`model.engine.simulate` (both arms, including the per-person draws and plans) on the
  national scenario, as every command runs it (the fast path: the compiled desk loop for referral to
  programme end, compiled life courses); events = ``EventLog.sim_events`` of both arms, which is the
  number of events the all-SimPy reference engine processes for the same replication
  (``tests/test_fast_path.py``); its ratio to the kernel. The reference engine (``reference=True``) is
  timed beside it.
- **persons/s** at about 1 000, 10 000 and 100 000 referred persons: the national scenario with its 21
  projects copied 1, 11 and 107 times (referrals and staff scale together; every copy is a project like
  the original, so each person meets the same desks, the same horizon and the same per-person work).
  Time = drawing the population + the engine (both arms), best replication of a few; the tidy step is
  reported beside it.
  ``cost_per_person_ratio_100k_vs_1k`` = (seconds per person at 100 000) / (seconds per person at 1 000).
- **PSA**: ``model.psa.run_psa`` of the national scenario (inner = 1 replication per draw, both arms,
  economics included) on 2 local processes; the 1 000-draw time is measured, or in ``--quick`` mode
  extrapolated from fewer draws (``psa_extrapolated`` says so). The 2-worker speed-up is the same draws
  (the 1 000-draw PSA itself; 100 in ``--quick``) serially vs on a 2-process pool (pool start-up
  included, which weighs more on fewer draws), and ``serial_equals_parallel`` checks that both give
  identical results.
- **Ciw**: the same flow as a Ciw queue network (referral → assessment with infinite servers → 55 %
  admitted → a programme with as many servers as the national places, FCFS with reneging), national
  intake, same horizon; persons/s beside the engine's at about the same number of persons. Ciw models
  only the queue; the engine also runs both arms' life courses, so the ratio understates the work per
  person the engine does.
- **dashboard re-run**: what the dashboard runs for a new setting (``run_scenario`` without the per-person
  tables on the page's warm pool of 2 processes, ``evaluate_outcomes``, ``summarize``, the employment gap
  and the desks) for 200 replications of the national scenario (extrapolated from fewer in ``--quick``).

- **calibration, quick fit**: ``nysjanse calibrate --quick`` on the 2006 targets as a user runs it (a fresh
  process: imports, simulations on 2 processes, training, predictive check, writing), wall-clock seconds.

``--smoke`` runs every measurement at tiny sizes (seconds, for the test suite); its numbers mean nothing.
"""

from __future__ import annotations

import argparse
import copy
import json
import math
import os
import platform
import sys
import tempfile
import time
import tomllib
from importlib import metadata
from pathlib import Path

import numpy as np
import simpy

ROOT = Path(__file__).resolve().parent.parent
NATIONAL = ROOT / "scenarios" / "ny_sjanse_2005_2006.toml"
SIZES = (1_000, 10_000, 100_000)


def _now() -> float:
    return time.perf_counter()


# ------------------------------------------------------------------------------------------ kernel
def kernel_events_per_s(processes: int = 1000, timeouts: int = 100, repeats: int = 3, seed: int = 0) -> dict:
    """Bare SimPy: ``processes`` processes each waiting ``timeouts`` Exp(1) timeouts (best of ``repeats``)."""
    delays = np.random.default_rng(seed).exponential(1.0, (processes, timeouts)).tolist()

    def proc(env: simpy.Environment, ds: list[float]):
        for d in ds:
            yield env.timeout(d)

    best = math.inf
    for _ in range(repeats):
        t0 = _now()
        env = simpy.Environment()
        for ds in delays:
            env.process(proc(env, ds))
        env.run()
        best = min(best, _now() - t0)
    events = processes * (timeouts + 2)
    return {"kernel_events_per_s": events / best, "kernel_events": events, "kernel_seconds": best,
            "kernel_setup": f"{processes} processes x {timeouts} Exp(1) timeouts, env.run(), best of {repeats}"}


# ------------------------------------------------------------------------------------------ engine
def _national(path: Path = NATIONAL):
    from model.runner import scenario_parameters
    from model.scenario import load_scenario

    scen = load_scenario(path)
    return scen, scenario_parameters(scen)


def engine_events_per_s(replications: int = 5, seed: int = 1, path: Path = NATIONAL) -> dict:
    """:func:`model.engine.simulate` (both arms) on ``replications`` replications of the scenario, as run
    by default and as the all-SimPy reference engine."""
    from model.engine import simulate
    from model.population import draw_population
    from model.rng import Streams

    scen, params = _national(path)
    out: dict = {}
    for prefix, reference in (("engine", False), ("reference_engine", True)):
        events, seconds, persons, rates = 0, 0.0, 0, []
        for r in range(replications):
            streams = Streams(seed, r)
            pop = draw_population(scen, params, streams)
            t0 = _now()
            logs = simulate(scen, params, pop, streams, reference=reference)
            dt = _now() - t0
            n_events = logs.programme.sim_events + logs.counterfactual.sim_events
            seconds += dt
            events += n_events
            persons += pop.size
            rates.append(n_events / dt)
        # The best replication's rate, like the kernel's best of its repeats (other load on the machine
        # only ever slows a run down); the mean over replications is reported beside it.
        out.update({f"{prefix}_events_per_s": max(rates), f"{prefix}_events_per_s_mean": events / seconds,
                    f"{prefix}_events_per_replication": events / replications,
                    f"{prefix}_seconds_per_replication": seconds / replications})
    out.update({"engine_persons_per_replication": persons / replications, "engine_replications": replications})
    return out


# ------------------------------------------------------------------------------------------ scaling
def scaled_scenario(copies: int, path: Path = NATIONAL):
    """The scenario with its projects copied ``copies`` times (referrals and staff scale together)."""
    from model.scenario import scenario_from_document

    doc = tomllib.loads(path.read_text(encoding="utf-8"))
    projects = []
    for c in range(copies):
        for p in doc["projects"]:
            q = copy.deepcopy(p)
            if c:
                q["name"] = f"{p['name']} #{c + 1}"
            projects.append(q)
    doc = {**doc, "projects": projects}
    return scenario_from_document(doc, path)


def persons_per_s(sizes: tuple[int, ...] = SIZES, repeats: dict[int, int] | None = None, seed: int = 1,
                  tidy_up_to: int = 10**9, path: Path = NATIONAL, copies: dict[int, int] | None = None) -> dict:
    """Persons per second (population + engine, both arms) at about ``sizes`` referred persons.

    Args:
        sizes: nominal numbers of referred persons.
        repeats: replications timed per size (default 3, 2, 1).
        tidy_up_to: also time the tidy step up to this size.
        copies: project copies per size (default: size / persons of one national replication).
    """
    from model.engine import simulate
    from model.outcomes import tidy
    from model.population import draw_population
    from model.rng import Streams
    from model.runner import scenario_parameters

    base_scen, base_params = _national(path)
    base_persons = draw_population(base_scen, base_params, Streams(seed, 0)).size
    repeats = repeats or {s: r for s, r in zip(sizes, (3, 2, 1), strict=False)}
    out: dict = {"persons_per_s": {}, "persons_actual": {}, "seconds_per_person_us": {}, "tidy_persons_per_s": {},
                 "project_copies": {}}
    for size in sizes:
        m = (copies or {}).get(size) or max(1, round(size / base_persons))
        scen = scaled_scenario(m, path) if m > 1 else base_scen
        params = scenario_parameters(scen)
        persons, rates, tidy_rates = 0, [], []
        for r in range(repeats.get(size, 1)):
            t0 = _now()
            streams = Streams(seed, r)
            pop = draw_population(scen, params, streams)
            logs = simulate(scen, params, pop, streams)
            rates.append(pop.size / (_now() - t0))
            persons += pop.size
            if size <= tidy_up_to:
                t1 = _now()
                tidy(scen, pop, logs, r)
                tidy_rates.append(pop.size / (_now() - t1))
            del logs
        key = str(size)
        out["persons_per_s"][key] = max(rates)  # best replication (load on the machine only slows runs down)
        out["persons_actual"][key] = persons / repeats.get(size, 1)
        out["seconds_per_person_us"][key] = 1e6 / max(rates)
        out["tidy_persons_per_s"][key] = max(tidy_rates) if tidy_rates else None
        out["project_copies"][key] = m
    keys = [str(s) for s in sizes]
    out["cost_per_person_ratio_100k_vs_1k"] = out["persons_per_s"][keys[0]] / out["persons_per_s"][keys[-1]]
    return out


# ------------------------------------------------------------------------------------------ PSA
def psa_timing(draws: int, workers: int, inner: int = 1, seed: int = 1, path: Path = NATIONAL) -> tuple[float, dict]:
    """Seconds for a ``draws``-draw PSA (chunks saved to a temporary folder) and its summary."""
    from model.parallel import executor_for
    from model.psa import run_psa

    scen, params = _national(path)
    with tempfile.TemporaryDirectory() as tmp:
        t0 = _now()
        with executor_for(workers) as ex:
            result = run_psa(scen, params, draws, seed=seed, inner=inner, out=Path(tmp) / "psa", executor=ex)
        seconds = _now() - t0
    return seconds, result.summary


def psa_benchmarks(timed_draws: int, full_draws: int = 1000, speedup_draws: int | None = None, path: Path = NATIONAL) -> dict:
    """The 1 000-draw PSA time (measured if ``timed_draws >= full_draws``, else extrapolated) and the
    2-worker speed-up on ``speedup_draws`` draws (worker start included: the full mode measures it on the
    1 000-draw PSA itself, the quick mode on fewer draws, where the start weighs more)."""
    n = speedup_draws or timed_draws
    psa_timing(1, workers=1, path=path)  # warm up (imports, file caches) so that the serial run is not penalised
    serial_s, serial_summary = psa_timing(n, workers=1, path=path)
    par_s, par_summary = psa_timing(n, workers=2, path=path)
    out = {
        "parallel_speedup_2_workers": serial_s / par_s,
        "serial_equals_parallel": json.dumps(serial_summary, sort_keys=True) == json.dumps(par_summary, sort_keys=True),
        "speedup_draws": n,
        "psa_serial_seconds_per_draw": serial_s / n,
    }
    if timed_draws >= full_draws:
        full_s = par_s if n == full_draws else psa_timing(full_draws, workers=2, path=path)[0]
        out.update({"psa_1000_draws_seconds": full_s * 1000 / full_draws, "psa_extrapolated": False, "psa_draws_timed": full_draws})
    else:
        if timed_draws == n:
            t = par_s
        else:
            t, _ = psa_timing(timed_draws, workers=2, path=path)
        out.update({"psa_1000_draws_seconds": t * 1000 / timed_draws, "psa_extrapolated": True, "psa_draws_timed": timed_draws})
    out["psa_setup"] = "national scenario, inner = 1 replication per draw (both arms + economics), 2 local processes"
    return out


# ------------------------------------------------------------------------------------------ Ciw
def ciw_persons_per_s(scale: float = 1.0, seed: int = 1, repeats: int = 1) -> dict:
    """The referral → assessment → capacity-limited programme flow in Ciw, national intake and horizon."""
    import ciw

    horizon = 2556.0  # days, 2005-01-01 .. 2011-12-31 as in the national scenario
    window = 520.0  # intake days: about 17 months of referrals
    rate = scale * 938.0 / window  # 938 referred by 2006-12-01 (IMDi 4-2007 table 3)
    servers = max(1, round(scale * 400))  # about the national number of places

    def network():
        return ciw.create_network(
            arrival_distributions=[ciw.dists.PoissonIntervals(rates=[rate, 0.0], endpoints=[window, horizon], max_sample_date=horizon), None],
            service_distributions=[ciw.dists.Gamma(2.0, 15.0), ciw.dists.Exponential(1 / 400)],
            routing=[[0.0, 0.55], [0.0, 0.0]],
            number_of_servers=[float("inf"), servers],
            reneging_time_distributions=[None, ciw.dists.Exponential(1 / 300)],
        )

    best, persons = math.inf, 0
    for r in range(repeats):
        ciw.seed(seed + r)
        t0 = _now()
        sim = ciw.Simulation(network())
        sim.simulate_until_max_time(horizon)
        dt = _now() - t0
        if dt < best:
            best, persons = dt, sim.nodes[0].number_of_individuals
    return {"ciw_persons_per_s": persons / best, "ciw_persons": persons, "ciw_servers": servers,
            "ciw_setup": "Exp arrivals for 520 days, Gamma(2, 15) assessment (inf servers), 55 % routed to a programme "
                         f"with {servers} servers, Exp(1/400) stay, Exp(1/300) reneging; until day 2556"}


# ------------------------------------------------------------------------------------------ dashboard
def dashboard_rerun(replications: int, nominal: int = 200, seed: int = 1, path: Path = NATIONAL, workers: int = 2) -> dict:
    """What the dashboard runs for a new setting: simulate (no per-person tables, on its warm pool of
    ``workers`` processes), price and summarise ``replications`` replications."""
    import concurrent.futures as cf

    from model.cba import evaluate_outcomes
    from model.outcomes import employment_gap_by_month
    from model.runner import run_scenario, summarize
    from model.staffing import desk_months

    scen, params = _national(path)

    def rerun(n: int) -> None:
        result = run_scenario(scen, n, seed, params, tables=False, executor=pool)
        evaluate_outcomes(scen, params, result.outcomes)
        summarize(result)
        employment_gap_by_month(result.table("participant_states"))
        desk_months(scen, result.table("desks"))

    with cf.ProcessPoolExecutor(max_workers=workers) as pool:
        rerun(workers)  # warm, as the page is after its first run: its pool started, compiled code loaded
        t0 = _now()
        rerun(replications)
        seconds = _now() - t0
    return {"dashboard_200_replications_seconds": seconds * nominal / replications,
            "dashboard_extrapolated": replications != nominal, "dashboard_replications_timed": replications,
            "dashboard_workers": workers}


POLICY_36 = ROOT / "scenarios" / "policy" / "length_36_months.toml"


def dashboard_psa_rerun(draws: int = 200, nominal: int = 200, seed: int = 1, workers: int = 2,
                        paths: tuple[Path, ...] = (NATIONAL, POLICY_36)) -> dict:
    """The dashboard's PSA for a new setting, through the library calls the page makes
    (``dashboard/library_calls.py::psa_cached`` without Streamlit): per scenario the convention set
    (``model.conventions.apply_conventions``, default), ``draws`` parameter draws
    (``sample_parameters`` with ``calibration_draws``) × 1 replication with common random numbers
    (``run_draws``) on a warm pool of ``workers`` forkserver processes (as the page's), then the page's
    NPV rows and the paired differences. Two numbers: both scenarios new (``dashboard_psa_rerun_seconds``),
    and one scenario new with the other from the page's cache (``…_one_changed_seconds``)."""
    import concurrent.futures as cf
    import multiprocessing as mp

    from model.conventions import apply_conventions
    from model.runner import scenario_parameters
    from model.scenario import load_scenario
    from model.uncertainty import calibration_draws, run_draws, sample_parameters, stats

    scenarios = [load_scenario(p) for p in paths]

    def psa(scen, n: int, s: int, pool) -> np.ndarray:
        scen, params = apply_conventions(scen, scenario_parameters(scen), "default")
        sample = sample_parameters(params, n, s, calibration_draws(scen))
        summary = run_draws(scen, params, sample.to_dict(orient="records"), s, 1, pool).summary
        for col in ("society_npv_nok", "state_npv_nok", "municipality_npv_nok", "participant_npv_nok"):
            stats(summary[col].to_numpy(dtype=float))
        return summary["society_npv_nok"].to_numpy(dtype=float)

    context = mp.get_context("forkserver")
    context.set_forkserver_preload(["model.runner"])
    with cf.ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
        for s in scenarios:  # warm, as the page is after its first run
            psa(s, workers, seed + 1, pool)
        t0 = _now()
        npvs = [psa(s, draws, seed, pool) for s in scenarios]
        stats(npvs[1] - npvs[0])
        both = _now() - t0
        t0 = _now()
        psa(scenarios[1], draws, seed + 2, pool)
        one = _now() - t0
    scale = nominal / draws
    return {"dashboard_psa_rerun_seconds": both * scale, "dashboard_psa_rerun_one_changed_seconds": one * scale,
            "dashboard_psa_draws_timed": draws, "dashboard_psa_extrapolated": draws != nominal,
            "dashboard_psa_setup": f"national + 36-month scenarios, {nominal} draws x 1 replication each, {workers} warm forkserver workers"}


# ------------------------------------------------------------------------------------------ run
MODES = {
    # timed sizes per mode
    "full": {"kernel": (1000, 100, 5), "engine_reps": 20, "repeats": {1000: 10, 10000: 3, 100000: 2}, "tidy_up_to": 100000,
             "psa_timed": 1000, "speedup_draws": 1000, "ciw_repeats": 3, "dashboard_reps": 200},
    "quick": {"kernel": (1000, 100, 5), "engine_reps": 5, "repeats": {1000: 3, 10000: 1, 100000: 2}, "tidy_up_to": 10000,
              "psa_timed": 100, "speedup_draws": 100, "ciw_repeats": 1, "dashboard_reps": 40},
    "smoke": {"kernel": (50, 20, 1), "engine_reps": 1, "repeats": {1000: 1, 10000: 1, 100000: 1}, "tidy_up_to": 0,
              "psa_timed": 2, "speedup_draws": 2, "ciw_repeats": 1, "dashboard_reps": 1},
}


def calibrate_quick_seconds(smoke: bool = False) -> dict:
    """Wall-clock seconds of ``nysjanse calibrate --quick --seed 1`` on the 2006 targets (a fresh process).

    ``smoke``: a tiny in-process fit through the same library calls (the number means nothing)."""
    targets = Path(__file__).resolve().parent.parent / "calibration/targets/ny_sjanse_2006.toml"
    t0 = _now()
    if smoke:
        from calibration.posterior import Settings, fit_posterior
        from calibration.targets import load_targets
        from model.runner import scenario_parameters
        from model.scenario import load_scenario

        ts = load_targets(targets)
        scen = load_scenario(ts.scenario, {"parameters.files": []})
        tiny = Settings(simulations=60, draws=10, predictive_draws=5, hidden_features=4, num_transforms=1, stop_after_epochs=1, max_epochs=2)
        fit_posterior(scen, scenario_parameters(scen), ts, settings=tiny, names=("decision.p_other",), seed=1)
    else:
        import subprocess

        with tempfile.TemporaryDirectory() as tmp:
            cmd = [sys.executable, "-c", "from model.cli import main; main()", "calibrate", "--quick", "--seed", "1",
                   "--targets", str(targets), "--out", str(Path(tmp) / "fit")]
            subprocess.run(cmd, check=True, capture_output=True, cwd=targets.parent.parent.parent)
    return {"calibrate_quick_seconds": _now() - t0}


def run(mode: str = "quick", log=print) -> dict:
    """Run every benchmark of ``mode`` (``full``, ``quick`` or ``smoke``) and return the results."""
    cfg = MODES[mode]
    started = _now()
    res: dict = {"mode": mode}

    def step(name: str, fn, *args, **kwargs) -> None:
        t0 = _now()
        res.update(fn(*args, **kwargs))
        log(f"  {name}: {_now() - t0:.1f} s")

    procs, touts, reps = cfg["kernel"]
    step("SimPy kernel", kernel_events_per_s, procs, touts, reps)
    step("engine, national scenario", engine_events_per_s, cfg["engine_reps"])
    res["engine_to_kernel_ratio"] = res["engine_events_per_s"] / res["kernel_events_per_s"]
    res["reference_engine_to_kernel_ratio"] = res["reference_engine_events_per_s"] / res["kernel_events_per_s"]
    if mode == "smoke":  # tiny stand-ins for the three sizes (numbers meaningless; keys as in the real run)
        step("persons/s (smoke)", persons_per_s, SIZES, cfg["repeats"], tidy_up_to=0, copies={1000: 1, 10000: 1, 100000: 2})
    else:
        step("persons/s at 1k, 10k, 100k", persons_per_s, SIZES, cfg["repeats"], tidy_up_to=cfg["tidy_up_to"])
    step("PSA and 2-worker speed-up", psa_benchmarks, cfg["psa_timed"], 1000, cfg["speedup_draws"])
    step("Ciw", ciw_persons_per_s, 1.0, 1, cfg["ciw_repeats"])
    res["engine_persons_per_s_national"] = res["persons_per_s"]["1000"]
    res["engine_to_ciw_persons_ratio"] = res["engine_persons_per_s_national"] / res["ciw_persons_per_s"]
    step("dashboard re-run", dashboard_rerun, cfg["dashboard_reps"])
    step("dashboard PSA re-run, 2 scenarios", dashboard_psa_rerun, 4 if mode == "smoke" else 200)
    step("calibration, quick fit", calibrate_quick_seconds, mode == "smoke")
    res["goals"] = goals(res)
    res["machine"] = machine()
    res["total_seconds"] = _now() - started
    return res


def goals(res: dict) -> dict:
    """Each goal of the performance issue: met or not, with the number."""
    return {
        "engine_at_least_half_of_kernel": res["engine_to_kernel_ratio"] >= 0.5,
        "cost_per_person_100k_at_most_1_5x_1k": res["cost_per_person_ratio_100k_vs_1k"] <= 1.5,
        "speedup_2_workers_at_least_1_7": res["parallel_speedup_2_workers"] >= 1.7,
        "psa_1000_draws_about_a_minute": res["psa_1000_draws_seconds"] <= 70.0,
        "dashboard_200_replications_about_2_s": res["dashboard_200_replications_seconds"] <= 2.5,
        "dashboard_psa_rerun_at_most_3_s": res["dashboard_psa_rerun_seconds"] <= 3.0,
        "calibrate_quick_at_most_30_s": res["calibrate_quick_seconds"] <= 30.0,
    }


def machine() -> dict:
    versions = {}
    for pkg in ("simpy", "ciw", "numpy", "pandas", "dask", "distributed"):
        try:
            versions[pkg] = metadata.version(pkg)
        except metadata.PackageNotFoundError:
            pass
    try:
        load = os.getloadavg()
    except OSError:
        load = None
    return {"cpus": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform(),
            "load_average_1_5_15_min": load, "packages": versions,
            "time_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}


def print_table(res: dict, file=sys.stdout) -> None:
    """The results as a readable table."""
    from rich.console import Console
    from rich.table import Table

    g = res["goals"]
    ok = {True: "met", False: "NOT met"}
    t = Table(title=f"nysjanse benchmarks ({res['mode']}, {res['machine']['cpus']} CPUs)", title_justify="left")
    for col in ("measure", "value", "goal"):
        t.add_column(col, justify="left" if col != "value" else "right")
    t.add_row("SimPy kernel events/s", f"{res['kernel_events_per_s']:,.0f}", "")
    t.add_row("engine events/s (national)", f"{res['engine_events_per_s']:,.0f}", "")
    t.add_row("engine / kernel", f"{res['engine_to_kernel_ratio']:.2f}", f">= 0.50: {ok[g['engine_at_least_half_of_kernel']]}")
    t.add_row("reference engine (all SimPy) / kernel", f"{res['reference_engine_to_kernel_ratio']:.2f}", "(same events, same records)")
    for k, v in res["persons_per_s"].items():
        tidy = res["tidy_persons_per_s"].get(k)
        extra = f" (tidy {tidy:,.0f}/s)" if tidy else ""
        t.add_row(f"persons/s at {int(res['persons_actual'][k]):,} referred", f"{v:,.0f}{extra}", "")
    t.add_row("cost per person, 100k vs 1k", f"{res['cost_per_person_ratio_100k_vs_1k']:.2f}x",
              f"<= 1.5x: {ok[g['cost_per_person_100k_at_most_1_5x_1k']]}")
    t.add_row(f"speed-up, 2 workers vs 1 (PSA of {res['speedup_draws']:,} draws)", f"{res['parallel_speedup_2_workers']:.2f}x",
              f">= 1.7x: {ok[g['speedup_2_workers_at_least_1_7']]}; identical results: {res['serial_equals_parallel']}")
    ext = f" (extrapolated from {res['psa_draws_timed']})" if res["psa_extrapolated"] else ""
    t.add_row("PSA, 1 000 draws, 2 workers", f"{res['psa_1000_draws_seconds']:.0f} s{ext}", f"about 60 s: {ok[g['psa_1000_draws_about_a_minute']]}")
    ext = f" (extrapolated from {res['dashboard_replications_timed']})" if res["dashboard_extrapolated"] else ""
    t.add_row("dashboard re-run, 200 replications", f"{res['dashboard_200_replications_seconds']:.1f} s{ext}",
              f"about 2 s: {ok[g['dashboard_200_replications_about_2_s']]}")
    t.add_row("calibrate --quick (fresh process)", f"{res['calibrate_quick_seconds']:.1f} s", f"<= 30 s: {ok[g['calibrate_quick_at_most_30_s']]}")
    ext = " (extrapolated)" if res["dashboard_psa_extrapolated"] else ""
    t.add_row("dashboard PSA re-run, 2 scenarios x 200 draws", f"{res['dashboard_psa_rerun_seconds']:.1f} s{ext} "
              f"(one changed: {res['dashboard_psa_rerun_one_changed_seconds']:.1f} s)",
              f"<= 3 s: {ok[g['dashboard_psa_rerun_at_most_3_s']]}")
    t.add_row("Ciw persons/s (same flow, national)", f"{res['ciw_persons_per_s']:,.0f}", "")
    t.add_row("engine / Ciw persons/s", f"{res['engine_to_ciw_persons_ratio']:.2f}", "(engine: both arms + life courses)")
    Console(file=file, width=140).print(t)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__.split("\n\n")[0])
    group = ap.add_mutually_exclusive_group()
    group.add_argument("--quick", action="store_true", help="fewer repetitions; the PSA time extrapolated (under a minute)")
    group.add_argument("--smoke", action="store_true", help="tiny sizes, a few seconds (numbers meaningless; for tests)")
    ap.add_argument("--json", type=Path, help="write the results here")
    args = ap.parse_args(argv)
    mode = "smoke" if args.smoke else "quick" if args.quick else "full"
    print(f"nysjanse benchmarks ({mode}) ...", file=sys.stderr, flush=True)
    res = run(mode, log=lambda m: print(m, file=sys.stderr, flush=True))
    print_table(res)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(res, indent=2) + "\n", encoding="utf-8")
        print(f"wrote {args.json}", file=sys.stderr)


if __name__ == "__main__":
    main()
