"""Chunked, resumable probabilistic sensitivity analysis (PSA), serial, on local processes or on Dask.

The outer level draws parameter sets (:func:`model.uncertainty.sample_parameters`: the calibration's
posterior rows jointly, every other graded parameter from its registry distribution); the inner level runs
``inner`` replications of each draw with the same seeds (common random numbers), pooled into one result per
draw (:func:`model.cba.summarize_parameter_columns`).

Draws are evaluated in chunks of consecutive draws. Each chunk is a pure function of (scenario, parameter
values, seed, inner), so it gives the same numbers wherever it runs: in this process, in a local process
pool, or on a ``dask.distributed`` cluster. With an output folder, every chunk is saved as soon as it
finishes (``OUT/chunks/chunk-0003.parquet``, written atomically) together with the parameter values it was
computed from; a rerun of the same analysis reuses every saved chunk whose draws and parameter values
match and computes only the missing ones, so an interrupted run resumes where it stopped.

``psa_summary.json`` depends only on the draws' results (no timings, worker counts or paths), so a serial
run, a run on two local processes and a run on a Dask cluster with the same seed write identical bytes.
"""

from __future__ import annotations

import concurrent.futures as cf
import datetime as dt
import json
import math
import os
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from model.cba import PERSPECTIVES, summarize_parameter_columns
from model.errors import InputError
from model.parameters import ParameterSet
from model.scenario import Scenario
from model.uncertainty import calibration_draws, sample_parameters, stats

CHUNKS_DIR = "chunks"
CHUNK_NAME = "chunk-{:04d}.parquet"
RUN_FILE = "run.json"
PARAM_PREFIX = "param:"
#: Result columns of a draw (model.cba.summary_row), in this order.
RESULT_COLUMNS = (
    *(f"{p}_{m}" for p in PERSPECTIVES for m in ("npv_nok", "bcr")),
    "cost_per_extra_employed_person_year_nok",
    "net_budget_effect_nok_per_year",
    "participants",
    "society_npv_per_participant_nok",
    "employed_person_years_per_participant",
    "society_transfers_net_nok",
)

Progress = Callable[[int, int], None]  # (draws done, draws in all)


def default_chunk_size(draws: int) -> int:
    """Draws per chunk: about 20 chunks, 1 to 50 draws each (a function of ``draws`` only, so that a
    resumed run cuts the same chunks whatever the number of workers)."""
    return int(min(50, max(1, math.ceil(draws / 20))))


def chunk_ranges(draws: int, chunk_size: int) -> list[tuple[int, int]]:
    """``[first, stop)`` draw ranges of the chunks."""
    return [(a, min(a + chunk_size, draws)) for a in range(0, draws, chunk_size)]


def evaluate_chunk(
    scenario: Scenario, params: ParameterSet, values: Sequence[dict[str, float]], first: int, seed: int, inner: int
) -> pd.DataFrame:
    """Evaluate consecutive draws ``first, first + 1, …`` (one parameter setting each).

    Returns:
        One row per draw: ``draw``, the parameter values (``param:NAME`` columns) and the result columns
        (:data:`RESULT_COLUMNS`).
    """
    rows = []
    for k, setting in enumerate(values):
        row, _, _ = summarize_parameter_columns(scenario, params.with_values(dict(setting)), seed, inner, label=first + k)
        rows.append({"draw": first + k, **{PARAM_PREFIX + n: float(v) for n, v in setting.items()}, **row})
    out = pd.DataFrame(rows)
    out["draw"] = out["draw"].astype(np.int64)
    return out


@dataclass
class PSAResult:
    """The draws of a PSA and how they were obtained."""

    draws: pd.DataFrame  # one row per draw (see evaluate_chunk), ordered by draw
    summary: dict  # the content of psa_summary.json
    chunk_size: int
    chunks_computed: list[int] = field(default_factory=list)
    chunks_reused: list[int] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def chunks(self) -> int:
        return len(self.chunks_computed) + len(self.chunks_reused)


def _write_parquet_atomic(frame: pd.DataFrame, path: Path) -> None:
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    os.close(fd)
    try:
        frame.to_parquet(tmp, index=False)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _run_key(scenario: Scenario, seed: int, inner: int, chunk_size: int) -> dict:
    """What must agree for saved chunks to be reused (besides each chunk's own parameter values)."""
    return {"scenario_hash": scenario.hash, "seed": int(seed), "inner_replications": int(inner), "chunk_size": int(chunk_size)}


def _saved_chunk(path: Path, expected: pd.DataFrame) -> pd.DataFrame | None:
    """The saved chunk at ``path`` if it holds exactly the expected draws and parameter values."""
    if not path.exists():
        return None
    try:
        saved = pd.read_parquet(path)
    except Exception:  # a partial or corrupt file (pyarrow raises its own errors): recompute it
        return None
    cols = list(expected.columns)
    if len(saved) != len(expected) or not set(cols) <= set(saved.columns) or "draw" not in saved:
        return None
    if not np.array_equal(saved["draw"].to_numpy(), expected.index.to_numpy()):
        return None
    if not np.array_equal(saved[cols].to_numpy(float), expected.to_numpy(float)):
        return None
    if not set(RESULT_COLUMNS) <= set(saved.columns):
        return None
    return saved


def run_psa(
    scenario: Scenario,
    params: ParameterSet,
    draws: int,
    *,
    seed: int = 1,
    inner: int = 1,
    out: Path | str | None = None,
    executor: cf.Executor | None = None,
    chunk_size: int | None = None,
    progress: Progress | None = None,
    sample: pd.DataFrame | None = None,
) -> PSAResult:
    """Run (or resume) a PSA of ``draws`` parameter draws.

    Args:
        scenario: the scenario.
        params: its parameter registry (point values; graded parameters are drawn).
        draws: outer draws.
        seed: root seed of the parameter draws and of the inner replications.
        inner: inner replications per draw (common random numbers).
        out: folder for the chunks (``OUT/chunks``); None keeps everything in memory (no resume).
        executor: where chunks run: None (this process), a ``ProcessPoolExecutor``, or a Dask
            ``Client.get_executor()``; results do not depend on it.
        chunk_size: draws per chunk (default :func:`default_chunk_size`).
        progress: called with (draws done, draws in all) at the start and after each chunk.
        sample: the parameter draws (default: :func:`model.uncertainty.sample_parameters`).

    Returns:
        The draws, the summary (:func:`psa_summary`) and which chunks were computed or reused.

    Raises:
        InputError: ``out`` holds chunks of a different analysis (scenario, seed, inner or chunk size).
    """
    started = time.perf_counter()
    if draws < 1:
        raise InputError("command line", "--draws", draws, "a positive number of draws")
    size = int(chunk_size or default_chunk_size(draws))
    if sample is None:
        sample = sample_parameters(params, draws, seed, calibration_draws(scenario))
    sample = sample.reset_index(drop=True)
    expected = sample.rename(columns=lambda c: PARAM_PREFIX + c)
    ranges = chunk_ranges(draws, size)

    chunk_dir = None
    if out is not None:
        chunk_dir = Path(out) / CHUNKS_DIR
        chunk_dir.mkdir(parents=True, exist_ok=True)
        key = _run_key(scenario, seed, inner, size)
        run_file = chunk_dir / RUN_FILE
        if run_file.exists():
            try:
                old = json.loads(run_file.read_text(encoding="utf-8"))
            except (OSError, ValueError):
                old = None
            if old is not None and old != key:
                diff = {k: old.get(k) for k in key if old.get(k) != key[k]}
                raise InputError(
                    str(chunk_dir),
                    ", ".join(diff),
                    diff,
                    f"the same values as this run ({ {k: key[k] for k in diff} }) to resume; use another --out or delete the folder",
                )
        from model.artifacts import write_json

        write_json(run_file, key)

    parts: dict[int, pd.DataFrame] = {}
    reused: list[int] = []
    todo: list[int] = []
    for c, (a, b) in enumerate(ranges):
        saved = _saved_chunk(chunk_dir / CHUNK_NAME.format(c), expected.iloc[a:b]) if chunk_dir is not None else None
        if saved is not None:
            parts[c] = saved
            reused.append(c)
        else:
            todo.append(c)

    done = sum(ranges[c][1] - ranges[c][0] for c in reused)
    if progress:
        progress(done, draws)

    def finished(c: int, frame: pd.DataFrame) -> None:
        nonlocal done
        parts[c] = frame
        if chunk_dir is not None:
            _write_parquet_atomic(frame, chunk_dir / CHUNK_NAME.format(c))
        done += ranges[c][1] - ranges[c][0]
        if progress:
            progress(done, draws)

    def args(c: int) -> tuple:
        a, b = ranges[c]
        return (scenario, params, sample.iloc[a:b].to_dict(orient="records"), a, seed, inner)

    if executor is None:
        for c in todo:
            finished(c, evaluate_chunk(*args(c)))
    else:
        futures = {executor.submit(evaluate_chunk, *args(c)): c for c in todo}
        try:
            for fut in cf.as_completed(futures):
                finished(futures[fut], fut.result())
        except BaseException:
            for fut in futures:
                fut.cancel()
            raise

    table = pd.concat([parts[c] for c in range(len(ranges))], ignore_index=True)
    table = table.sort_values("draw", ignore_index=True)
    return PSAResult(
        draws=table,
        summary=psa_summary(scenario, table, seed=seed, inner=inner),
        chunk_size=size,
        chunks_computed=sorted(set(todo)),
        chunks_reused=reused,
        seconds=time.perf_counter() - started,
    )


def _stats(values: pd.Series) -> dict[str, float | None]:
    return stats(values.to_numpy(dtype=float))


def psa_summary(scenario: Scenario, table: pd.DataFrame, *, seed: int, inner: int) -> dict:
    """The content of ``psa_summary.json``: a pure function of the draws (byte-stable across executors).

    Per perspective: NPV and BCR (mean, 5th and 95th percentile over the draws; each draw is the mean of
    its inner replications) and P(NPV > 0); per participant: the society NPV and the extra employed
    person-years (programme − counterfactual). NOK of the scenario's price year.
    """
    perspectives = {}
    for p in PERSPECTIVES:
        npv = table[f"{p}_npv_nok"]
        perspectives[p] = {
            "npv_nok": _stats(npv),
            "bcr": _stats(table[f"{p}_bcr"]),
            "prob_npv_positive": float((npv > 0).mean()),
        }
    return {
        "scenario": scenario.name,
        "scenario_hash": scenario.hash,
        "seed": int(seed),
        "draws": int(len(table)),
        "inner_replications": int(inner),
        "price_year": scenario.analysis.price_year,
        "perspectives": perspectives,
        "per_participant": {
            "society_npv_nok": _stats(table["society_npv_per_participant_nok"]),
            "employed_person_years": _stats(table["employed_person_years_per_participant"]),
        },
        "participants": _stats(table["participants"]),
        "cost_per_extra_employed_person_year_nok": _stats(table["cost_per_extra_employed_person_year_nok"]),
        "net_budget_effect_nok_per_year": _stats(table["net_budget_effect_nok_per_year"]),
        "ledger_check": {"society_transfers_net_nok_max_abs": float(table["society_transfers_net_nok"].abs().max())},
        "interval": "p05-p95 over the parameter draws (parameter uncertainty; each draw pools its inner replications)",
    }


def write_outputs(result: PSAResult, scenario: Scenario, params: ParameterSet, out: Path | str, *, seed: int, inner: int,
                  started: dt.datetime, extra: dict | None = None) -> list[str]:
    """Write ``psa_summary.json``, ``psa_draws.csv`` and ``manifest.json`` into ``out`` (each atomically).

    The chunks stay in ``out/chunks`` (a rerun reuses them). Timings and the executor go to the manifest
    only.
    """
    from model.artifacts import atomic_write_text, manifest, write_json

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    write_json(out / "psa_summary.json", result.summary)
    atomic_write_text(out / "psa_draws.csv", result.draws.to_csv(index=False))
    files = ["psa_summary.json", "psa_draws.csv", "manifest.json", f"{CHUNKS_DIR}/"]
    write_json(
        out / "manifest.json",
        manifest(
            command="psa",
            scenarios=[scenario],
            params=params,
            seed=seed,
            started=started,
            seconds=result.seconds,
            files=files,
            extra={
                "draws": int(len(result.draws)),
                "inner_replications": inner,
                "chunk_size": result.chunk_size,
                "chunks_computed": result.chunks_computed,
                "chunks_reused": result.chunks_reused,
                **(extra or {}),
            },
        ),
    )
    return files


__all__ = [
    "CHUNK_NAME",
    "PSAResult",
    "RESULT_COLUMNS",
    "chunk_ranges",
    "default_chunk_size",
    "evaluate_chunk",
    "psa_summary",
    "run_psa",
    "write_outputs",
]
