"""Aggregating early gives the same numbers as aggregating the tidy tables (exact equality).

The participants' person-months counted from the state matrices (``ReplicationOutcome.counts`` from
:func:`model.outcomes.tidy`, :func:`model.outcomes.economic_counts` for PSA draws) and joined with
``StateCounts.concat`` equal :func:`model.economics.count_states` of the tidy tables of the same
replications: same rows, same values, same dtypes. The employment rows equal
:func:`model.cba.employment_outcomes` plus the job starts as first computed from the events table. So
the ledger, the evaluation, a re-pricing and the summary row priced from the counts equal those priced
from the tables exactly: the same counts go through the same pricing code (no tolerance anywhere).
"""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from model.cba import (
    _mean_arm_difference,
    _summary_row,
    employment_outcomes,
    evaluate_outcomes,
    mean_effects,
    summarize_parameters,
    summary_row,
)
from model.economics import (
    StateCounts,
    arm_effects,
    build_ledger,
    count_states,
    evaluate,
    transfers_net,
)
from model.economics.ledger import CountRows
from model.engine import simulate
from model.outcomes import economic_counts, month_starts, participant_count_rows, tidy
from model.population import days_since, draw_population
from model.rng import Streams
from model.runner import scenario_parameters
from model.scenario import load_scenario

ROOT = Path(__file__).resolve().parent.parent
SCENARIOS = {
    "national": (ROOT / "scenarios" / "ny_sjanse_2005_2006.toml", 3),
    "groups": (ROOT / "scenarios" / "jobbsjansen_sarpsborg.toml", 3),
    "two_projects": (ROOT / "tests" / "data" / "two_projects.toml", 4),
}
SEED = 3


@pytest.fixture(scope="module", params=sorted(SCENARIOS))
def run(request):
    path, reps = SCENARIOS[request.param]
    scen = load_scenario(path)
    params = scenario_parameters(scen)
    sims, outcomes = [], []
    for r in range(reps):
        streams = Streams(SEED, r)
        pop = draw_population(scen, params, streams)
        logs = simulate(scen, params, pop, streams)
        sims.append((pop, logs))
        outcomes.append(tidy(scen, pop, logs, r))
    return {"scen": scen, "params": params, "sims": sims, "outcomes": outcomes}


def tables(outcomes):
    """The tables the economics used to read: participants' persons and person-months, all events."""
    persons = pd.concat([o.persons for o in outcomes], ignore_index=True)
    person_months = pd.concat([o.person_months for o in outcomes], ignore_index=True)
    events = pd.concat([o.events for o in outcomes], ignore_index=True)
    part = persons[persons["participant"]]
    pm_part = person_months.merge(part[["replication", "person"]], on=["replication", "person"], how="inner")
    return persons, person_months, events, part, pm_part


def assert_counts_equal(got: StateCounts, ref: StateCounts) -> None:
    for name in ("cells", "events", "basis"):
        pd.testing.assert_frame_equal(getattr(got, name), getattr(ref, name), check_exact=True, obj=name)
    assert got.replications.dtype == ref.replications.dtype
    assert np.array_equal(got.replications, ref.replications)
    assert (got.first_month, got.horizon_month, got.basis_months, got.assessment_source) == (
        ref.first_month,
        ref.horizon_month,
        ref.basis_months,
        ref.assessment_source,
    )


def reference_employment(scen, persons, person_months, events) -> pd.DataFrame:
    """Employment outcomes and job starts as evaluate_outcomes first computed them from the tables (job
    starts as int64: the first code gave float64 when a replication had none in an arm; the same values)."""
    participants = persons.loc[persons["participant"], ["replication", "person"]]
    employment = employment_outcomes(scen, persons, person_months)
    for arm in ("programme", "counterfactual"):
        starts = events[(events["arm"] == arm) & (events["event"] == "job_started")]
        starts = starts.merge(participants, on=["replication", "person"], how="inner").groupby("replication").size()
        is_arm = (employment["arm"] == arm).to_numpy()
        employment.loc[is_arm, "job_starts"] = employment.loc[is_arm, "replication"].map(starts).fillna(0).to_numpy()
    return employment.astype({"job_starts": np.int64})


def test_counts_of_the_state_matrices_equal_count_states_of_the_tables(run):
    outcomes = run["outcomes"]
    _, _, events, part, pm_part = tables(outcomes)
    assert_counts_equal(StateCounts.concat([o.counts for o in outcomes]), count_states(part, pm_part, events))
    for o in outcomes:  # one replication alone (its own first month and extrapolation basis)
        _, _, ev, p, pm = tables([o])
        assert_counts_equal(o.counts, count_states(p, pm, ev))
    # The order of the parts does not matter.
    assert_counts_equal(StateCounts.concat([o.counts for o in outcomes[::-1]]), count_states(part, pm_part, events))
    # The rows joined and grouped once are the counts grouped apart and joined (what the CBA prices).
    assert_counts_equal(CountRows.concat([o.count_rows for o in outcomes]).counts(), count_states(part, pm_part, events))
    assert_counts_equal(CountRows.concat([o.count_rows for o in outcomes[::-1]]).counts(), count_states(part, pm_part, events))


def test_economic_counts_equal_the_tidy_outcome(run):
    scen = run["scen"]
    for r, ((pop, logs), o) in enumerate(zip(run["sims"], run["outcomes"], strict=True)):
        lean = economic_counts(scen, pop, logs, r)
        assert_counts_equal(lean.counts, o.counts)
        pd.testing.assert_frame_equal(lean.employment, o.employment, check_exact=True)
        pd.testing.assert_frame_equal(lean.staff_months, o.staff_months, check_exact=True)


def test_employment_rows_equal_employment_outcomes_of_the_tables(run):
    persons, person_months, events, _, _ = tables(run["outcomes"])
    got = pd.concat([o.employment for o in run["outcomes"]], ignore_index=True)
    pd.testing.assert_frame_equal(got, reference_employment(run["scen"], persons, person_months, events), check_exact=True)


def test_age_at_mid_month_counts_from_the_referral_date_of_the_persons_table():
    """Persons referred just before midnight (the persons table rounds the time to the next day) turn 25
    half a day after the 15th of their seventh month: under 25 in that month's cell, not in the next."""
    scen = load_scenario(SCENARIOS["two_projects"][0])
    params = scenario_parameters(scen)
    pop = draw_population(scen, params, Streams(SEED, 0))
    origin = scen.simulation.start_date
    starts = np.array([days_since(origin, m) for m in month_starts(origin, scen.simulation.horizon_date)])
    day = np.ceil(pop.referral_day)
    target = np.minimum(np.searchsorted(starts, day, side="right") - 1 + 6, starts.size - 1)
    age = 25.0 - (starts[target] + 14.0 - day + 0.5) / 365.25
    pop = dataclasses.replace(pop, referral_day=day - 1e-7, age_years=age)
    logs = simulate(scen, params, pop, Streams(SEED, 0))
    o = tidy(scen, pop, logs, 0)
    _, _, events, part, pm_part = tables([o])
    assert_counts_equal(o.counts, count_states(part, pm_part, events))
    assert_counts_equal(economic_counts(scen, pop, logs, 0).counts, o.counts)


def test_a_replication_without_participants_adds_only_its_money_events(run):
    scen, outcomes = run["scen"], run["outcomes"]
    pop, logs = run["sims"][0]
    months = outcomes[0].counts.horizon_month  # any: no participant has months
    empty = np.empty(0, dtype=np.int64)
    rows = participant_count_rows(scen, pop, logs, 0, empty, {"programme": np.zeros((0, 3), np.int8), "counterfactual": np.zeros((0, 3), np.int8)}, empty, [months.date()] * 3)
    none = rows.counts()
    assert none.replications.size == 0 and none.cells.empty and len(none.events)
    _, _, events, part, pm_part = tables(outcomes)
    rest = part["replication"].to_numpy() != 0
    ref = count_states(part[rest], pm_part[pm_part["replication"].to_numpy() != 0], events)
    assert_counts_equal(StateCounts.concat([none, *(o.counts for o in outcomes[1:])]), ref)
    assert_counts_equal(CountRows.concat([rows, *(o.count_rows for o in outcomes[1:])]).counts(), ref)


def test_concat_takes_the_assessments_of_the_source_any_part_counts_from(run):
    outcomes = run["outcomes"]
    _, _, events, part, pm_part = tables(outcomes)
    # Replication 0 records assessment_started; the others only referrals (then they had no assessments).
    events = events.astype({"event": str})
    first = events[(events["replication"] == 0) & (events["event"] == "referred")].assign(event="assessment_started")
    mixed = pd.concat([events, first], ignore_index=True)
    parts = []
    for o in outcomes:
        ev = mixed[mixed["replication"] == o.replication]
        parts.append(count_states(part[part["replication"] == o.replication], pm_part[pm_part["replication"] == o.replication], ev))
    assert {p.assessment_source for p in parts} == {"assessment_started", "referred"}
    assert_counts_equal(StateCounts.concat(parts), count_states(part, pm_part, mixed))


def test_count_rows_take_the_assessments_of_the_source_any_part_counts_from(run):
    """A part that counts assessments from another source than the others adds only its incentive
    milestones (as StateCounts.concat)."""
    rows = [o.count_rows for o in run["outcomes"]]
    other = dataclasses.replace(rows[0], assessment_source="assessment_started")
    parts = [other, *rows[1:]]
    joined = CountRows.concat(parts)
    assert joined.assessment_source == "assessment_started"
    assert_counts_equal(joined.counts(), StateCounts.concat([p.counts() for p in parts]))


def test_concat_refuses_what_count_states_would_not_mean(run):
    outcomes = run["outcomes"]
    with pytest.raises(ValueError, match="more than one part"):
        StateCounts.concat([outcomes[0].counts, outcomes[0].counts])
    with pytest.raises(ValueError, match="nothing to price"):
        StateCounts.concat([])
    with pytest.raises(ValueError, match="more than one part"):
        CountRows.concat([outcomes[0].count_rows, outcomes[0].count_rows])
    with pytest.raises(ValueError, match="nothing to price"):
        CountRows.concat([])
    rows = outcomes[1].count_rows
    late = dataclasses.replace(rows, cells=dataclasses.replace(rows.cells, horizon_month=rows.cells.horizon_month + 1))
    with pytest.raises(ValueError, match="different horizon months"):
        CountRows.concat([outcomes[0].count_rows, late])


def test_evaluation_priced_from_counts_equals_the_tables(run):
    scen, params, outcomes = run["scen"], run["params"], run["outcomes"]
    ev = evaluate_outcomes(scen, params, outcomes)
    _, _, events, part, pm_part = tables(outcomes)
    ledger = build_ledger(part, pm_part, events, ev.policy, params)
    effects = arm_effects(ledger)
    pd.testing.assert_frame_equal(ev.ledger, ledger, check_exact=True)
    pd.testing.assert_frame_equal(ev.effects, effects, check_exact=True)
    pd.testing.assert_frame_equal(ev.evaluation, evaluate(effects, ev.policy, params), check_exact=True)
    assert np.array_equal(ev.participants, part.groupby("replication").size().to_numpy())
    pooled = evaluate(mean_effects(effects), ev.policy, params)
    pd.testing.assert_frame_equal(ev.pooled(), pooled, check_exact=True)
    persons, person_months, _, _, _ = tables(outcomes)
    employment = reference_employment(scen, persons, person_months, events)
    pd.testing.assert_frame_equal(ev.employment, employment, check_exact=True)
    ref_row = _summary_row(pooled, part.groupby("replication").size().to_numpy(),
                           _mean_arm_difference(employment, "employed_person_years_per_participant"), transfers_net(ledger))
    row = summary_row(ev)
    assert row.keys() == ref_row.keys()
    for k, v in ref_row.items():
        assert v == row[k] or (math.isnan(v) and math.isnan(row[k])), k
    # Re-pricing an economic parameter from the stored counts equals pricing the tables with it.
    other = params.with_values({"wages.full_time_gross_nok_per_year_2006": params.v("wages.full_time_gross_nok_per_year_2006") * 1.1})
    repriced = ev.reprice(other)
    pd.testing.assert_frame_equal(repriced.ledger, build_ledger(part, pm_part, events, ev.policy, other), check_exact=True)
    with pytest.raises(ValueError, match="dropped"):
        type(ev)(**{**ev.__dict__, "counts": None}).reprice(other)


def test_lean_draw_equals_the_full_evaluation(run):
    scen, params = run["scen"], run["params"]
    ev = evaluate_outcomes(scen, params, run["outcomes"][:2])
    full = summary_row(ev, ev.pooled(7))
    lean, lean_pooled = summarize_parameters(scen, params, SEED, 2, label=7)
    pd.testing.assert_frame_equal(lean_pooled, ev.pooled(7), check_exact=True)
    assert full.keys() == lean.keys()
    for k, v in full.items():
        assert v == lean[k] or (math.isnan(v) and math.isnan(lean[k])), k
