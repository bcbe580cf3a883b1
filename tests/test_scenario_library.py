"""The scenario library (issue 5): every preset and policy variant runs; compare's waterfall adds up; size's
answer meets its own constraint in a fresh simulation."""

from __future__ import annotations

import json
import math
import subprocess
from pathlib import Path

import pytest

from model.cba import evaluate_parameters
from model.compare import compare
from model.runner import run_scenario, scenario_parameters, summarize
from model.scenario import load_scenario
from model.staffing import size, wait_statistics, with_advisers

ROOT = Path(__file__).resolve().parent.parent
EXE = ROOT / ".venv" / "bin" / "nysjanse"
PRESETS = [
    "ny_sjanse_2005_2006", "bergen", "skien_intropuls", "baerum", "jobbsjansen_sarpsborg", "jobbsjansen_moss",
    "jobbsjansen_fredrikstad", "activity_duty_fredrikstad", "introduction_programme",
]
POLICIES = [
    "length_36_months", "follow_up_1_15", "follow_up_1_60", "stipend_social_assistance_level",
    "no_under_25_reduction", "strict_absence_deductions",
]
FILES = [f"scenarios/{p}.toml" for p in PRESETS] + [f"scenarios/policy/{p}.toml" for p in POLICIES]


@pytest.mark.parametrize("path", FILES)
def test_every_preset_and_variant_runs_and_is_costed(path):
    scen = load_scenario(ROOT / path)
    params = scenario_parameters(scen)
    summary = summarize(run_scenario(scen, 2, 1, params))
    assert summary["flows"]["referred"]["mean"] > 0
    if scen.has_groups:
        assert summary["flows_by_group"]
    ev = evaluate_parameters(scen, params, 1, 1)
    assert set(ev.evaluation["perspective"]) >= {"society", "state", "municipality", "participant"}
    assert all(math.isfinite(x) for x in ev.evaluation["npv_nok"])


def test_skien_group_flows_name_each_intake_group():
    scen = load_scenario(ROOT / "scenarios/skien_intropuls.toml")
    summary = summarize(run_scenario(scen, 3, 2))
    assert summary["report_date"] == "2006-12-31"
    groups = summary["flows_by_group"]
    assert len(groups) == 3
    for flows in groups.values():
        assert set(flows) == set(summary["flows"])
    assert sum(g["referred"]["mean"] for g in groups.values()) == pytest.approx(summary["flows"]["referred"]["mean"])


def test_compare_waterfall_sums_to_the_society_difference():
    a = load_scenario(ROOT / "tests/data/two_projects.toml")
    b = load_scenario(ROOT / "tests/data/two_projects.toml", ["programme.length_months=36", 'name="36 months"'])
    doc = compare([a, b], seed=4, replications=3, sensitivity=False)
    total = sum(item["nok"] for item in doc["waterfall"])
    assert total == pytest.approx(doc["waterfall_total_nok"], abs=1.0)
    pooled = doc["difference"]["36 months"]["society_npv_nok"]["mean"]
    assert total == pytest.approx(pooled, rel=1e-6, abs=1.0)  # the pooled and per-replication means agree
    # The persons are the same in both scenarios: the flows at the report date (before anyone reaches
    # month 24) do not differ at all.
    flows = doc["difference"]["36 months"]["flows"]
    assert all(v["mean"] == 0 for v in flows.values())


@pytest.mark.slow
def test_size_answer_meets_its_constraint_in_a_fresh_simulation():
    scen = load_scenario(ROOT / "scenarios/bergen.toml")
    params = scenario_parameters(scen)
    doc = size(scen, params, max_wait_weeks=8, service_level=0.9, seed=1, replications=10, economics_replications=1)
    assert doc["p_wait_within"] >= 0.9
    fresh = wait_statistics(with_advisers(scen, doc["advisers"]), params, seed=777, replications=20, max_wait_days=56)
    # Tolerance: 3 binomial standard errors of the fresh estimate (persons decided over 20 replications).
    se = math.sqrt(0.9 * 0.1 / fresh.decided)
    assert fresh.p_wait_within >= 0.9 - 3 * se
    one_less = next(r for r in doc["table"] if r["advisers"] == doc["advisers"] - 1)
    assert one_less["p_wait_within"] < 0.9  # the fewest


@pytest.mark.slow
def test_size_and_compare_cli_contracts(tmp_path):
    out = tmp_path / "size"
    res = subprocess.run([str(EXE), "size", "scenarios/bergen.toml", "--max-wait-weeks", "8", "--service-level", "0.9", "--out", str(out)],
                         cwd=ROOT, capture_output=True, text=True, timeout=900)
    assert res.returncode == 0, res.stderr[-2000:]
    doc = json.loads((out / "size.json").read_text())
    assert {"advisers", "p_wait_within", "erlang_c_advisers", "table"} <= set(doc)
    assert doc["p_wait_within"] >= 0.9
    out = tmp_path / "compare"
    res = subprocess.run([str(EXE), "compare", "tests/data/two_projects.toml", "tests/data/one_project.toml", "-r", "3",
                          "--no-sensitivity", "--voi-draws", "12", "--out", str(out)], cwd=ROOT, capture_output=True, text=True, timeout=900)
    assert res.returncode == 0, res.stderr[-2000:]
    doc = json.loads((out / "compare.json").read_text())
    assert len(doc["scenarios"]) == 2
    voi = doc["value_of_information"][doc["scenarios"][1]]  # choosing between the two scenarios
    assert set(voi["evpi_nok"]) == {"society", "state", "municipality", "participant"}
    assert all(e["evppi_nok"] <= voi["evpi_nok"][e["perspective"]] for e in voi["evppi"])
    diff = doc["difference"][doc["scenarios"][1]]
    for key in ("employed_person_years_per_participant", "society_npv_nok", "state_npv_nok", "municipality_npv_nok", "participant_npv_nok"):
        assert set(diff[key]) == {"mean", "p05", "p95"}
    assert sum(i["nok"] for i in doc["waterfall"]) == pytest.approx(doc["waterfall_total_nok"], abs=1.0)
