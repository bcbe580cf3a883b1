"""Targets: the loader's keys and errors, several files as one set, the name grammar, and target_statistics
against the run's own tables."""

from __future__ import annotations

import datetime as dt
import math
import subprocess
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest

from calibration.statistics import FLOW_NAMES, replication_statistics, target_statistics
from calibration.targets import Target, TargetSet, check_names, draw_observation, load_target_sets, load_targets, observation_sd
from model.errors import InputError
from model.runner import run_replication, scenario_parameters
from model.scenario import load_scenario

ROOT = Path(__file__).resolve().parent.parent
EXE = ROOT / ".venv" / "bin" / "nysjanse"
TARGETS_2006 = ROOT / "calibration" / "targets" / "ny_sjanse_2006.toml"
NATIONAL = ROOT / "scenarios" / "ny_sjanse_2005_2006.toml"
TWO = ROOT / "tests" / "data" / "two_projects.toml"

LATER = """
[meta]
report_date = "2009-12-31"
calibrates = ["participation.hazard_work_or_education_per_year"]

[[target]]
name = "leavers.work_or_education"
value = 0.45
date = "2009-12-31"
window_start = "2009-01-01"
source = "test"
observation = "share"
denominator = 200
population = "ended in 2009"
transfer_sd = 0.05

[[target]]
name = "effect.2008-06.employed"
value = -0.02
date = "2008-06-01"
source = "test"
observation = "difference"
sd = 0.04

[[target]]
name = "participant_states.programme.2008-06.employed_full_time"
value = 0.2
date = "2008-06-01"
source = "test"
observation = "share"
denominator = 400
"""


def test_new_keys_load_and_the_observation_model_uses_them(tmp_path):
    f = tmp_path / "later.toml"
    f.write_text(LATER)
    ts = load_targets(f)
    assert ts.calibrates == ("participation.hazard_work_or_education_per_year",)
    leavers, effect, states = ts.targets
    assert leavers.window_start == dt.date(2009, 1, 1) and leavers.population == "ended in 2009" and leavers.set == "later"
    assert effect.value == -0.02 and effect.sd == 0.04
    # share: binomial sd with its denominator, the transfer sd in quadrature
    assert observation_sd(leavers, ts) == pytest.approx(math.hypot(math.sqrt(0.45 * 0.55 / 200), 0.05), rel=1e-12)
    assert observation_sd(effect, ts) == pytest.approx(0.04, rel=1e-12)
    assert observation_sd(states, ts) == pytest.approx(math.sqrt(0.2 * 0.8 / 400), rel=1e-12)


def test_several_files_are_one_set_with_the_file_of_each_target(tmp_path):
    f = tmp_path / "later.toml"
    f.write_text(LATER)
    ts = load_target_sets([TARGETS_2006, f])
    assert ts.sets == ("ny_sjanse_2006", "later")
    assert len(ts.targets) == len(load_targets(TARGETS_2006).targets) + 3
    first = load_targets(TARGETS_2006).calibrates
    assert ts.calibrates == tuple(dict.fromkeys((*first, "participation.hazard_work_or_education_per_year")))
    check_names(ts, load_scenario(NATIONAL))
    dup = tmp_path / "dup.toml"
    dup.write_text(TARGETS_2006.read_text(encoding="utf-8").replace('scenario = "../../scenarios/ny_sjanse_2005_2006.toml"\n', ""))
    with pytest.raises(InputError, match="flows.referred"):
        load_target_sets([TARGETS_2006, dup])


def test_draw_observation_adds_only_the_noise_the_simulation_lacks():
    rng = np.random.default_rng(5)
    sim = np.full(20000, 0.4)
    own = Target("flows.participants", 500, dt.date(2006, 12, 1), "s", "count")
    other = Target("leavers.work_or_education", 0.45, dt.date(2009, 12, 31), "s", "share", 200, population="later cohorts", transfer_sd=0.03)
    ts = TargetSet(Path("t.toml"), dt.date(2009, 12, 31), (own, other))
    assert np.array_equal(draw_observation(own, ts, sim * 1000, rng), sim * 1000)  # the replications hold it
    x = draw_observation(other, ts, sim, rng)
    sd = math.sqrt(0.4 * 0.6 / 200 + 0.03**2)
    # mean and sd of 20 000 draws: Monte Carlo error of the mean sd/141, of the sd about sd/200
    assert abs(x.mean() - 0.4) < 4 * sd / math.sqrt(sim.size)
    assert abs(x.std() / sd - 1) < 4 / math.sqrt(2 * sim.size)


def _cli(args: list[str]) -> subprocess.CompletedProcess:
    return subprocess.run([str(EXE), *args], capture_output=True, text=True, cwd=ROOT, timeout=120)


BAD = {
    "unknown_name": ('name = "flows.completed"', 'name = "flows.finished"', "flows.finished"),
    "difference_without_sd": ('name = "flows.completed"\nvalue = 0\n', 'name = "flows.completed"\nvalue = -3\n', "value"),
    "nan_transfer_sd": ('name = "flows.completed"\n', 'name = "flows.completed"\ntransfer_sd = nan\n', "transfer_sd"),
    "unknown_calibrates": ('"participation.hazard_work_or_education_per_year"', '"no.such_parameter"', "no.such_parameter"),
    "unknown_state": ('name = "flows.completed"', 'name = "participant_states.programme.2008-06.happy"', "happy"),
}


@pytest.fixture(scope="module")
def bad_runs(tmp_path_factory):
    d = tmp_path_factory.mktemp("bad")
    text = TARGETS_2006.read_text(encoding="utf-8").replace("../../scenarios/", str(ROOT / "scenarios") + "/")
    jobs = {}
    for case, (old, new, _) in BAD.items():
        source = LATER if case == "unknown_calibrates" else text
        assert old in source, case
        f = d / f"{case}.toml"
        f.write_text(source.replace(old, new, 1))
        jobs[case] = ["check", str(NATIONAL), "--targets", str(f), "--draws", "2", "--out", str(d / f"out_{case}")]
    with ThreadPoolExecutor(len(jobs)) as pool:
        return d, dict(zip(jobs, pool.map(_cli, jobs.values()), strict=True))


@pytest.mark.parametrize("case", list(BAD))
def test_bad_targets_file_gives_one_line_and_exit_code_2(bad_runs, case):
    d, runs = bad_runs
    proc = runs[case]
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in proc.stderr, proc.stderr
    assert f"{case}.toml" in lines[0] and BAD[case][2] in lines[0], lines[0]
    assert not (d / f"out_{case}").exists()


def test_target_statistics_equal_replication_statistics_on_the_2006_targets():
    ts = load_targets(TARGETS_2006)
    scen = load_scenario(ts.scenario)
    params = scenario_parameters(scen)
    for r in range(3):
        a = target_statistics(scen, params, 11, r, ts)
        b = replication_statistics(scen, params, 11, r, ts.report_date)
        assert set(b) == FLOW_NAMES
        assert set(a) == {t.name for t in ts.targets}
        for name, value in a.items():
            assert value == b[name] or (math.isnan(value) and math.isnan(b[name])), name


def test_states_effect_leavers_and_groups_match_the_runs_own_tables():
    scen = load_scenario(TWO)
    params = scenario_parameters(scen)
    seed, rep = 4, 1
    month, start, end = "2007-03", dt.date(2006, 7, 1), dt.date(2008, 6, 30)
    d = dt.date(2007, 3, 1)
    targets = [
        Target("participant_states.programme.2007-03.employed", 0.2, d, "s", "share", 10),
        Target("participant_states.counterfactual.2007-03.work_or_education", 0.1, d, "s", "share", 10),
        Target("participant_states.programme.2007-03.social_assistance", 0.5, d, "s", "share", 10),
        Target("effect.2007-03.employed_full_time", 0.0, d, "s", "difference", sd=0.1),
        Target("leavers.work_or_education", 0.4, end, "s", "share", 10, window_start=start),
        Target("flows_by_group.Mar 2006.participants", 15, dt.date(2007, 1, 31), "s", "count"),
        Target("flows.completed", 5, dt.date(2008, 1, 31), "s", "count"),
    ]
    got = target_statistics(scen, params, seed, rep, targets)
    out = run_replication(scen, params, seed, rep, tables=True)
    persons, pm, ev = out.persons, out.person_months, out.events
    part = set(persons.loc[persons.participant, "person"])
    rows = pm[(pm.month == np.datetime64(f"{month}-01")) & pm.person.isin(part)]

    def share(arm: str, states: set[str]) -> float:
        r = rows[rows.arm == arm]
        return float(r.state.isin(states).sum() / len(part))

    employed = {"employed_full_time", "employed_part_time"}
    assert got["participant_states.programme.2007-03.employed"] == pytest.approx(share("programme", employed), abs=1e-12)
    assert got["participant_states.counterfactual.2007-03.work_or_education"] == pytest.approx(share("counterfactual", employed | {"education"}), abs=1e-12)
    assert got["participant_states.programme.2007-03.social_assistance"] == pytest.approx(share("programme", {"social_assistance", "assessment", "waiting"}), abs=1e-12)
    assert got["effect.2007-03.employed_full_time"] == pytest.approx(share("programme", {"employed_full_time"}) - share("counterfactual", {"employed_full_time"}), abs=1e-12)
    # leavers: programme-arm exits in the window, in work or education at exit
    prog = ev[ev.arm == "programme"]
    t0, t1 = np.datetime64(start), np.datetime64(end + dt.timedelta(days=1))
    exits = prog[prog.event.isin(["exit_work_or_education", "broke_off", "discharged_other", "completed"]) & (prog.time >= t0) & (prog.time < t1)]
    good = (exits.event == "exit_work_or_education") | ((exits.event == "completed") & exits.detail.isin(["work", "education"]))
    assert len(exits) > 5
    assert got["leavers.work_or_education"] == pytest.approx(good.sum() / len(exits), abs=1e-12)
    # a group's participants by a date, and a flow at a date after the report date
    adm = prog[(prog.event == "admitted") & (prog.time < np.datetime64("2007-02-01"))]
    in_group = set(persons.loc[persons.group == "Mar 2006", "person"])
    assert got["flows_by_group.Mar 2006.participants"] == adm.person.isin(in_group).sum() > 0
    done = prog[(prog.event == "completed") & (prog.time < np.datetime64("2008-02-01"))]
    assert got["flows.completed"] == done.person.nunique()


def test_lean_run_is_chosen_for_flows_and_full_run_for_states():
    """A state target needs the counterfactual arm; flows alone read the lean run: the flows are the same."""
    scen = load_scenario(TWO)
    params = scenario_parameters(scen)
    d = dt.date(2007, 3, 1)
    flow = Target("flows.work_or_education", 3, d, "s", "count")
    state = Target("effect.2007-03.employed", 0.0, d, "s", "difference", sd=0.1)
    lean = target_statistics(scen, params, 2, 0, [flow])
    full = target_statistics(scen, params, 2, 0, [flow, state])
    assert lean["flows.work_or_education"] == full["flows.work_or_education"]
