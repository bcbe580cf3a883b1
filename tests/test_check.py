"""Predictive intervals: `run --draws` and `nysjanse check` (issue 12 items 5 and 6)."""

from __future__ import annotations

import json
import subprocess
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
import pytest

from calibration.check import predictive_check, simulate_targets
from calibration.targets import load_targets
from model.runner import run_predictive, run_scenario, run_summary, scenario_parameters
from model.scenario import load_scenario

ROOT = Path(__file__).resolve().parent.parent
EXE = ROOT / ".venv" / "bin" / "nysjanse"
NATIONAL = ROOT / "scenarios" / "ny_sjanse_2005_2006.toml"
TARGETS_2006 = ROOT / "calibration" / "targets" / "ny_sjanse_2006.toml"
TWO = ROOT / "tests" / "data" / "two_projects.toml"


def test_run_with_draws_has_the_plain_runs_keys_and_says_predictive(tmp_path):
    out, plain = tmp_path / "pred", tmp_path / "plain"
    p1 = subprocess.run([str(EXE), "run", str(NATIONAL), "--draws", "4", "--replications", "2", "--seed", "1", "--out", str(out)],
                        capture_output=True, text=True, cwd=ROOT, timeout=300)
    p2 = subprocess.run([str(EXE), "run", str(NATIONAL), "--replications", "2", "--no-tables", "--out", str(plain)],
                        capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert p1.returncode == 0 and p2.returncode == 0, p1.stderr + p2.stderr
    pred, mc = json.loads((out / "summary.json").read_text()), json.loads((plain / "summary.json").read_text())
    assert pred["interval"] == "predictive" and pred["draws"] == 4 and pred["replications"] == 8
    assert mc["interval"] == "monte_carlo"
    assert set(mc) <= set(pred) and set(pred) - set(mc) == {"draws", "replications_per_draw"}
    assert set(pred["flows"]) == set(mc["flows"]) and set(pred["flows_by_group"]) == set(mc["flows_by_group"])
    row = pred["participant_states"][0]
    assert {"arm", "month", "employed_full_time", "employed", "social_assistance"} <= set(row)
    assert len(pred["participant_states"]) == len(mc["participant_states"])
    assert "predictive" in p1.stdout


def test_predictive_runs_give_each_draw_its_own_replications():
    """Draw k's replications are run_scenario's replications k·R … k·R+R−1 at draw k's parameters."""
    from model.uncertainty import calibration_draws, sample_parameters

    scen = load_scenario(TWO)
    params = scenario_parameters(scen)
    result = run_predictive(scen, 3, 2, 7, params)
    assert len(result.outcomes) == 6 and run_summary(result)["interval"] == "predictive"
    table = sample_parameters(params, 3, 7, calibration_draws(scen))
    again = run_scenario(scen, 2, 7, params.with_values(dict(table.iloc[1])), indices=[2, 3], tables=False)
    for a, b in zip(result.outcomes[2:4], again.outcomes, strict=True):
        assert a.flows == b.flows
    assert [o.replication for o in result.outcomes] == list(range(6))


def test_check_cli_writes_the_contract_files_within_the_time(tmp_path):
    out = tmp_path / "check"
    t0 = time.perf_counter()
    proc = subprocess.run([str(EXE), "check", str(NATIONAL), "--targets", str(TARGETS_2006), "--draws", "20", "--seed", "1", "--out", str(out)],
                          capture_output=True, text=True, cwd=ROOT, timeout=300)
    seconds = time.perf_counter() - t0
    assert proc.returncode == 0, proc.stderr
    assert seconds < 180
    doc = json.loads((out / "check.json").read_text())
    n = len(load_targets(TARGETS_2006).targets)
    assert len(doc["targets"]) == n and doc["interval"] == "predictive" and doc["draws"] == 20
    for t in doc["targets"]:
        assert {"name", "set", "date", "observed", "mean", "p05", "p95", "inside"} <= set(t)
        assert t["set"] == "ny_sjanse_2006"
        if t["mean"] is not None:
            assert t["p05"] <= t["mean"] <= t["p95"]
    inside = sum(t["inside"] for t in doc["targets"])
    assert doc["coverage"] == pytest.approx(inside / n) and doc["coverage_by_set"]["ny_sjanse_2006"]["inside"] == inside
    html = (out / "check.html").read_text()
    assert "flows.referred" in html and "plotly" in html
    assert set(json.loads((out / "manifest.json").read_text())["files"]) >= {"check.json", "check.html", "manifest.json"}


def test_check_is_the_same_serially_and_on_two_workers():
    ts = load_targets(TARGETS_2006)
    scen = load_scenario(NATIONAL)
    params = scenario_parameters(scen)
    serial = predictive_check(scen, params, ts, 6, 2, 3)
    with ProcessPoolExecutor(2) as ex:
        parallel = predictive_check(scen, params, ts, 6, 2, 3, ex)
    assert json.dumps(serial) == json.dumps(parallel)


def test_check_draws_have_their_own_persons():
    """Draw k's replications are k·R … k·R+R−1 at draw k's parameters: the pooled values are independent
    predictive draws (no two share a seed), each exactly the statistics of that replication."""
    from calibration.statistics import target_statistics
    from model.uncertainty import calibration_draws, sample_parameters

    ts = load_targets(TARGETS_2006)
    scen = load_scenario(NATIONAL)
    params = scenario_parameters(scen)
    sims = simulate_targets(scen, params, ts, 4, 3, 5)
    assert sims["replication"].tolist() == list(range(12))
    table = sample_parameters(params, 4, 5, calibration_draws(scen))
    row = sims.iloc[7]  # draw 2, its second replication
    again = target_statistics(scen, params.with_values(dict(table.iloc[2])), 5, 7, ts)
    assert int(row["draw"]) == 2
    for name, value in again.items():
        assert row[name] == value or (np.isnan(row[name]) and np.isnan(value)), name


def test_predictive_run_is_the_same_serially_and_on_two_workers():
    scen = load_scenario(TWO)
    params = scenario_parameters(scen)
    serial = run_summary(run_predictive(scen, 4, 2, 9, params))
    with ProcessPoolExecutor(2) as ex:
        parallel = run_summary(run_predictive(scen, 4, 2, 9, params, executor=ex))
    assert json.dumps(serial) == json.dumps(parallel)


LATER = """
[meta]
report_date = "2009-12-31"

[[target]]
name = "leavers.work_or_education"
value = 0.45
date = "2009-12-31"
window_start = "2009-01-01"
source = "test"
observation = "share"
denominator = 200
population = "ended in 2009"

[[target]]
name = "effect.2008-06.employed"
value = 0.05
date = "2008-06-01"
source = "test"
observation = "difference"
sd = 0.04
"""


def test_check_of_two_target_sets_reports_each_set(tmp_path):
    later = tmp_path / "later_test.toml"
    later.write_text(LATER)
    out = tmp_path / "check"
    proc = subprocess.run([str(EXE), "check", str(NATIONAL), "--targets", str(TARGETS_2006), "--targets", str(later),
                           "--draws", "4", "-r", "2", "--seed", "2", "--out", str(out)], capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert proc.returncode == 0, proc.stderr
    doc = json.loads((out / "check.json").read_text())
    assert doc["sets"] == ["ny_sjanse_2006", "later_test"]
    assert doc["coverage_by_set"]["later_test"]["targets"] == 2
    rows = {t["name"]: t for t in doc["targets"]}
    assert rows["effect.2008-06.employed"]["set"] == "later_test" and rows["effect.2008-06.employed"]["mean"] is not None
    assert 0 <= rows["leavers.work_or_education"]["p05"] <= rows["leavers.work_or_education"]["p95"] <= 1
    assert "later_test" in (out / "check.html").read_text()
