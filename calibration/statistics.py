"""What the model says about each calibration target, per replication.

Calibration needs only the programme arm up to the report date, so it runs a lean replication: the
population, the engine without the counterfactual arm and with the horizon at the report date, and the
pipeline timeline; no person-month table.
"""

from __future__ import annotations

import dataclasses
import datetime as dt

import numpy as np

from model.engine import simulate
from model.hazards import BROKE_OFF_REASONS, NOT_ADMITTED_REASONS
from model.outcomes import FLOW_KEYS, PROGRAMME_EXIT_FLOWS, Timeline
from model.parameters import ParameterSet
from model.population import Population, days_since, draw_population
from model.rng import Streams
from model.scenario import Scenario

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


__all__ = ["BROKE_OFF_REASONS", "NOT_ADMITTED_REASONS", "replication_statistics", "statistics_from", "truncated"]
