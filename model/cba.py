"""From a scenario and a parameter set to its social cost-benefit results.

This is the one place where the simulator and the economics meet: replications are simulated and tidied
(:mod:`model.runner`), and the participants' person-months, counted by the cells the ledger prices
(:func:`model.outcomes.participant_count_rows`), are handed to the pure economic functions
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

from model.columns import Columns
from model.economics import (
    EconomicPolicy,
    LedgerArrays,
    StateCounts,
    arm_effects,
    evaluate,
    ledger_from_counts,
    perspective_ledger,
    price_counts,
    transfers_net,
)
from model.economics.ledger import CountRows, str_isin
from model.economics.perspectives import evaluation_columns
from model.economics.sums import group_sums, grouped_columns
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
    """An effect ledger averaged over its replications (one pseudo-replication ``label``).

    Sums ``amount_nok`` (NOK) and ``person_years`` over the replications per value of the other
    columns (as :func:`model.economics.sums.groupby_sum` sums) and divides by the number of
    replications; rows sorted by those columns, ``replication`` first.
    """
    e = effects
    n = e["replication"].nunique()
    keys = [c for c in e.columns if c not in ("replication", "amount_nok", "person_years")]
    cols = grouped_columns(e, keys, ["amount_nok", "person_years"])
    for col in ("amount_nok", "person_years"):
        cols[col] = np.asarray(cols[col]) / n
    out = pd.DataFrame(cols)
    out.insert(0, "replication", label)
    out.attrs.update(e.attrs)
    return out


def economic_policy(scenario: Scenario, staff_months: pd.DataFrame) -> EconomicPolicy:
    """The scenario's economic policy, with the advisers in post (mean over replications) as staff.

    Args:
        scenario: the scenario.
        staff_months: ``replication, month, fte`` rows (``month`` as ``datetime64``): adviser FTE in
            post per project and month (:func:`model.outcomes.staff_months`).

    Returns:
        The policy; its staff is the FTE summed per month (as pandas' groupby sums it,
        :func:`model.economics.sums.group_sums`) over the projects and divided by the number of
        replications.
    """
    return _staff_policy(scenario, staff_months["replication"].to_numpy(), staff_months["month"].to_numpy(), staff_months["fte"].to_numpy(float))


def replications_policy(scenario: Scenario, parts: Sequence[ReplicationOutcome | EconomicCounts]) -> EconomicPolicy:
    """:func:`economic_policy` of replications' advisers in post (their ``staff_months`` columns), without
    building the table."""
    staff = Columns.concat([p.columns["staff_months"] for p in parts]).data
    return _staff_policy(scenario, staff["replication"], staff["month"], np.asarray(staff["fte"], dtype=float))


def _staff_policy(scenario: Scenario, replication: np.ndarray, month: np.ndarray, fte: np.ndarray) -> EconomicPolicy:
    """:func:`economic_policy` of the staff rows' columns (``month`` as ``datetime64``)."""
    reps = max(np.unique(replication).size, 1)
    months, total = group_sums(month.view(np.int64), fte)
    index = pd.DatetimeIndex(months.view(month.dtype), name="month").astype("datetime64[s]")
    staff = pd.Series(total / reps, index=index, name="fte")
    return EconomicPolicy.from_scenario(scenario, staff_fte_by_month=staff)


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
    policy, counts, priced = _priced(scenario, params, outcomes)
    ledger = priced.frame()
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
) -> tuple[EconomicPolicy, StateCounts, LedgerArrays]:
    """The policy (advisers in post), the counts and the ledger (both arms, as arrays) of
    replications' counts."""
    counts = CountRows.concat([p.count_rows for p in parts]).counts()
    policy = replications_policy(scenario, parts)
    return policy, counts, price_counts(counts, policy, params)



def _employment(parts: Sequence[ReplicationOutcome | EconomicCounts]) -> pd.DataFrame:
    """The replications' employment rows (replications without participants have none)."""
    return Columns.concat([p.columns["employment"] for p in parts]).frame()


def _participants(employment: pd.DataFrame) -> np.ndarray:
    """Participants per replication (those with participants), from the employment rows."""
    return employment["participants"].to_numpy()[str_isin(employment["arm"], ("programme",))]


def _employment_arrays(parts: Sequence[ReplicationOutcome | EconomicCounts]) -> tuple[np.ndarray, float]:
    """:func:`_participants` of :func:`_employment` and its mean employed person-years per participant
    (programme − counterfactual, :func:`_mean_arm_difference`), from the columns, without the table."""
    emp = Columns.concat([p.columns["employment"] for p in parts])
    arms = emp.categories["arm"]
    code = np.asarray(emp.data["arm"])
    programme = code == arms.index("programme")
    difference = _arm_difference(np.asarray(emp.data["replication"]), code, arms,
                                 np.asarray(emp.data["employed_person_years_per_participant"], dtype=float))
    return np.asarray(emp.data["participants"])[programme], difference


def summary_row(ev: Evaluation, pooled: pd.DataFrame | None = None) -> dict[str, float]:
    """One row of scalar results of a parameter set (its replications pooled), for PSA tables."""
    pooled = ev.pooled() if pooled is None else pooled
    employed = _mean_arm_difference(ev.employment, "employed_person_years_per_participant")
    return _summary_row(pooled, ev.participants, employed, transfers_net(ev.ledger))


def _summary_row(
    pooled: pd.DataFrame | Columns,
    participants: np.ndarray,
    employed_difference: float,
    transfers_net_nok: float,
) -> dict[str, float]:
    """The summary row of a pooled evaluation (one row per perspective; a table or its columns), the participants per
    replication, the mean extra employed person-years per participant (:func:`_mean_arm_difference` of
    the employment rows) and the ledger's :func:`~model.economics.transfers_net` (NOK)."""
    out: dict[str, float] = {}
    if isinstance(pooled, Columns):
        names = pooled.categories["perspective"]
        perspective = [names[code] for code in np.asarray(pooled.data["perspective"]).tolist()]

        def column(name: str) -> np.ndarray:
            return np.asarray(pooled.data[name])
    else:
        perspective = pooled["perspective"]
        if isinstance(perspective.dtype, pd.CategoricalDtype):  # (its tolist() is slow)
            names = perspective.dtype.categories.tolist()
            perspective = [names[code] for code in perspective.array.codes.tolist()]

        def column(name: str) -> np.ndarray:
            return pooled[name].to_numpy()
    row = {name: i for i, name in enumerate(perspective)}
    npv, bcr = column("npv_nok"), column("bcr")
    for p in PERSPECTIVES:
        out[f"{p}_npv_nok"] = float(npv[row[p]])
        out[f"{p}_bcr"] = float(bcr[row[p]])
    for col in ("cost_per_extra_employed_person_year_nok", "net_budget_effect_nok_per_year"):
        out[col] = float(column(col)[row["society"]])
    out["participants"] = float(np.mean(participants))
    out["society_npv_per_participant_nok"] = out["society_npv_nok"] / max(out["participants"], 1.0)
    out["employed_person_years_per_participant"] = float(employed_difference)
    out["society_transfers_net_nok"] = float(transfers_net_nok)
    return out


def _mean_arm_difference(frame: pd.DataFrame, column: str) -> float:
    """Mean over replications of ``column`` (programme − counterfactual), one row per replication and arm.

    The same number as ``frame.pivot_table(index="replication", columns="arm", values=column)`` and the
    mean of the difference of its two columns (replications missing an arm are skipped).
    """
    arm = frame["arm"]
    if isinstance(arm.dtype, pd.CategoricalDtype):
        arm_code, names = arm.array.codes, tuple(arm.dtype.categories)
    else:
        arm_code, uniques = pd.factorize(arm.astype(str))
        names = tuple(uniques)
    return _arm_difference(frame["replication"].to_numpy(), arm_code, names, frame[column].to_numpy(float))


def _arm_difference(rep: np.ndarray, arm_code: np.ndarray, arm_names: Sequence[str], values: np.ndarray) -> float:
    """:func:`_mean_arm_difference` of the columns: replication, arm code (into ``arm_names``; −1 for a
    missing arm) and the values."""
    reps, rep_rank = np.unique(rep, return_inverse=True)
    # One code per (replication, arm) cell; a missing arm is a value of its own.
    cell = rep_rank.reshape(-1) * (int(arm_code.max(initial=-1)) + 2) + arm_code + 1
    if np.unique(cell).size < cell.size:  # several rows per cell: let pandas average them
        arm = pd.Categorical.from_codes(arm_code, categories=list(arm_names))
        frame = pd.DataFrame({"replication": rep, "arm": arm, "value": values})
        emp = frame.pivot_table(index="replication", columns="arm", values="value", observed=True)
        return float((emp["programme"] - emp["counterfactual"]).mean())
    wide = {}
    for name in ("programme", "counterfactual"):
        sel = arm_code == arm_names.index(name) if name in arm_names else np.zeros(arm_code.size, dtype=bool)
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
    draw does not use (the tidy tables, the per-replication evaluation, the flows, the ledger's
    frames: it is priced, differenced, averaged and evaluated as arrays,
    :class:`~model.economics.ledger.LedgerArrays`).

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
    row, columns, attrs = summarize_parameter_columns(scenario, params, seed, replications, label, first)
    pooled = columns.frame()
    pooled.attrs.update(attrs)
    return row, pooled


def summarize_parameter_columns(
    scenario: Scenario, params: ParameterSet, seed: int, replications: int, label: int = 0, first: int = 0
) -> tuple[dict[str, float], Columns, dict]:
    """:func:`summarize_parameters` with the pooled evaluation as columns and the attrs of its table
    (:func:`~model.economics.perspectives.evaluation_columns`): what a PSA worker sends back, joined
    over the draws before one table is built."""
    parts = []
    for r in range(first, first + replications):
        streams = Streams(seed, r)
        pop = draw_population(scenario, params, streams)
        parts.append(economic_counts(scenario, pop, simulate(scenario, params, pop, streams), r))
    rows = CountRows.concat([p.count_rows for p in parts])
    policy = replications_policy(scenario, parts)
    priced = price_counts(rows.count_arrays(), policy, params)
    # mean_effects(arm_effects(ledger), label) and evaluate() of it, on arrays: the same numbers.
    pooled, attrs = evaluation_columns(priced.effects().mean_over_replications(label), policy, params)
    participants, employed = _employment_arrays(parts)
    row = _summary_row(pooled, participants, employed, priced.transfers_net())
    return row, pooled, attrs


__all__ = ["PERSPECTIVES", "Evaluation", "economic_policy", "employment_outcomes", "evaluate_outcomes", "evaluate_parameters", "mean_effects", "perspective_ledger", "replications_policy", "summarize_parameter_columns", "summarize_parameters", "summary_row"]
