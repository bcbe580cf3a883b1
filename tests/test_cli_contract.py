"""The `nysjanse run` contract: the files it writes, the shape of summary.json and manifest.json."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pandas as pd
import pytest

from model.engine import STATES
from model.scenario import load_scenario

ROOT = Path(__file__).resolve().parent.parent
EXE = ROOT / ".venv" / "bin" / "nysjanse"
NATIONAL = "scenarios/ny_sjanse_2005_2006.toml"

FLOW_KEYS = [
    "referred",
    "participants",
    "not_admitted",
    "under_assessment",
    "waiting",
    "active",
    "work_or_education",
    "broke_off",
    "discharged_other",
    "completed",
]
BROKE_OFF = [
    "birth",
    "invalid_absence",
    "moved",
    "other_measures",
    "full_time_not_feasible",
    "other",
]
NOT_ADMITTED = [
    "other_measures",
    "work_or_education",
    "self_supporting",
    "no_show",
    "moved",
    "no_childcare",
    "disability_pension",
    "residence_under_2_years",
    "social_assistance_under_6_months",
    "no_need",
    "other",
]
SHARE_KEYS = {
    "month",
    "arm",
    "in_programme",
    "employed",
    "employed_full_time",
    "education",
    "social_assistance",
    "other",
}

pytestmark = pytest.mark.slow  # one real run of the national scenario (~3-5 s)


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    out = tmp_path_factory.mktemp("cli") / "OUT"
    proc = subprocess.run(
        [str(EXE), "run", NATIONAL, "--replications", "3", "--seed", "1", "--out", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    return proc, out


def stat_ok(stat: dict) -> bool:
    return set(stat) == {"mean", "p05", "p95"} and stat["p05"] <= stat["mean"] <= stat["p95"]


def test_exit_code_and_files(run):
    proc, out = run
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    for name in ("summary.json", "person_months.parquet", "events.parquet", "manifest.json"):
        assert (out / name).is_file(), name
    assert not [
        p for p in out.parent.iterdir() if p.name.startswith(".OUT")
    ]  # no temporary folder left


def test_summary_flows(run):
    _, out = run
    s = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert s["report_date"] == "2006-12-01"
    assert s["replications"] == 3 and s["seed"] == 1
    assert list(s["flows"]) == FLOW_KEYS
    assert all(stat_ok(v) for v in s["flows"].values())
    assert set(s["flows_by_sex"]) == {"women", "men"}
    for sex in ("women", "men"):
        assert list(s["flows_by_sex"][sex]) == FLOW_KEYS
        assert all(stat_ok(v) for v in s["flows_by_sex"][sex].values())
    assert list(s["broke_off_reasons"]) == BROKE_OFF
    assert list(s["not_admitted_reasons"]) == NOT_ADMITTED
    assert all(
        stat_ok(v) for v in [*s["broke_off_reasons"].values(), *s["not_admitted_reasons"].values()]
    )
    f = {k: v["mean"] for k, v in s["flows"].items()}
    assert f["referred"] == pytest.approx(
        f["participants"] + f["not_admitted"] + f["under_assessment"] + f["waiting"]
    )
    assert f["participants"] == pytest.approx(
        f["active"]
        + f["work_or_education"]
        + f["broke_off"]
        + f["discharged_other"]
        + f["completed"]
    )
    assert 300 < f["referred"] < 3000  # the national scenario refers about 938 by the report date


def test_summary_participant_states(run):
    _, out = run
    s = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    rows = s["participant_states"]
    assert all(set(r) == SHARE_KEYS for r in rows)
    events = pd.read_parquet(out / "events.parquet")
    first_referral = events.loc[events["event"] == "referred", "time"].min()
    first_month = first_referral.strftime("%Y-%m")
    start_month = load_scenario(NATIONAL).simulation.start_date.strftime("%Y-%m")
    assert start_month <= first_month
    for arm in ("programme", "counterfactual"):
        months = [r["month"] for r in rows if r["arm"] == arm]
        assert months[0] == start_month  # the same months in every replication and parameter draw
        # Before the first referral every participant is still on social assistance (the eligibility).
        assert all(r["social_assistance"] == pytest.approx(1.0) for r in rows if r["arm"] == arm and r["month"] < first_month)
        assert months[-1] >= "2011-12"
        expected = pd.period_range(months[0], months[-1], freq="M").strftime("%Y-%m").tolist()
        assert months == expected  # every month, in order, no gaps
        for r in (r for r in rows if r["arm"] == arm):
            total = (
                r["in_programme"]
                + r["employed"]
                + r["education"]
                + r["social_assistance"]
                + r["other"]
            )
            assert total == pytest.approx(1.0)
    assert all(r["in_programme"] == 0 for r in rows if r["arm"] == "counterfactual")


def test_tables(run):
    _, out = run
    pm = pd.read_parquet(out / "person_months.parquet")
    assert list(pm.columns) == ["replication", "arm", "person", "month", "state"]
    assert set(pm["arm"].unique()) == {"programme", "counterfactual"}
    assert set(pm["state"].astype(str).unique()) <= set(STATES)
    assert set(pm["replication"].unique()) == {0, 1, 2}
    assert pm["month"].dt.day.eq(1).all()
    ev = pd.read_parquet(out / "events.parquet")
    assert list(ev.columns) == ["replication", "arm", "person", "time", "event", "detail"]
    per_arm = pm.groupby(["replication", "arm"], observed=True)["person"].nunique().unstack()
    assert (per_arm["programme"] == per_arm["counterfactual"]).all()


def test_manifest(run):
    _, out = run
    m = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    assert m["seed"] == 1
    assert m["scenarios"][0]["hash"] == load_scenario(ROOT / NATIONAL).hash
    assert m["code_version"]
    assert set(m["parameter_sources"]) == {"calibrated", "literature", "assumption"}
    assert all(isinstance(v, list) for v in m["parameter_sources"].values())
    assert sum(len(v) for v in m["parameter_sources"].values()) > 50
    assert {"summary.json", "person_months.parquet", "events.parquet", "manifest.json"} <= set(
        m["files"]
    )
