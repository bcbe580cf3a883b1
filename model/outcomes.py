"""From flat event records to tidy tables: person-months, flows at dates, state shares.

Nothing about money here: the economics reads these tables, or (cheaper) the participants' person-months
counted by the cells it prices (:func:`participant_count_rows`, the same numbers as counting the tables).
"""

from __future__ import annotations

import datetime as dt
import functools
from dataclasses import dataclass

import numpy as np
import pandas as pd
from numba import njit

from model.columns import Columns
from model.economics.ledger import (
    CellArrays,
    CountRows,
    StateCounts,
    first_milestones,
)
from model.engine import DESK_EVENTS, DETAILS, EVENTS, EventLog, ReplicationLogs
from model.engine import D as DETAIL_CODE
from model.engine import E as EVENT_CODE
from model.engine import S as STATE_CODE
from model.hazards import BROKE_OFF_REASONS, NOT_ADMITTED_REASONS
from model.population import Population, days_since
from model.scenario import Scenario
from model.vocabulary import ARMS, STATES

FLOW_KEYS = (
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
)
PROGRAMME_EXIT_FLOWS = ("work_or_education", "broke_off", "discharged_other", "completed")
_EXIT_EVENTS = {
    "work_or_education": "exit_work_or_education",
    "broke_off": "broke_off",
    "discharged_other": "discharged_other",
    "completed": "completed",
}
# Category dtypes built once (validating string categories is a large share of building a small table).
_ARM_DTYPE = pd.CategoricalDtype(list(ARMS))
_STATE_DTYPE = pd.CategoricalDtype(list(STATES))
_EVENT_DTYPE = pd.CategoricalDtype(list(EVENTS))
_DETAIL_DTYPE = pd.CategoricalDtype(list(DETAILS))
SHARE_STATES = ("in_programme", "employed", "employed_full_time", "education", "social_assistance", "other")


def month_starts(first: dt.date, last: dt.date) -> list[dt.date]:
    """First days of the months from ``first``'s month to ``last``'s month, inclusive."""
    out, y, m = [], first.year, first.month
    while (y, m) <= (last.year, last.month):
        out.append(dt.date(y, m, 1))
        y, m = (y + 1, 1) if m == 12 else (y, m + 1)
    return out


@dataclass(frozen=True)
class Timeline:
    """Per person, the day of each pipeline event in the programme arm (``inf`` if it never happened)."""

    referred: np.ndarray
    waiting: np.ndarray
    admitted: np.ndarray
    rejected: np.ndarray
    rejected_reason: np.ndarray  # index into NOT_ADMITTED_REASONS, -1 if none
    exit_day: np.ndarray
    exit_kind: np.ndarray  # index into PROGRAMME_EXIT_FLOWS, -1 if none
    broke_off_reason: np.ndarray  # index into BROKE_OFF_REASONS, -1 if none
    contact_changes: tuple[np.ndarray, np.ndarray]  # (person, day) of each change of contact person

    @classmethod
    def from_log(cls, log: EventLog, n: int) -> Timeline:
        def first(event: str) -> tuple[np.ndarray, np.ndarray]:
            mask = log.event == EVENT_CODE[event]
            day = np.full(n, np.inf)
            np.minimum.at(day, log.person[mask], log.day[mask])
            detail = np.full(n, -1, dtype=np.int16)
            detail[log.person[mask]] = log.detail[mask]
            return day, detail

        referred, _ = first("referred")
        waiting, _ = first("waiting_started")
        admitted, _ = first("admitted")
        rejected, rej_detail = first("rejected")
        reason_map = np.full(len(DETAILS), -1, dtype=np.int16)
        for k, r in enumerate(NOT_ADMITTED_REASONS):
            reason_map[DETAIL_CODE[r]] = k
        exit_day = np.full(n, np.inf)
        exit_kind = np.full(n, -1, dtype=np.int16)
        broke_reason = np.full(n, -1, dtype=np.int16)
        for k, flow in enumerate(PROGRAMME_EXIT_FLOWS):
            day, detail = first(_EXIT_EVENTS[flow])
            hit = np.isfinite(day)
            exit_day[hit] = day[hit]
            exit_kind[hit] = k
            if flow == "broke_off":
                bmap = np.full(len(DETAILS), -1, dtype=np.int16)
                for j, r in enumerate(BROKE_OFF_REASONS):
                    bmap[DETAIL_CODE[r]] = j
                broke_reason[hit] = bmap[detail[hit]]
        cc = log.event == EVENT_CODE["contact_person_changed"]
        return cls(
            referred,
            waiting,
            admitted,
            rejected,
            np.where(rej_detail >= 0, reason_map[np.maximum(rej_detail, 0)], -1).astype(np.int16),
            exit_day,
            exit_kind,
            broke_reason,
            (log.person[cc], log.day[cc]),
        )

    def flows(self, day: float, subset: np.ndarray | None = None) -> dict[str, int]:
        """The table-3 flows on ``day`` (inclusive), for all persons or a boolean ``subset``.

        Identities: referred = participants + not_admitted + under_assessment + waiting;
        participants = active + work_or_education + broke_off + discharged_other + completed.
        """
        sel = (lambda x: x) if subset is None else (lambda x: x[subset])
        referred = sel(self.referred) <= day
        admitted = sel(self.admitted) <= day
        rejected = sel(self.rejected) <= day
        waiting = (sel(self.waiting) <= day) & ~admitted & ~rejected
        exited = sel(self.exit_day) <= day
        kind = sel(self.exit_kind)
        out = {
            "referred": int(referred.sum()),
            "participants": int(admitted.sum()),
            "not_admitted": int(rejected.sum()),
            "waiting": int(waiting.sum()),
        }
        out["under_assessment"] = out["referred"] - out["participants"] - out["not_admitted"] - out["waiting"]
        for k, flow in enumerate(PROGRAMME_EXIT_FLOWS):
            out[flow] = int((exited & (kind == k)).sum())
        out["active"] = out["participants"] - sum(out[f] for f in PROGRAMME_EXIT_FLOWS)
        return {k: out[k] for k in FLOW_KEYS}

    def not_admitted_reasons(self, day: float) -> dict[str, int]:
        """Counts of not-admitted persons by reason on ``day``."""
        r = self.rejected_reason[self.rejected <= day]
        counts = np.bincount(r[r >= 0], minlength=len(NOT_ADMITTED_REASONS))
        return {name: int(c) for name, c in zip(NOT_ADMITTED_REASONS, counts, strict=True)}

    def broke_off_reasons(self, day: float, subset: np.ndarray | None = None) -> dict[str, int]:
        """Counts of break-offs by reason on ``day``."""
        mask = (self.exit_day <= day) & (self.broke_off_reason >= 0)
        if subset is not None:
            mask &= subset
        counts = np.bincount(self.broke_off_reason[mask], minlength=len(BROKE_OFF_REASONS))
        return {name: int(c) for name, c in zip(BROKE_OFF_REASONS, counts, strict=True)}

    def contact_persons(self, day: float) -> dict[str, int]:
        """Participants by number of contact persons they have had by ``day``: 1, 2, 3, more than 3."""
        participants = self.admitted <= day
        person, when = self.contact_changes
        changes = np.bincount(person[when <= day], minlength=self.admitted.size)
        n = 1 + changes[participants]
        return {"one": int((n == 1).sum()), "two": int((n == 2).sum()), "three": int((n == 3).sum()), "more_than_three": int((n > 3).sum())}


def _state_matrix(log: EventLog, n: int, mid_days: np.ndarray, before: int, persons: np.ndarray | None = None) -> np.ndarray:
    """State code of every person on every given day (persons × days); ``before`` until the first state.

    A person's state on a day is that of their last state record at or before it (records of the same
    day: the last in the log). ``persons``: only these persons' rows (ids ascending; the same values as
    their rows of the full matrix). ``mid_days`` ascending.
    """
    who = np.arange(n, dtype=np.int64) if persons is None else np.asarray(persons, dtype=np.int64)
    return _states_on(log.person.astype(np.int64), log.day.astype(np.float64), log.state.astype(np.int8), n,
                      np.asarray(mid_days, dtype=np.float64), np.int8(before), who)


@njit(cache=True)
def _states_on(person, day, state, n, mid_days, before, who):
    """:func:`_state_matrix`, compiled: each person's state records in time order (a stable counting
    sort by person keeps the log order, which is time order as the engine writes records when they
    happen; a person whose records are not is sorted by day, stably), read as a step function."""
    start = np.zeros(n + 1, dtype=np.int64)
    for r in range(person.size):
        if state[r] >= 0:
            start[person[r] + 1] += 1
    for p in range(n):
        start[p + 1] += start[p]
    at = start[:-1].copy()
    records = np.empty(start[n], dtype=np.int64)
    for r in range(person.size):
        if state[r] >= 0:
            records[at[person[r]]] = r
            at[person[r]] += 1
    out = np.empty((who.size, mid_days.size), dtype=np.int8)
    for w in range(who.size):
        mine = records[start[who[w]] : start[who[w] + 1]]
        for k in range(1, mine.size):  # stable insertion sort by day (a no-op on records in time order)
            r, j = mine[k], k - 1
            while j >= 0 and day[mine[j]] > day[r]:
                mine[j + 1] = mine[j]
                j -= 1
            mine[j + 1] = r
        k, current = 0, before
        for m in range(mid_days.size):
            while k < mine.size and day[mine[k]] <= mid_days[m]:
                current = state[mine[k]]
                k += 1
            out[w, m] = current
    return out


class _EconomicTables:
    """What the economics reads, kept compact (``count_rows``, ``columns``) and made tables on first use."""

    count_rows: CountRows
    columns: dict[str, Columns]

    @functools.cached_property
    def counts(self) -> StateCounts:
        """The counts the ledger prices (``count_rows`` grouped)."""
        return self.count_rows.counts()

    @functools.cached_property
    def employment(self) -> pd.DataFrame:
        return self.columns["employment"].frame()

    @functools.cached_property
    def staff_months(self) -> pd.DataFrame:
        return self.columns["staff_months"].frame()


@dataclass(frozen=True)
class ReplicationOutcome(_EconomicTables):
    """Tidy outcomes of one replication."""

    replication: int
    persons: pd.DataFrame | None  # None when tidied without the per-person tables
    person_months: pd.DataFrame | None
    events: pd.DataFrame | None
    flows: dict  # report date ISO → {"all": flows, "women": …, "men": …, "groups": {...}, reasons}
    # The tables below as columns (cheap to build and to send between processes), by name:
    # participant_states (month, arm, share columns), desks (project, time, kind, active, capacity,
    # waiting, filled_fte; programme arm), staff_months (month, project, fte: advisers in post, see
    # staff_months()), employment (per arm: the participants' employment, see participant_employment()).
    columns: dict[str, Columns]
    count_rows: CountRows  # the participants' person-months by household cell, and the money events
    sim_events: int

    @functools.cached_property
    def participant_states(self) -> pd.DataFrame:
        return self.columns["participant_states"].frame()

    @functools.cached_property
    def desks(self) -> pd.DataFrame:
        return self.columns["desks"].frame()


def _persons_table(scenario: Scenario, pop: Population, admitted: np.ndarray, replication: int) -> pd.DataFrame:
    """The ``persons`` table: the population's attributes, participation and admission date."""
    participant = np.isfinite(admitted)
    origin64 = np.datetime64(scenario.simulation.start_date, "s")
    adm = np.where(participant, admitted, 0.0)
    return pd.DataFrame(
        {
            "replication": np.full(pop.size, replication, dtype=np.int32),
            **pop.columns(scenario),
            "participant": participant,
            "admission_date": np.where(participant, origin64 + np.round(adm * 86400).astype("timedelta64[s]"), np.datetime64("NaT", "s")),
        }
    )


def _month_grid(scenario: Scenario, pop: Population) -> tuple[list[dt.date], np.ndarray, np.ndarray, np.ndarray]:
    """Months of the person-month table: their first days, mid-month days (the 15th), first days as
    datetime64, and each person's referral month index."""
    cal = _calendar(scenario.simulation.start_date, scenario.simulation.horizon_date)
    month_index_of_referral = np.searchsorted(cal.first_days, pop.referral_day, side="right") - 1
    return list(cal.months), cal.mid_days, cal.month64, month_index_of_referral


@dataclass(frozen=True)
class _Calendar:
    """The months from a scenario's start to its horizon, in the forms the tables read (read-only arrays)."""

    months: tuple[dt.date, ...]  # first days
    first_days: np.ndarray  # days since the start
    mid_days: np.ndarray  # the 15th, in days since the start
    month64: np.ndarray  # first days as datetime64[s]
    mid_dates: np.ndarray  # the 15th as datetime64[D]
    month_numbers: np.ndarray  # months since 1970-01
    labels: tuple[str, ...]  # YYYY-MM


@functools.lru_cache(maxsize=32)
def _calendar(origin: dt.date, horizon: dt.date) -> _Calendar:
    """The calendar of the months from ``origin``'s to ``horizon``'s (built once per scenario dates)."""
    months = tuple(month_starts(origin, horizon))
    first_days = np.array([days_since(origin, m) for m in months], dtype=float)
    arrays = (
        first_days,
        np.array([days_since(origin, m) + 14.0 for m in months]),
        np.array([np.datetime64(m, "s") for m in months]),
        np.array([np.datetime64(m, "D") for m in months]) + np.timedelta64(14, "D"),
        np.array([(m.year - 1970) * 12 + m.month - 1 for m in months], dtype=np.int64),
    )
    for a in arrays:
        a.flags.writeable = False
    return _Calendar(months, *arrays, tuple(m.strftime("%Y-%m") for m in months))


def _person_months_table(replication: int, states: dict[str, np.ndarray], first_month: np.ndarray, month64: np.ndarray) -> pd.DataFrame:
    """``person_months`` rows of every person (the rows of ``states``' matrices), both arms, from their
    referral month: ordered by arm, person, month."""
    keep = np.arange(month64.size)[None, :] >= first_month[:, None]
    rows, both = int(keep.sum()), len(ARMS)
    return pd.DataFrame(
        {
            "replication": np.full(both * rows, replication, dtype=np.int32),
            "arm": pd.Categorical.from_codes(np.repeat(np.arange(both, dtype=np.int8), rows), dtype=_ARM_DTYPE),
            "person": np.tile(np.broadcast_to(np.arange(first_month.size, dtype=np.int32)[:, None], keep.shape)[keep], both),
            "month": np.tile(np.broadcast_to(month64[None, :], keep.shape)[keep], both),
            "state": pd.Categorical.from_codes(np.concatenate([states[arm][keep] for arm in ARMS]), dtype=_STATE_DTYPE),
        }
    )


def tidy(
    scenario: Scenario, pop: Population, logs: ReplicationLogs, replication: int, *, tables: bool = True
) -> ReplicationOutcome:
    """Turn one replication's event logs into the tidy tables of docs/data_model.md.

    Args:
        tables: build the per-person tables ``persons``, ``person_months`` and ``events`` (else they are
            None); the flows, state shares, desks, staff, counts and employment are built either way.
    """
    origin = scenario.simulation.start_date
    n = pop.size
    timeline = Timeline.from_log(logs.programme, n)
    origin64 = np.datetime64(origin, "s")
    months, mid_days, month64, month_index_of_referral = _month_grid(scenario, pop)

    arm_logs = (logs.programme, logs.counterfactual)
    who = np.flatnonzero(np.isfinite(timeline.admitted))  # the participants
    # Every person's states if the per-person tables are built; else the participants' (all the rest reads).
    rows = None if tables else who
    matrices = {arm: _state_matrix(log, n, mid_days, STATE_CODE["social_assistance"], persons=rows) for arm, log in zip(ARMS, arm_logs, strict=True)}
    part_states = {arm: m[who] for arm, m in matrices.items()} if tables else matrices
    persons = person_months = events = None
    if tables:
        persons = _persons_table(scenario, pop, timeline.admitted, replication)
        person_months = _person_months_table(replication, matrices, month_index_of_referral, month64)
        events = _events_table(arm_logs, origin64, replication)

    flows = {}
    female = pop.female
    for d in scenario.simulation.report_dates:
        day = days_since(origin, d) + 1.0 - 1e-9  # through the end of the report date
        entry = {
            "all": timeline.flows(day),
            "women": timeline.flows(day, female),
            "men": timeline.flows(day, ~female),
            "not_admitted_reasons": timeline.not_admitted_reasons(day),
            "broke_off_reasons": timeline.broke_off_reasons(day),
            "broke_off_reasons_men": timeline.broke_off_reasons(day, ~female),
            "contact_persons": timeline.contact_persons(day),
        }
        if scenario.has_groups:
            groups = {}
            for pi, project in enumerate(scenario.projects):
                for gi, g in enumerate(project.groups):
                    groups[g.name] = timeline.flows(day, (pop.project == pi) & (pop.group == gi))
            entry["groups"] = groups
        flows[d.isoformat()] = entry

    d = logs.desks
    desks = Columns(
        {
            "replication": np.full(d.shape[0], replication, dtype=np.int32),
            "project": d[:, 1].astype(np.int16),
            "time": origin64 + np.round(d[:, 0] * 86400).astype("timedelta64[s]"),
            "kind": d[:, 2].astype(np.int8),
            "active": d[:, 3].astype(np.int32),
            "capacity": d[:, 4].astype(np.int32),
            "waiting": d[:, 5].astype(np.int32),
            "filled_fte": d[:, 6],
        },
        {"project": tuple(p.name for p in scenario.projects), "kind": tuple(DESK_EVENTS)},
    )
    first_month = month_index_of_referral[who]
    return ReplicationOutcome(
        replication=replication,
        persons=persons,
        person_months=person_months,
        events=events,
        flows=flows,
        columns={
            "participant_states": _participant_states(scenario, part_states, months, replication),
            "desks": desks,
            "staff_months": staff_months(scenario, d, months, mid_days, replication),
            "employment": participant_employment(scenario, logs, replication, who, timeline.admitted[who], part_states, first_month, months),
        },
        count_rows=participant_count_rows(scenario, pop, logs, replication, who, part_states, first_month, months),
        sim_events=logs.programme.sim_events + logs.counterfactual.sim_events,
    )


def _events_table(arm_logs: tuple[EventLog, EventLog], origin64: np.datetime64, replication: int) -> pd.DataFrame:
    """Events of both arms, ordered by arm, person and time (stable: the log order within a second)."""
    arm_code = np.concatenate([np.full(log.person.size, a, dtype=np.int8) for a, log in enumerate(arm_logs)])
    person = np.concatenate([log.person for log in arm_logs])
    when = origin64 + np.concatenate([np.round(log.day * 86400).astype("timedelta64[s]") for log in arm_logs])
    order = np.lexsort((when, person, arm_code))
    return pd.DataFrame(
        {
            "replication": np.int32(replication),
            "arm": pd.Categorical.from_codes(arm_code[order], dtype=_ARM_DTYPE),
            "person": person[order],
            "time": when[order],
            "event": pd.Categorical.from_codes(np.concatenate([log.event for log in arm_logs])[order], dtype=_EVENT_DTYPE),
            "detail": pd.Categorical.from_codes(np.concatenate([log.detail for log in arm_logs])[order], dtype=_DETAIL_DTYPE),
        }
    )


@dataclass(frozen=True)
class EconomicCounts(_EconomicTables):
    """What the economics reads of one replication, aggregated (see :func:`economic_counts`)."""

    count_rows: CountRows  # the participants' person-months by household cell, and the money events
    columns: dict[str, Columns]  # employment (per arm, see participant_employment()) and staff_months


def economic_counts(scenario: Scenario, pop: Population, logs: ReplicationLogs, replication: int) -> EconomicCounts:
    """What the economics reads of one replication, without the tidy tables (for PSA draws).

    Args:
        scenario: the scenario.
        pop: the replication's population.
        logs: its event logs (both arms and the desks).
        replication: its index.

    Returns:
        The same values as :func:`tidy`'s ``counts``, ``employment`` and ``staff_months``; only the
        participants' states are computed.
    """
    admitted = np.full(pop.size, np.inf)
    hit = logs.programme.event == EVENT_CODE["admitted"]
    np.minimum.at(admitted, logs.programme.person[hit], logs.programme.day[hit])
    who = np.flatnonzero(np.isfinite(admitted))
    months, mid_days, _, month_index_of_referral = _month_grid(scenario, pop)
    states = {
        arm: _state_matrix(log, pop.size, mid_days, STATE_CODE["social_assistance"], persons=who)
        for arm, log in zip(ARMS, (logs.programme, logs.counterfactual), strict=True)
    }
    first_month = month_index_of_referral[who]
    return EconomicCounts(
        participant_count_rows(scenario, pop, logs, replication, who, states, first_month, months),
        {
            "employment": participant_employment(scenario, logs, replication, who, admitted[who], states, first_month, months),
            "staff_months": staff_months(scenario, logs.desks, months, mid_days, replication),
        },
    )


def participant_count_rows(
    scenario: Scenario,
    pop: Population,
    logs: ReplicationLogs,
    replication: int,
    who: np.ndarray,
    states: dict[str, np.ndarray],
    first_month: np.ndarray,
    months: list[dt.date],
) -> CountRows:
    """The rows of the counts the ledger prices, from the participants' state matrices: grouped
    (``.counts()``), the same as :func:`model.economics.count_states` of the participants' ``persons``
    and ``person_months`` rows and all ``events`` of the replication, without building those tables.

    Args:
        scenario: the scenario.
        pop: the replication's population.
        logs: its event logs (the money events: incentive milestones, assessments).
        replication: its index.
        who: the participants (person ids, ascending).
        states: per arm, the participants' state on the 15th of every month (participants × months).
        first_month: per participant, the index of the referral month (their first person-month).
        months: first days of the months.

    Returns:
        The rows (none, and no replications, if there are no participants; then the counts have no
        cells and NaT months).
    """
    n_months = len(months)
    # Age at mid-month as count_states computes it: from the referral date (the persons table's, to the
    # second, then its day) to the 15th, in days / 365.25.
    origin64 = np.datetime64(scenario.simulation.start_date, "s")
    referral_date = (origin64 + np.round(pop.referral_day[who] * 86400).astype("timedelta64[s]")).astype("datetime64[D]")
    cal = _calendar(months[0], months[-1])
    mid_month = cal.mid_dates
    age = pop.age_years[who][:, None] + (mid_month[None, :] - referral_date[:, None]).astype(np.int64) / 365.25
    # Households (married, children 0-5, 6-10, 11-17), numbered in that lexicographic order.
    children = (pop.children_0_5, pop.children_6_10, pop.children_11_17)
    attributes = [pop.married[who].astype(np.int64), *(np.clip(c[who].astype(np.int64), 0, None) for c in children)]
    radix = [int(a.max(initial=0)) + 1 for a in attributes]
    codes, household = np.unique(np.ravel_multi_index(attributes, radix), return_inverse=True)
    households = np.stack(np.unravel_index(codes, radix), axis=1)
    # Person-months counted straight into the ledger's cells, (arm, year, May–December, state, under 25,
    # household), and into the extrapolation basis, (arm, state, household) over the last 12 months at
    # most, in_programme counted as social assistance: dense arrays in key order, so their non-zero
    # entries are the cells sorted as CellArrays.group sorts them.
    rep = np.array([replication] if who.size else [], dtype=np.int64)
    if not who.size:
        empty = np.empty(0, dtype=np.int64)
        cells = CellArrays.group(rep, empty, empty, empty, empty, empty, empty, [empty] * 3, np.empty(0))
        return CountRows(cells, *_money_events(scenario, logs, replication))
    month_no = cal.month_numbers
    year = month_no // 12 + 1970
    first_no, horizon_no = int(month_no[first_month.min()]), int(month_no[-1])
    basis_months = min(12, horizon_no - first_no + 1)
    cell_counts, basis_counts = _count_cells(
        np.stack([states[arm] for arm in ARMS]), first_month.astype(np.int64), age < 25.0, household.astype(np.int64),
        len(households), (year - year[0]).astype(np.int64), (month_no % 12 + 1 >= 5).astype(np.int64), int(year[-1] - year[0] + 1),
        n_months - basis_months, len(STATES), STATE_CODE["in_programme"], STATE_CODE["social_assistance"],
    )
    nz = np.flatnonzero(cell_counts)
    arm, y, may_dec, state, under_25, h = np.unravel_index(nz, cell_counts.shape)
    bnz = np.flatnonzero(basis_counts)
    b_arm, b_state, bh = np.unravel_index(bnz, basis_counts.shape)
    small = households.astype(np.int8)
    cells = CellArrays(
        rep,
        {
            "replication": np.full(nz.size, replication, dtype=np.int32), "arm": arm.astype(np.int8), "year": (y + year[0]).astype(np.int32),
            "may_dec": may_dec.astype(np.int8), "state": state.astype(np.int8), "under_25": under_25.astype(np.int8),
            "married": small[h, 0], "children_0_5": small[h, 1], "children_6_10": small[h, 2], "children_11_17": small[h, 3],
            "months": cell_counts.ravel()[nz].astype(np.int32),
        },
        {
            "replication": np.full(bnz.size, replication, dtype=np.int32), "arm": b_arm.astype(np.int8), "state": b_state.astype(np.int8),
            "married": small[bh, 0], "children_0_5": small[bh, 1], "children_6_10": small[bh, 2], "children_11_17": small[bh, 3],
            "months": basis_counts.ravel()[bnz].astype(np.int32),
        },
        first_no,
        horizon_no,
    )
    return CountRows(cells, *_money_events(scenario, logs, replication))


@njit(cache=True)
def _count_cells(states, first_month, under_25, household, n_households, year, may_dec, n_years, basis_start, n_states,
                 in_programme, assistance):
    """Person-months by cell and in the extrapolation basis (see :func:`participant_count_rows`).

    Args:
        states: per arm, the participants' state codes (arms × participants × months).
        first_month: per participant, the first month counted (the referral month).
        under_25: per participant and month, whether under 25 at mid-month.
        household: per participant, the household number; ``n_households`` of them.
        year, may_dec: per month, the year (from the first month's, 0 …) and whether May–December.
        basis_start: the first month of the extrapolation basis.
        in_programme, assistance: state codes (the basis counts the first as the second).
    """
    n_arms, n_persons, n_months = states.shape
    cells = np.zeros((n_arms, n_years, 2, n_states, 2, n_households), dtype=np.int64)
    basis = np.zeros((n_arms, n_states, n_households), dtype=np.int64)
    for a in range(n_arms):
        for p in range(n_persons):
            h = household[p]
            for m in range(first_month[p], n_months):
                s = states[a, p, m]
                cells[a, year[m], may_dec[m], s, 1 if under_25[p, m] else 0, h] += 1
                if m >= basis_start:
                    basis[a, assistance if s == in_programme else s, h] += 1
    return cells, basis


def _money_events(scenario: Scenario, logs: ReplicationLogs, replication: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, str]:
    """The money events of one replication (both arms: replication, arm, month and whether it is an
    incentive milestone, per event) and where its assessments come from.

    Incentive milestones: the first of each (arm, person, milestone). Assessments: the programme arm's
    ``assessment_started`` events, else its ``referred`` events (see :func:`model.economics.count_states`).
    """
    origin64 = np.datetime64(scenario.simulation.start_date, "s")

    def seconds(day: np.ndarray) -> np.ndarray:
        return np.round(day * 86400).astype(np.int64)

    def month(secs: np.ndarray) -> np.ndarray:
        return (origin64 + secs.astype("timedelta64[s]")).astype("datetime64[M]").astype(np.int64)

    arm_logs = (logs.programme, logs.counterfactual)
    paid = [log.event == EVENT_CODE["incentive_milestone"] for log in arm_logs]
    arm = np.concatenate([np.full(int(sel.sum()), a, dtype=np.int64) for a, sel in enumerate(paid)])
    person = np.concatenate([log.person[sel] for log, sel in zip(arm_logs, paid, strict=True)])
    milestone = np.concatenate([log.detail[sel] for log, sel in zip(arm_logs, paid, strict=True)])
    secs = np.concatenate([seconds(log.day[sel]) for log, sel in zip(arm_logs, paid, strict=True)])
    keep = first_milestones(np.zeros(arm.size, dtype=np.int64), arm, person, milestone, secs)
    source, assessed = "none", np.zeros(logs.programme.event.size, dtype=bool)
    for name in ("assessment_started", "referred"):
        if name in EVENT_CODE and (logs.programme.event == EVENT_CODE[name]).any():
            source, assessed = name, logs.programme.event == EVENT_CODE[name]
            break
    n_assessed = int(assessed.sum())
    return (
        np.full(keep.size + n_assessed, replication, dtype=np.int64),
        np.concatenate([arm[keep], np.full(n_assessed, ARMS.index("programme"), dtype=np.int64)]),
        np.concatenate([month(secs[keep]), month(seconds(logs.programme.day[assessed]))]),
        np.concatenate([np.ones(keep.size, dtype=bool), np.zeros(n_assessed, dtype=bool)]),
        source,
    )


def participant_employment(
    scenario: Scenario,
    logs: ReplicationLogs,
    replication: int,
    who: np.ndarray,
    admitted: np.ndarray,
    states: dict[str, np.ndarray],
    first_month: np.ndarray,
    months: list[dt.date],
) -> pd.DataFrame:
    """Employment of the participants in both arms (the rows of :func:`model.cba.employment_outcomes`
    for this replication, plus their job starts).

    Args:
        scenario: the scenario.
        logs: the replication's event logs (the ``job_started`` events).
        replication: its index.
        who: the participants (person ids, ascending).
        admitted: their admission days (days since the scenario start).
        states: per arm, the participants' state on the 15th of every month (participants × months).
        first_month: per participant, the index of the referral month (their first person-month).
        months: first days of the months.

    Returns:
        One row per arm (none without participants): replication, arm, employed_person_years (employed
        person-months / 12 from the referral month to the horizon), participants,
        employed_person_years_per_participant, ``share_employed_1y``, ``_2y``, ``_5y`` (the share employed
        12, 24 and 60 months after the month of admission, among the participants whose month falls within
        the horizon; NaN if none does) and job_starts (``job_started`` events of the participants).
    """
    n_months = len(months)
    kept = np.arange(n_months)[None, :] >= first_month[:, None]
    origin64 = np.datetime64(scenario.simulation.start_date, "s")
    admission_month = (origin64 + np.round(admitted * 86400).astype("timedelta64[s]")).astype("datetime64[M]")
    admission_index = (admission_month - np.datetime64(months[0], "M")).astype(np.int64)
    employed_codes = [STATE_CODE["employed_full_time"], STATE_CODE["employed_part_time"]]
    columns: dict[str, list] = {"employed_person_years": [], "job_starts": [], **{f"share_employed_{y}y": [] for y in (1, 2, 5)}}
    for arm, log in zip(ARMS, (logs.programme, logs.counterfactual), strict=True):
        employed = np.isin(states[arm], employed_codes) & kept
        columns["employed_person_years"].append(int(employed.sum()) / 12.0)
        for y in (1, 2, 5):
            at = admission_index + 12 * y  # the month y years after admission, if it has a person-month
            seen = (at >= first_month) & (at < n_months)
            hits = int(employed[np.flatnonzero(seen), at[seen]].sum())
            columns[f"share_employed_{y}y"].append(hits / int(seen.sum()) if seen.any() else np.nan)
        columns["job_starts"].append(int(np.isin(log.person[log.event == EVENT_CODE["job_started"]], who).sum()))
    rows = len(ARMS) if who.size else 0
    years = np.array(columns["employed_person_years"][:rows], dtype=float)
    participants = np.full(rows, who.size, dtype=np.int64)
    return Columns(
        {
            "replication": np.full(rows, replication, dtype=np.int32),
            "arm": np.arange(rows, dtype=np.int8),
            "employed_person_years": years,
            "participants": participants,
            "employed_person_years_per_participant": years / participants,
            **{f"share_employed_{y}y": np.array(columns[f"share_employed_{y}y"][:rows], dtype=float) for y in (1, 2, 5)},
            "job_starts": np.array(columns["job_starts"][:rows], dtype=np.int64),
        },
        {"arm": ARMS},
    )


def staff_months(scenario: Scenario, desks: np.ndarray, months: list[dt.date], mid_days: np.ndarray, replication: int) -> Columns:
    """Adviser FTE in post per project and month (on the 15th), for costing the programme: columns
    replication, month, project, fte.

    Until intake closes (``referral_end_date``) a project employs its scheduled staff (less vacancies).
    Afterwards it keeps only what its remaining caseload needs: min(staff in post, active participants /
    caseload per adviser). A cohort's programme is costed while it runs, not to the horizon.
    """
    origin = scenario.simulation.start_date
    end_day = days_since(origin, scenario.simulation.referral_end_date)
    caseload = scenario.follow_up.caseload_per_adviser
    names = [p.name for p in scenario.projects]
    n_months = mid_days.size
    fte_all = _staff_in_post(np.ascontiguousarray(desks, dtype=np.float64), len(names), np.asarray(mid_days, dtype=np.float64),
                             float(end_day), float(caseload))
    month64 = np.array(months, dtype="datetime64[s]")
    return Columns(
        {
            "replication": np.full(len(names) * n_months, replication, dtype=np.int32),
            "month": np.tile(month64, len(names)),
            "project": np.repeat(np.arange(len(names), dtype=np.int16), n_months),
            "fte": fte_all.ravel(),
        },
        {"project": tuple(names)},
    )


@njit(cache=True)
def _staff_in_post(desks, n_projects, mid_days, end_day, caseload):
    """Per project (rows) and mid-month (columns) the FTE in post (see :func:`staff_months`): the desk
    records (rows of ``ReplicationLogs.desks``, in time order) read as each project's step function."""
    out = np.zeros((n_projects, mid_days.size))
    fte = np.zeros(n_projects)
    active = np.zeros(n_projects)
    k = 0
    for m in range(mid_days.size):
        while k < desks.shape[0] and desks[k, 0] <= mid_days[m]:
            p = int(desks[k, 1])
            fte[p], active[p] = desks[k, 6], desks[k, 3]
            k += 1
        for p in range(n_projects):
            out[p, m] = min(fte[p], active[p] / caseload) if mid_days[m] > end_day else fte[p]
    return out


def _participant_states(scenario: Scenario, matrices: dict, months: list[dt.date], replication: int) -> Columns:
    """Monthly state shares of the persons admitted in the programme arm, in both arms (``matrices``: per
    arm, the participants' states, participants × months), from the month the simulation starts: before
    their referral the participants are on social assistance (the programme's eligibility), and the rows are
    the same months in every replication and parameter draw (a group's referrals come in a window before it
    starts, which may precede every project's ``intake_start_date`` and varies with the window parameter)."""
    first = scenario.simulation.start_date
    start = next(i for i, m in enumerate(months) if (m.year, m.month) >= (first.year, first.month))
    span, n_states = len(months) - start, len(STATES)
    denom = max(next(iter(matrices.values())).shape[0], 1)
    # Persons per (arm, month, state), one bincount per arm.
    counts = np.stack(
        [
            np.bincount((mat[:, start:].astype(np.int64) * span + np.arange(span)).ravel(), minlength=n_states * span)
            .reshape(n_states, span)
            .T
            for mat in matrices.values()
        ]
    ) / denom
    c = {name: counts[:, :, k].ravel() for k, name in enumerate(STATES)}  # arm-major, then month
    return Columns(
        {
            "replication": np.full(span * len(matrices), replication, dtype=np.int64),
            "month": list(_calendar(months[0], months[-1]).labels[start:]) * len(matrices),
            "arm": [arm for arm in matrices for _ in range(span)],
            "in_programme": c["in_programme"],
            "employed": c["employed_full_time"] + c["employed_part_time"],
            "employed_full_time": c["employed_full_time"],
            "education": c["education"],
            "social_assistance": c["social_assistance"] + c["assessment"] + c["waiting"],
            "other": c["other"],
        }
    )


def employment_gap_by_month(participant_states: pd.DataFrame) -> pd.DataFrame:
    """The programme's effect on the participants' employment, month by month.

    Args:
        participant_states: the ``participant_states`` table of one or more replications (columns
            ``replication, month, arm, employed, …``; ``RunResult.table("participant_states")``).

    Returns:
        One row per month: ``month`` (``YYYY-MM``), ``programme`` and ``counterfactual`` (mean employed
        share of the participants in each arm), ``difference_mean``, ``difference_p05`` and
        ``difference_p95`` (programme − counterfactual employed share: mean and 5th/95th percentiles over
        the replications, which see the same persons in both arms), and ``replications``.
    """
    wide = participant_states.pivot_table(index=["month", "replication"], columns="arm", values="employed", observed=True)
    wide = wide.reindex(columns=["programme", "counterfactual"])
    diff = (wide["programme"] - wide["counterfactual"]).rename("difference")
    by_month = diff.groupby(level="month")
    out = pd.DataFrame(
        {
            "programme": wide["programme"].groupby(level="month").mean(),
            "counterfactual": wide["counterfactual"].groupby(level="month").mean(),
            "difference_mean": by_month.mean(),
            "difference_p05": by_month.quantile(0.05),
            "difference_p95": by_month.quantile(0.95),
            "replications": by_month.count(),
        }
    )
    return out.reset_index().sort_values("month", ignore_index=True)
