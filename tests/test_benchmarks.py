"""The benchmark harness produces the contract keys (timings are never asserted here).

The real runs (`make bench`, `make bench-quick`) take minutes; the test runs `--smoke` (every measurement at
tiny sizes, a few seconds) and calls the harness functions with tiny sizes.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from benchmarks import harness

ROOT = Path(__file__).resolve().parent.parent
CONTRACT = (
    "kernel_events_per_s",
    "engine_events_per_s",
    "engine_to_kernel_ratio",
    "persons_per_s",
    "cost_per_person_ratio_100k_vs_1k",
    "parallel_speedup_2_workers",
    "serial_equals_parallel",
    "ciw_persons_per_s",
)


def test_smoke_run_writes_the_contract_keys(tmp_path):
    out = tmp_path / "bench.json"
    res = subprocess.run([sys.executable, "-m", "benchmarks", "--smoke", "--json", str(out)], cwd=ROOT,
                         capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stderr
    doc = json.loads(out.read_text())
    for key in CONTRACT:
        assert key in doc, key
    assert set(doc["persons_per_s"]) == {"1000", "10000", "100000"}
    assert all(v > 0 for v in doc["persons_per_s"].values())
    assert doc["serial_equals_parallel"] is True
    for key in ("kernel_events_per_s", "engine_events_per_s", "engine_to_kernel_ratio", "cost_per_person_ratio_100k_vs_1k",
                "parallel_speedup_2_workers", "ciw_persons_per_s", "psa_1000_draws_seconds", "dashboard_200_replications_seconds",
                "calibrate_quick_seconds", "dashboard_psa_rerun_seconds"):
        assert isinstance(doc[key], float) and doc[key] > 0, key
    assert doc["psa_extrapolated"] is True and doc["mode"] == "smoke"
    assert "engine / kernel" in res.stdout  # the readable table


def test_scaled_scenario_copies_projects_with_their_staff():
    one = harness.scaled_scenario(1)
    three = harness.scaled_scenario(3)
    assert len(three.projects) == 3 * len(one.projects)
    assert len({p.name for p in three.projects}) == len(three.projects)
    date = one.report_date
    assert abs(three.total_fte_on(date) - 3 * one.total_fte_on(date)) < 1e-9


def test_engine_events_are_simpy_events_of_both_arms():
    res = harness.engine_events_per_s(replications=1, path=ROOT / "tests" / "data" / "two_projects.toml")
    assert res["engine_events_per_replication"] > res["engine_persons_per_replication"] > 0


def test_kernel_counts_start_timeouts_and_end_of_each_process():
    res = harness.kernel_events_per_s(processes=3, timeouts=4, repeats=1)
    assert res["kernel_events"] == 3 * (4 + 2)
