"""The SimPy discrete-event engine: projects, advisers and persons → flat event records.

One replication runs the same persons through two arms:

- **programme arm**: referral → assessment (with competing events: got work, self-supporting, no-show,
  moved) → decision (eligibility, other measures, childcare, disability pension, no need, other) → a place
  limited by the project's advisers × caseload, with an FCFS waiting list that people leave → participation
  with competing exits (work or education, six break-off reasons, discharged to other) under piecewise
  hazards → completion at ``length_months`` → life after the programme (job spells with job loss,
  full-time/part-time, the 6- and 12-month full-time milestones of the incentive scheme, education spells,
  return to social assistance). Adviser positions turn over: participants change contact person, and a
  vacancy removes its places until it is filled.
- **counterfactual arm**: the same persons from their referral date, on social assistance as usual, with
  the same life-course dynamics and no programme.

Randomness: every random quantity is pre-drawn per person from its own named stream
(:class:`model.rng.Streams`), so the arms and compared scenarios share their draws (common random
numbers). The engine knows nothing of money.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass

import numpy as np
import simpy

from model import hazards as hz
from model.parameters import ParameterSet
from model.population import DAYS_PER_MONTH, DAYS_PER_YEAR, Population, days_since
from model.rng import Streams
from model.scenario import Project, Scenario
from model.vocabulary import ARMS, STATES

# Vocabularies (codes are indices) ----------------------------------------------------------------------
EVENTS = (
    "referred",
    "rejected",
    "waiting_started",
    "admitted",
    "stage_ended",
    "exit_work_or_education",
    "broke_off",
    "discharged_other",
    "completed",
    "contact_person_changed",
    "job_started",
    "job_lost",
    "education_started",
    "education_ended",
    "left_social_assistance",
    "returned_to_social_assistance",
    "incentive_milestone",
)
DETAILS = tuple(
    dict.fromkeys(
        (
            "",
            *hz.NOT_ADMITTED_REASONS,
            *hz.BROKE_OFF_REASONS,
            "work",
            "education",
            "social_assistance",
            "full_time",
            "part_time",
            "6_months",
            "12_months",
            "moved_away",
            "other_spell",
        )
    )
)
# What a desk record marks: a capacity change, an admission, a participant leaving, a person giving up.
DESK_EVENTS = {"capacity": 0, "admitted": 1, "left": 2, "gave_up": 3}

S = {name: i for i, name in enumerate(STATES)}
E = {name: i for i, name in enumerate(EVENTS)}
D = {name: i for i, name in enumerate(DETAILS)}
NO_STATE = -1
INF = float("inf")
SPELL_DRAWS = 24  # pre-drawn life-course spells per person; more come from a per-person stream


@dataclass(frozen=True)
class EventLog:
    """Flat event records of one arm of one replication (parallel arrays, one entry per event)."""

    person: np.ndarray  # int32
    day: np.ndarray  # float64, days since the scenario start
    event: np.ndarray  # int16 index into EVENTS
    detail: np.ndarray  # int16 index into DETAILS
    state: np.ndarray  # int8 index into STATES, the state entered (-1: no change)
    sim_events: int  # SimPy events processed (for benchmarks)


def _wait(e: float, rate: float) -> float:
    """Time until a cumulative hazard ``rate`` × t reaches ``e`` (infinite for a zero rate)."""
    return e / rate if rate > 0 else INF


def _divide(e: np.ndarray, rate: float) -> np.ndarray:
    """Vectorised :func:`_wait`."""
    return e / rate if rate > 0 else np.full(e.shape, INF)


class _Log:
    __slots__ = ("person", "day", "event", "detail", "state", "horizon")

    def __init__(self, horizon: float) -> None:
        self.person: list[int] = []
        self.day: list[float] = []
        self.event: list[int] = []
        self.detail: list[int] = []
        self.state: list[int] = []
        self.horizon = horizon

    def add(self, person: int, day: float, event: int, detail: int = 0, state: int = NO_STATE) -> None:
        if day <= self.horizon:
            self.person.append(person)
            self.day.append(day)
            self.event.append(event)
            self.detail.append(detail)
            self.state.append(state)

    def freeze(self, sim_events: int) -> EventLog:
        return EventLog(
            np.asarray(self.person, dtype=np.int32),
            np.asarray(self.day, dtype=np.float64),
            np.asarray(self.event, dtype=np.int16),
            np.asarray(self.detail, dtype=np.int16),
            np.asarray(self.state, dtype=np.int8),
            sim_events,
        )


@dataclass
class _Draws:
    """Pre-drawn random numbers per person, each from its own named stream."""

    assess_u: np.ndarray
    assess_e: np.ndarray
    assess_reason_u: np.ndarray
    decision_u: np.ndarray
    give_up_e: np.ndarray
    exit_e: np.ndarray
    exit_u: np.ndarray
    split_u: np.ndarray
    completion_u: np.ndarray
    life_e: np.ndarray  # (n, SPELL_DRAWS)
    life_u: np.ndarray
    life_v: np.ndarray

    @classmethod
    def draw(cls, streams: Streams, n: int) -> _Draws:
        return cls(
            assess_u=streams.uniform("assessment.duration", n),
            assess_e=streams.exponential("assessment.competing", n),
            assess_reason_u=streams.uniform("assessment.competing_reason", n),
            decision_u=streams.uniform("assessment.decision", n),
            give_up_e=streams.exponential("waiting.give_up", n),
            exit_e=streams.exponential("participation.exit", n),
            exit_u=streams.uniform("participation.exit_reason", n),
            split_u=streams.uniform("participation.work_or_education_split", n),
            completion_u=streams.uniform("completion.outcome", n),
            life_e=streams.exponential("life.spell_time", (n, SPELL_DRAWS)),
            life_u=streams.uniform("life.spell_choice", (n, SPELL_DRAWS)),
            life_v=streams.uniform("life.spell_kind", (n, SPELL_DRAWS)),
        )


class _Spells:
    """Hands out each person's life-course draws in order (shared by both arms: common random numbers)."""

    __slots__ = ("draws", "streams", "next", "extra")

    def __init__(self, draws: _Draws, streams: Streams, n: int) -> None:
        self.draws = draws
        self.streams = streams
        self.next = np.zeros(n, dtype=np.int32)
        self.extra: dict[int, np.random.Generator] = {}

    def take(self, i: int) -> tuple[float, float, float]:
        k = int(self.next[i])
        self.next[i] = k + 1
        if k < SPELL_DRAWS:
            d = self.draws
            return float(d.life_e[i, k]), float(d.life_u[i, k]), float(d.life_v[i, k])
        gen = self.extra.get(i)
        if gen is None:
            gen = self.extra[i] = self.streams.generator(f"life.extra_spells.{i}")
        return float(gen.standard_exponential()), float(gen.random()), float(gen.random())


class _Desk:
    """A project's places and adviser positions.

    Places = floor(filled adviser FTE × caseload). Admission is FCFS from a waiting list; people who
    give up are removed lazily (O(1)). Group-intake projects open places only on their group dates.
    """

    def __init__(self, engine: _ProgrammeRun, index: int, project: Project) -> None:
        self.engine = engine
        self.env = engine.env
        self.index = index
        self.project = project
        self.caseload = engine.scenario.follow_up.caseload_per_adviser
        self.active = 0
        self.waiting = 0  # persons on the waiting list (the deque may also hold cancelled entries)
        self.queue: deque[tuple[int, simpy.Event]] = deque()
        self.positions: list[_Position] = []
        self.filled_fte = 0.0
        self.groups = project.intake == "groups"
        self.group_places = 0  # places opened by the current group date
        gen = engine.streams.generator(f"advisers.{project.name}")
        cv = engine.params.v("advisers.turnover_project_cv")
        frailty = gen.gamma(1 / cv**2, cv**2) if cv > 0 else 1.0
        self.turnover_rate = engine.params.v("advisers.turnover_per_year") * frailty / DAYS_PER_YEAR
        self.vacancy_days = engine.params.v("advisers.vacancy_mean_months") * DAYS_PER_MONTH
        self.fte_scale = engine.scenario.fte_multiplier(project, engine.params.v("staffing.unreported_fte_multiplier"))
        self.gen = gen

    # capacity ---------------------------------------------------------------------------------------
    def capacity(self) -> int:
        return int(math.floor(self.filled_fte * self.caseload + 1e-9))

    def request(self, person: int) -> simpy.Event:
        ev = self.env.event()
        self.queue.append((person, ev))
        self.waiting += 1
        self.admit()
        return ev

    def cancel(self, place: simpy.Event) -> None:
        """The person behind ``place`` gives up: ``place`` fires with ``None``; the queue skips it later."""
        place.succeed(None)
        self.waiting -= 1
        self.monitor(DESK_EVENTS["gave_up"])

    def monitor(self, kind: int) -> None:
        """Record the desk's state (for staffing views and the capacity invariant)."""
        self.engine.desk_log.append(
            (self.env.now, self.index, kind, self.active, self.capacity(), self.waiting, self.filled_fte)
        )

    def admit(self) -> None:
        while self.queue and self.active < self.capacity():
            if self.groups and self.group_places <= 0:
                return
            person, ev = self.queue.popleft()
            if ev.triggered:  # gave up while waiting (cancelled)
                continue
            self.active += 1
            self.waiting -= 1
            if self.groups:
                self.group_places -= 1
            ev.succeed(person)
            self.monitor(DESK_EVENTS["admitted"])

    def release(self) -> None:
        self.active -= 1
        self.monitor(DESK_EVENTS["left"])
        self.admit()

    # advisers ---------------------------------------------------------------------------------------
    def assign(self, person: int) -> None:
        filled = [p for p in self.positions if p.filled]
        pool = filled or self.positions
        pos = min(pool, key=lambda p: len(p.caseload))
        pos.caseload.add(person)
        self.engine.position_of[person] = pos

    def unassign(self, person: int) -> None:
        pos = self.engine.position_of.pop(person, None)
        if pos is not None:
            pos.caseload.discard(person)

    def reassign(self, persons: list[int], exclude: _Position) -> None:
        """Give ``persons`` a new contact person among the other filled positions."""
        others = [p for p in self.positions if p.filled and p is not exclude]
        if not others:
            return  # they keep the vacant position and get its next holder
        now = self.env.now
        for person in persons:
            exclude.caseload.discard(person)
            pos = min(others, key=lambda p: len(p.caseload))
            pos.caseload.add(person)
            self.engine.position_of[person] = pos
            self.engine.log.add(person, now, E["contact_person_changed"])

    def refresh_fte(self) -> None:
        self.filled_fte = sum(p.fte for p in self.positions if p.filled)
        self.monitor(DESK_EVENTS["capacity"])
        self.admit()

    def staff_schedule(self):
        origin = self.engine.scenario.simulation.start_date
        for change in self.project.staff:
            delay = days_since(origin, change.date) - self.env.now
            if delay > 0:
                yield self.env.timeout(delay)
            self.set_fte(change.advisers_fte * self.fte_scale)

    def set_fte(self, fte: float) -> None:
        n = int(math.ceil(fte - 1e-9))
        while len(self.positions) > n:  # drop vacant positions first
            vacant = [p for p in self.positions if not p.filled]
            pos = vacant[0] if vacant else min(self.positions, key=lambda p: len(p.caseload))
            self.positions.remove(pos)
            pos.removed = True
            if pos.caseload:
                self.reassign(sorted(pos.caseload), pos)
        while len(self.positions) < n:
            pos = _Position(self)
            self.positions.append(pos)
            self.env.process(pos.tenure())
        for pos in self.positions:
            pos.fte = fte / n if n else 0.0
        self.refresh_fte()

    def group_gates(self):
        origin = self.engine.scenario.simulation.start_date
        for g in self.project.groups:
            delay = days_since(origin, g.start_date) - self.env.now
            if delay > 0:
                yield self.env.timeout(delay)
            self.group_places = g.size
            self.admit()
            self.group_places = 0


class _Position:
    """One adviser position: held, vacated by turnover, filled again."""

    __slots__ = ("desk", "filled", "fte", "caseload", "removed")

    def __init__(self, desk: _Desk) -> None:
        self.desk = desk
        self.filled = True
        self.fte = 0.0
        self.caseload: set[int] = set()
        self.removed = False

    def tenure(self):
        desk = self.desk
        env = desk.env
        while not self.removed:
            tenure = _wait(desk.gen.standard_exponential(), desk.turnover_rate)
            if tenure == INF:
                return
            yield env.timeout(tenure)
            if self.removed:
                return
            self.filled = False
            desk.refresh_fte()
            desk.reassign(sorted(self.caseload), self)
            yield env.timeout(desk.gen.standard_exponential() * desk.vacancy_days)
            if self.removed:
                return
            self.filled = True
            orphans = sorted(self.caseload)
            for person in orphans:  # participants who waited for a new holder meet them now
                desk.engine.log.add(person, env.now, E["contact_person_changed"])
            desk.refresh_fte()


class _Life:
    """Life course outside the programme, shared by both arms (job spells, education, social assistance)."""

    def __init__(self, run: _RunBase) -> None:
        v = run.params.v
        pop = run.pop
        mean_hr = hz.mean_work_hazard_ratio(run.params)
        self.job_rate = (
            v("life.sa_to_job_per_year") * hz.work_hazard_ratio(pop, run.params) / mean_hr / DAYS_PER_YEAR
        ).tolist()
        self.edu_rate = v("life.sa_to_education_per_year") / DAYS_PER_YEAR
        self.other_rate = v("life.sa_to_other_per_year") / DAYS_PER_YEAR
        self.boost = v("life.post_programme_job_hr")
        self.boost_days = v("life.post_programme_months") * DAYS_PER_MONTH
        self.loss_rate = v("jobs.loss_hazard_per_year") / DAYS_PER_YEAR
        self.pt_hr = v("jobs.part_time_loss_hr")
        self.p_full_time = v("jobs.p_full_time")
        self.edu_days = v("education.duration_months") * DAYS_PER_MONTH
        self.p_job_after_edu = v("education.p_job_after")
        self.other_days = v("life.other_spell_months") * DAYS_PER_MONTH
        self.milestone_days = (6 * DAYS_PER_MONTH, 12 * DAYS_PER_MONTH)
        self.run = run

    def process(self, i: int, state: str, boost_until: float = -1.0, via_programme: bool = False):
        """Generator: the life course of person ``i`` from ``state`` until the horizon.

        Args:
            state: ``social_assistance``, ``job`` (full/part time drawn here), ``education``, ``other_spell``
                (a temporary spell outside social assistance), or ``gone`` (moved away: absorbing).
            boost_until: day until which the post-programme job-finding boost applies.
            via_programme: the first job comes from the programme (counts for the incentive scheme).
        """
        run = self.run
        env, log, spells = run.env, run.log, run.spells
        while True:
            now = env.now
            if state == "social_assistance":
                e, u, _ = spells.take(i)
                base = self.job_rate[i] + self.edu_rate + self.other_rate
                boosted = base + self.job_rate[i] * (self.boost - 1.0)
                window = max(boost_until - now, 0.0)
                if e <= boosted * window:
                    wait, job = _wait(e, boosted), self.job_rate[i] * self.boost
                else:
                    wait, job = window + _wait(e - boosted * window, base), self.job_rate[i]
                if wait == INF:
                    return  # nothing can end this spell: social assistance to the horizon
                yield env.timeout(wait)
                total = job + self.edu_rate + self.other_rate
                if u < job / total:
                    state = "job"
                elif u < (job + self.edu_rate) / total:
                    state = "education"
                else:
                    log.add(i, env.now, E["left_social_assistance"], D["other"], S["other"])
                    return
                continue
            if state == "job":
                e, _, kind = spells.take(i)
                full = kind < self.p_full_time
                log.add(
                    i,
                    now,
                    E["job_started"],
                    D["full_time" if full else "part_time"],
                    S["employed_full_time" if full else "employed_part_time"],
                )
                duration = _wait(e, self.loss_rate * (1.0 if full else self.pt_hr))
                if via_programme and full:
                    for label, at in zip(("6_months", "12_months"), self.milestone_days, strict=True):
                        if duration >= at:
                            log.add(i, now + at, E["incentive_milestone"], D[label])
                via_programme = False
                if duration == INF:
                    return
                yield env.timeout(duration)
                log.add(i, env.now, E["job_lost"], 0, S["social_assistance"])
                state = "social_assistance"
                continue
            if state == "education":
                _, u, kind = spells.take(i)
                log.add(i, now, E["education_started"], 0, S["education"])
                yield env.timeout(self.edu_days * (0.5 + u))
                if kind < self.p_job_after_edu:
                    log.add(i, env.now, E["education_ended"], D["work"], NO_STATE)
                    state = "job"
                else:
                    log.add(i, env.now, E["education_ended"], D["social_assistance"], S["social_assistance"])
                    state = "social_assistance"
                continue
            if state == "other_spell":
                _, u, _ = spells.take(i)
                yield env.timeout(self.other_days * (0.5 + u))
                log.add(i, env.now, E["returned_to_social_assistance"], 0, S["social_assistance"])
                state = "social_assistance"
                continue
            if state == "gone":
                return
            raise AssertionError(state)


class _RunBase:
    def __init__(self, scenario: Scenario, params: ParameterSet, pop: Population, streams: Streams, draws: _Draws) -> None:
        self.scenario = scenario
        self.params = params
        self.pop = pop
        self.streams = streams
        self.draws = draws
        self.env = simpy.Environment()
        self.horizon = days_since(scenario.simulation.start_date, scenario.simulation.horizon_date)
        self.log = _Log(self.horizon)
        self.spells = _Spells(draws, streams, pop.size)
        self.life = _Life(self)

    def _finish(self) -> EventLog:
        env = self.env
        count = 0
        stop = self.horizon + 1e-9
        while env.peek() <= stop:
            env.step()
            count += 1
        return self.log.freeze(count)


@dataclass(frozen=True)
class ProgrammePlan:
    """What the hazards imply for each person, before any queueing: the engine only schedules it.

    All arrays have one entry per person. Tests build plans by hand for exact event logs; the SimPy run
    adds what depends on the other persons (places, waiting, advisers).
    """

    assessment_days: np.ndarray  # referral → end of assessment
    competing_days: np.ndarray  # referral → competing event (work, self-supporting, no-show, moved)
    competing_reason: np.ndarray  # index into hazards.ASSESSMENT_COMPETING
    decision: np.ndarray  # -1 admit, else index into hazards.NOT_ADMITTED_REASONS
    give_up_days: np.ndarray  # patience on the waiting list (from the end of assessment)
    exit_days: np.ndarray  # admission → early exit (inf: none before the end)
    exit_cause: np.ndarray  # index into hazards.PROGRAMME_EXITS, -1 if none
    to_education: np.ndarray  # bool: a work-or-education exit goes to education
    completion: np.ndarray  # 0 work, 1 education, 2 social assistance (if completed)


def plan_programme(scenario: Scenario, params: ParameterSet, pop: Population, draws: _Draws) -> ProgrammePlan:
    """Turn hazards and pre-drawn numbers into each person's plan (vectorised)."""
    origin = scenario.simulation.start_date
    group_start = np.full(pop.size, np.nan)
    for pi, project in enumerate(scenario.projects):
        for gi, g in enumerate(project.groups):
            group_start[(pop.project == pi) & (pop.group == gi)] = days_since(origin, g.start_date)
    assess, competing, reason = hz.assessment_times(
        scenario, params, pop, group_start, draws.assess_u, draws.assess_e, draws.assess_reason_u
    )
    edges, h = hz.programme_hazards(scenario, params, pop)
    exit_days, exit_cause = hz.first_passage(edges, h, draws.exit_e, draws.exit_u)
    p_work, p_edu = params.v("completion.p_work"), params.v("completion.p_education")
    u = draws.completion_u
    return ProgrammePlan(
        assessment_days=assess,
        competing_days=competing,
        competing_reason=reason,
        decision=hz.decisions(scenario, params, pop, draws.decision_u),
        give_up_days=_divide(draws.give_up_e, params.v("waiting.give_up_per_year") / DAYS_PER_YEAR),
        exit_days=exit_days,
        exit_cause=exit_cause,
        to_education=draws.split_u < params.v("participation.share_education_of_work_or_education"),
        completion=np.where(u < p_work, 0, np.where(u < p_work + p_edu, 1, 2)).astype(np.int8),
    )


class _ProgrammeRun(_RunBase):
    def __init__(self, *args, plan: ProgrammePlan) -> None:
        super().__init__(*args)
        scen, params = self.scenario, self.params
        self.plan = plan
        self.length_days = scen.programme.length_months * DAYS_PER_MONTH
        self.boost_days = params.v("life.post_programme_months") * DAYS_PER_MONTH
        stage_days, t = [], 0.0
        for stage in scen.programme.stages:
            t += stage.length_weeks * 7.0
            stage_days.append((stage.name, t))
        self.stage_days = stage_days
        self.position_of: dict[int, _Position] = {}
        self.desk_log: list[tuple[float, int, int, int, int, int, float]] = []
        self.desks = [_Desk(self, pi, p) for pi, p in enumerate(scen.projects)]

    def run(self) -> EventLog:
        env = self.env
        for desk in self.desks:
            env.process(desk.staff_schedule())
            if desk.groups:
                env.process(desk.group_gates())
        for i in range(self.pop.size):
            env.process(self.person(i))
        return self._finish()

    def person(self, i: int):
        env, log = self.env, self.log
        yield env.timeout(self.pop.referral_day[i])
        log.add(i, env.now, E["referred"], 0, S["assessment"])
        plan = self.plan
        assess, competing = plan.assessment_days[i], plan.competing_days[i]
        if competing < assess:
            yield env.timeout(competing)
            yield from self.not_admitted(i, hz.ASSESSMENT_COMPETING[plan.competing_reason[i]])
            return
        yield env.timeout(assess)
        if plan.decision[i] >= 0:
            yield from self.not_admitted(i, hz.NOT_ADMITTED_REASONS[plan.decision[i]])
            return
        desk = self.desks[self.pop.project[i]]
        place = desk.request(i)
        if not place.triggered:
            log.add(i, env.now, E["waiting_started"], 0, S["waiting"])
            competing_left = competing - assess
            give_up = plan.give_up_days[i]
            patience = min(competing_left, give_up)
            if patience < INF:
                # One event to wait for: the place, or (through this timer's callback) giving up.
                env.timeout(patience).callbacks.append(lambda _t, place=place: place.triggered or desk.cancel(place))
            if (yield place) is None:
                reason = hz.ASSESSMENT_COMPETING[plan.competing_reason[i]] if competing_left <= give_up else "other_measures"
                yield from self.not_admitted(i, reason)
                return
        yield from self.participate(i, desk)

    def not_admitted(self, i: int, reason: str):
        if reason == "work_or_education":
            state = "education" if self.plan.to_education[i] else "job"
        elif reason in ("moved", "disability_pension"):
            state = "gone"
        elif reason in ("self_supporting", "other_measures"):
            state = "other_spell"
        else:
            state = "social_assistance"
        entered = S["social_assistance"] if state == "social_assistance" else NO_STATE
        self.log.add(i, self.env.now, E["rejected"], D[reason], entered)
        yield from self._enter(i, state, announce=False)

    def _enter(self, i: int, state: str, boost_until: float = -1.0, via_programme: bool = False, announce: bool = True):
        """Continue the life course of person ``i`` in ``state``, logging the state entered."""
        now = self.env.now
        if state == "gone":
            self.log.add(i, now, E["left_social_assistance"], D["moved_away"], S["other"])
            return
        if state == "other_spell":
            self.log.add(i, now, E["left_social_assistance"], D["other_spell"], S["other"])
        elif state == "social_assistance" and announce:
            self.log.add(i, now, E["returned_to_social_assistance"], 0, S["social_assistance"])
        yield from self.life.process(i, state, boost_until, via_programme)

    def participate(self, i: int, desk: _Desk):
        env, log = self.env, self.log
        start = env.now
        log.add(i, start, E["admitted"], 0, S["in_programme"])
        desk.assign(i)
        exit_days = self.plan.exit_days[i]
        stay = min(exit_days, self.length_days)
        for name, at in self.stage_days:
            if at < stay:
                log.add(i, start + at, E["stage_ended"])
        yield env.timeout(stay)
        desk.unassign(i)
        desk.release()
        boost_until = env.now + self.boost_days
        if exit_days < self.length_days:
            cause = hz.PROGRAMME_EXITS[self.plan.exit_cause[i]]
            if cause == "work_or_education":
                education = bool(self.plan.to_education[i])
                log.add(i, env.now, E["exit_work_or_education"], D["education" if education else "work"])
                yield from self._enter(i, "education" if education else "job", boost_until, via_programme=True)
            elif cause == "discharged_other":
                log.add(i, env.now, E["discharged_other"])
                yield from self._enter(i, "other_spell", boost_until)
            else:
                log.add(i, env.now, E["broke_off"], D[cause])
                state = {"birth": "other_spell", "moved": "gone", "other_measures": "other_spell"}.get(cause, "social_assistance")
                yield from self._enter(i, state, boost_until)
            return
        outcome = self.plan.completion[i]
        if outcome == 0:
            log.add(i, env.now, E["completed"], D["work"])
            yield from self._enter(i, "job", boost_until, via_programme=True)
        elif outcome == 1:
            log.add(i, env.now, E["completed"], D["education"])
            yield from self._enter(i, "education", boost_until)
        else:
            log.add(i, env.now, E["completed"], D["social_assistance"])
            yield from self._enter(i, "social_assistance", boost_until)


class _CounterfactualRun(_RunBase):
    def run(self) -> EventLog:
        for i in range(self.pop.size):
            self.env.process(self.person(i))
        return self._finish()

    def person(self, i: int):
        env = self.env
        yield env.timeout(self.pop.referral_day[i])
        self.log.add(i, env.now, E["referred"], 0, S["social_assistance"])
        yield from self.life.process(i, "social_assistance")


@dataclass(frozen=True)
class ReplicationLogs:
    """Both arms' event logs of one replication, and the programme arm's desk records.

    ``desks`` has columns day, project, kind (see ``DESK_EVENTS``), active, capacity, waiting,
    filled_fte: one row each time a project's staff, places, participants or waiting list change.
    """

    programme: EventLog
    counterfactual: EventLog
    desks: np.ndarray


def simulate(
    scenario: Scenario,
    params: ParameterSet,
    pop: Population,
    streams: Streams,
    *,
    counterfactual: bool = True,
    plan: ProgrammePlan | None = None,
) -> ReplicationLogs:
    """Run one replication of both arms on the same persons.

    Args:
        scenario: the validated scenario.
        params: the parameter set (a point or a PSA draw).
        pop: the referred persons of this replication.
        streams: this replication's named random streams.
        counterfactual: also run the counterfactual arm (calibration needs only the programme arm).
        plan: the persons' plans; by default computed from the hazards and the pre-drawn numbers.

    Returns:
        The two arms' event logs (an empty counterfactual log if it was not run).
    """
    draws = _Draws.draw(streams, pop.size)
    plan = plan if plan is not None else plan_programme(scenario, params, pop, draws)
    run = _ProgrammeRun(scenario, params, pop, streams, draws, plan=plan)
    programme = run.run()
    horizon = run.horizon
    desks = np.array([r for r in run.desk_log if r[0] <= horizon], dtype=np.float64).reshape(-1, 7)
    if counterfactual:
        cf = _CounterfactualRun(scenario, params, pop, streams, draws).run()
    else:
        cf = _Log(0.0).freeze(0)
    return ReplicationLogs(programme, cf, desks)
