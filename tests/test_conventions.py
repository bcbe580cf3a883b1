"""Analysis convention sets (model/conventions.py, model/defaults/conventions.toml) and `nysjanse cba
--conventions / --list-conventions / --reconcile`, on the small scenario.

The direction tests are identities on one simulation priced under two conventions (no Monte Carlo
tolerance is needed: both prices read the same simulated persons, so the difference is exact up to float
rounding, checked at 1e-6 relative + 1 NOK)."""

from __future__ import annotations

import json
import math
import subprocess
from pathlib import Path

import numpy as np
import pytest

from model.cba import evaluate_parameters
from model.conventions import (
    TO_RETIREMENT,
    analysis_settings,
    apply_conventions,
    convention_names,
    convention_set,
    load_conventions,
    mean_age_at_referral,
    parameter_values,
    reconcile,
    reconciliation_path,
)
from model.economics import arm_effects, evaluate, ledger_from_counts, perspective_ledger
from model.economics.discounting import discount_factors
from model.errors import InputError
from model.parameters import default_parameters
from model.runner import scenario_parameters
from model.scenario import load_scenario
from model.uncertainty import run_draws, sample_parameters

ROOT = Path(__file__).resolve().parent.parent
EXE = ROOT / ".venv" / "bin" / "nysjanse"
SMALL = ROOT / "tests" / "data" / "two_projects.toml"
SETS = ("default", "to_retirement", "employment_benefits_only", "r109_2005", "no_extrapolation")


def close(a: float, b: float) -> bool:
    return abs(a - b) <= 1e-6 * max(abs(a), abs(b)) + 1.0


@pytest.fixture(scope="module")
def small():
    scen = load_scenario(SMALL)
    params = scenario_parameters(scen)
    return scen, params, evaluate_parameters(scen, params, 5, 2)


def priced(ev, scen, params, name: str, **policy_changes):
    """Effects, policy and parameters of the evaluation's simulation under convention set ``name``."""
    cs = convention_set(name)
    policy = ev.policy.replace(**{**analysis_settings(cs.items, scen, params), **policy_changes})
    prm = params.with_values(parameter_values(cs.items))
    return arm_effects(ledger_from_counts(ev.counts, policy, prm)), policy, prm


def society_npv(effects, policy, params) -> float:
    """Society NPV, mean over the replications."""
    ev = evaluate(effects, policy, params)
    return float(ev.loc[ev["perspective"] == "society", "npv_nok"].mean())


def society_pv(effects, policy, params, rows=None) -> float:
    """PV of the society lines (incl. the tax financing cost), summed over replications / their number."""
    pl = perspective_ledger(effects, policy, params)
    pl = pl[pl["perspective"].astype(str) == "society"]
    if rows is not None:
        pl = pl[rows(pl)]
    return float(pl["pv_nok"].sum() / effects["replication"].nunique())


def test_the_sets_are_the_documented_ones_and_each_loads_and_applies(small):
    scen, params, _ = small
    assert convention_names() == list(SETS)
    conv = load_conventions()
    for cs in conv.sets:
        assert cs.title and cs.description
        for item in cs.items:
            assert item.source in ("literature", "assumption") and len(item.basis) > 40
        s2, p2 = apply_conventions(scen, params, cs.name)
        assert s2.analysis.price_year == scen.analysis.price_year
        if cs.items:
            assert s2.hash != scen.hash  # the manifest's scenario hash says the settings changed
    assert apply_conventions(scen, params, "default") == (scen, params)
    ret, _ = apply_conventions(scen, params, "to_retirement")
    age = mean_age_at_referral(scen, params)
    assert 30 < age < 45
    assert ret.analysis.analysis_horizon_years == math.ceil(67 - age) > scen.analysis.analysis_horizon_years
    ebo, _ = apply_conventions(scen, params, "employment_benefits_only")
    assert set(ebo.analysis.excluded_flows) == {"social_office_follow_up", "childcare_employed", "childcare_fee_employed"}
    r05, _ = apply_conventions(scen, params, "r109_2005")
    assert r05.analysis.discounting == "r109_2005_flat"
    ne, ne_params = apply_conventions(scen, params, "no_extrapolation")
    persistence = ne_params["cba.employment_effect_persistence_per_year"]
    assert persistence.value == 0.0 and not persistence.graded  # fixed: the PSA does not draw it
    assert "cba.employment_effect_persistence_per_year" not in sample_parameters(ne_params, 3, 1).columns


def test_an_unknown_set_is_an_input_error_naming_the_file_and_the_sets():
    with pytest.raises(InputError) as err:
        convention_set("nope")
    assert err.value.file == "model/defaults/conventions.toml" and err.value.key == "conventions"
    assert err.value.value == "nope" and all(n in err.value.allowed for n in SETS)


def test_conventions_file_is_not_read_as_a_parameter_registry():
    assert not any(name.startswith(("items.", "sets.", "meta.")) for name in default_parameters())


def test_a_bad_conventions_file_is_rejected(tmp_path):
    bad = tmp_path / "c.toml"
    bad.write_text(
        '[meta]\ndefault = "default"\n[items.x]\ntitle = "t"\ndescription = "d"\nsource = "literature"\nbasis = "b"\n'
        '[items.x.scenario]\n"programme.length_months" = 36\n[sets.default]\ntitle = "t"\ndescription = "d"\nitems = []\n'
    )
    with pytest.raises(InputError) as err:
        load_conventions(bad)
    assert err.value.key == "items.x.scenario.programme.length_months"  # not an analysis key: would re-simulate
    bad.write_text(
        '[meta]\ndefault = "default"\n[items.x]\ntitle = "t"\ndescription = "d"\nsource = "literature"\nbasis = "b"\n'
        '[items.x.parameters]\n"participation.work_hazard_per_year" = 0.1\n[sets.default]\ntitle = "t"\ndescription = "d"\nitems = []\n'
    )
    with pytest.raises(InputError) as err:
        load_conventions(bad)
    assert err.value.key == "items.x.parameters.participation.work_hazard_per_year"  # behavioural parameter


def test_to_retirement_adds_exactly_the_added_years_and_more_production_when_the_effect_is_positive(small):
    scen, params, ev = small
    e0, pol0, p0 = priced(ev, scen, params, "default")
    e1, pol1, p1 = priced(ev, scen, params, "to_retirement")
    last0 = int(e0["year"].max())
    assert int(e1["year"].max()) == last0 + pol1.analysis_horizon_years - pol0.analysis_horizon_years
    added = society_pv(e1, pol1, p1, lambda pl: pl["year"].to_numpy() > last0)
    assert close(society_npv(e1, pol1, p1) - society_npv(e0, pol0, p0), added)
    # The production effect of the last simulated year carries on (persistence > 0): its sign is the sign of
    # what the added years add to production.
    prod = e1[(e1["flow"].astype(str) == "production")]
    d = discount_factors(prod["year"].to_numpy() - int(prod["year"].min()), pol1.discounting, p1)
    extra = float((prod["amount_nok"].to_numpy() * d)[prod["year"].to_numpy() > last0].sum())
    tail = prod[prod["year"] == last0]["amount_nok"].sum()
    assert tail != 0 and np.sign(extra) == np.sign(tail)


def test_r109_2005_equals_r109_14_up_to_40_years_and_discounts_the_later_years_more(small):
    scen, params, ev = small
    e0, pol0, p0 = priced(ev, scen, params, "default")
    e1, pol1, p1 = priced(ev, scen, params, "r109_2005")
    assert pol0.analysis_horizon_years <= 40
    assert society_npv(e1, pol1, p1) == pytest.approx(society_npv(e0, pol0, p0), rel=1e-12)
    # A 60-year horizon: the difference is the flows after year 40 times (flat factor - stepped factor) <= 0.
    e0, pol0, p0 = priced(ev, scen, params, "default", analysis_horizon_years=60)
    e1, pol1, p1 = priced(ev, scen, params, "r109_2005", analysis_horizon_years=60)
    pl = perspective_ledger(e0, pol0, p0)
    pl = pl[pl["perspective"].astype(str) == "society"]
    t = pl["year"].to_numpy() - int(pl["year"].min())
    gap = discount_factors(t, "r109_2005_flat", p0) - discount_factors(t, "r109_2014", p0)
    assert (gap[t <= 40] == 0).all() and (gap[t > 40] < 0).all()
    expected = float((pl["amount_nok"].to_numpy() * gap).sum() / e0["replication"].nunique())
    assert expected != 0
    assert close(society_npv(e1, pol1, p1) - society_npv(e0, pol0, p0), expected)


def test_no_extrapolation_removes_exactly_the_extrapolated_effects(small):
    scen, params, ev = small
    e0, pol0, p0 = priced(ev, scen, params, "default")
    e1, pol1, p1 = priced(ev, scen, params, "no_extrapolation")
    ext = e1["extrapolated"].to_numpy(bool)
    assert ext.any() and np.allclose(e1.loc[ext, "amount_nok"], 0.0, atol=1e-6)
    assert np.allclose(e1.loc[ext, "person_years"], 0.0)
    extrapolated_pv = society_pv(e0, pol0, p0, lambda pl: pl["extrapolated"].to_numpy(bool))
    assert extrapolated_pv != 0
    assert close(society_npv(e0, pol0, p0) - society_npv(e1, pol1, p1), extrapolated_pv)


def test_employment_benefits_only_zeroes_the_excluded_lines_and_nothing_else(small):
    scen, params, ev = small
    e0, pol0, p0 = priced(ev, scen, params, "default")
    e1, pol1, p1 = priced(ev, scen, params, "employment_benefits_only")
    flows = e1["flow"].astype(str).to_numpy()
    excluded = np.isin(flows, list(pol1.excluded_flows))
    assert excluded.any() and (e1.loc[excluded, "amount_nok"] == 0).all()
    assert (e0.loc[excluded, "amount_nok"] != 0).any()
    np.testing.assert_array_equal(e0.loc[~excluded, "amount_nok"].to_numpy(), e1.loc[~excluded, "amount_nok"].to_numpy())
    # Leaving out the childcare the employed need raises the NPV when the programme adds employed parents.
    e2, pol2, p2 = priced(ev, scen, params, "default", excluded_flows=("childcare_employed", "childcare_fee_employed"))
    care = e0[e0["flow"].astype(str) == "childcare_employed"]["amount_nok"].sum()
    assert care > 0 and society_npv(e2, pol2, p2) > society_npv(e0, pol0, p0)


def test_reconciliation_path_removes_then_adds_one_item_at_a_time():
    a, b = convention_set("employment_benefits_only"), convention_set("no_extrapolation")
    path = reconciliation_path(a, b)
    assert [(s.change, s.item.name) for s in path[1:]] == [
        ("remove", "no_childcare_for_employed"), ("remove", "no_social_office_savings"), ("add", "no_extrapolation")]
    assert path[0].items == a.items and path[-1].items == b.items
    assert reconciliation_path(b, b)[1:] == []


def test_reconcile_telescopes_and_starts_at_the_psa_mean_of_the_cba(small):
    scen, params, _ = small
    sample = sample_parameters(params, 3, 9)
    rec = reconcile(scen, params, "employment_benefits_only", "to_retirement", sample, 9, 2)
    assert [s["item"] for s in rec.steps] == ["no_childcare_for_employed", "no_social_office_savings", "horizon_to_retirement"]
    assert close(sum(s["delta_npv_nok"] for s in rec.steps), rec.npv_to_nok - rec.npv_from_nok)
    assert rec.total_delta_npv_nok == sum(s["delta_npv_nok"] for s in rec.steps)
    back = reconcile(scen, params, "default", "employment_benefits_only", sample, 9, 2)
    # The PSA of `nysjanse cba` (same draws, seed and replications) has the same default mean NPV.
    psa = run_draws(scen, params, sample.to_dict(orient="records"), 9, 2)
    assert back.npv_from_nok == pytest.approx(float(psa.summary["society_npv_nok"].mean()), rel=1e-9)
    assert back.npv_to_nok == pytest.approx(rec.npv_from_nok, rel=1e-9)  # the same set reached two ways
    assert TO_RETIREMENT == "to_retirement_age"


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(EXE), *args], cwd=ROOT, capture_output=True, text=True, timeout=600)


def test_cli_list_conventions_prints_the_names_one_a_line_default_first():
    res = run("cba", "--list-conventions")
    assert res.returncode == 0, res.stderr
    assert res.stdout.splitlines() == list(SETS)


def test_cli_unknown_convention_and_missing_scenario_are_one_line_errors_with_exit_2():
    res = run("cba", str(SMALL), "--conventions", "nope", "--out", "/nonexistent/never")
    assert res.returncode == 2 and len(res.stderr.strip().splitlines()) == 1
    assert "conventions" in res.stderr and "no_extrapolation" in res.stderr
    res = run("cba", "--draws", "2")
    assert res.returncode == 2 and len(res.stderr.strip().splitlines()) == 1 and "SCENARIO" in res.stderr


def test_cli_conventions_default_changes_nothing_and_names_the_set(tmp_path):
    args = ["cba", str(SMALL), "--draws", "2", "--inner", "1", "--seed", "4", "--no-tornado", "--workers", "1"]
    plain, named = run(*args, "--out", str(tmp_path / "a")), run(*args, "--conventions", "default", "--out", str(tmp_path / "b"))
    assert plain.returncode == 0 and named.returncode == 0, plain.stderr[-2000:] + named.stderr[-2000:]
    a, b = (json.loads((tmp_path / d / "cba.json").read_text()) for d in ("a", "b"))
    assert a["conventions"] == b["conventions"] == "default"
    assert a["perspectives"] == b["perspectives"]


def test_cli_reconcile_writes_the_waterfall(tmp_path):
    out = tmp_path / "rec"
    res = run("cba", str(SMALL), "--reconcile", "default", "no_extrapolation", "--draws", "3", "--inner", "1", "--workers", "1", "--out", str(out))
    assert res.returncode == 0, res.stderr[-2000:]
    doc = json.loads((out / "reconcile.json").read_text())
    assert doc["from"] == "default" and doc["to"] == "no_extrapolation" and doc["perspective"] == "society"
    assert [s["item"] for s in doc["steps"]] == ["no_extrapolation"]
    assert all(set(s) >= {"item", "delta_npv_nok"} for s in doc["steps"])
    assert doc["total_delta_npv_nok"] == sum(s["delta_npv_nok"] for s in doc["steps"])
    assert close(doc["total_delta_npv_nok"], doc["npv_to_nok"] - doc["npv_from_nok"])
    assert (out / "reconcile.html").exists() and (out / "manifest.json").exists()
    assert "no_extrapolation" in res.stdout
