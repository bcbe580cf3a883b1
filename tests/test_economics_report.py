"""Reports: the Excel workbook and the self-contained HTML report, written atomically."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from openpyxl import load_workbook

from model.economics import (
    EconomicPolicy,
    arm_effects,
    build_ledger,
    evaluate,
    perspective_ledger,
    write_html_report,
    write_workbook,
)
from model.economics.report import _atomic_write
from model.economics.synthetic import scripted_tables
from model.parameters import default_parameters

PARAMS = default_parameters()


@pytest.fixture(scope="module")
def results():
    persons, pm, ev = scripted_tables(n_reps=3, n_months=30)
    policy = EconomicPolicy(
        price_year=2025, analysis_horizon_years=10, staff_fte_by_month={"2006-01-01": 1.0}
    )
    eff = arm_effects(build_ledger(persons, pm, ev, policy, PARAMS))
    return evaluate(eff, policy, PARAMS), perspective_ledger(eff, policy, PARAMS)


def test_workbook_has_the_audit_sheets(tmp_path: Path, results):
    evaluation, pl = results
    path = write_workbook(
        tmp_path / "out" / "cba.xlsx",
        params=PARAMS,
        evaluation=evaluation,
        perspective_ledger=pl,
        manifest={"seed": 42, "scenario": {"name": "national", "hash": "abc123"}},
    )
    wb = load_workbook(path)
    assert {"inputs", "ledger", "results", "manifest"} <= set(wb.sheetnames)
    inputs = pd.read_excel(path, sheet_name="inputs")
    assert list(inputs.columns[:8]) == [
        "parameter",
        "value",
        "unit",
        "source",
        "basis",
        "low",
        "high",
        "distribution",
    ]
    assert len(inputs) == len(PARAMS)
    assert set(inputs["source"]) <= {"calibrated", "literature", "assumption"}
    ledger = pd.read_excel(path, sheet_name="ledger")
    for col in ("year", "flow", "payer", "receiver", "perspective", "amount_nok", "pv_nok"):
        assert col in ledger.columns
    res = pd.read_excel(path, sheet_name="results")
    assert list(res.columns) == ["perspective", "metric", "mean", "p05", "p95", "n"]
    npv = res[(res["perspective"] == "society") & (res["metric"] == "npv_nok")].iloc[0]
    soc = evaluation[evaluation["perspective"] == "society"]["npv_nok"]
    assert npv["mean"] == pytest.approx(soc.mean())
    assert npv["p05"] <= npv["mean"] <= npv["p95"]
    man = pd.read_excel(path, sheet_name="manifest")
    assert dict(zip(man["key"], man["value"].astype(str), strict=True))["scenario.hash"] == "abc123"
    assert not [p for p in path.parent.iterdir() if p.name.startswith(".")]  # no temp file left


def test_html_report_is_self_contained(tmp_path: Path, results):
    evaluation, pl = results
    tornado = pd.DataFrame(
        {
            "parameter": [
                "wages.full_time_gross_nok_per_year_2006",
                "cba.employment_effect_persistence_per_year",
            ],
            "low": [240000.0, 0.7],
            "high": [330000.0, 1.0],
            "npv_low": [1.0e6, -2.0e5],
            "npv_high": [3.0e6, 4.0e6],
            "switching_value": [np.nan, 0.74],
        }
    )
    sobol = pd.DataFrame(
        {
            "parameter": ["a", "b"],
            "S1": [0.5, 0.2],
            "S1_conf": [0.05, 0.03],
            "ST": [0.6, 0.3],
            "ST_conf": [0.06, 0.04],
        }
    )
    path = write_html_report(
        tmp_path / "report.html",
        evaluation=evaluation,
        params=PARAMS,
        manifest={"seed": 42, "code_version": "test"},
        perspective_ledger=pl,
        tornado=tornado,
        sobol=sobol,
    )
    text = path.read_text(encoding="utf-8")
    assert text.startswith("<!DOCTYPE html>")
    assert text.count("plotly.js v") == 1  # the bundle, inline, once
    assert "<script src=" not in text  # nothing loaded from the network
    assert text.count("Plotly.newPlot") == 4  # NPV, by year, tornado, Sobol
    for heading in (
        "Results by perspective",
        "NPV distributions",
        "One-way sensitivity (tornado)",
        "Global sensitivity (Sobol)",
        "Parameter registry",
        "Manifest",
    ):
        assert heading in text
    assert text.count("class='reading'") >= 6
    assert "cba.employment_effect_persistence_per_year" in text
    assert "social_assistance.housing_nok_per_month_2006" in text  # the registry table


def test_html_report_without_optional_parts(tmp_path: Path, results):
    evaluation, _ = results
    path = write_html_report(tmp_path / "r.html", evaluation=evaluation, params=PARAMS)
    text = path.read_text(encoding="utf-8")
    assert text.count("plotly.js v") == 1
    assert "One-way sensitivity" not in text and "Global sensitivity" not in text
    assert text.count("Plotly.newPlot") == 1  # only the NPV distributions


def test_atomic_write_leaves_the_old_file_on_failure(tmp_path: Path):
    target = tmp_path / "x.txt"
    target.write_text("old")

    def boom(tmp: Path) -> None:
        tmp.write_text("half")
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError):
        _atomic_write(target, boom)
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["x.txt"]


def test_inlined_plotly_bundle_keeps_its_code_but_not_its_authors_todo_lines():
    import plotly.graph_objects as go

    from model.artifacts import figure_html

    fig = go.Figure(go.Bar(x=[1, 2], y=[3, 4]))
    raw = fig.to_html(full_html=False, include_plotlyjs=True)
    out = figure_html(fig, include_plotlyjs=True)
    uuid = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
    out = uuid.sub(uuid.search(raw).group(0), out)  # each rendering names its div anew
    removed = [ln for ln in raw.splitlines() if ln not in set(out.splitlines())]
    assert removed and all(ln.strip().startswith("//") for ln in removed)
    assert "TODO" not in out and "FIXME" not in out
    assert len(raw) - len(out) == sum(len(ln) + 1 for ln in removed)
