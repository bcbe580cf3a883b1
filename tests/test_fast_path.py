"""The fast path (life courses run for all persons at once) against the SimPy reference engine.

Same draws, replication by replication: every person's records must be the same, record for record
(day, event, detail, state, in the same order), both arms; the desks' records and the event counts too;
and so the tidy tables. Nothing statistical: equality.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from model.engine import SPELL_DRAWS, EventLog, simulate
from model.outcomes import tidy
from model.population import draw_population
from model.rng import Streams
from model.runner import scenario_parameters
from model.scenario import load_scenario

ROOT = Path(__file__).resolve().parent.parent
FIELDS = ("person", "day", "event", "detail", "state")


def by_person(log: EventLog) -> list[np.ndarray]:
    """The log's columns with the rows ordered by person (stable: each person's records in log order)."""
    order = np.argsort(log.person, kind="stable")
    return [getattr(log, f)[order] for f in FIELDS]


def both(path: str, seed: int, rep: int, values: dict | None = None):
    scen = load_scenario(ROOT / path)
    params = scenario_parameters(scen)
    if values:
        params = params.with_values(values)
    pop = draw_population(scen, params, Streams(seed, rep))
    ref = simulate(scen, params, pop, Streams(seed, rep), reference=True)
    fast = simulate(scen, params, pop, Streams(seed, rep))
    return scen, pop, ref, fast


def assert_same(ref, fast) -> None:
    for arm in ("programme", "counterfactual"):
        a, b = getattr(ref, arm), getattr(fast, arm)
        assert a.person.size == b.person.size, arm
        for f, x, y in zip(FIELDS, by_person(a), by_person(b), strict=True):
            np.testing.assert_array_equal(x, y, err_msg=f"{arm}.{f}")
        assert a.sim_events == b.sim_events, arm
    np.testing.assert_array_equal(ref.desks, fast.desks)


@pytest.mark.parametrize(
    ("path", "reps"),
    [
        ("scenarios/ny_sjanse_2005_2006.toml", 3),
        ("scenarios/jobbsjansen_sarpsborg.toml", 2),  # group intake
        ("scenarios/policy/length_36_months.toml", 2),
        ("scenarios/skien_intropuls.toml", 2),
        ("tests/data/two_projects.toml", 4),
    ],
)
def test_every_person_has_the_same_records(path: str, reps: int) -> None:
    for rep in range(reps):
        _, _, ref, fast = both(path, 20261122, rep)
        assert fast.counterfactual.person.size > 0
        assert_same(ref, fast)


def test_persons_beyond_the_pre_drawn_spells() -> None:
    """Short, frequent spells: persons need more spells than are pre-drawn (the per-person stream)."""
    values = {"life.sa_to_job_per_year": 6.0, "jobs.loss_hazard_per_year": 8.0, "life.sa_to_education_per_year": 2.0}
    scen, pop, ref, fast = both("tests/data/two_projects.toml", 5, 0, values)
    spells = np.bincount(ref.counterfactual.person[ref.counterfactual.event > 0], minlength=pop.size)
    assert spells.max() > SPELL_DRAWS  # the case is exercised
    assert_same(ref, fast)


def test_zero_rates_and_no_boost() -> None:
    """Rates of zero (spells that never end) and no post-programme boost."""
    values = {"life.sa_to_other_per_year": 0.0, "jobs.loss_hazard_per_year": 0.0, "life.post_programme_job_hr": 1.0}
    _, _, ref, fast = both("tests/data/two_projects.toml", 6, 1, values)
    assert_same(ref, fast)


def test_tidy_tables_are_identical() -> None:
    scen, pop, ref, fast = both("scenarios/ny_sjanse_2005_2006.toml", 11, 0)
    a, b = tidy(scen, pop, ref, 0), tidy(scen, pop, fast, 0)
    for name in ("persons", "person_months", "events", "participant_states", "desks", "staff_months"):
        pd.testing.assert_frame_equal(getattr(a, name), getattr(b, name), check_exact=True, obj=name)
    assert a.flows == b.flows
    assert a.sim_events == b.sim_events


def test_desks_that_need_more_adviser_draws(monkeypatch: pytest.MonkeyPatch) -> None:
    """The compiled desk loop gets each desk's Exp(1) draws in advance; a desk that uses them all makes
    the run start again with more (the same sequence continued): still the reference's records."""
    from model import engine

    monkeypatch.setattr(engine, "_EXPONENTIALS", 2)
    calls = []
    run = engine.dk.run_projects
    monkeypatch.setattr(engine.dk, "run_projects", lambda *a: calls.append(a[21].shape[1]) or run(*a))
    _, _, ref, fast = both("scenarios/ny_sjanse_2005_2006.toml", 3, 0, {"advisers.turnover_per_year": 6.0})
    assert calls[0] == 2 and len(calls) >= 2  # the first run ran out
    assert_same(ref, fast)


def test_high_turnover_and_vacancies_with_groups() -> None:
    """Group intakes with advisers leaving often and long vacancies (contact persons change, places close)."""
    values = {"advisers.turnover_per_year": 5.0, "advisers.vacancy_mean_months": 6.0}
    for rep in range(2):
        _, _, ref, fast = both("scenarios/jobbsjansen_sarpsborg.toml", 8, rep, values)
        assert (fast.programme.event == engine_code("contact_person_changed")).any()
        assert_same(ref, fast)


def engine_code(name: str) -> int:
    from model.engine import E

    return E[name]
