"""From flat event records to tidy tables: person-months, flows at dates, state shares.

Nothing about money here: the economics reads these tables.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import pandas as pd

from model.engine import ARMS, DESK_EVENTS, DETAILS, EVENTS, STATES, EventLog, ReplicationLogs
from model.engine import D as DETAIL_CODE
from model.engine import E as EVENT_CODE
from model.engine import S as STATE_CODE
from model.hazards import BROKE_OFF_REASONS, NOT_ADMITTED_REASONS
from model.population import Population, days_since
from model.scenario import Scenario

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
_DESK_DTYPE = pd.CategoricalDtype(list(DESK_EVENTS))
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

    ``persons``: only these persons' rows (ids ascending; the same values as their rows of the full matrix).
    """
    has = log.state >= 0
    person, day, state = log.person[has], log.day[has], log.state[has]
    order = np.lexsort((np.arange(person.size), day, person))  # stable within a day: log order
    person, day, state = person[order], day[order], state[order]
    span = float(max(mid_days.max(initial=0.0), day.max(initial=0.0)) + 10.0)
    keys = person * span + day
    who = np.arange(n) if persons is None else np.asarray(persons)
    query = (who[:, None] * span + mid_days[None, :]).ravel()
    idx = np.searchsorted(keys, query, side="right") - 1
    ok = idx >= 0
    found_person = np.where(ok, person[np.maximum(idx, 0)], -1)
    rows = np.repeat(who, mid_days.size)
    out = np.where(ok & (found_person == rows), state[np.maximum(idx, 0)], before)
    return out.reshape(who.size, mid_days.size).astype(np.int8)


@dataclass(frozen=True)
class ReplicationOutcome:
    """Tidy outcomes of one replication."""

    replication: int
    persons: pd.DataFrame
    person_months: pd.DataFrame
    events: pd.DataFrame
    flows: dict  # report date ISO → {"all": flows, "women": …, "men": …, "groups": {...}, reasons}
    participant_states: pd.DataFrame  # month, arm, share columns
    desks: pd.DataFrame  # project, time, kind, active, capacity, waiting, filled_fte (programme arm)
    staff_months: pd.DataFrame  # month, project, fte: advisers in post (see staff_months())
    sim_events: int


def _persons_table(scenario: Scenario, pop: Population, admitted: np.ndarray, replication: int) -> pd.DataFrame:
    """The ``persons`` table: the population's attributes, participation and admission date."""
    persons = pop.frame(scenario)
    persons.insert(0, "replication", np.int32(replication))
    persons["participant"] = np.isfinite(admitted)
    origin64 = np.datetime64(scenario.simulation.start_date, "s")
    adm = np.where(np.isfinite(admitted), admitted, 0.0)
    persons["admission_date"] = np.where(
        persons["participant"].to_numpy(),
        origin64 + np.round(adm * 86400).astype("timedelta64[s]"),
        np.datetime64("NaT", "s"),
    )
    return persons


def _month_grid(scenario: Scenario, pop: Population) -> tuple[list[dt.date], np.ndarray, np.ndarray, np.ndarray]:
    """Months of the person-month table: their first days, mid-month days (the 15th), first days as
    datetime64, and each person's referral month index."""
    origin = scenario.simulation.start_date
    months = month_starts(origin, scenario.simulation.horizon_date)
    mid_days = np.array([days_since(origin, m) + 14.0 for m in months])
    month_index_of_referral = np.searchsorted(
        np.array([days_since(origin, m) for m in months]), pop.referral_day, side="right"
    ) - 1
    month64 = np.array([np.datetime64(m, "s") for m in months])
    return months, mid_days, month64, month_index_of_referral


def _person_months_table(replication: int, states: dict[str, np.ndarray], who: np.ndarray, first_month: np.ndarray,
                         month64: np.ndarray) -> pd.DataFrame:
    """``person_months`` rows of the persons ``who`` (rows of ``states``' matrices), both arms, from their
    referral month: ordered by arm, person, month."""
    keep = np.arange(month64.size)[None, :] >= first_month[:, None]
    pi, mi = np.nonzero(keep)
    return pd.DataFrame(
        {
            "replication": np.int32(replication),
            "arm": pd.Categorical.from_codes(np.repeat(np.arange(len(ARMS), dtype=np.int8), pi.size), dtype=_ARM_DTYPE),
            "person": np.tile(who[pi].astype(np.int32), len(ARMS)),
            "month": np.tile(month64[mi], len(ARMS)),
            "state": pd.Categorical.from_codes(np.concatenate([states[arm][pi, mi] for arm in ARMS]), dtype=_STATE_DTYPE),
        }
    )


def tidy(
    scenario: Scenario, pop: Population, logs: ReplicationLogs, replication: int
) -> ReplicationOutcome:
    """Turn one replication's event logs into the tidy tables of docs/data_model.md."""
    origin = scenario.simulation.start_date
    n = pop.size
    timeline = Timeline.from_log(logs.programme, n)
    persons = _persons_table(scenario, pop, timeline.admitted, replication)
    origin64 = np.datetime64(origin, "s")
    months, mid_days, month64, month_index_of_referral = _month_grid(scenario, pop)

    arm_logs = (logs.programme, logs.counterfactual)
    matrices = {arm: _state_matrix(log, n, mid_days, STATE_CODE["social_assistance"]) for arm, log in zip(ARMS, arm_logs, strict=True)}
    person_months = _person_months_table(replication, matrices, np.arange(n), month_index_of_referral, month64)

    # Events of both arms, ordered by arm, person and time (stable: the log order within a second).
    arm_code = np.concatenate([np.full(log.person.size, a, dtype=np.int8) for a, log in enumerate(arm_logs)])
    person = np.concatenate([log.person for log in arm_logs])
    when = origin64 + np.concatenate([np.round(log.day * 86400).astype("timedelta64[s]") for log in arm_logs])
    order = np.lexsort((when, person, arm_code))
    events = pd.DataFrame(
        {
            "replication": np.int32(replication),
            "arm": pd.Categorical.from_codes(arm_code[order], dtype=_ARM_DTYPE),
            "person": person[order],
            "time": when[order],
            "event": pd.Categorical.from_codes(np.concatenate([log.event for log in arm_logs])[order], dtype=_EVENT_DTYPE),
            "detail": pd.Categorical.from_codes(np.concatenate([log.detail for log in arm_logs])[order], dtype=_DETAIL_DTYPE),
        }
    )

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

    participant_states = _participant_states(scenario, matrices, np.isfinite(timeline.admitted), months)
    participant_states.insert(0, "replication", replication)
    d = logs.desks
    desks = pd.DataFrame(
        {
            "replication": np.int32(replication),
            "project": pd.Categorical.from_codes(d[:, 1].astype(np.int16), categories=[p.name for p in scenario.projects]),
            "time": origin64 + np.round(d[:, 0] * 86400).astype("timedelta64[s]"),
            "kind": pd.Categorical.from_codes(d[:, 2].astype(np.int8), dtype=_DESK_DTYPE),
            "active": d[:, 3].astype(np.int32),
            "capacity": d[:, 4].astype(np.int32),
            "waiting": d[:, 5].astype(np.int32),
            "filled_fte": d[:, 6],
        }
    )
    staff = staff_months(scenario, d, months, mid_days)
    staff.insert(0, "replication", np.int32(replication))
    return ReplicationOutcome(
        replication,
        persons,
        person_months,
        events,
        flows,
        participant_states,
        desks,
        staff,
        logs.programme.sim_events + logs.counterfactual.sim_events,
    )


@dataclass(frozen=True)
class EconomicTables:
    """What the economics reads of one replication (see :func:`economic_tables`)."""

    persons: pd.DataFrame  # the participants' rows of ``persons``
    person_months: pd.DataFrame  # the participants' rows of ``person_months`` (both arms, same order)
    events: pd.DataFrame  # the money events of ``events``: incentive milestones and referrals (any order)
    staff_months: pd.DataFrame


MONEY_EVENTS = ("incentive_milestone", "referred", "assessment_started")


def economic_tables(scenario: Scenario, pop: Population, logs: ReplicationLogs, replication: int) -> EconomicTables:
    """The rows of the tidy tables that the economics reads, without building the rest (for PSA draws).

    The participants' persons and person-months rows are the same rows, in the same order and with the
    same values, as selecting them from :func:`tidy`'s tables; ``events`` holds only the money events.
    """
    n = pop.size
    origin64 = np.datetime64(scenario.simulation.start_date, "s")
    prog = logs.programme
    admitted = np.full(n, np.inf)
    hit = prog.event == EVENT_CODE["admitted"]
    np.minimum.at(admitted, prog.person[hit], prog.day[hit])
    persons = _persons_table(scenario, pop, admitted, replication)
    who = np.flatnonzero(np.isfinite(admitted))
    months, mid_days, month64, month_index_of_referral = _month_grid(scenario, pop)
    states = {
        arm: _state_matrix(log, n, mid_days, STATE_CODE["social_assistance"], persons=who)
        for arm, log in zip(ARMS, (prog, logs.counterfactual), strict=True)
    }
    person_months = _person_months_table(replication, states, who, month_index_of_referral[who], month64)
    codes = np.array([EVENT_CODE[e] for e in MONEY_EVENTS if e in EVENT_CODE])
    parts = []
    for a, log in enumerate((prog, logs.counterfactual)):
        sel = np.isin(log.event, codes)
        parts.append((np.full(int(sel.sum()), a, dtype=np.int8), log.person[sel], log.day[sel], log.event[sel], log.detail[sel]))
    arm_code, person, day, event, detail = (np.concatenate(c) for c in zip(*parts, strict=True))
    events = pd.DataFrame(
        {
            "replication": np.int32(replication),
            "arm": pd.Categorical.from_codes(arm_code, dtype=_ARM_DTYPE),
            "person": person,
            "time": origin64 + np.round(day * 86400).astype("timedelta64[s]"),
            "event": pd.Categorical.from_codes(event, dtype=_EVENT_DTYPE),
            "detail": pd.Categorical.from_codes(detail, dtype=_DETAIL_DTYPE),
        }
    )
    staff = staff_months(scenario, logs.desks, months, mid_days)
    staff.insert(0, "replication", np.int32(replication))
    return EconomicTables(persons[persons["participant"].to_numpy()], person_months, events, staff)


def staff_months(scenario: Scenario, desks: np.ndarray, months: list[dt.date], mid_days: np.ndarray) -> pd.DataFrame:
    """Adviser FTE in post per project and month (on the 15th), for costing the programme.

    Until intake closes (``referral_end_date``) a project employs its scheduled staff (less vacancies).
    Afterwards it keeps only what its remaining caseload needs: min(staff in post, active participants /
    caseload per adviser). A cohort's programme is costed while it runs, not to the horizon.
    """
    origin = scenario.simulation.start_date
    end_day = days_since(origin, scenario.simulation.referral_end_date)
    caseload = scenario.follow_up.caseload_per_adviser
    names = [p.name for p in scenario.projects]
    n_months = mid_days.size
    fte_all = np.zeros((len(names), n_months))
    for pi in range(len(names)):
        rec = desks[desks[:, 1] == pi]
        if rec.size == 0:
            fte = np.zeros(n_months)
            active = np.zeros(n_months)
        else:
            idx = np.searchsorted(rec[:, 0], mid_days, side="right") - 1
            ok = idx >= 0
            fte = np.where(ok, rec[np.maximum(idx, 0), 6], 0.0)
            active = np.where(ok, rec[np.maximum(idx, 0), 3], 0.0)
        fte_all[pi] = np.where(mid_days > end_day, np.minimum(fte, active / caseload), fte)
    month64 = np.array([np.datetime64(m, "s") for m in months], dtype="datetime64[s]")
    return pd.DataFrame(
        {
            "month": np.tile(month64, len(names)),
            "project": pd.Categorical.from_codes(
                np.repeat(np.arange(len(names)), n_months), categories=names
            ),
            "fte": fte_all.ravel(),
        }
    )


def _participant_states(scenario: Scenario, matrices: dict, participants: np.ndarray, months: list[dt.date]) -> pd.DataFrame:
    """Monthly state shares of the persons admitted in the programme arm, in both arms."""
    first = min(p.intake_start_date for p in scenario.projects)
    start = next(i for i, m in enumerate(months) if (m.year, m.month) >= (first.year, first.month))
    rows = []
    denom = max(int(participants.sum()), 1)
    for arm, mat in matrices.items():
        sub = mat[participants][:, start:]
        counts = np.stack([(sub == k).sum(axis=0) for k in range(len(STATES))], axis=1) / denom
        c = {name: counts[:, k] for k, name in enumerate(STATES)}
        rows.append(
            pd.DataFrame(
                {
                    "month": [m.strftime("%Y-%m") for m in months[start:]],
                    "arm": arm,
                    "in_programme": c["in_programme"],
                    "employed": c["employed_full_time"] + c["employed_part_time"],
                    "employed_full_time": c["employed_full_time"],
                    "education": c["education"],
                    "social_assistance": c["social_assistance"] + c["assessment"] + c["waiting"],
                    "other": c["other"],
                }
            )
        )
    return pd.concat(rows, ignore_index=True)


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
