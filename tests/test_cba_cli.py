"""The `nysjanse cba` and `nysjanse sobol` contracts, on a small scenario (the national one is in the
issue's contract and runs the same code)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import openpyxl
import pytest

from model.runner import scenario_parameters
from model.scenario import load_scenario
from model.uncertainty import sample_parameters, sobol

ROOT = Path(__file__).resolve().parent.parent
EXE = ROOT / ".venv" / "bin" / "nysjanse"
SMALL = "tests/data/two_projects.toml"
PERSPECTIVES = ("society", "state", "municipality", "participant")


@pytest.mark.slow
def test_cba_writes_the_contract_files_and_keys(tmp_path):
    out = tmp_path / "cba"
    res = subprocess.run([str(EXE), "cba", SMALL, "--draws", "4", "--inner", "1", "--seed", "3", "--out", str(out)],
                         cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert res.returncode == 0, res.stderr[-2000:]
    for name in ("cba.json", "cba.xlsx", "report.html", "manifest.json"):
        assert (out / name).exists(), name
    doc = json.loads((out / "cba.json").read_text())
    assert isinstance(doc["price_year"], int)
    for p in PERSPECTIVES:
        for metric in ("npv_nok", "bcr"):
            st = doc["perspectives"][p][metric]
            assert set(st) == {"mean", "p05", "p95"}
            assert st["p05"] <= st["mean"] <= st["p95"]
        assert 0.0 <= doc["prob_npv_positive"][p] <= 1.0
    assert set(doc["per_participant"]["society_npv_nok"]) == {"mean", "p05", "p95"}
    assert abs(doc["ledger_check"]["society_transfers_net_nok"]) < 1.0
    graded = len(scenario_parameters(load_scenario(SMALL)).graded())
    assert len(doc["tornado"]) == graded
    for row in doc["tornado"]:
        assert set(row) == {"parameter", "low", "high", "npv_low", "npv_high", "switching_value"}
        assert row["low"] <= row["high"]
    wb = openpyxl.load_workbook(out / "cba.xlsx", read_only=True)
    assert {"inputs", "ledger", "results", "manifest"} <= set(wb.sheetnames)
    html = (out / "report.html").read_text()
    assert "plotly" in html.lower() and "Tornado" in html


def test_psa_draws_use_calibration_rows_jointly_and_registry_priors():
    scen = load_scenario("scenarios/ny_sjanse_2005_2006.toml")
    params = scenario_parameters(scen)
    from model.uncertainty import calibration_draws

    calib = calibration_draws(scen)
    assert calib is not None and len(calib) >= 200
    draws = sample_parameters(params, 30, 7, calib)
    assert set(calib.columns) <= set(draws.columns)
    rows = {tuple(r) for r in calib.to_numpy()}
    assert all(tuple(r) in rows for r in draws[list(calib.columns)].to_numpy())  # whole rows: joint
    again = sample_parameters(params, 30, 7, calib)
    assert draws.equals(again)
    p = params["participation.work_hr_after_24_months"]
    assert draws[p.name].between(p.ppf(0.0005), p.ppf(0.9995)).all()


def test_sobol_indices_on_a_small_problem():
    scen = load_scenario(SMALL)
    params = scenario_parameters(scen)
    names = ["jobs.loss_hazard_per_year", "wages.full_time_gross_nok_per_year_2006"]
    res = sobol(scen, params, names, base_samples=8, seed=1, inner=1)
    assert list(res.table["parameter"]) == names
    assert res.evaluations == 8 * (len(names) + 2)
    assert res.npv_variance > 0 and res.noise_variance >= 0
