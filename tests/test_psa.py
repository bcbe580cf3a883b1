"""The chunked, resumable PSA (model.psa) and `nysjanse psa`.

- The same seed gives the same draws and the same psa_summary.json serially, on two local processes and on
  a two-process Dask LocalCluster (and whatever the chunk size).
- Finished chunks are saved at once; a rerun after deleting chunks, or after an interruption, recomputes
  only the missing chunks and gives the same result; a corrupt chunk is recomputed; chunks of another
  analysis are not mixed in.
- The lean per-draw evaluation equals the full one (model.cba.evaluate_parameters → pooled → summary_row), and
  model.uncertainty.run_draws joins the draws' pooled tables exactly.
"""

from __future__ import annotations

import concurrent.futures as cf
import json
import math
import subprocess
from pathlib import Path

import pandas as pd
import pytest

import model.psa as psa_module
from model.cba import evaluate_parameters, summarize_parameters, summary_row
from model.errors import InputError
from model.parallel import executor_for
from model.psa import CHUNK_NAME, RESULT_COLUMNS, run_psa
from model.runner import scenario_parameters
from model.scenario import load_scenario
from model.uncertainty import run_draws

ROOT = Path(__file__).resolve().parent.parent
EXE = ROOT / ".venv" / "bin" / "nysjanse"
SMALL = "tests/data/two_projects.toml"
DRAWS, CHUNK, SEED = 8, 2, 11


@pytest.fixture(scope="module")
def scen():
    return load_scenario(ROOT / SMALL)


@pytest.fixture(scope="module")
def params(scen):
    return scenario_parameters(scen)


@pytest.fixture(scope="module")
def serial(scen, params):
    return run_psa(scen, params, DRAWS, seed=SEED, inner=1, chunk_size=CHUNK)


def summary_bytes(result) -> str:
    return json.dumps(result.summary, indent=2)


def test_summary_has_the_contract_keys(serial):
    s = serial.summary
    for key in ("scenario_hash", "seed", "draws", "inner_replications", "perspectives", "per_participant"):
        assert key in s
    assert s["draws"] == DRAWS and s["seed"] == SEED and s["inner_replications"] == 1
    for p in ("society", "state", "municipality", "participant"):
        v = s["perspectives"][p]
        assert set(v["npv_nok"]) == set(v["bcr"]) == {"mean", "p05", "p95"}
        assert 0.0 <= v["prob_npv_positive"] <= 1.0
    assert set(s["per_participant"]) == {"society_npv_nok", "employed_person_years"}
    assert list(serial.draws["draw"]) == list(range(DRAWS))
    assert set(RESULT_COLUMNS) <= set(serial.draws.columns)
    # No timings, worker counts or paths in the summary.
    text = summary_bytes(serial)
    assert "seconds" not in text and "worker" not in text and str(ROOT) not in text


def test_two_local_processes_give_identical_results(scen, params, serial):
    with executor_for(2) as ex:
        assert isinstance(ex, cf.ProcessPoolExecutor)
        par = run_psa(scen, params, DRAWS, seed=SEED, inner=1, chunk_size=CHUNK, executor=ex)
    pd.testing.assert_frame_equal(par.draws, serial.draws, check_exact=True)
    assert summary_bytes(par) == summary_bytes(serial)


def test_chunk_size_does_not_change_the_draws(scen, params, serial):
    other = run_psa(scen, params, DRAWS, seed=SEED, inner=1, chunk_size=3)
    pd.testing.assert_frame_equal(other.draws, serial.draws, check_exact=True)


def test_dask_local_cluster_gives_identical_results(scen, params, serial, tmp_path):
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(n_workers=2, processes=True, threads_per_worker=1, dashboard_address=None) as cluster:
        with executor_for(scheduler=cluster.scheduler_address) as ex:
            on_dask = run_psa(scen, params, DRAWS, seed=SEED, inner=1, chunk_size=CHUNK, executor=ex)
        # The command line on the same cluster (--scheduler) against a serial run of the command.
        for name, how in (("dask", ["--scheduler", cluster.scheduler_address]), ("serial", ["--workers", "1"])):
            res = subprocess.run([str(EXE), "psa", SMALL, "--draws", "4", "--seed", "5", "--out", str(tmp_path / name), *how],
                                 cwd=ROOT, capture_output=True, text=True, timeout=300)
            assert res.returncode == 0, res.stderr
    pd.testing.assert_frame_equal(on_dask.draws, serial.draws, check_exact=True)
    assert summary_bytes(on_dask) == summary_bytes(serial)
    assert (tmp_path / "dask" / "psa_summary.json").read_bytes() == (tmp_path / "serial" / "psa_summary.json").read_bytes()
    assert json.loads((tmp_path / "dask" / "manifest.json").read_text())["scheduler"] == cluster.scheduler_address


class CountingChunks:
    """Wraps model.psa.evaluate_chunk to record which chunks (first draws) were computed."""

    def __init__(self, monkeypatch):
        self.firsts: list[int] = []
        real = psa_module.evaluate_chunk

        def spy(scenario, params, values, first, seed, inner):
            self.firsts.append(first)
            return real(scenario, params, values, first, seed, inner)

        monkeypatch.setattr(psa_module, "evaluate_chunk", spy)


def test_chunks_are_saved_and_a_rerun_recomputes_only_deleted_ones(scen, params, serial, tmp_path, monkeypatch):
    out = tmp_path / "psa"
    first = run_psa(scen, params, DRAWS, seed=SEED, inner=1, chunk_size=CHUNK, out=out)
    chunks = out / "chunks"
    names = sorted(p.name for p in chunks.glob("chunk-*.parquet"))
    assert names == [CHUNK_NAME.format(c) for c in range(DRAWS // CHUNK)]
    kept = {n: (chunks / n).stat().st_mtime_ns for n in names if n not in (CHUNK_NAME.format(1), CHUNK_NAME.format(3))}
    (chunks / CHUNK_NAME.format(1)).unlink()
    (chunks / CHUNK_NAME.format(3)).unlink()

    spy = CountingChunks(monkeypatch)
    again = run_psa(scen, params, DRAWS, seed=SEED, inner=1, chunk_size=CHUNK, out=out)
    assert sorted(spy.firsts) == [1 * CHUNK, 3 * CHUNK]
    assert again.chunks_computed == [1, 3] and again.chunks_reused == [0, 2]
    assert {n: (chunks / n).stat().st_mtime_ns for n in kept} == kept  # untouched
    pd.testing.assert_frame_equal(again.draws, first.draws, check_exact=True)
    pd.testing.assert_frame_equal(again.draws, serial.draws, check_exact=True)
    assert summary_bytes(again) == summary_bytes(serial)


def test_an_interrupted_run_resumes_where_it_stopped(scen, params, serial, tmp_path, monkeypatch):
    out = tmp_path / "psa"

    def interrupt_after_two_chunks(done: int, total: int) -> None:
        if done >= 2 * CHUNK:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run_psa(scen, params, DRAWS, seed=SEED, inner=1, chunk_size=CHUNK, out=out, progress=interrupt_after_two_chunks)
    assert sorted(p.name for p in (out / "chunks").glob("chunk-*.parquet")) == [CHUNK_NAME.format(0), CHUNK_NAME.format(1)]

    spy = CountingChunks(monkeypatch)
    resumed = run_psa(scen, params, DRAWS, seed=SEED, inner=1, chunk_size=CHUNK, out=out)
    assert sorted(spy.firsts) == [2 * CHUNK, 3 * CHUNK]
    assert resumed.chunks_reused == [0, 1]
    assert summary_bytes(resumed) == summary_bytes(serial)


def test_a_corrupt_chunk_is_recomputed(scen, params, serial, tmp_path):
    out = tmp_path / "psa"
    run_psa(scen, params, DRAWS, seed=SEED, inner=1, chunk_size=CHUNK, out=out)
    (out / "chunks" / CHUNK_NAME.format(2)).write_bytes(b"not parquet")
    again = run_psa(scen, params, DRAWS, seed=SEED, inner=1, chunk_size=CHUNK, out=out)
    assert again.chunks_computed == [2]
    assert summary_bytes(again) == summary_bytes(serial)


def test_chunks_of_another_analysis_are_not_mixed_in(scen, params, tmp_path):
    out = tmp_path / "psa"
    run_psa(scen, params, 2, seed=SEED, inner=1, chunk_size=1, out=out)
    with pytest.raises(InputError, match="seed"):
        run_psa(scen, params, 2, seed=SEED + 1, inner=1, chunk_size=1, out=out)


def test_more_draws_reuse_the_chunks_of_fewer(scen, params, serial, tmp_path, monkeypatch):
    out = tmp_path / "psa"
    run_psa(scen, params, DRAWS // 2, seed=SEED, inner=1, chunk_size=CHUNK, out=out)
    spy = CountingChunks(monkeypatch)
    more = run_psa(scen, params, DRAWS, seed=SEED, inner=1, chunk_size=CHUNK, out=out)
    assert sorted(spy.firsts) == [2 * CHUNK, 3 * CHUNK]
    assert summary_bytes(more) == summary_bytes(serial)


@pytest.mark.parametrize("inner", [1, 2])
def test_lean_draw_evaluation_equals_the_full_one(scen, params, inner):
    values = params.with_values({"life.sa_to_job_per_year": params.v("life.sa_to_job_per_year") * 1.3})
    ev = evaluate_parameters(scen, values, 5, inner)
    pooled = ev.pooled(4)
    full = summary_row(ev, pooled)
    lean, lean_pooled = summarize_parameters(scen, values, 5, inner, label=4)
    pd.testing.assert_frame_equal(lean_pooled, pooled, check_exact=True)
    assert full.keys() == lean.keys()
    for k, v in full.items():
        assert v == lean[k] or (math.isnan(v) and math.isnan(lean[k])), k


def test_run_draws_joins_the_draws_pooled_evaluations(scen, params):
    """run_draws joins the workers' columns into one table: the draws' pooled tables concatenated, with
    their attrs, serially and on two processes."""
    settings = [{"life.sa_to_job_per_year": params.v("life.sa_to_job_per_year") * f} for f in (0.7, 1.0, 1.3)]
    expected = pd.concat([summarize_parameters(scen, params.with_values(s), 5, 1, label=k)[1] for k, s in enumerate(settings)],
                         ignore_index=True)
    assert expected.attrs
    with cf.ProcessPoolExecutor(max_workers=2) as pool:
        for executor in (None, pool):
            got = run_draws(scen, params, settings, 5, 1, executor).evaluation
            pd.testing.assert_frame_equal(got, expected, check_exact=True)
            assert got.attrs == expected.attrs


def test_cli_psa_output_is_identical_for_one_and_two_workers(tmp_path):
    outs = {}
    for workers in (2, 1):
        out = tmp_path / f"w{workers}"
        res = subprocess.run(
            [str(EXE), "psa", SMALL, "--draws", "6", "--workers", str(workers), "--seed", "9", "--out", str(out)],
            cwd=ROOT, capture_output=True, text=True, timeout=300,
        )
        assert res.returncode == 0, res.stderr
        outs[workers] = out
    a, b = ((outs[w] / "psa_summary.json").read_bytes() for w in (1, 2))
    assert a == b
    doc = json.loads(a)
    assert doc["draws"] == 6 and doc["seed"] == 9
    man = json.loads((outs[2] / "manifest.json").read_text())
    assert man["command"] == "psa" and man["workers"] == 2 and "seconds" in man
    assert len(pd.read_csv(outs[2] / "psa_draws.csv")) == 6
    assert sorted(p.name for p in (outs[2] / "chunks").glob("chunk-*.parquet"))


def test_cli_psa_bad_input_is_one_line_and_exit_2(tmp_path):
    res = subprocess.run([str(EXE), "psa", "no/such/scenario.toml", "--draws", "2", "--out", str(tmp_path / "x")],
                         cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert res.returncode == 2
    assert "Traceback" not in res.stderr
