"""What the model says about each calibration target, per replication.

Calibration needs only the programme arm up to the report date, so it runs a lean replication: the
population, the engine without the counterfactual arm and with the horizon at the report date, and the
pipeline timeline; no person-month table. :func:`target_statistics` reads any named target at its own
date (grammar: :data:`NAME_GRAMMAR`); it runs the lean replication when every target is a programme-arm
flow and the full replication (both arms, to the horizon, the runner's fast path) when a target needs the
participants' monthly states.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
from collections.abc import Iterable

import numpy as np

from model.engine import D as DETAIL_CODE
from model.engine import E as EVENT_CODE
from model.engine import S as STATE_CODE
from model.engine import EventLog, simulate
from model.hazards import BROKE_OFF_REASONS, NOT_ADMITTED_REASONS
from model.outcomes import FLOW_KEYS, PROGRAMME_EXIT_FLOWS, Timeline, _state_matrix
from model.parameters import ParameterSet
from model.population import Population, days_since, draw_population
from model.rng import Streams
from model.scenario import Scenario
from model.vocabulary import ARMS, STATES

PLANNED_INTAKE = 745.0  # IMDi 4-2007 §2.2: planned intake in the applications for 2005 and 2006


def truncated(scenario: Scenario, report_date: dt.date) -> Scenario:
    """The scenario with its horizon at ``report_date`` (nothing after it is needed for the targets)."""
    sim = dataclasses.replace(scenario.simulation, horizon_date=max(report_date, scenario.simulation.referral_end_date))
    return dataclasses.replace(scenario, simulation=sim)


def statistics_from(scenario: Scenario, pop: Population, timeline: Timeline, report_date: dt.date) -> dict[str, float]:
    """Every target quantity the model produces, on ``report_date`` (end of day)."""
    day = days_since(scenario.simulation.start_date, report_date) + 1.0 - 1e-9
    female = pop.female
    out: dict[str, float] = {}
    flows = timeline.flows(day)
    for k in FLOW_KEYS:
        out[f"flows.{k}"] = flows[k]
    out["flows.under_assessment_or_waiting"] = flows["under_assessment"] + flows["waiting"]
    for sex, mask in (("women", female), ("men", ~female)):
        f = timeline.flows(day, mask)
        for k in FLOW_KEYS:
            out[f"flows_by_sex.{sex}.{k}"] = f[k]
    out["share.referred_women"] = out["flows_by_sex.women.referred"] / max(flows["referred"], 1)
    out["share.active_women"] = out["flows_by_sex.women.active"] / max(flows["active"], 1)
    for k, v in timeline.broke_off_reasons(day).items():
        out[f"broke_off_reasons.{k}"] = v
    for sex, mask in (("women", female), ("men", ~female)):
        for k, v in timeline.broke_off_reasons(day, mask).items():
            out[f"broke_off_reasons_by_sex.{k}.{sex}"] = v
    for k, v in timeline.not_admitted_reasons(day).items():
        out[f"not_admitted_reasons.{k}"] = v
    out["share.turned_down_after_assessment"] = flows["not_admitted"] / max(flows["referred"], 1)
    out["share.admitted_of_planned"] = flows["participants"] / PLANNED_INTAKE
    cp = timeline.contact_persons(day)
    n_part = max(flows["participants"], 1)
    out["contact_persons.one"] = cp["one"] / n_part
    out["contact_persons.two"] = cp["two"] / n_part
    out["contact_persons.three"] = cp["three"] / n_part
    out["contact_persons.more_than_three"] = cp["more_than_three"]

    participants = timeline.admitted <= day
    work = (timeline.exit_day <= day) & (timeline.exit_kind == PROGRAMME_EXIT_FLOWS.index("work_or_education"))
    cohort_2005 = np.array([p.cohort <= 2005 for p in scenario.projects])[pop.project]
    out["work_exits.all_but_two_from_2005_projects"] = _share(cohort_2005, work)
    over8 = pop.schooling == 3
    home2 = pop.work_home >= 2
    children = pop.children_0_5.astype(float) + pop.children_6_10 + pop.children_11_17
    for sex, mask in (("women", female), ("men", ~female)):
        out[f"work_exits.{sex}_over_8_years_schooling"] = _share(over8, work & mask)
        out[f"participants.{sex}_over_8_years_schooling"] = _share(over8, participants & mask)
        out[f"work_exits.{sex}_home_work_over_2_years"] = _share(home2, work & mask)
        out[f"participants.{sex}_home_work_over_2_years"] = _share(home2, participants & mask)
        out[f"work_exits.{sex}_married"] = _share(pop.married, work & mask)
        out[f"work_exits.{sex}_children_under_18"] = float(children[work & mask].sum())
    return out


def _share(attribute: np.ndarray, among: np.ndarray) -> float:
    n = among.sum()
    return float(attribute[among].sum() / n) if n else float("nan")


def replication_statistics(scenario: Scenario, params: ParameterSet, seed: int, replication: int, report_date: dt.date) -> dict[str, float]:
    """Simulate one lean replication (programme arm to ``report_date``) and return the target quantities."""
    scen = truncated(scenario, report_date)
    streams = Streams(seed, replication)
    pop = draw_population(scen, params, streams)
    logs = simulate(scen, params, pop, streams, counterfactual=False)
    timeline = Timeline.from_log(logs.programme, pop.size)
    return statistics_from(scen, pop, timeline, report_date)


# ------------------------------------------------------------------ the target name grammar

_SEXES = ("women", "men")
_CHARACTERISTICS = ("over_8_years_schooling", "home_work_over_2_years")


def flow_statistic_names() -> tuple[str, ...]:
    """Every name :func:`statistics_from` produces, in its order."""
    names = [f"flows.{k}" for k in FLOW_KEYS] + ["flows.under_assessment_or_waiting"]
    names += [f"flows_by_sex.{sex}.{k}" for sex in _SEXES for k in FLOW_KEYS]
    names += ["share.referred_women", "share.active_women"]
    names += [f"broke_off_reasons.{r}" for r in BROKE_OFF_REASONS]
    names += [f"broke_off_reasons_by_sex.{r}.{sex}" for sex in _SEXES for r in BROKE_OFF_REASONS]
    names += [f"not_admitted_reasons.{r}" for r in NOT_ADMITTED_REASONS]
    names += ["share.turned_down_after_assessment", "share.admitted_of_planned"]
    names += [f"contact_persons.{k}" for k in ("one", "two", "three", "more_than_three")]
    names += ["work_exits.all_but_two_from_2005_projects"]
    for sex in _SEXES:
        names += [f"work_exits.{sex}_over_8_years_schooling", f"participants.{sex}_over_8_years_schooling"]
        names += [f"work_exits.{sex}_home_work_over_2_years", f"participants.{sex}_home_work_over_2_years"]
        names += [f"work_exits.{sex}_married", f"work_exits.{sex}_children_under_18"]
    return tuple(names)


FLOW_NAMES = frozenset(flow_statistic_names())
# States of the participants' monthly shares: the vocabulary's, with social_assistance as in summary.json
# (on assistance, under assessment or waiting), and two unions.
PARTICIPANT_STATES = (*STATES, "employed", "work_or_education")
_STATE_CODES = {
    **{name: (STATE_CODE[name],) for name in STATES},
    "social_assistance": (STATE_CODE["social_assistance"], STATE_CODE["assessment"], STATE_CODE["waiting"]),
    "employed": (STATE_CODE["employed_full_time"], STATE_CODE["employed_part_time"]),
    "work_or_education": (STATE_CODE["employed_full_time"], STATE_CODE["employed_part_time"], STATE_CODE["education"]),
}
LEAVERS = ("leavers.work_or_education",)
NAME_GRAMMAR = (
    "flows.<key>, flows_by_sex.<women|men>.<key>, flows_by_group.<group>.<key>, share.*, broke_off_reasons*, "
    "not_admitted_reasons.*, contact_persons.*, work_exits.*, participants.* (see `calibration.statistics.FLOW_NAMES`), "
    "participant_states.<programme|counterfactual>.<YYYY-MM>.<state>, effect.<YYYY-MM>.<state>, leavers.work_or_education; "
    f"<key> one of {', '.join(FLOW_KEYS)}; <state> one of {', '.join(PARTICIPANT_STATES)}"
)
_MONTH = re.compile(r"^(\d{4})-(\d{2})$")


def name_kind(name: str) -> str | None:
    """What a target name reads: ``flow``, ``group``, ``states``, ``effect``, ``leavers`` (None: not a name
    of the grammar; the group and month are checked by :func:`parse_name`)."""
    if name in FLOW_NAMES:
        return "flow"
    parts = name.split(".")
    if parts[0] == "flows_by_group" and len(parts) == 3 and parts[2] in FLOW_KEYS:
        return "group"
    if parts[0] == "participant_states" and len(parts) == 4 and parts[1] in ARMS and _MONTH.match(parts[2]) and parts[3] in PARTICIPANT_STATES:
        return "states"
    if parts[0] == "effect" and len(parts) == 3 and _MONTH.match(parts[1]) and parts[2] in PARTICIPANT_STATES:
        return "effect"
    if name in LEAVERS:
        return "leavers"
    return None


def _month(text: str) -> dt.date | None:
    m = _MONTH.match(text)
    if not m or not 1 <= int(m.group(2)) <= 12:
        return None
    return dt.date(int(m.group(1)), int(m.group(2)), 1)


def group_names(scenario: Scenario) -> list[str]:
    """The group keys of ``flows_by_group`` (as summary.json names them)."""
    return [g.name for p in scenario.projects for g in p.groups]


def parse_name(name: str, scenario: Scenario | None = None) -> str | None:
    """Why ``name`` is not a target the model can produce (None if it is); with the scenario, also its
    group and month."""
    kind = name_kind(name)
    if kind is None:
        return "a target name of the grammar"
    parts = name.split(".")
    if kind in ("states", "effect"):
        month = _month(parts[-2])
        if month is None:
            return "a month YYYY-MM with a month 01-12"
        if scenario is not None:
            first = min(p.intake_start_date for p in scenario.projects).replace(day=1)
            if not first <= month <= scenario.simulation.horizon_date:
                return f"a month from the first intake {first:%Y-%m} to the horizon {scenario.simulation.horizon_date:%Y-%m}"
    if kind == "group" and scenario is not None:
        groups = group_names(scenario)
        if parts[1] not in groups:
            return f"a group of the scenario ({', '.join(groups) or 'it has none'})"
    return None


# ------------------------------------------------------------------ any target, at its own date


def _end_of(scenario: Scenario, date: dt.date) -> float:
    return days_since(scenario.simulation.start_date, date) + 1.0 - 1e-9


def _leavers_at_work(scenario: Scenario, log: EventLog, timeline: Timeline, start: dt.date, end: dt.date) -> float:
    """Among those who ended the programme in [start, end], the share in work or education at exit."""
    lo = days_since(scenario.simulation.start_date, start)
    left = (timeline.exit_day >= lo) & (timeline.exit_day <= _end_of(scenario, end))
    n = int(left.sum())
    if not n:
        return float("nan")
    good = timeline.exit_kind == PROGRAMME_EXIT_FLOWS.index("work_or_education")
    done = (log.event == EVENT_CODE["completed"]) & np.isin(log.detail, [DETAIL_CODE["work"], DETAIL_CODE["education"]])
    completed_well = np.zeros(timeline.exit_day.size, dtype=bool)
    completed_well[log.person[done]] = True
    good |= (timeline.exit_kind == PROGRAMME_EXIT_FLOWS.index("completed")) & completed_well
    return float((good & left).sum() / n)


def _state_shares(scenario: Scenario, logs, n: int, who: np.ndarray, months: list[dt.date]) -> dict[tuple[str, dt.date], dict[str, float]]:
    """Per (arm, month), the participants' share in every state of :data:`PARTICIPANT_STATES` on the
    15th (the person-month convention)."""
    mid = np.array([days_since(scenario.simulation.start_date, m) + 14.0 for m in months])
    order = np.argsort(mid, kind="stable")
    denom = max(who.size, 1)
    out = {}
    for arm, log in zip(ARMS, (logs.programme, logs.counterfactual), strict=True):
        mat = _state_matrix(log, n, mid[order], STATE_CODE["social_assistance"], persons=who)
        for j, k in enumerate(order):
            counts = np.bincount(mat[:, j].astype(np.int64), minlength=len(STATES))
            out[(arm, months[k])] = {s: float(sum(counts[c] for c in codes) / denom) for s, codes in _STATE_CODES.items()}
    return out


def target_statistics(scenario: Scenario, params: ParameterSet, seed: int, replication: int, targets: Iterable) -> dict[str, float]:
    """The value of every named target in one replication, each read at its own ``date``.

    Args:
        scenario: the scenario.
        params: the parameters.
        seed, replication: the replication's seeds (:class:`model.rng.Streams`).
        targets: :class:`calibration.targets.Target` objects (or a ``TargetSet``) with names of
            :data:`NAME_GRAMMAR`.

    Returns:
        ``{name: value}`` (NaN where the statistic is undefined, e.g. a share of nobody). Programme-arm
        flows only: the lean replication to the last date, the same numbers as
        :func:`replication_statistics` at that date; otherwise the full replication of both arms.

    Raises:
        ValueError: a name outside the grammar (check files with :func:`calibration.targets.check_names`).
    """
    targets = list(getattr(targets, "targets", targets))
    kinds = {t.name: name_kind(t.name) for t in targets}
    bad = [n for n, k in kinds.items() if k is None]
    if bad:
        raise ValueError(f"not target names of the grammar: {bad}")
    full = any(k in ("states", "effect") for k in kinds.values())
    last = max(t.date for t in targets)
    scen = scenario if full else truncated(scenario, last)
    streams = Streams(seed, replication)
    pop = draw_population(scen, params, streams)
    logs = simulate(scen, params, pop, streams, counterfactual=full)
    timeline = Timeline.from_log(logs.programme, pop.size)
    out: dict[str, float] = {}
    by_date: dict[dt.date, dict[str, float]] = {}
    group_of = {g.name: (pi, gi) for pi, p in enumerate(scen.projects) for gi, g in enumerate(p.groups)}
    shares = {}
    if full:
        months = sorted({_month(t.name.split(".")[-2]) for t in targets if kinds[t.name] in ("states", "effect")})
        who = np.flatnonzero(np.isfinite(timeline.admitted))
        shares = _state_shares(scen, logs, pop.size, who, months)
    for t in targets:
        kind = kinds[t.name]
        if kind == "flow":
            if t.date not in by_date:
                by_date[t.date] = statistics_from(scen, pop, timeline, t.date)
            out[t.name] = by_date[t.date][t.name]
        elif kind == "group":
            _, group, key = t.name.split(".")
            pi, gi = group_of[group]
            out[t.name] = float(timeline.flows(_end_of(scen, t.date), (pop.project == pi) & (pop.group == gi))[key])
        elif kind == "states":
            _, arm, month, state = t.name.split(".")
            out[t.name] = shares[(arm, _month(month))][state]
        elif kind == "effect":
            _, month, state = t.name.split(".")
            m = _month(month)
            out[t.name] = shares[("programme", m)][state] - shares[("counterfactual", m)][state]
        else:
            out[t.name] = _leavers_at_work(scen, logs.programme, timeline, t.window_start or scen.simulation.start_date, t.date)
    return out


__all__ = [
    "BROKE_OFF_REASONS",
    "FLOW_NAMES",
    "NAME_GRAMMAR",
    "NOT_ADMITTED_REASONS",
    "PARTICIPANT_STATES",
    "flow_statistic_names",
    "name_kind",
    "parse_name",
    "replication_statistics",
    "statistics_from",
    "target_statistics",
    "truncated",
]
