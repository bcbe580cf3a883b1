"""Exact event logs for tiny deterministic cases.

One project with one adviser FTE and caseload 2 (two places), a hand-made population and a hand-made
:class:`~model.engine.ProgrammePlan` (fixed assessment durations, no competing events, fixed exits).
Adviser turnover and every life-course hazard are zero, so nothing random is left and the whole log
is known in advance. Days are days since the scenario start (2005-01-01); one month is 365.25 / 12 =
30.4375 days.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from model import hazards as hz
from model.engine import DETAILS, EVENTS, STATES, ProgrammePlan, simulate
from model.outcomes import Timeline, tidy
from model.parameters import default_parameters
from model.population import DAYS_PER_MONTH, Population
from model.rng import Streams
from model.scenario import load_scenario

DATA = Path(__file__).parent / "data"
INF = np.inf
MONTH = DAYS_PER_MONTH  # 30.4375, exact in binary floating point
EXIT = {c: i for i, c in enumerate(hz.PROGRAMME_EXITS)}
REASON = {c: i for i, c in enumerate(hz.NOT_ADMITTED_REASONS)}
COMPETING = {c: i for i, c in enumerate(hz.ASSESSMENT_COMPETING)}

# No turnover, no life-course hazards, every job full-time (so no draw decides the job kind), and
# spells outside social assistance that outlast the horizon (so no draw decides when they end).
QUIET = {
    "advisers.turnover_per_year": 0.0,
    "life.sa_to_job_per_year": 0.0,
    "life.sa_to_education_per_year": 0.0,
    "life.sa_to_other_per_year": 0.0,
    "jobs.loss_hazard_per_year": 0.0,
    "jobs.p_full_time": 1.0,
    "life.other_spell_months": 1000.0,
}


@pytest.fixture(scope="module")
def params():
    return default_parameters().with_values(QUIET)


def scenario(**overrides):
    return load_scenario(DATA / "one_project.toml", overrides)


def population(referral_days) -> Population:
    n = len(referral_days)

    def full(x, dtype=float):
        return np.full(n, x, dtype=dtype)

    return Population(
        referral_day=np.asarray(referral_days, dtype=float),
        project=full(0, np.int16),
        group=full(-1, np.int16),
        female=full(True, bool),
        age_years=full(40.0),
        married=full(False, bool),
        children_0_5=full(0, np.int8),
        children_6_10=full(0, np.int8),
        children_11_17=full(0, np.int8),
        schooling=full(3, np.int8),
        work_home=full(0, np.int8),
        work_norway=full(0, np.int8),
        years_in_norway=full(10.0),
        years_in_municipality=full(5.0),
        social_assistance_years=full(3.0),
    )


def plan(
    n,
    *,
    assessment,
    exit_days,
    exit_cause,
    completion=None,
    competing=None,
    competing_reason=None,
    decision=None,
    give_up=None,
    to_education=None,
) -> ProgrammePlan:
    return ProgrammePlan(
        assessment_days=np.asarray(assessment, dtype=float),
        competing_days=np.asarray(competing if competing is not None else [INF] * n, dtype=float),
        competing_reason=np.asarray(
            competing_reason if competing_reason is not None else [0] * n, dtype=np.int64
        ),
        decision=np.asarray(decision if decision is not None else [-1] * n, dtype=np.int16),
        give_up_days=np.asarray(give_up if give_up is not None else [INF] * n, dtype=float),
        exit_days=np.asarray(exit_days, dtype=float),
        exit_cause=np.asarray([EXIT[c] if c else -1 for c in exit_cause], dtype=np.int16),
        to_education=np.asarray(
            to_education if to_education is not None else [False] * n, dtype=bool
        ),
        completion=np.asarray(completion if completion is not None else [2] * n, dtype=np.int8),
    )


def records(log) -> list[tuple[int, float, str, str]]:
    """(person, day, event, detail) by day, then person, then the order the engine logged them."""
    rows = [
        (int(p), float(d), EVENTS[e], DETAILS[x], k)
        for k, (p, d, e, x) in enumerate(
            zip(log.person, log.day, log.event, log.detail, strict=True)
        )
    ]
    rows.sort(key=lambda r: (r[1], r[0], r[4]))
    return [r[:4] for r in rows]


def states(log) -> dict[int, list[tuple[float, str]]]:
    """The states each person enters, in order."""
    out: dict[int, list[tuple[float, str]]] = {}
    for p, d, s in zip(log.person, log.day, log.state, strict=True):
        if s >= 0:
            out.setdefault(int(p), []).append((float(d), STATES[s]))
    return out


def test_second_in_line_waits_for_the_first_to_leave_and_is_admitted_that_day(params):
    scen = scenario()
    pop = population([5.0, 10.0, 20.0])
    p = plan(
        3,
        assessment=[30.0, 30.0, 30.0],
        exit_days=[100.0, 200.0, INF],
        exit_cause=["work_or_education", "other", None],
        completion=[2, 2, 2],
    )
    logs = simulate(scen, params, pop, Streams(0, 0), plan=p)
    length = 12 * MONTH  # 365.25
    assert records(logs.programme) == [
        (0, 5.0, "referred", ""),
        (1, 10.0, "referred", ""),
        (2, 20.0, "referred", ""),
        (0, 35.0, "admitted", ""),
        (1, 40.0, "admitted", ""),
        (2, 50.0, "waiting_started", ""),  # both places taken
        (0, 135.0, "exit_work_or_education", "work"),
        (0, 135.0, "job_started", "full_time"),
        (2, 135.0, "admitted", ""),  # the place person 0 left, the same day
        (1, 240.0, "broke_off", "other"),
        (1, 240.0, "returned_to_social_assistance", ""),
        (0, 135.0 + 6 * MONTH, "incentive_milestone", "6_months"),
        (0, 135.0 + 12 * MONTH, "incentive_milestone", "12_months"),
        (2, 135.0 + length, "completed", "social_assistance"),
        (2, 135.0 + length, "returned_to_social_assistance", ""),
    ]
    assert states(logs.programme) == {
        0: [(5.0, "assessment"), (35.0, "in_programme"), (135.0, "employed_full_time")],
        1: [(10.0, "assessment"), (40.0, "in_programme"), (240.0, "social_assistance")],
        2: [
            (20.0, "assessment"),
            (50.0, "waiting"),
            (135.0, "in_programme"),
            (500.25, "social_assistance"),
        ],
    }
    # The counterfactual arm: the same persons, on social assistance with nothing to end it.
    assert records(logs.counterfactual) == [
        (0, 5.0, "referred", ""),
        (1, 10.0, "referred", ""),
        (2, 20.0, "referred", ""),
    ]
    # Desk records: (day, kind, active, capacity, waiting); further columns are not checked here.
    desk = [(d, int(k), int(a), int(c), int(w)) for d, _, k, a, c, w, *_ in logs.desks]
    assert desk == [
        (0.0, 0, 0, 2, 0),  # capacity set: 1 FTE x caseload 2
        (35.0, 1, 1, 2, 0),
        (40.0, 1, 2, 2, 0),
        (135.0, 2, 1, 2, 1),  # person 0 leaves, person 2 still waiting
        (135.0, 1, 2, 2, 0),  # person 2 admitted
        (240.0, 2, 1, 2, 0),
        (500.25, 2, 0, 2, 0),
    ]
    # Waiting time of person 2: from the end of assessment (day 50) to the place freed on day 135.
    tl = Timeline.from_log(logs.programme, 3)
    assert tl.admitted[2] - tl.waiting[2] == 85.0
    assert np.isinf(tl.waiting[:2]).all()


def test_give_up_and_competing_event_while_waiting(params):
    scen = scenario()
    pop = population([5.0, 6.0, 20.0, 21.0])
    p = plan(
        4,
        assessment=[10.0, 10.0, 30.0, 30.0],
        exit_days=[INF, INF, INF, INF],
        exit_cause=[None, None, None, None],
        give_up=[INF, INF, 60.0, INF],  # person 2 gives up 60 days after joining the list (day 110)
        competing=[INF, INF, INF, 30.0 + 45.0],  # person 3 moves 45 days into the wait (day 96)
        competing_reason=[0, 0, 0, COMPETING["moved"]],
    )
    logs = simulate(scen, params, pop, Streams(0, 0), plan=p)
    length = 12 * MONTH
    assert records(logs.programme) == [
        (0, 5.0, "referred", ""),
        (1, 6.0, "referred", ""),
        (0, 15.0, "admitted", ""),
        (1, 16.0, "admitted", ""),
        (2, 20.0, "referred", ""),
        (3, 21.0, "referred", ""),
        (2, 50.0, "waiting_started", ""),
        (3, 51.0, "waiting_started", ""),
        (3, 96.0, "rejected", "moved"),
        (3, 96.0, "left_social_assistance", "moved_away"),
        (2, 110.0, "rejected", "other_measures"),  # gave up: recorded as referred to other measures
        (2, 110.0, "left_social_assistance", "other_spell"),
        (0, 15.0 + length, "completed", "social_assistance"),
        (0, 15.0 + length, "returned_to_social_assistance", ""),
        (1, 16.0 + length, "completed", "social_assistance"),
        (1, 16.0 + length, "returned_to_social_assistance", ""),
    ]
    assert states(logs.programme)[2] == [(20.0, "assessment"), (50.0, "waiting"), (110.0, "other")]
    assert states(logs.programme)[3] == [(21.0, "assessment"), (51.0, "waiting"), (96.0, "other")]
    gave_up = [(d, int(a), int(c), int(w)) for d, _, k, a, c, w, *_ in logs.desks if k == 3]
    assert gave_up == [(96.0, 2, 2, 1), (110.0, 2, 2, 0)]
    # Nobody who gave up is admitted later, although places free up at the end of the programme.
    assert not np.isin(
        logs.programme.person[logs.programme.event == EVENTS.index("admitted")], [2, 3]
    ).any()
    # The flows count them as not admitted, with their reasons.
    tl = Timeline.from_log(logs.programme, 4)
    assert tl.flows(200.0) == {
        "referred": 4,
        "participants": 2,
        "not_admitted": 2,
        "under_assessment": 0,
        "waiting": 0,
        "active": 2,
        "work_or_education": 0,
        "broke_off": 0,
        "discharged_other": 0,
        "completed": 0,
    }
    reasons = tl.not_admitted_reasons(200.0)
    assert reasons["moved"] == 1 and reasons["other_measures"] == 1 and sum(reasons.values()) == 2


def test_waiting_list_is_first_come_first_served(params):
    scen = scenario()
    pop = population([1.0, 2.0, 3.0, 4.0, 5.0])
    p = plan(
        5,
        assessment=[10.0, 10.0, 10.0, 10.0, 10.0],
        exit_days=[50.0, 70.0, 30.0, INF, INF],
        exit_cause=["other", "other", "other", None, None],
    )
    logs = simulate(scen, params, pop, Streams(0, 0), plan=p)
    log = logs.programme
    admitted = [
        (int(pp), float(d))
        for pp, d, e in zip(log.person, log.day, log.event, strict=True)
        if EVENTS[e] == "admitted"
    ]
    # Places: 0 and 1 admitted on days 11 and 12; 2, 3, 4 join the list on days 13, 14, 15.
    # Person 0 leaves on day 61: the first in line (2) gets in; person 2 leaves on day 91 and
    # person 1 on day 82: then 3 (day 82) and 4 (day 91), in the order they joined the list.
    assert admitted == [(0, 11.0), (1, 12.0), (2, 61.0), (3, 82.0), (4, 91.0)]
    waited = sorted(
        int(pp)
        for pp, e in zip(log.person, log.event, strict=True)
        if EVENTS[e] == "waiting_started"
    )
    assert waited == [2, 3, 4]


def test_completion_at_length_months_with_a_stage(params):
    scen = scenario(
        **{
            "programme.length_months": 18,
            "programme.stages": [{"name": "intro", "length_weeks": 10}],
        }
    )
    pop = population([3.0])
    p = plan(1, assessment=[12.0], exit_days=[INF], exit_cause=[None], completion=[0])
    logs = simulate(scen, params, pop, Streams(0, 0), plan=p)
    start = 15.0
    end = start + 18 * MONTH  # 562.875
    assert records(logs.programme) == [
        (0, 3.0, "referred", ""),
        (0, start, "admitted", ""),
        (0, start + 70.0, "stage_ended", ""),
        (0, end, "completed", "work"),
        (0, end, "job_started", "full_time"),
        (0, end + 6 * MONTH, "incentive_milestone", "6_months"),
        (0, end + 12 * MONTH, "incentive_milestone", "12_months"),
    ]
    # An exit before the length ends the stay early; a later exit day is cut at the length.
    p2 = plan(
        1, assessment=[12.0], exit_days=[end - start + 1.0], exit_cause=["moved"], completion=[1]
    )
    logs2 = simulate(scen, params, pop, Streams(0, 0), plan=p2)
    events2 = [r[2] for r in records(logs2.programme)]
    assert "completed" in events2 and "broke_off" not in events2


def test_rejections_at_and_during_assessment(params):
    scen = scenario()
    pop = population([5.0, 7.0, 9.0])
    p = plan(
        3,
        assessment=[20.0, 20.0, 20.0],
        exit_days=[INF, INF, 50.0],
        exit_cause=[None, None, "moved"],
        decision=[REASON["no_need"], -1, -1],
        competing=[INF, 4.0, INF],  # person 1 finds work on day 11, before the assessment ends
        competing_reason=[0, COMPETING["work_or_education"], 0],
    )
    logs = simulate(scen, params, pop, Streams(0, 0), plan=p)
    assert records(logs.programme) == [
        (0, 5.0, "referred", ""),
        (1, 7.0, "referred", ""),
        (2, 9.0, "referred", ""),
        (1, 11.0, "rejected", "work_or_education"),
        (1, 11.0, "job_started", "full_time"),
        (0, 25.0, "rejected", "no_need"),
        (2, 29.0, "admitted", ""),
        (2, 79.0, "broke_off", "moved"),
        (2, 79.0, "left_social_assistance", "moved_away"),
    ]
    assert states(logs.programme)[0] == [(5.0, "assessment"), (25.0, "social_assistance")]
    # No incentive milestones: the job did not come through the programme.
    assert "incentive_milestone" not in [r[2] for r in records(logs.programme)]


def test_added_staff_opens_places_on_the_staff_date(params):
    # 1 FTE until 2005-03-01 (day 59), then 2 FTE: four places; the two waiting get in that day.
    scen = scenario(
        projects=[
            {
                "name": "Solo",
                "cohort": 2005,
                "intake_start_date": "2005-01-01",
                "staff": [
                    {"date": "2005-01-01", "advisers_fte": 1.0},
                    {"date": "2005-03-01", "advisers_fte": 2.0},
                ],
            }
        ]
    )
    pop = population([1.0, 2.0, 3.0, 4.0])
    p = plan(4, assessment=[10.0] * 4, exit_days=[INF] * 4, exit_cause=[None] * 4)
    logs = simulate(scen, params, pop, Streams(0, 0), plan=p)
    admitted = {
        int(pp): float(d)
        for pp, d, e in zip(
            logs.programme.person, logs.programme.day, logs.programme.event, strict=True
        )
        if EVENTS[e] == "admitted"
    }
    assert admitted == {0: 11.0, 1: 12.0, 2: 59.0, 3: 59.0}
    cap = [(d, int(c)) for d, _, k, a, c, w, *_ in logs.desks if k == 0]
    assert cap == [(0.0, 2), (59.0, 4)]


def test_tidy_person_months_of_the_exact_case(params):
    scen = scenario()
    pop = population([5.0, 10.0, 20.0])
    p = plan(
        3,
        assessment=[30.0] * 3,
        exit_days=[100.0, 200.0, INF],
        exit_cause=["work_or_education", "other", None],
    )
    logs = simulate(scen, params, pop, Streams(0, 0), plan=p)
    out = tidy(scen, pop, logs, 0)
    pm = out.person_months
    prog = pm[(pm.arm == "programme") & (pm.person == 2)].set_index("month")["state"].astype(str)
    # Person 2: referred 2005-01-21, waiting from 2005-02-20 (day 50), admitted 2005-05-16
    # (day 135), completed 2006-05-16 (day 500.25). The state is read on the 15th of each month.
    # 15 January is before the referral on 21 January: on social assistance, like all referred.
    assert prog[np.datetime64("2005-01-01")] == "social_assistance"
    assert prog[np.datetime64("2005-02-01")] == "assessment"  # 15 Feb is before day 50 (20 Feb)
    assert prog[np.datetime64("2005-03-01")] == "waiting"
    assert prog[np.datetime64("2005-05-01")] == "waiting"  # 15 May is before 16 May
    assert prog[np.datetime64("2005-06-01")] == "in_programme"
    assert prog[np.datetime64("2006-05-01")] == "in_programme"
    assert prog[np.datetime64("2006-06-01")] == "social_assistance"
    assert len(prog) == 36  # January 2005 to December 2007
    cf = pm[pm.arm == "counterfactual"]
    assert set(cf["state"].astype(str)) == {"social_assistance"}
    flows = out.flows["2006-12-01"]["all"]
    assert flows == {
        "referred": 3,
        "participants": 3,
        "not_admitted": 0,
        "under_assessment": 0,
        "waiting": 0,
        "active": 0,
        "work_or_education": 1,
        "broke_off": 1,
        "discharged_other": 0,
        "completed": 1,
    }
    assert out.flows["2006-12-01"]["broke_off_reasons"]["other"] == 1
