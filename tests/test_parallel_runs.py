"""Replications run serially, on local processes, or without the per-person tables: the same numbers."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from model.cba import evaluate_outcomes
from model.parallel import executor_for, split
from model.runner import run_scenario, scenario_parameters, summarize
from model.scenario import load_scenario

ROOT = Path(__file__).resolve().parent.parent


def test_split_keeps_order_and_balances() -> None:
    assert split(range(7), 3) == [[0, 1, 2], [3, 4], [5, 6]]
    assert split([4, 9], 8) == [[4], [9]]
    assert split([], 3) == []


@pytest.fixture(scope="module")
def scenario():
    return load_scenario(ROOT / "tests" / "data" / "two_projects.toml")


def test_parallel_and_lean_runs_equal_the_serial_run(scenario) -> None:
    params = scenario_parameters(scenario)
    serial = run_scenario(scenario, 5, 7, params)
    done: list[int] = []
    with executor_for(2) as ex:
        parallel = run_scenario(scenario, 5, 7, params, tables=False, executor=ex, progress=done.append)
    assert sum(done) == 5
    assert [o.replication for o in parallel.outcomes] == list(range(5))
    assert json.dumps(summarize(serial), sort_keys=True) == json.dumps(summarize(parallel), sort_keys=True)
    for name in ("participant_states", "desks", "staff_months"):
        pd.testing.assert_frame_equal(serial.table(name), parallel.table(name), check_exact=True)
    a, b = evaluate_outcomes(scenario, params, serial.outcomes), evaluate_outcomes(scenario, params, parallel.outcomes)
    pd.testing.assert_frame_equal(a.evaluation, b.evaluation, check_exact=True)
    pd.testing.assert_frame_equal(a.employment, b.employment, check_exact=True)
    with pytest.raises(ValueError, match="without the per-person tables"):
        parallel.table("person_months")
