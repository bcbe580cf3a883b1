"""From a scenario and a parameter set to its social cost-benefit results.

This is the one place where the simulator and the economics meet: replications are simulated and tidied
(:mod:`model.runner`), and the participants' person-months, counted by the cells the ledger prices
(:func:`model.outcomes.participant_counts`), are handed to the pure economic functions
(:mod:`model.economics`). The economics never runs the simulator.

The analysis population is the persons admitted to the programme (the participants), followed in both arms;
every referred person's assessment is costed. Persons who were not admitted are assumed unaffected by the
programme: their paths after rejection are not a programme effect (a conservative choice: it ignores any
activation effect of referral).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from model.economics import (
    EconomicPolicy,
    StateCounts,
    arm_effects,
    evaluate,
    ledger_from_counts,
    perspective_ledger,
    transfers_net,
)
from model.economics.ledger import groupby_sum
from model.engine import simulate
from model.outcomes import EconomicCounts, ReplicationOutcome, economic_counts
from model.parameters import ParameterSet
from model.population import draw_population
from model.rng import Streams
from model.runner import run_replication
from model.scenario import Scenario

PERSPECTIVES = ("society", "state", "municipality", "participant")


@dataclass
class Evaluation:
    """Economic and employment results of one parameter set, over its replications."""

    evaluation: pd.DataFrame  # replication × perspective rows (model.economics.evaluate)
    effects: pd.DataFrame  # programme − counterfactual ledger
    ledger: pd.DataFrame  # both arms
    policy: EconomicPolicy
    params: ParameterSet
    participants: np.ndarray  # per replication
    employment: pd.DataFrame  # per replication: employment outcomes in both arms and their difference
    counts: StateCounts | None  # what the ledger prices (None: dropped to save memory; no reprice)
    flows: pd.DataFrame  # per replication: the table-3 flows at the report date

    def reprice(self, params: ParameterSet) -> Evaluation:
        """The same simulated persons priced with other economic parameters (no re-simulation).

        Valid only for parameters the engine does not read (the economics registry).

        Raises:
            ValueError: the counts were dropped (``counts`` is None).
        """
        if self.counts is None:
            raise ValueError("this evaluation's counts were dropped: it cannot be re-priced")
        ledger = ledger_from_counts(self.counts, self.policy, params)
        effects = arm_effects(ledger)
        return Evaluation(
            evaluation=evaluate(effects, self.policy, params),
            effects=effects,
            ledger=ledger,
            policy=self.policy,
            params=params,
            participants=self.participants,
            employment=self.employment,
            counts=self.counts,
            flows=self.flows,
        )

    def npv(self, perspective: str = "society") -> np.ndarray:
        """NPV per replication for one perspective (NOK)."""
        ev = self.evaluation
        return ev.loc[ev["perspective"] == perspective, "npv_nok"].to_numpy()

    def mean_effects(self, label: int = 0) -> pd.DataFrame:
        """The effect ledger averaged over the replications (one pseudo-replication ``label``)."""
        return mean_effects(self.effects, label)

    def pooled(self, label: int = 0) -> pd.DataFrame:
        """Results of the replications' mean effects: one row per perspective (``replication`` = label).

        NPVs equal the mean of the replications' NPVs; ratios (BCR) and the payback year are those of
        the mean flows, which is what a draw's result means in the PSA.
        """
        return evaluate(self.mean_effects(label), self.policy, self.params)


def mean_effects(effects: pd.DataFrame, label: int = 0) -> pd.DataFrame:
    """An effect ledger averaged over its replications (one pseudo-replication ``label``)."""
    e = effects
    n = e["replication"].nunique()
    keys = [c for c in e.columns if c not in ("replication", "amount_nok", "person_years")]
    out = groupby_sum(e, keys, ["amount_nok", "person_years"])
    for col in ("amount_nok", "person_years"):
        out[col] = out[col].to_numpy() / n
    out.insert(0, "replication", label)
    out.attrs.update(e.attrs)
    return out


def economic_policy(scenario: Scenario, staff_months: pd.DataFrame) -> EconomicPolicy:
    """The scenario's economic policy, with the advisers in post (mean over replications) as the staff."""
    reps = max(int(staff_months["replication"].nunique()), 1)
    fte = staff_months.groupby("month", observed=True)["fte"].sum() / reps
    fte.index = pd.DatetimeIndex(fte.index).astype("datetime64[s]")
    return EconomicPolicy.from_scenario(scenario, staff_fte_by_month=fte)


def _month_number(values: pd.Series) -> np.ndarray:
    d = pd.DatetimeIndex(values)
    return (d.year * 12 + d.month - 1).to_numpy()


def employment_outcomes(scenario: Scenario, persons: pd.DataFrame, person_months: pd.DataFrame) -> pd.DataFrame:
    """Employment of the participants in both arms, per replication.

    Columns: replication, arm, participants, employed_person_years, employed_person_years_per_participant,
    and ``share_employed_1y``, ``_2y``, ``_5y``: the share employed 12, 24 and 60 months after programme
    start, among the participants whose date falls within the horizon (NaN if none does).
    """
    part = persons.loc[persons["participant"], ["replication", "person", "admission_date"]]
    pm = person_months.merge(part, on=["replication", "person"], how="inner")
    employed = pm["state"].isin(["employed_full_time", "employed_part_time"]).to_numpy()
    months_since = _month_number(pm["month"]) - _month_number(pm["admission_date"])
    keys = pm[["replication", "arm"]].assign(employed=employed)
    out = (keys.groupby(["replication", "arm"], observed=True)["employed"].sum() / 12.0).rename("employed_person_years").reset_index()
    n = part.groupby("replication").size()
    out["participants"] = out["replication"].map(n).to_numpy()
    out["employed_person_years_per_participant"] = out["employed_person_years"] / out["participants"]
    for years in (1, 2, 5):
        at = keys[months_since == 12 * years]
        share = at.groupby(["replication", "arm"], observed=True)["employed"].mean()
        out[f"share_employed_{years}y"] = share.reindex(pd.MultiIndex.from_frame(out[["replication", "arm"]])).to_numpy()
    return out


def evaluate_parameters(scenario: Scenario, params: ParameterSet, seed: int, replications: int, first: int = 0) -> Evaluation:
    """Simulate ``replications`` replications and evaluate them economically.

    Args:
        scenario: the scenario.
        params: one parameter set (a point or a PSA draw).
        seed: root seed; replications ``first … first + replications − 1`` (common random numbers).
        replications: inner replications.
        first: index of the first replication.
    """
    outcomes = [run_replication(scenario, params, seed, r, tables=False) for r in range(first, first + replications)]
    return evaluate_outcomes(scenario, params, outcomes)


def evaluate_outcomes(scenario: Scenario, params: ParameterSet, outcomes: Sequence[ReplicationOutcome]) -> Evaluation:
    """Evaluate already simulated replications economically (what :func:`evaluate_parameters` does after
    simulating).

    Lets a caller that also needs the run's other tables (flows, state shares, desks; e.g.
    :func:`model.runner.summarize` of a :class:`~model.runner.RunResult`) simulate once. Prices the
    replications' counts (``ReplicationOutcome.counts``): the same numbers as pricing their tables
    (:func:`model.economics.build_ledger` of the participants' rows, :func:`employment_outcomes`).

    Args:
        scenario: the scenario the outcomes were simulated from.
        params: the parameter set they were simulated with (and that prices them).
        outcomes: the replications' tidy outcomes (``RunResult.outcomes``), at least one.
    """
    if not outcomes:
        raise ValueError("evaluate_outcomes needs at least one replication")
    policy, counts, ledger = _priced(scenario, params, outcomes)
    effects = arm_effects(ledger)
    employment = _employment(outcomes)
    report = scenario.report_date.isoformat()
    flows = pd.DataFrame([{"replication": o.replication, **o.flows[report]["all"]} for o in outcomes])
    return Evaluation(
        evaluation=evaluate(effects, policy, params),
        effects=effects,
        ledger=ledger,
        policy=policy,
        params=params,
        participants=_participants(employment),
        employment=employment,
        counts=counts,
        flows=flows,
    )


def _priced(
    scenario: Scenario, params: ParameterSet, parts: Sequence[ReplicationOutcome | EconomicCounts]
) -> tuple[EconomicPolicy, StateCounts, pd.DataFrame]:
    """The policy (advisers in post), the counts and the ledger (both arms) of replications' counts."""
    counts = StateCounts.concat([p.counts for p in parts])
    policy = economic_policy(scenario, pd.concat([p.staff_months for p in parts], ignore_index=True))
    return policy, counts, ledger_from_counts(counts, policy, params)


def _employment(parts: Sequence[ReplicationOutcome | EconomicCounts]) -> pd.DataFrame:
    """The replications' employment rows (replications without participants have none)."""
    return pd.concat([p.employment for p in parts if len(p.employment)], ignore_index=True)


def _participants(employment: pd.DataFrame) -> np.ndarray:
    """Participants per replication (those with participants), from the employment rows."""
    return employment.loc[(employment["arm"] == "programme").to_numpy(), "participants"].to_numpy()


def summary_row(ev: Evaluation, pooled: pd.DataFrame | None = None) -> dict[str, float]:
    """One row of scalar results of a parameter set (its replications pooled), for PSA tables."""
    pooled = ev.pooled() if pooled is None else pooled
    return _summary_row(pooled, ev.participants, ev.employment, ev.ledger)


def _summary_row(pooled: pd.DataFrame, participants: np.ndarray, employment: pd.DataFrame, ledger: pd.DataFrame) -> dict[str, float]:
    out: dict[str, float] = {}
    by = pooled.set_index("perspective")
    for p in PERSPECTIVES:
        out[f"{p}_npv_nok"] = float(by.loc[p, "npv_nok"])
        out[f"{p}_bcr"] = float(by.loc[p, "bcr"])
    out["cost_per_extra_employed_person_year_nok"] = float(by.loc["society", "cost_per_extra_employed_person_year_nok"])
    out["net_budget_effect_nok_per_year"] = float(by.loc["society", "net_budget_effect_nok_per_year"])
    out["participants"] = float(np.mean(participants))
    out["society_npv_per_participant_nok"] = out["society_npv_nok"] / max(out["participants"], 1.0)
    out["employed_person_years_per_participant"] = _mean_arm_difference(employment, "employed_person_years_per_participant")
    out["society_transfers_net_nok"] = float(transfers_net(ledger))
    return out


def _mean_arm_difference(frame: pd.DataFrame, column: str) -> float:
    """Mean over replications of ``column`` (programme − counterfactual), one row per replication and arm.

    The same number as ``frame.pivot_table(index="replication", columns="arm", values=column)`` and the
    mean of the difference of its two columns (replications missing an arm are skipped).
    """
    rep = frame["replication"].to_numpy()
    arm = frame["arm"].astype(str).to_numpy()
    keys = pd.MultiIndex.from_arrays([rep, arm])
    if keys.has_duplicates:  # several rows per cell: let pandas average them
        emp = frame.pivot_table(index="replication", columns="arm", values=column, observed=True)
        return float((emp["programme"] - emp["counterfactual"]).mean())
    reps = np.unique(rep)
    values = frame[column].to_numpy(float)
    wide = {}
    for name in ("programme", "counterfactual"):
        sel = arm == name
        col = np.full(reps.size, np.nan)
        col[np.searchsorted(reps, rep[sel])] = values[sel]
        wide[name] = col
    diff = wide["programme"] - wide["counterfactual"]
    ok = ~np.isnan(diff)
    if not ok.any():
        return float("nan")
    diff[~ok] = 0.0
    return float(diff.sum() / ok.sum())


def summarize_parameters(
    scenario: Scenario, params: ParameterSet, seed: int, replications: int, label: int = 0, first: int = 0
) -> tuple[dict[str, float], pd.DataFrame]:
    """The PSA result of one parameter set: ``(summary_row(ev, pooled), pooled)`` for
    ``ev = evaluate_parameters(...)`` and ``pooled = ev.pooled(label)``, computed without the parts a PSA
    draw does not use (the tidy tables, the per-replication evaluation, the flows).

    Args:
        scenario: the scenario.
        params: one parameter set (a PSA draw).
        seed: root seed; replications ``first … first + replications − 1`` (common random numbers).
        replications: inner replications.
        label: the ``replication`` label of the pooled evaluation rows (e.g. the draw index).
        first: index of the first replication.

    Returns:
        The summary row (:func:`summary_row`) and the pooled evaluation (:meth:`Evaluation.pooled`).
    """
    parts = []
    for r in range(first, first + replications):
        streams = Streams(seed, r)
        pop = draw_population(scenario, params, streams)
        parts.append(economic_counts(scenario, pop, simulate(scenario, params, pop, streams), r))
    policy, _, ledger = _priced(scenario, params, parts)
    pooled = evaluate(mean_effects(arm_effects(ledger), label), policy, params)
    employment = _employment(parts)
    return _summary_row(pooled, _participants(employment), employment, ledger), pooled


__all__ = ["PERSPECTIVES", "Evaluation", "economic_policy", "employment_outcomes", "evaluate_outcomes", "evaluate_parameters", "mean_effects", "perspective_ledger", "summarize_parameters", "summary_row"]
