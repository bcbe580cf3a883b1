"""Life courses outside the programme: the rates, and the spell chain run compiled, person by person.

After the programme (or after a rejection), and in the whole counterfactual arm, a person's life is a
chain of spells that no other person affects: social assistance → a job (full or part time, until it is
lost), education (then a job or back on assistance), a temporary spell outside assistance, or leaving
assistance for good. The SimPy engine (:mod:`model.engine`, ``reference=True``) runs this chain as
timeouts, one event per spell end. Because the persons do not interact here, the chain can also be run
without SimPy: :func:`run_life_courses` runs each person's spells in order in a loop compiled with Numba,
with the same pre-drawn numbers and the same floating-point operations, so each person's records are the
same as the SimPy engine's, record for record (``tests/test_fast_path.py`` pins this replication by
replication). Only the interleaving of different persons' records in the log differs, which nothing
downstream reads (the tidy tables order by person and time, ties in log order).

The compiled loop needs only the pre-drawn spells. The rare person who needs more continues with
spells drawn on demand from a NumPy generator, which compiled code cannot call; those persons' chains go
on vectorised (:func:`_step`, one spell of every such person at a time), from where the loop left them.
(Vectorised, the chains of a national replication, ~1 000 persons, take some milliseconds, mostly
NumPy's overhead per call on small arrays, a set of calls per spell; compiled, a tenth of one.)

Event codes, detail codes and state codes are those of :mod:`model.engine`, passed in as
:class:`Codes` so that this module does not import the engine (and to the compiled loop as an array, so
that a cached compilation holds no codes of its own and never goes stale).
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np
from numba import njit, types

from model import hazards as hz
from model.parameters import ParameterSet
from model.population import DAYS_PER_MONTH, DAYS_PER_YEAR, Population
from model.rng import Streams

INF = float("inf")

# Entry states of a life course (what the engine hands over).
ASSISTANCE, JOB, EDUCATION, OTHER_SPELL, GONE = range(5)
ENTRY_STATES = {"social_assistance": ASSISTANCE, "job": JOB, "education": EDUCATION, "other_spell": OTHER_SPELL, "gone": GONE}


@dataclass(frozen=True)
class LifeRates:
    """The life-course rates of one parameter set and population (per day; per person where it varies)."""

    job_rate: np.ndarray  # social assistance → job, per person
    edu_rate: float
    other_rate: float
    boost: float  # hazard ratio of job finding in the months after the programme
    loss_full: float  # job loss, full time
    loss_part: float  # job loss, part time
    p_full_time: float
    edu_days: float  # mean length of an education spell
    p_job_after_edu: float
    other_days: float  # mean length of a spell outside social assistance
    milestone_days: tuple[float, float]  # 6 and 12 months in a full-time job (incentive scheme)
    base_rate: np.ndarray  # total exit rate from social assistance, per person
    boosted_rate: np.ndarray  # the same while the post-programme boost lasts

    @classmethod
    def of(cls, params: ParameterSet, pop: Population) -> LifeRates:
        v = params.v
        mean_hr = hz.mean_work_hazard_ratio(params)
        job_rate = v("life.sa_to_job_per_year") * hz.work_hazard_ratio(pop, params) / mean_hr / DAYS_PER_YEAR
        edu_rate = v("life.sa_to_education_per_year") / DAYS_PER_YEAR
        other_rate = v("life.sa_to_other_per_year") / DAYS_PER_YEAR
        boost = v("life.post_programme_job_hr")
        loss_rate = v("jobs.loss_hazard_per_year") / DAYS_PER_YEAR
        base_rate = (job_rate + edu_rate) + other_rate
        return cls(
            job_rate=job_rate,
            edu_rate=edu_rate,
            other_rate=other_rate,
            boost=boost,
            loss_full=loss_rate * 1.0,
            loss_part=loss_rate * v("jobs.part_time_loss_hr"),
            p_full_time=v("jobs.p_full_time"),
            edu_days=v("education.duration_months") * DAYS_PER_MONTH,
            p_job_after_edu=v("education.p_job_after"),
            other_days=v("life.other_spell_months") * DAYS_PER_MONTH,
            milestone_days=(6 * DAYS_PER_MONTH, 12 * DAYS_PER_MONTH),
            base_rate=base_rate,
            boosted_rate=base_rate + job_rate * (boost - 1.0),
        )


@dataclass(frozen=True)
class Codes:
    """The engine's event, detail and state codes that life-course records carry."""

    job_started: int
    job_lost: int
    milestone: int
    education_started: int
    education_ended: int
    left_social_assistance: int
    returned: int
    detail_full_time: int
    detail_part_time: int
    detail_6_months: int
    detail_12_months: int
    detail_work: int
    detail_assistance: int
    detail_other: int
    state_full_time: int
    state_part_time: int
    state_education: int
    state_assistance: int
    state_other: int
    no_state: int


@dataclass(frozen=True)
class SpellDraws:
    """Each person's pre-drawn spells (rows: persons; columns: spells in order) and the stream for more.

    A person who needs more spells than there are columns continues with the generator
    ``life.extra_spells.{person}``: Exp(1), U(0,1), U(0,1) per spell, as the SimPy engine takes them.
    """

    e: np.ndarray  # Exp(1): the spell's length
    u: np.ndarray  # U(0,1): which way it ends
    v: np.ndarray  # U(0,1): its kind (full/part time; job after education)
    streams: Streams


class _Extra:
    """Spells beyond the pre-drawn columns, drawn per person on demand (rare)."""

    def __init__(self, spells: SpellDraws) -> None:
        self.streams = spells.streams
        self.width = spells.e.shape[1]
        self.drawn: dict[int, tuple[np.random.Generator, list[tuple[float, float, float]]]] = {}

    def take(self, persons: np.ndarray, k: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        out = np.empty((3, persons.size))
        for j, (i, kk) in enumerate(zip(persons.tolist(), k.tolist(), strict=True)):
            gen, seq = self.drawn.get(i) or self.drawn.setdefault(i, (self.streams.generator(f"life.extra_spells.{i}"), []))
            while len(seq) <= kk - self.width:
                seq.append((float(gen.standard_exponential()), float(gen.random()), float(gen.random())))
            out[:, j] = seq[kk - self.width]
        return out[0], out[1], out[2]


def _wait(e: np.ndarray, rate: np.ndarray | float) -> np.ndarray:
    """Time until a cumulative hazard ``rate`` × t reaches ``e`` (infinite where the rate is zero)."""
    rate = np.broadcast_to(np.asarray(rate, dtype=float), e.shape)
    out = np.full(e.shape, INF)
    pos = rate > 0
    np.divide(e, rate, out=out, where=pos)
    return out


class _Records:
    """Records collected step by step: parallel arrays, appended in the order the persons make them."""

    def __init__(self) -> None:
        self.parts: list[tuple[np.ndarray, np.ndarray, int, int, int | np.ndarray]] = []

    def add(self, person: np.ndarray, day: np.ndarray, event: int, detail: int | np.ndarray, state: int | np.ndarray) -> None:
        if person.size:
            self.parts.append((person, day, event, detail, state))

    def arrays(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        if not self.parts:
            empty = np.empty(0)
            return empty.astype(np.int64), empty, empty.astype(np.int64), empty.astype(np.int64), empty.astype(np.int64)
        person = np.concatenate([p[0] for p in self.parts])
        day = np.concatenate([p[1] for p in self.parts])
        sizes = [p[0].size for p in self.parts]

        def column(k: int) -> np.ndarray:
            values = [p[k] for p in self.parts]
            if all(isinstance(x, int) for x in values):
                return np.repeat(np.array(values, dtype=np.int64), sizes)
            return np.concatenate([np.full(n, x, dtype=np.int64) if isinstance(x, int) else x for x, n in zip(values, sizes, strict=True)])

        return person, day, column(2), column(3), column(4)


@dataclass(frozen=True)
class LifeCourses:
    """The records of all life courses (parallel arrays) and the number of spell ends (SimPy timeouts)."""

    person: np.ndarray
    day: np.ndarray
    event: np.ndarray
    detail: np.ndarray
    state: np.ndarray
    spell_ends: int


def run_life_courses(
    rates: LifeRates,
    spells: SpellDraws,
    codes: Codes,
    person: np.ndarray,
    entry: np.ndarray,
    day: np.ndarray,
    boost_until: np.ndarray,
    via_programme: np.ndarray,
    stop: float,
) -> LifeCourses:
    """Run every given person's life course from its entry until ``stop`` (days): compiled, person by person.

    Args:
        rates: the life-course rates.
        spells: the persons' pre-drawn spells (rows indexed by person id).
        codes: the engine's codes for the records.
        person: person ids (each at most once).
        entry: entry state per person (``ASSISTANCE``, ``JOB``, ``EDUCATION``, ``OTHER_SPELL``, ``GONE``).
        day: entry day per person.
        boost_until: day until which the post-programme job-finding boost applies (−1: none).
        via_programme: the first job comes from the programme (counts for the incentive scheme).
        stop: spells ending after this day are not followed (the SimPy engine does not schedule them).

    Returns:
        The records (per person in the order the SimPy engine makes them) and the number of spell ends
        processed, which equals the number of life-course timeouts the SimPy engine processes.
    """
    r = rates
    width = spells.e.shape[1]
    person = np.ascontiguousarray(person, dtype=np.int64)
    boost_until = np.ascontiguousarray(boost_until, dtype=np.float64)
    m6, m12 = r.milestone_days
    days, rows, spell_ends, kind, t, via = _chains(
        person, np.ascontiguousarray(entry, dtype=np.int64), np.ascontiguousarray(day, dtype=np.float64), boost_until,
        np.ascontiguousarray(via_programme, dtype=np.bool_),
        np.ascontiguousarray(spells.e, dtype=np.float64), np.ascontiguousarray(spells.u, dtype=np.float64),
        np.ascontiguousarray(spells.v, dtype=np.float64),
        np.ascontiguousarray(r.job_rate, dtype=np.float64), np.ascontiguousarray(r.base_rate, dtype=np.float64),
        np.ascontiguousarray(r.boosted_rate, dtype=np.float64),
        float(r.edu_rate), float(r.other_rate), float(r.boost), float(r.loss_full), float(r.loss_part), float(r.p_full_time),
        float(r.edu_days), float(r.p_job_after_edu), float(r.other_days), float(m6), float(m12),
        np.array([getattr(codes, f.name) for f in fields(Codes)], dtype=np.int64), float(stop),
    )
    out = [rows[:, 0], days, rows[:, 1], rows[:, 2], rows[:, 3]]
    # Persons who need spells beyond the pre-drawn ones go on vectorised, from where the loop left them.
    go = kind != GONE
    if go.any():
        rec = _Records()
        extra = _Extra(spells)
        i, kind, t, b, via = person[go], kind[go], t[go], boost_until[go], via[go]
        k = np.full(i.size, width, dtype=np.int64)
        with np.errstate(divide="ignore", invalid="ignore"):  # zero rates give inf/nan where they are not used
            while i.size:
                i, kind, t, b, via, k, ended = _step(r, codes, spells, extra, rec, i, kind, t, b, via, k, stop)
                spell_ends += ended
        out = [np.concatenate(pair) for pair in zip(out, rec.arrays(), strict=True)]
    return LifeCourses(*out, spell_ends)


@njit(cache=True, error_model="numpy")  # numpy: a division by zero gives inf or nan, as in NumPy
def _chains(person, entry, day, boost_until, via_programme, e, u, v, job_rate, base_rate, boosted_rate, edu_rate, other_rate,
            boost, loss_full, loss_part, p_full_time, edu_days, p_job_after_edu, other_days, m6, m12, codes, stop):
    """Each person's chain of spells, in order, until it ends or needs a spell beyond the pre-drawn ones.

    The arithmetic is :func:`_step`'s, operation for operation, for one person at a time. Returns the
    records (day; person, event, detail, state), the number of spell ends, and where each person stands:
    the kind of the spell to come (``GONE`` where the chain has ended), its start day and whether a job
    would still count for the incentive scheme. A person not gone needs spell ``e.shape[1]`` next.
    """
    (job_started, job_lost, milestone, education_started, education_ended, left_social_assistance, returned,
     detail_full_time, detail_part_time, detail_6_months, detail_12_months, detail_work, detail_assistance, detail_other,
     state_full_time, state_part_time, state_education, state_assistance, state_other, no_state) = codes
    width = e.shape[1]
    kind = entry.copy()
    t = day.copy()
    via = via_programme.copy()
    days = np.empty(4 * person.size + 4)
    rows = np.empty((days.size, 4), dtype=np.int64)
    n = 0
    spell_ends = 0
    for j in range(person.size):
        i = person[j]
        for k in range(width):
            if kind[j] == GONE:
                break
            if n + 4 > days.size:  # a spell makes at most four records
                days = np.concatenate((days, np.empty_like(days)))
                rows = np.concatenate((rows, np.empty_like(rows)))
            ts = t[j]
            nxt = GONE
            if kind[j] == ASSISTANCE:  # ends in a job, education or leaving for other reasons
                window = max(boost_until[j] - ts, 0.0)
                boosted = boosted_rate[i]
                if e[i, k] <= boosted * window:
                    wait = e[i, k] / boosted if boosted > 0.0 else INF
                    job = job_rate[i] * boost
                else:
                    rest = e[i, k] - boosted * window
                    wait = window + (rest / base_rate[i] if base_rate[i] > 0.0 else INF)
                    job = job_rate[i]
                at = ts + wait
                if wait != INF and at <= stop:
                    total = job + edu_rate + other_rate
                    if u[i, k] < job / total:
                        nxt = JOB
                    elif u[i, k] < (job + edu_rate) / total:
                        nxt = EDUCATION
                    else:
                        n = _record(days, rows, n, at, i, left_social_assistance, detail_other, state_other)
                    spell_ends += 1
            elif kind[j] == JOB:  # full or part time, until it is lost; the milestones of a programme job
                full = v[i, k] < p_full_time
                n = _record(days, rows, n, ts, i, job_started, detail_full_time if full else detail_part_time,
                            state_full_time if full else state_part_time)
                loss = loss_full if full else loss_part
                duration = e[i, k] / loss if loss > 0.0 else INF
                if via[j] and full and duration >= m6:
                    n = _record(days, rows, n, ts + m6, i, milestone, detail_6_months, no_state)
                if via[j] and full and duration >= m12:
                    n = _record(days, rows, n, ts + m12, i, milestone, detail_12_months, no_state)
                at = ts + duration
                if duration != INF and at <= stop:
                    n = _record(days, rows, n, at, i, job_lost, 0, state_assistance)
                    nxt = ASSISTANCE
                    via[j] = False  # a job found later does not count for the scheme
                    spell_ends += 1
            elif kind[j] == EDUCATION:  # then a job or back on social assistance
                n = _record(days, rows, n, ts, i, education_started, 0, state_education)
                at = ts + edu_days * (0.5 + u[i, k])
                if at <= stop:
                    if v[i, k] < p_job_after_edu:
                        n = _record(days, rows, n, at, i, education_ended, detail_work, no_state)
                        nxt = JOB
                    else:
                        n = _record(days, rows, n, at, i, education_ended, detail_assistance, state_assistance)
                        nxt = ASSISTANCE
                    spell_ends += 1
            else:  # a temporary spell outside social assistance: then back on it
                at = ts + other_days * (0.5 + u[i, k])
                if at <= stop:
                    n = _record(days, rows, n, at, i, returned, 0, state_assistance)
                    nxt = ASSISTANCE
                    spell_ends += 1
            kind[j] = nxt
            t[j] = at
    return days[:n], rows[:n], spell_ends, kind, t, via


@njit(types.int64(types.float64[::1], types.int64[:, ::1], types.int64, types.float64, types.int64, types.int64, types.int64,
                  types.int64), cache=True)  # explicit: literal arguments (n = 0, detail 0) would each compile a variant
def _record(days, rows, n, day, person, event, detail, state):
    """Writes record ``n`` (the caller has made room); returns the number of records."""
    days[n] = day
    rows[n, 0] = person
    rows[n, 1] = event
    rows[n, 2] = detail
    rows[n, 3] = state
    return n + 1


def _step(r: LifeRates, c: Codes, spells: SpellDraws, extra: _Extra, rec: _Records, i: np.ndarray, kind: np.ndarray,
          t: np.ndarray, b: np.ndarray, via: np.ndarray, k: np.ndarray, stop: float) -> tuple:
    """One spell of every person still on the way: records, and who goes on to which spell, when."""
    width = spells.e.shape[1]
    m6, m12 = r.milestone_days
    spell_ends = 0
    # Take each person's next spell.
    ext = k >= width
    kk = np.minimum(k, width - 1)
    e, u, v = spells.e[i, kk], spells.u[i, kk], spells.v[i, kk]  # (new arrays: fancy indexing copies)
    if ext.any():
        e[ext], u[ext], v[ext] = extra.take(i[ext], k[ext])
    k = k + 1
    nxt_kind = np.full(i.size, GONE)
    nxt_t = np.full(i.size, INF)

    # Social assistance: ends in a job, education or leaving for other reasons.
    s = kind == ASSISTANCE
    if s.any():
        ii, ts, es, us, bs = i[s], t[s], e[s], u[s], b[s]
        window = np.maximum(bs - ts, 0.0)
        boosted = r.boosted_rate[ii]
        early = es <= boosted * window
        wait = np.where(early, _wait(es, boosted), window + _wait(es - boosted * window, r.base_rate[ii]))
        job = np.where(early, r.job_rate[ii] * r.boost, r.job_rate[ii])
        at = ts + wait
        ends = (wait != INF) & (at <= stop)
        total = job + r.edu_rate + r.other_rate
        to_job = ends & (us < job / total)
        to_edu = ends & ~to_job & (us < (job + r.edu_rate) / total)
        leaves = ends & ~to_job & ~to_edu
        rec.add(ii[leaves], at[leaves], c.left_social_assistance, c.detail_other, c.state_other)
        idx = np.flatnonzero(s)
        nxt_kind[idx[to_job]] = JOB
        nxt_kind[idx[to_edu]] = EDUCATION
        nxt_t[idx] = at
        spell_ends += int(ends.sum())

    # A job (full or part time) until it is lost; the incentive milestones of a programme job.
    s = kind == JOB
    if s.any():
        ii, ts, es, vs = i[s], t[s], e[s], v[s]
        full = vs < r.p_full_time
        rec.add(ii, ts, c.job_started, np.where(full, c.detail_full_time, c.detail_part_time),
                np.where(full, c.state_full_time, c.state_part_time))
        duration = _wait(es, np.where(full, r.loss_full, r.loss_part))
        counted = via[s] & full
        for milestone, detail in ((m6, c.detail_6_months), (m12, c.detail_12_months)):
            hit = counted & (duration >= milestone)
            rec.add(ii[hit], ts[hit] + milestone, c.milestone, detail, c.no_state)
        at = ts + duration
        ends = (duration != INF) & (at <= stop)
        rec.add(ii[ends], at[ends], c.job_lost, 0, c.state_assistance)
        idx = np.flatnonzero(s)
        nxt_kind[idx[ends]] = ASSISTANCE
        nxt_t[idx] = at
        via[idx[ends]] = False  # a job found later does not count for the scheme
        spell_ends += int(ends.sum())

    # Education: then a job or back on social assistance.
    s = kind == EDUCATION
    if s.any():
        ii, ts, us, vs = i[s], t[s], u[s], v[s]
        rec.add(ii, ts, c.education_started, 0, c.state_education)
        at = ts + r.edu_days * (0.5 + us)
        ends = at <= stop
        work = ends & (vs < r.p_job_after_edu)
        back = ends & ~work
        rec.add(ii[work], at[work], c.education_ended, c.detail_work, c.no_state)
        rec.add(ii[back], at[back], c.education_ended, c.detail_assistance, c.state_assistance)
        idx = np.flatnonzero(s)
        nxt_kind[idx[work]] = JOB
        nxt_kind[idx[back]] = ASSISTANCE
        nxt_t[idx] = at
        spell_ends += int(ends.sum())

    # A temporary spell outside social assistance: then back on it.
    s = kind == OTHER_SPELL
    if s.any():
        ii, ts, us = i[s], t[s], u[s]
        at = ts + r.other_days * (0.5 + us)
        ends = at <= stop
        rec.add(ii[ends], at[ends], c.returned, 0, c.state_assistance)
        idx = np.flatnonzero(s)
        nxt_kind[idx[ends]] = ASSISTANCE
        nxt_t[idx] = at
        spell_ends += int(ends.sum())

    go = nxt_kind != GONE
    return i[go], nxt_kind[go], nxt_t[go], b[go], via[go], k[go], spell_ends
