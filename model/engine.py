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

How it runs (speed without changing a number): persons are lean chains of SimPy timeouts whose
callbacks take the next step, rather than one generator ``Process`` each; projects' staff schedules, group
gates and adviser positions stay generator processes. Each step creates the same timeouts in the same
order as a per-person process would, so SimPy processes the same events in the same order (same time,
priority and sequence number) and the records are identical; what goes is the start and end event of every
person process and the generator overhead per event. Timeouts that would fall after the horizon are not
scheduled (they would never be processed), referrals enter the event queue one at a time with the sequence
numbers they would have had, the event loop is ``Environment.step`` inlined, and the cyclic garbage
collector pauses during a run. ``tests/test_engine_exact.py``, ``tests/test_golden.py`` and
``tests/test_reproducibility.py`` pin the results.

The fast path (the default; ``simulate(..., reference=True)`` runs everything in one SimPy environment):
what persons share (places, waiting lists, advisers) runs in :mod:`model.desk_kernel`, the same event
loop compiled, each project in its own event queue (projects share no person, place or adviser, so the
queue holds one project's events and the cost per person does not grow with the number of projects);
life courses, which no two persons share, are handed over to :mod:`model.lifecourse` and run for all
persons at once; the counterfactual arm needs no event loop at all. Every person's records, the desk
records and the event count are those of the reference (``tests/test_fast_path.py``).
"""

from __future__ import annotations

import contextlib
import gc
import math
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from heapq import heappop, heappush
from itertools import islice

import numpy as np
import simpy
from simpy.core import NORMAL

from model import desk_kernel as dk
from model import hazards as hz
from model import lifecourse as lc
from model.parameters import ParameterSet
from model.population import DAYS_PER_MONTH, DAYS_PER_YEAR, Population, days_since
from model.rng import Streams
from model.scenario import Project, Scenario
from model.vocabulary import STATES

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

# Codes used on the hot paths (module constants: no dictionary look-up per record).
_E_REFERRED, _E_REJECTED, _E_WAITING_STARTED, _E_ADMITTED = E["referred"], E["rejected"], E["waiting_started"], E["admitted"]
_E_STAGE_ENDED, _E_EXIT_WORK_OR_EDUCATION = E["stage_ended"], E["exit_work_or_education"]
_E_BROKE_OFF, _E_DISCHARGED_OTHER, _E_COMPLETED = E["broke_off"], E["discharged_other"], E["completed"]
_E_JOB_STARTED, _E_JOB_LOST, _E_MILESTONE = E["job_started"], E["job_lost"], E["incentive_milestone"]
_E_EDUCATION_STARTED, _E_EDUCATION_ENDED = E["education_started"], E["education_ended"]
_E_LEFT_SA, _E_RETURNED = E["left_social_assistance"], E["returned_to_social_assistance"]
_D_OTHER, _D_MOVED_AWAY, _D_OTHER_SPELL = D["other"], D["moved_away"], D["other_spell"]
_D_WORK, _D_EDUCATION, _D_ASSISTANCE = D["work"], D["education"], D["social_assistance"]
_D_FULL_TIME, _D_PART_TIME, _D_6_MONTHS, _D_12_MONTHS = D["full_time"], D["part_time"], D["6_months"], D["12_months"]
_S_ASSESSMENT, _S_WAITING, _S_IN_PROGRAMME = S["assessment"], S["waiting"], S["in_programme"]
_S_FULL_TIME, _S_PART_TIME, _S_EDUCATION = S["employed_full_time"], S["employed_part_time"], S["education"]
_S_ASSISTANCE, _S_OTHER = S["social_assistance"], S["other"]
_E_CONTACT_CHANGED = E["contact_person_changed"]
_K_CAPACITY, _K_ADMITTED, _K_LEFT, _K_GAVE_UP = (DESK_EVENTS[k] for k in ("capacity", "admitted", "left", "gave_up"))


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


def _has_internals(env: simpy.Environment) -> bool:
    """Whether ``env`` has the event queue, sequence counter and clock this module drives directly."""
    return isinstance(getattr(env, "_queue", None), list) and hasattr(env, "_eid") and hasattr(env, "_now")


class _Timer:
    """A timeout the engine schedules itself: all the event loop reads of an event (its callbacks, and
    that it succeeded), nothing else."""

    __slots__ = ("callbacks", "_ok")

    def __init__(self, callback: Callable[[_Timer], None]) -> None:
        self.callbacks: list | None = [callback]
        self._ok = True


def _scheduler(env: simpy.Environment, stop: float) -> Callable[[float, Callable[[simpy.Event], None]], None]:
    """``after(delay, callback)``: a timeout of ``delay`` whose one callback is ``callback``.

    Scheduled as ``env.timeout(delay).callbacks.append(callback)`` is (the same time, priority and
    sequence number as ``Environment.schedule`` gives it, so the same place in the event order), as a
    lean :class:`_Timer` rather than a :class:`simpy.Timeout` (the engine's loop processes both), and not
    at all if it falls after ``stop``, when the run ends: such a timeout would never be processed (and
    would only deepen the event queue).
    """
    if not _has_internals(env):  # pragma: no cover - other SimPy versions: the public API

        def after_public(delay: float, callback: Callable[[simpy.Event], None]) -> None:
            if env.now + delay <= stop:
                env.timeout(delay).callbacks.append(callback)

        return after_public
    queue, eid = env._queue, env._eid

    def after(delay: float, callback: Callable[[simpy.Event], None]) -> None:
        if delay < 0:
            raise ValueError(f"Negative delay {delay}")
        at = env._now + delay
        if at <= stop:
            heappush(queue, (at, NORMAL, next(eid), _Timer(callback)))

    return after


class _Log:
    """Event records as one flat list of 5-tuples' items (person, day, event, detail, state).

    Records dated after the horizon are dropped when the log is frozen (the same filter as at each
    addition, applied once).
    """

    __slots__ = ("rows", "horizon")

    def __init__(self, horizon: float) -> None:
        self.rows: list[float] = []
        self.horizon = horizon

    def add(self, person: int, day: float, event: int, detail: int = 0, state: int = NO_STATE) -> None:
        self.rows.extend((person, day, event, detail, state))

    def freeze(self, sim_events: int, courses: lc.LifeCourses | None = None) -> EventLog:
        """The records as an :class:`EventLog`; ``courses``' records follow this log's (fast path)."""
        # Every item is exact in float64 (ids and codes are small integers).
        return _event_log(np.array(self.rows, dtype=np.float64).reshape(-1, 5), self.horizon, sim_events, courses)


def _event_log(rows: np.ndarray, horizon: float, sim_events: int, courses: lc.LifeCourses | None = None) -> EventLog:
    """Records (person, day, event, detail, state; one row each), then ``courses``' records, up to
    ``horizon``, as an :class:`EventLog`."""
    a = rows
    if courses is not None:
        b = np.column_stack([courses.person, courses.day, courses.event, courses.detail, courses.state]).astype(np.float64)
        a = np.concatenate([a, b])
    a = a[a[:, 1] <= horizon]
    return EventLog(
        a[:, 0].astype(np.int32),
        np.ascontiguousarray(a[:, 1]),
        a[:, 2].astype(np.int16),
        a[:, 3].astype(np.int16),
        a[:, 4].astype(np.int8),
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
    pool_u: np.ndarray  # group intakes with stated referrals: who of the pre-screened pool starts
    project_z: np.ndarray  # (projects, 2) standard normals: the project random effect (work, break-off)

    @classmethod
    def draw(cls, streams: Streams, n: int, n_projects: int = 0) -> _Draws:
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
            pool_u=streams.uniform("assessment.group_pool", n),
            project_z=streams.generator("projects.random_effect").standard_normal((n_projects, 2)),
        )


_DRAW_STREAMS = (
    "assessment.duration",
    "assessment.competing",
    "assessment.competing_reason",
    "assessment.decision",
    "waiting.give_up",
    "participation.exit",
    "participation.exit_reason",
    "participation.work_or_education_split",
    "completion.outcome",
    "life.spell_time",
    "life.spell_choice",
    "life.spell_kind",
    "assessment.group_pool",
    "projects.random_effect",
)


LIFE_CODES = lc.Codes(
    job_started=_E_JOB_STARTED, job_lost=_E_JOB_LOST, milestone=_E_MILESTONE, education_started=_E_EDUCATION_STARTED,
    education_ended=_E_EDUCATION_ENDED, left_social_assistance=_E_LEFT_SA, returned=_E_RETURNED,
    detail_full_time=_D_FULL_TIME, detail_part_time=_D_PART_TIME, detail_6_months=_D_6_MONTHS, detail_12_months=_D_12_MONTHS,
    detail_work=_D_WORK, detail_assistance=_D_ASSISTANCE, detail_other=_D_OTHER,
    state_full_time=_S_FULL_TIME, state_part_time=_S_PART_TIME, state_education=_S_EDUCATION, state_assistance=_S_ASSISTANCE,
    state_other=_S_OTHER, no_state=NO_STATE,
)


def _spell_draws(draws: _Draws, streams: Streams) -> lc.SpellDraws:
    return lc.SpellDraws(draws.life_e, draws.life_u, draws.life_v, streams)


class _Spells:
    """Hands out each person's life-course draws in order (shared by both arms: common random numbers)."""

    __slots__ = ("e", "u", "v", "streams", "next", "extra")

    def __init__(self, draws: _Draws, streams: Streams, n: int) -> None:
        self.e = draws.life_e.ravel()
        self.u = draws.life_u.ravel()
        self.v = draws.life_v.ravel()
        self.streams = streams
        self.next = [0] * n
        self.extra: dict[int, np.random.Generator] = {}

    def take(self, i: int) -> tuple[float, float, float]:
        nxt = self.next
        k = nxt[i]
        nxt[i] = k + 1
        if k < SPELL_DRAWS:
            j = i * SPELL_DRAWS + k
            return float(self.e[j]), float(self.u[j]), float(self.v[j])
        gen = self.extra.get(i)
        if gen is None:
            gen = self.extra[i] = self.streams.generator(f"life.extra_spells.{i}")
        return float(gen.standard_exponential()), float(gen.random()), float(gen.random())


class _Desk:
    """A project's places and adviser positions.

    Places = floor(filled adviser FTE × caseload). Admission is FCFS from a waiting list; people who
    give up are removed lazily (O(1)). Group-intake projects admit only on their group dates, up to the
    group's size whatever the places.
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
        self.places = 0  # floor(filled_fte × caseload), updated with filled_fte
        self.groups = project.intake == "groups"
        self.group_places = 0  # places opened by the current group date
        self.gen, self.turnover_rate, self.vacancy_days, self.fte_scale = _desk_rates(engine.scenario, engine.params, engine.streams, project)
        self.record = engine.desk_log.append
        self._exp: list[float] = []  # buffered Exp(1) draws of ``gen``, handed out in order

    def exponential(self) -> float:
        """The next Exp(1) draw of this desk's generator (drawn 64 at a time: the same sequence)."""
        if not self._exp:
            self._exp = self.gen.standard_exponential(64).tolist()[::-1]
        return self._exp.pop()

    # capacity ---------------------------------------------------------------------------------------
    def capacity(self) -> int:
        return self.places

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
        self.monitor(_K_GAVE_UP)

    def monitor(self, kind: int) -> None:
        """Record the desk's state (for staffing views and the capacity invariant)."""
        self.record((self.env._now, self.index, kind, self.active, self.places, self.waiting, self.filled_fte))

    def admit(self) -> None:
        # A group project admits on its group dates only, and then the group's size, whatever the places
        # (the group is the stated intake; the advisers' caseload follows from it).
        while self.queue and (self.active < self.places or self.groups):
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
            self.monitor(_K_ADMITTED)

    def release(self) -> None:
        self.active -= 1
        self.monitor(_K_LEFT)
        self.admit()

    # advisers ---------------------------------------------------------------------------------------
    def assign(self, person: int) -> None:
        filled = [p for p in self.positions if p.filled]
        pos = _least_loaded(filled or self.positions)
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
        now = self.env._now
        for person in persons:
            exclude.caseload.discard(person)
            pos = _least_loaded(others)
            pos.caseload.add(person)
            self.engine.position_of[person] = pos
            self.engine.log.add(person, now, _E_CONTACT_CHANGED)

    def refresh_fte(self) -> None:
        filled = 0
        for p in self.positions:
            if p.filled:
                filled += p.fte
        self.filled_fte = filled
        self.places = int(math.floor(self.filled_fte * self.caseload + 1e-9))
        self.monitor(_K_CAPACITY)
        self.admit()

    def staff_schedule(self):
        origin = self.engine.scenario.simulation.start_date
        for change in self.project.staff:
            delay = days_since(origin, change.date) - self.env._now
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
            pos.hold()
        for pos in self.positions:
            pos.fte = fte / n if n else 0.0
        self.refresh_fte()

    def group_gates(self):
        origin = self.engine.scenario.simulation.start_date
        for g in self.project.groups:
            delay = days_since(origin, g.start_date) - self.env._now
            if delay > 0:
                yield self.env.timeout(delay)
            self.group_places = g.size
            self.admit()
            self.group_places = 0


def _desk_rates(scenario: Scenario, params: ParameterSet, streams: Streams, project: Project) -> tuple[np.random.Generator, float, float, float]:
    """A project's adviser generator (after its turnover frailty is drawn), turnover per day, mean vacancy
    in days and FTE multiplier."""
    gen = streams.generator(f"advisers.{project.name}")
    cv = params.v("advisers.turnover_project_cv")
    frailty = gen.gamma(1 / cv**2, cv**2) if cv > 0 else 1.0
    turnover_rate = params.v("advisers.turnover_per_year") * frailty / DAYS_PER_YEAR
    vacancy_days = params.v("advisers.vacancy_mean_months") * DAYS_PER_MONTH
    fte_scale = scenario.fte_multiplier(project, params.v("staffing.unreported_fte_multiplier"))
    return gen, turnover_rate, vacancy_days, fte_scale


def _least_loaded(positions: list[_Position]) -> _Position:
    """The first of ``positions`` with the fewest participants (as ``min`` by caseload size)."""
    best, size = positions[0], len(positions[0].caseload)
    for pos in positions:
        n = len(pos.caseload)
        if n < size:
            best, size = pos, n
    return best


class _Position:
    """One adviser position: held, vacated by turnover, filled again."""

    __slots__ = ("desk", "filled", "fte", "caseload", "removed")

    def __init__(self, desk: _Desk) -> None:
        self.desk = desk
        self.filled = True
        self.fte = 0.0
        self.caseload: set[int] = set()
        self.removed = False

    # Tenure, vacancy and refill as a chain of timeout callbacks (like the persons: no Process per position).
    def hold(self) -> None:
        """Start a holder's tenure (unless the position is gone or nobody ever leaves)."""
        if self.removed:
            return
        desk = self.desk
        tenure = _wait(desk.exponential(), desk.turnover_rate)
        if tenure != INF:
            desk.engine.after(tenure, self._vacate)

    def _vacate(self, _ev: simpy.Event) -> None:
        if self.removed:
            return
        desk = self.desk
        self.filled = False
        desk.refresh_fte()
        desk.reassign(sorted(self.caseload), self)
        desk.engine.after(desk.exponential() * desk.vacancy_days, self._fill)

    def _fill(self, _ev: simpy.Event) -> None:
        if self.removed:
            return
        desk = self.desk
        self.filled = True
        now = desk.env._now
        for person in sorted(self.caseload):  # participants who waited for a new holder meet them now
            desk.engine.log.add(person, now, _E_CONTACT_CHANGED)
        desk.refresh_fte()
        self.hold()


class _Life:
    """Life course outside the programme, shared by both arms (job spells, education, social assistance).

    Each state is a method that records the state entered, takes the person's next pre-drawn spell and
    schedules the end of the spell as a SimPy timeout whose callback continues the person's path. The
    persons are lean callback chains rather than generator processes: the same timeouts are created in
    the same order (so the same event order and the same records), without a ``Process`` per person.
    """

    def __init__(self, run: _RunBase) -> None:
        r = run.rates
        self.job_rate = r.job_rate.tolist()
        self.edu_rate, self.other_rate, self.boost = r.edu_rate, r.other_rate, r.boost
        self.loss_full, self.loss_part = r.loss_full, r.loss_part
        self.p_full_time, self.p_job_after_edu = r.p_full_time, r.p_job_after_edu
        self.edu_days, self.other_days, self.milestone_days = r.edu_days, r.other_days, r.milestone_days
        self.base_rate = r.base_rate.tolist()
        self.boosted_rate = r.boosted_rate.tolist()
        self.run = run
        self.env = run.env
        self.after = run.after
        self.rows = run.log.rows
        self.take = run.spells.take

    def enter(self, i: int, state: str, boost_until: float = -1.0, via_programme: bool = False) -> None:
        """Continue the life course of person ``i`` from ``state`` (now) until the horizon.

        Args:
            state: ``social_assistance``, ``job`` (full/part time drawn here), ``education``, ``other_spell``
                (a temporary spell outside social assistance), or ``gone`` (moved away: absorbing).
            boost_until: day until which the post-programme job-finding boost applies.
            via_programme: the first job comes from the programme (counts for the incentive scheme).
        """
        if state == "social_assistance":
            self.assistance(i, boost_until, via_programme)
        elif state == "job":
            self.job(i, boost_until, via_programme)
        elif state == "education":
            self.education(i, boost_until, via_programme)
        elif state == "other_spell":
            self.other_spell(i, boost_until, via_programme)
        elif state != "gone":
            raise AssertionError(state)

    def assistance(self, i: int, boost_until: float, via: bool) -> None:
        """A spell on social assistance: ends in a job, education or leaving for other reasons."""
        now = self.env._now
        e, u, _ = self.take(i)
        window = max(boost_until - now, 0.0)
        boosted = self.boosted_rate[i]
        if e <= boosted * window:
            wait, job = _wait(e, boosted), self.job_rate[i] * self.boost
        else:
            wait, job = window + _wait(e - boosted * window, self.base_rate[i]), self.job_rate[i]
        if wait == INF:
            return  # nothing can end this spell: social assistance to the horizon
        self.after(wait, lambda _ev: self._assistance_ended(i, job, u, boost_until, via))

    def _assistance_ended(self, i: int, job: float, u: float, boost_until: float, via: bool) -> None:
        total = job + self.edu_rate + self.other_rate
        if u < job / total:
            self.job(i, boost_until, via)
        elif u < (job + self.edu_rate) / total:
            self.education(i, boost_until, via)
        else:
            self.rows.extend((i, self.env._now, _E_LEFT_SA, _D_OTHER, _S_OTHER))

    def job(self, i: int, boost_until: float, via: bool) -> None:
        """A job spell (full or part time) until the job is lost."""
        now = self.env._now
        e, _, kind = self.take(i)
        full = kind < self.p_full_time
        if full:
            self.rows.extend((i, now, _E_JOB_STARTED, _D_FULL_TIME, _S_FULL_TIME))
        else:
            self.rows.extend((i, now, _E_JOB_STARTED, _D_PART_TIME, _S_PART_TIME))
        duration = _wait(e, self.loss_full if full else self.loss_part)
        if via and full:
            m6, m12 = self.milestone_days
            if duration >= m6:
                self.rows.extend((i, now + m6, _E_MILESTONE, _D_6_MONTHS, NO_STATE))
            if duration >= m12:
                self.rows.extend((i, now + m12, _E_MILESTONE, _D_12_MONTHS, NO_STATE))
        if duration == INF:
            return
        self.after(duration, lambda _ev: self._job_lost(i, boost_until))

    def _job_lost(self, i: int, boost_until: float) -> None:
        self.rows.extend((i, self.env._now, _E_JOB_LOST, 0, _S_ASSISTANCE))
        self.assistance(i, boost_until, False)

    def education(self, i: int, boost_until: float, via: bool) -> None:
        """An education spell; then a job or back to social assistance."""
        _, u, kind = self.take(i)
        self.rows.extend((i, self.env._now, _E_EDUCATION_STARTED, 0, _S_EDUCATION))
        self.after(self.edu_days * (0.5 + u), lambda _ev: self._education_ended(i, kind, boost_until, via))

    def _education_ended(self, i: int, kind: float, boost_until: float, via: bool) -> None:
        if kind < self.p_job_after_edu:
            self.rows.extend((i, self.env._now, _E_EDUCATION_ENDED, _D_WORK, NO_STATE))
            self.job(i, boost_until, via)
        else:
            self.rows.extend((i, self.env._now, _E_EDUCATION_ENDED, _D_ASSISTANCE, _S_ASSISTANCE))
            self.assistance(i, boost_until, via)

    def other_spell(self, i: int, boost_until: float, via: bool) -> None:
        """A temporary spell outside social assistance; then back on it."""
        _, u, _ = self.take(i)
        self.after(self.other_days * (0.5 + u), lambda _ev: self._returned(i, boost_until, via))

    def _returned(self, i: int, boost_until: float, via: bool) -> None:
        self.rows.extend((i, self.env._now, _E_RETURNED, 0, _S_ASSISTANCE))
        self.assistance(i, boost_until, via)


class _RunBase:
    def __init__(
        self, scenario: Scenario, params: ParameterSet, pop: Population, streams: Streams, draws: _Draws, rates: lc.LifeRates,
    ) -> None:
        self.scenario = scenario
        self.params = params
        self.pop = pop
        self.streams = streams
        self.draws = draws
        self.rates = rates
        self.env = simpy.Environment()
        self.horizon = days_since(scenario.simulation.start_date, scenario.simulation.horizon_date)
        self.stop = self.horizon + 1e-9  # events up to this time are processed (see _finish)
        self.log = _Log(self.horizon)
        self.after = _scheduler(self.env, self.stop)
        self.spells = _Spells(draws, streams, pop.size)
        self.life = _Life(self)

    def _refer_all(self, start: Callable[[int], None]):
        """Process: schedule every person's referral (in person order), then ``start(i)`` at each.

        One process creates the referral timeouts in the order that one process per person would
        (each person's first act was to wait for its referral), so the event order is unchanged. When the
        persons come in referral order (as :func:`model.population.draw_population` gives them), the
        timeouts get their sequence numbers now but enter the event queue one at a time, each when the
        previous referral happens: the same keys, so the same order, with a shallower queue.
        """
        ids = list(range(self.pop.size))
        days = self.pop.referral_day.tolist()
        n = len(days)
        env = self.env
        if not _has_internals(env) or any(b < a for a, b in zip(days, days[1:], strict=False)):
            after = self.after
            for i, day in zip(ids, days, strict=True):
                after(day, lambda _ev, i=i: start(i))
            return
        queue, stop, t0 = env._queue, self.stop, env._now
        first = next(env._eid)  # reserve n consecutive sequence numbers: first … first + n - 1
        deque(islice(env._eid, n - 1), maxlen=0)

        def push(k: int) -> None:
            at = t0 + days[k]
            if at > stop:
                return  # this referral and all later ones fall after the end of the run
            heappush(queue, (at, NORMAL, first + k, _Timer(lambda _ev: fire(k))))

        def fire(k: int) -> None:
            if k + 1 < n:
                push(k + 1)
            start(ids[k])

        if n:
            push(0)
        return
        yield  # a generator: run as a SimPy process

    def close(self) -> None:
        """Drop the run's state once its records are out. A run holds reference cycles (the run and its
        desks, desks and their positions, pending events' callbacks and the run): broken here, reference
        counting frees it at once, and the cyclic collector has nothing to walk after the run."""
        for desk in getattr(self, "desks", {}).values():
            desk.positions.clear()
        self.env._queue.clear()
        self.__dict__.clear()

    def _finish(self) -> EventLog:
        """Process events up to the horizon."""
        return self.log.freeze(self._process())

    def _process(self) -> int:
        """Process events up to the horizon (``Environment.step`` inlined); the number processed."""
        env = self.env
        stop = self.stop
        count = 0
        if not _has_internals(env):  # pragma: no cover - other SimPy versions: the public API
            while env.peek() <= stop:
                env.step()
                count += 1
            return count
        queue = env._queue
        while queue and queue[0][0] <= stop:
            env._now, _, _, event = heappop(queue)
            callbacks, event.callbacks = event.callbacks, None
            for callback in callbacks:
                callback(event)
            count += 1
            if not event._ok and not hasattr(event, "_defused"):
                raise event._value
        return count


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
    multipliers = hz.project_multipliers(params, draws.project_z)
    edges, h = hz.programme_hazards(scenario, params, pop, multipliers)
    exit_days, exit_cause = hz.first_passage(edges, h, draws.exit_e, draws.exit_u)
    p_work, p_edu = params.v("completion.p_work"), params.v("completion.p_education")
    u = draws.completion_u
    decision = hz.decisions(scenario, params, pop, draws.decision_u)
    give_up = _divide(draws.give_up_e, params.v("waiting.give_up_per_year") / DAYS_PER_YEAR)
    hz.group_pools(scenario, pop, draws.pool_u, assess, competing, decision, give_up)
    return ProgrammePlan(
        assessment_days=assess,
        competing_days=competing,
        competing_reason=reason,
        decision=decision,
        give_up_days=give_up,
        exit_days=exit_days,
        exit_cause=exit_cause,
        to_education=draws.split_u < params.v("participation.share_education_of_work_or_education"),
        completion=np.where(u < p_work, 0, np.where(u < p_work + p_edu, 1, 2)).astype(np.int8),
    )


def _programme_days(scenario: Scenario, params: ParameterSet) -> tuple[float, float, list[float]]:
    """The programme's length, the post-programme boost and the stage ends (days from admission)."""
    stage_days, t = [], 0.0
    for stage in scenario.programme.stages:
        t += stage.length_weeks * 7.0
        stage_days.append(t)
    return scenario.programme.length_months * DAYS_PER_MONTH, params.v("life.post_programme_months") * DAYS_PER_MONTH, stage_days


def _rejection_state(reason: str, to_education: bool) -> str:
    """Where a person not admitted for ``reason`` goes."""
    if reason == "work_or_education":
        return "education" if to_education else "job"
    if reason in ("moved", "disability_pension"):
        return "gone"
    if reason in ("self_supporting", "other_measures"):
        return "other_spell"
    return "social_assistance"


_BROKE_OFF_STATE = {"birth": "other_spell", "moved": "gone", "other_measures": "other_spell"}  # else social assistance


@dataclass(frozen=True)
class _PlanLists:
    """A :class:`ProgrammePlan` as Python lists (per-person reads without NumPy scalars; same values),
    built once per replication and shared by the runs of its projects."""

    assessment_days: list[float]
    competing_days: list[float]
    competing_reason: list[int]
    decision: list[int]
    give_up_days: list[float]
    exit_days: list[float]
    exit_cause: list[int]
    to_education: list[bool]
    completion: list[int]
    project: list[int]

    @classmethod
    def of(cls, plan: ProgrammePlan, pop: Population) -> _PlanLists:
        return cls(**{f: getattr(plan, f).tolist() for f in ProgrammePlan.__dataclass_fields__}, project=pop.project.tolist())


class _ProgrammeRun(_RunBase):
    """The programme arm in SimPy, all projects in one environment (the reference engine)."""

    def __init__(
        self, *args, plan: _PlanLists
    ) -> None:
        super().__init__(*args)
        scen, params = self.scenario, self.params
        self.length_days, self.boost_days, self.stage_days = _programme_days(scen, params)
        self.position_of: dict[int, _Position] = {}
        self.desk_log: list[tuple[float, int, int, int, int, int, float]] = []
        self.desks = {pi: _Desk(self, pi, project) for pi, project in enumerate(scen.projects)}
        self.assessment_days = plan.assessment_days
        self.competing_days = plan.competing_days
        self.competing_reason = plan.competing_reason
        self.decision = plan.decision
        self.give_up_days = plan.give_up_days
        self.exit_days = plan.exit_days
        self.exit_cause = plan.exit_cause
        self.to_education = plan.to_education
        self.completion = plan.completion
        self.project = plan.project

    def start(self) -> None:
        env = self.env
        for desk in self.desks.values():
            env.process(desk.staff_schedule())
            if desk.groups:
                env.process(desk.group_gates())
        env.process(self._refer_all(self.referred))

    def run(self) -> EventLog:
        self.start()
        return self._finish()

    # A person's path: referral → assessment (or a competing event) → decision → place or waiting list →
    # participation → life after the programme. Each step schedules the next as a timeout callback.
    def referred(self, i: int) -> None:
        env = self.env
        self.log.rows.extend((i, env._now, _E_REFERRED, 0, _S_ASSESSMENT))
        assess, competing = self.assessment_days[i], self.competing_days[i]
        if competing < assess:
            reason = hz.ASSESSMENT_COMPETING[self.competing_reason[i]]
            self.after(competing, lambda _ev: self.not_admitted(i, reason))
            return
        self.after(assess, lambda _ev: self.assessed(i))

    def assessed(self, i: int) -> None:
        env = self.env
        decision = self.decision[i]
        if decision >= 0:
            self.not_admitted(i, hz.NOT_ADMITTED_REASONS[decision])
            return
        desk = self.desks[self.project[i]]
        place = desk.request(i)
        if place.triggered:
            self.participate(i, desk)
            return
        self.log.rows.extend((i, env._now, _E_WAITING_STARTED, 0, _S_WAITING))
        competing_left = self.competing_days[i] - self.assessment_days[i]
        give_up = self.give_up_days[i]
        patience = min(competing_left, give_up)
        if patience < INF:
            # One event to wait for: the place, or (through this timer's callback) giving up.
            self.after(patience, lambda _t: place.triggered or desk.cancel(place))
        place.callbacks.append(lambda ev: self.placed(i, desk, ev._value, competing_left <= give_up))

    def placed(self, i: int, desk: _Desk, value: int | None, competing_first: bool) -> None:
        if value is None:
            reason = hz.ASSESSMENT_COMPETING[self.competing_reason[i]] if competing_first else "other_measures"
            self.not_admitted(i, reason)
            return
        self.participate(i, desk)

    def not_admitted(self, i: int, reason: str) -> None:
        state = _rejection_state(reason, self.to_education[i])
        entered = _S_ASSISTANCE if state == "social_assistance" else NO_STATE
        self.log.rows.extend((i, self.env._now, _E_REJECTED, D[reason], entered))
        self._enter(i, state, announce=False)

    def _enter(self, i: int, state: str, boost_until: float = -1.0, via_programme: bool = False, announce: bool = True) -> None:
        """Continue the life course of person ``i`` in ``state``, logging the state entered."""
        now = self.env._now
        rows = self.log.rows
        if state == "gone":
            rows.extend((i, now, _E_LEFT_SA, _D_MOVED_AWAY, _S_OTHER))
            return
        if state == "other_spell":
            rows.extend((i, now, _E_LEFT_SA, _D_OTHER_SPELL, _S_OTHER))
        elif state == "social_assistance" and announce:
            rows.extend((i, now, _E_RETURNED, 0, _S_ASSISTANCE))
        self.life.enter(i, state, boost_until, via_programme)

    def participate(self, i: int, desk: _Desk) -> None:
        env = self.env
        rows = self.log.rows
        start = env._now
        rows.extend((i, start, _E_ADMITTED, 0, _S_IN_PROGRAMME))
        desk.assign(i)
        exit_days = self.exit_days[i]
        stay = min(exit_days, self.length_days)
        for at in self.stage_days:
            if at < stay:
                rows.extend((i, start + at, _E_STAGE_ENDED, 0, NO_STATE))
        self.after(stay, lambda _ev: self.left(i, desk, exit_days))

    def left(self, i: int, desk: _Desk, exit_days: float) -> None:
        env = self.env
        rows = self.log.rows
        desk.unassign(i)
        desk.release()
        now = env._now
        boost_until = now + self.boost_days
        if exit_days < self.length_days:
            cause = hz.PROGRAMME_EXITS[self.exit_cause[i]]
            if cause == "work_or_education":
                education = bool(self.to_education[i])
                rows.extend((i, now, _E_EXIT_WORK_OR_EDUCATION, _D_EDUCATION if education else _D_WORK, NO_STATE))
                self._enter(i, "education" if education else "job", boost_until, via_programme=True)
            elif cause == "discharged_other":
                rows.extend((i, now, _E_DISCHARGED_OTHER, 0, NO_STATE))
                self._enter(i, "other_spell", boost_until)
            else:
                rows.extend((i, now, _E_BROKE_OFF, D[cause], NO_STATE))
                state = _BROKE_OFF_STATE.get(cause, "social_assistance")
                self._enter(i, state, boost_until)
            return
        outcome = self.completion[i]
        if outcome == 0:
            rows.extend((i, now, _E_COMPLETED, _D_WORK, NO_STATE))
            self._enter(i, "job", boost_until, via_programme=True)
        elif outcome == 1:
            rows.extend((i, now, _E_COMPLETED, _D_EDUCATION, NO_STATE))
            self._enter(i, "education", boost_until)
        else:
            rows.extend((i, now, _E_COMPLETED, _D_ASSISTANCE, NO_STATE))
            self._enter(i, "social_assistance", boost_until)


# The codes the compiled desk loop writes, at the positions it reads them from (see model.desk_kernel).
_KERNEL_CODES = np.zeros(dk.N_CODES, dtype=np.int64)
for _pos, _code in {
    dk.C_REFERRED: _E_REFERRED, dk.C_REJECTED: _E_REJECTED, dk.C_WAITING_STARTED: _E_WAITING_STARTED,
    dk.C_ADMITTED: _E_ADMITTED, dk.C_STAGE_ENDED: _E_STAGE_ENDED, dk.C_EXIT_WORK_OR_EDUCATION: _E_EXIT_WORK_OR_EDUCATION,
    dk.C_BROKE_OFF: _E_BROKE_OFF, dk.C_DISCHARGED_OTHER: _E_DISCHARGED_OTHER, dk.C_COMPLETED: _E_COMPLETED,
    dk.C_CONTACT_CHANGED: _E_CONTACT_CHANGED, dk.C_LEFT_SA: _E_LEFT_SA, dk.C_RETURNED: _E_RETURNED,
    dk.C_D_WORK: _D_WORK, dk.C_D_EDUCATION: _D_EDUCATION, dk.C_D_ASSISTANCE: _D_ASSISTANCE, dk.C_D_MOVED_AWAY: _D_MOVED_AWAY,
    dk.C_D_OTHER_SPELL: _D_OTHER_SPELL, dk.C_D_OTHER_MEASURES: D["other_measures"],
    dk.C_S_ASSESSMENT: _S_ASSESSMENT, dk.C_S_WAITING: _S_WAITING, dk.C_S_IN_PROGRAMME: _S_IN_PROGRAMME,
    dk.C_S_ASSISTANCE: _S_ASSISTANCE, dk.C_S_OTHER: _S_OTHER, dk.C_NO_STATE: NO_STATE,
    dk.C_K_CAPACITY: _K_CAPACITY, dk.C_K_ADMITTED: _K_ADMITTED, dk.C_K_LEFT: _K_LEFT, dk.C_K_GAVE_UP: _K_GAVE_UP,
}.items():
    _KERNEL_CODES[_pos] = _code
_KERNEL_ENTRY = {**lc.ENTRY_STATES, "job_or_education": dk.JOB_OR_EDUCATION}
# Per detail code: where a person not admitted for that reason goes (-1: job or education by the draw).
_REJECTION_ENTRY = np.array([_KERNEL_ENTRY[_rejection_state(d, False) if d != "work_or_education" else "job_or_education"] for d in DETAILS])
_COMPETING_DETAIL = np.array([D[r] for r in hz.ASSESSMENT_COMPETING])
_NOT_ADMITTED_DETAIL = np.array([D[r] for r in hz.NOT_ADMITTED_REASONS])
_EXIT_KIND = np.array([dk.EXIT_WORK_OR_EDUCATION if c == "work_or_education" else dk.EXIT_DISCHARGED if c == "discharged_other"
                       else dk.EXIT_BROKE_OFF for c in hz.PROGRAMME_EXITS])
_EXIT_DETAIL = np.array([D.get(c, 0) for c in hz.PROGRAMME_EXITS])
_EXIT_ENTRY = np.array([lc.ENTRY_STATES[_BROKE_OFF_STATE.get(c, "social_assistance")] for c in hz.PROGRAMME_EXITS])
_EXPONENTIALS = 256  # Exp(1) draws per desk handed to the compiled loop (16 times more when one runs out)


def _programme_compiled(
    scenario: Scenario, params: ParameterSet, pop: Population, streams: Streams, draws: _Draws, rates: lc.LifeRates,
    plan: ProgrammePlan,
) -> tuple[EventLog, np.ndarray]:
    """The programme arm on the fast path: the compiled desk loop (:mod:`model.desk_kernel`: every
    project in its own event queue, as one SimPy environment per project would run it), then the life
    courses it hands over, for all persons at once.

    Projects share no person, place or adviser, and each keeps its events in the order one environment
    for all would process them (the same times, priorities and relative sequence numbers), so every
    person's records are the same; the event count is the one environment's (each project's referral
    process adds a start and an end event that one environment has once).

    Returns:
        The arm's event log and the desk records (rows of ``ReplicationLogs.desks``, by project).
    """
    origin = scenario.simulation.start_date
    order = np.argsort(pop.project, kind="stable")  # persons by project, in referral order within each
    bounds = np.searchsorted(pop.project[order], np.arange(len(scenario.projects) + 1))
    gens, turnover, vacancy, staff_day, staff_fte, staff_n, group_day, group_size, group_n = [], [], [], [], [], [], [], [], []
    for project in scenario.projects:
        gen, rate, vac, scale = _desk_rates(scenario, params, streams, project)
        gens.append(gen)
        turnover.append(rate)
        vacancy.append(vac)
        staff_day += [days_since(origin, c.date) for c in project.staff]
        staff_fte += [c.advisers_fte * scale for c in project.staff]
        staff_n.append(len(project.staff))
        group_day += [days_since(origin, g.start_date) for g in project.groups]
        group_size += [g.size for g in project.groups]
        group_n.append(len(project.groups))
    length_days, boost_days, stage_days = _programme_days(scenario, params)
    horizon = days_since(origin, scenario.simulation.horizon_date)
    f8 = np.float64
    args = (
        order.astype(np.int64), bounds.astype(np.int64), pop.referral_day.astype(f8),
        plan.assessment_days.astype(f8), plan.competing_days.astype(f8), plan.competing_reason.astype(np.int64),
        plan.decision.astype(np.int64), plan.give_up_days.astype(f8), plan.exit_days.astype(f8), plan.exit_cause.astype(np.int64),
        plan.to_education.astype(bool), plan.completion.astype(np.int64),
        np.concatenate([[0], np.cumsum(staff_n)]).astype(np.int64), np.array(staff_day, dtype=f8), np.array(staff_fte, dtype=f8),
        np.concatenate([[0], np.cumsum(group_n)]).astype(np.int64), np.array(group_day, dtype=f8), np.array(group_size, dtype=np.int64),
        np.array([p.intake == "groups" for p in scenario.projects], dtype=bool), np.array(turnover, dtype=f8), np.array(vacancy, dtype=f8),
    )
    tail = (
        float(scenario.follow_up.caseload_per_adviser), float(length_days), float(boost_days), np.array(stage_days, dtype=f8),
        horizon + 1e-9, _COMPETING_DETAIL, _NOT_ADMITTED_DETAIL, _REJECTION_ENTRY, _EXIT_KIND, _EXIT_DETAIL, _EXIT_ENTRY, _KERNEL_CODES,
    )
    size, taken = _EXPONENTIALS, [np.empty(0)] * len(gens)
    while True:  # each desk's draws in order; more (the same sequence, continued) if a desk used them all
        taken = [np.concatenate([t, g.standard_exponential(size - t.size)]) for t, g in zip(taken, gens, strict=True)]
        rows, desks, hand, events, exhausted = dk.run_projects(*args, np.stack(taken) if taken else np.empty((0, size)), *tail)
        if not exhausted:
            break
        size *= 16
    if not hand.shape[0]:  # run_life_courses takes at least one person: one who is gone
        hand = np.array([[0, lc.GONE, 0.0, -1.0, 0.0]])
    courses = lc.run_life_courses(rates, _spell_draws(draws, streams), LIFE_CODES, hand[:, 0].astype(np.int64), hand[:, 1].astype(np.int64),
                                  hand[:, 2].copy(), hand[:, 3].copy(), hand[:, 4] > 0, horizon + 1e-9)
    count = int(events.sum()) - 2 * (len(scenario.projects) - 1)
    return _event_log(rows, horizon, count + courses.spell_ends, courses), desks


def _counterfactual_vectorised(pop: Population, streams: Streams, draws: _Draws, rates: lc.LifeRates, horizon: float) -> EventLog:
    """The counterfactual arm on the fast path: no SimPy at all (nobody interacts): referrals, then every
    life course at once.

    The event count is the SimPy engine's: the referral process's start and end, one event per referral
    up to the horizon, and one per spell end.
    """
    stop = horizon + 1e-9
    day = pop.referral_day
    who = np.flatnonzero(day <= stop)  # the SimPy engine schedules no referral after the end
    at = day[who]
    rows = np.column_stack([who, at, np.full(who.size, _E_REFERRED), np.zeros(who.size), np.full(who.size, _S_ASSISTANCE)])
    courses = lc.run_life_courses(
        rates, _spell_draws(draws, streams), LIFE_CODES, who, np.full(who.size, lc.ASSISTANCE), at,
        np.full(who.size, -1.0), np.zeros(who.size, dtype=bool), stop,
    )
    return _event_log(rows.astype(np.float64), horizon, 2 + who.size + courses.spell_ends, courses)


class _CounterfactualRun(_RunBase):
    """The counterfactual arm in SimPy (the reference): the same persons on social assistance as usual."""

    def run(self) -> EventLog:
        self.env.process(self._refer_all(self.referred))
        return self._finish()

    def referred(self, i: int) -> None:
        self.log.rows.extend((i, self.env._now, _E_REFERRED, 0, _S_ASSISTANCE))
        self.life.assistance(i, -1.0, False)


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
    reference: bool = False,
) -> ReplicationLogs:
    """Run one replication of both arms on the same persons.

    Args:
        scenario: the validated scenario.
        params: the parameter set (a point or a PSA draw).
        pop: the referred persons of this replication.
        streams: this replication's named random streams.
        counterfactual: also run the counterfactual arm (calibration needs only the programme arm).
        plan: the persons' plans; by default computed from the hazards and the pre-drawn numbers.
        reference: run every event in SimPy, the life courses included (the reference engine). By
            default the fast path runs: what the persons share (referral to the end of the programme:
            places, waiting list, advisers) in :mod:`model.desk_kernel`, the same event loop compiled,
            and the life courses, which nobody shares, in :func:`model.lifecourse.run_life_courses`:
            each person's records are the same, record for record, and so are the desk records and
            the event count (``tests/test_fast_path.py``).

    Returns:
        The two arms' event logs (an empty counterfactual log if it was not run).
    """
    streams.prefetch([*_DRAW_STREAMS, *(f"advisers.{p.name}" for p in scenario.projects)])
    draws = _Draws.draw(streams, pop.size, len(scenario.projects))
    plan = plan if plan is not None else plan_programme(scenario, params, pop, draws)
    rates = lc.LifeRates.of(params, pop)
    fast = not reference
    horizon = days_since(scenario.simulation.start_date, scenario.simulation.horizon_date)
    with _no_gc():
        if fast:
            programme, desk_log = _programme_compiled(scenario, params, pop, streams, draws, rates, plan)
        else:
            run = _ProgrammeRun(scenario, params, pop, streams, draws, rates, plan=_PlanLists.of(plan, pop))
            programme, desk_log = run.run(), run.desk_log
            run.close()
        desks = np.array(desk_log, dtype=np.float64).reshape(-1, 7)
        # By day, then project; within them in the order processed (which is the same either way).
        desks = desks[np.lexsort((desks[:, 1], desks[:, 0]))]
        desks = desks[desks[:, 0] <= horizon]
        if counterfactual and fast:
            cf = _counterfactual_vectorised(pop, streams, draws, rates, horizon)
        elif counterfactual:
            cf_run = _CounterfactualRun(scenario, params, pop, streams, draws, rates)
            cf = cf_run.run()
            cf_run.close()
        else:
            cf = _Log(0.0).freeze(0)
    return ReplicationLogs(programme, cf, desks)


@contextlib.contextmanager
def _no_gc() -> Iterator[None]:
    """Pause the cyclic garbage collector while the engine allocates its many short-lived events.

    The collector would otherwise run every few hundred allocations and walk every live object, about
    a third of the run time; the engine's reference cycles (events, callbacks, runs) are collected at
    the next collection after the run. Reference counting frees everything else as usual.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()
