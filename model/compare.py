"""Comparing scenarios with common random numbers: differences with intervals, and a ΔNPV waterfall.

Every scenario is run with the same seed and replication indices, so the same persons are referred at the
same times with the same draws wherever the scenarios agree; a difference per replication is then the
policy's effect plus little noise, and its 90 % interval is over replications.

The waterfall splits the society ΔNPV (each scenario vs the first) by mechanism. Each ledger line's
contribution to the society NPV is its real-resource value plus its share of the tax financing cost
(20 % of its effect on public budgets), so the lines add up to the society NPV exactly. Employment lines are
split between *more or fewer exits to work* (the Shapley part of job starts in employed person-years = job
starts × years per start, valued at the reference scenario's society value per extra employed person-year)
and *retention in work* (the rest of the employment lines).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import Executor
from dataclasses import dataclass

import numpy as np
import pandas as pd

from model.cba import PERSPECTIVES, Evaluation, evaluate_parameters
from model.economics import perspective_ledger
from model.outcomes import FLOW_KEYS
from model.parameters import ParameterSet
from model.runner import scenario_parameters
from model.scenario import Scenario
from model.uncertainty import calibration_draws, run_draws, sample_parameters, stats

MECHANISMS = {
    "production": "employment",
    "wages": "employment",
    "employer_contributions": "employment",
    "income_tax_state": "employment",
    "income_tax_municipality": "employment",
    "childcare_employed": "employment",
    "childcare_fee_employed": "employment",
    "project_staff": "staff cost",
    "assessment": "staff cost",
    "social_office_follow_up": "staff cost",
    "stipend": "stipend vs social assistance",
    "social_assistance": "stipend vs social assistance",
    "supplementary_social_assistance": "stipend vs social assistance",
    "student_support": "stipend vs social assistance",
    "incentive_payments": "incentive payments",
    "courses_and_measures": "courses, measures and childcare in the programme",
    "nav_measures": "courses, measures and childcare in the programme",
    "childcare_programme": "courses, measures and childcare in the programme",
    "childcare_fee_programme": "courses, measures and childcare in the programme",
    "state_project_grant": "courses, measures and childcare in the programme",
}
WATERFALL_ORDER = (
    "more or fewer exits to work",
    "retention in work",
    "staff cost",
    "stipend vs social assistance",
    "incentive payments",
    "courses, measures and childcare in the programme",
    "other",
)
# The registry parameter each lever's answer rests on most (shown at its 5th and 95th percentile).
KEY_ASSUMPTIONS = {
    "programme.length_months": ("participation.work_hr_after_24_months", "completion.p_work"),
    "follow_up.caseload_per_adviser": ("follow_up.work_elasticity", "follow_up.breakoff_elasticity"),
    "stipend.level": ("stipend.breakoff_elasticity", "stipend.social_assistance_level_relative_to_2g"),
    "stipend.g_multiple_per_year": ("stipend.breakoff_elasticity",),
    "stipend.under_25_fraction": ("stipend.breakoff_elasticity", "population.share_under_25"),
    "stipend.absence_deduction": ("stipend.strict_absence_invalid_absence_hr", "stipend.strict_absence_breakoff_hr"),
    "stipend.income_offset": ("stipend.breakoff_elasticity",),
}


@dataclass
class ScenarioRun:
    """One scenario's replications, evaluated."""

    scenario: Scenario
    params: ParameterSet
    evaluation: Evaluation


def _society_by_line(ev: Evaluation) -> pd.Series:
    """Each line's contribution to the society NPV (real value + its share of the tax financing cost)."""
    pl = perspective_ledger(ev.mean_effects(), ev.policy, ev.params)
    share = ev.params.v("cba.tax_financing_cost_share")
    society = pl[(pl["perspective"] == "society") & (pl["flow"] != "tax_financing_cost")]
    public = pl[pl["perspective"] == "public"]
    real = society.groupby("flow", observed=True)["pv_nok"].sum()
    mcpf = share * public.groupby("flow", observed=True)["pv_nok"].sum()
    return real.add(mcpf, fill_value=0.0)


def waterfall(a: ScenarioRun, b: ScenarioRun) -> list[dict]:
    """Society ΔNPV (b − a) by mechanism; the items sum to the difference of the pooled society NPVs."""
    la, lb = _society_by_line(a.evaluation), _society_by_line(b.evaluation)
    delta = lb.sub(la, fill_value=0.0)
    by_mech: dict[str, float] = dict.fromkeys(WATERFALL_ORDER, 0.0)
    employment = 0.0
    for line, value in delta.items():
        mech = MECHANISMS.get(str(line), "other")
        if mech == "employment":
            employment += float(value)
        else:
            by_mech[mech] += float(value)
    # Split the employment lines: the Shapley part of job starts (ΔN × mean years per start), valued at the
    # reference scenario's society value per extra employed person-year; retention takes the rest, so the
    # items add up exactly and stay finite when the employed person-years barely differ.
    n_a, d_a = _jobs(a.evaluation)
    n_b, d_b = _jobs(b.evaluation)
    entries = _value_per_employed_year(a, la) * (n_b - n_a) * (d_a + d_b) / 2
    by_mech["more or fewer exits to work"] = entries
    by_mech["retention in work"] = employment - entries
    return [{"mechanism": k, "nok": float(v)} for k, v in by_mech.items()]


def _value_per_employed_year(run: ScenarioRun, lines: pd.Series) -> float:
    """Society value of the employment lines per extra employed person-year (programme − counterfactual)."""
    emp = run.evaluation.employment.groupby("arm", observed=True)["employed_person_years"].mean()
    extra = float(emp.get("programme", 0.0) - emp.get("counterfactual", 0.0))
    value = float(sum(v for line, v in lines.items() if MECHANISMS.get(str(line)) == "employment"))
    return value / extra if abs(extra) > 1e-9 else 0.0


def _jobs(ev: Evaluation) -> tuple[float, float]:
    """Programme-arm job starts of the participants and employed years per start (means over replications)."""
    emp = ev.employment[ev.employment["arm"] == "programme"]
    starts = float(emp["job_starts"].mean())
    years = float(emp["employed_person_years"].mean())
    return starts, (years / starts if starts > 0 else 0.0)


def _per_replication(run: ScenarioRun) -> pd.DataFrame:
    ev = run.evaluation
    e = ev.evaluation
    out = pd.DataFrame({"replication": np.unique(e["replication"])})
    for p in PERSPECTIVES:
        out[f"{p}_npv_nok"] = e.loc[e["perspective"] == p, "npv_nok"].to_numpy()
    prog = ev.employment[ev.employment["arm"] == "programme"].set_index("replication")
    for col in ("employed_person_years_per_participant", "share_employed_1y", "share_employed_2y", "share_employed_5y"):
        out[col] = prog[col].reindex(out["replication"]).to_numpy()
    flows = ev.flows.set_index("replication")
    for k in FLOW_KEYS:
        out[f"flow_{k}"] = flows[k].reindex(out["replication"]).to_numpy()
    return out


def _differences(a: ScenarioRun, b: ScenarioRun) -> dict:
    ra, rb = _per_replication(a), _per_replication(b)
    d = rb.drop(columns="replication") - ra.drop(columns="replication")
    out = {
        "employed_person_years_per_participant": stats(d["employed_person_years_per_participant"]),
        **{f"{p}_npv_nok": stats(d[f"{p}_npv_nok"]) for p in PERSPECTIVES},
        "share_employed_1y": stats(d["share_employed_1y"]),
        "share_employed_2y": stats(d["share_employed_2y"]),
        "share_employed_5y": stats(d["share_employed_5y"]),
        "flows": {k: stats(d[f"flow_{k}"]) for k in FLOW_KEYS},
    }
    return out


def _levels(run: ScenarioRun) -> dict:
    r = _per_replication(run)
    return {
        "employed_person_years_per_participant": stats(r["employed_person_years_per_participant"]),
        "share_employed_1y": stats(r["share_employed_1y"]),
        "share_employed_2y": stats(r["share_employed_2y"]),
        "share_employed_5y": stats(r["share_employed_5y"]),
        **{f"{p}_npv_nok": stats(r[f"{p}_npv_nok"]) for p in PERSPECTIVES},
        "participants": stats(r["flow_participants"]),
        "counterfactual_employed_person_years_per_participant": stats(
            run.evaluation.employment.loc[run.evaluation.employment["arm"] == "counterfactual", "employed_person_years_per_participant"]
        ),
    }


def _run_one(args: tuple) -> ScenarioRun:
    scenario, params, seed, replications = args
    return ScenarioRun(scenario, params, evaluate_parameters(scenario, params, seed, replications))


def run_all(
    scenarios: Sequence[Scenario],
    seed: int,
    replications: int,
    executor: Executor | None = None,
    params: Sequence[ParameterSet] | None = None,
) -> list[ScenarioRun]:
    """Evaluate every scenario with the same seed and replications (common random numbers)."""
    params = params or [scenario_parameters(s) for s in scenarios]
    args = [(s, p, seed, replications) for s, p in zip(scenarios, params, strict=True)]
    return list(executor.map(_run_one, args)) if executor is not None else [_run_one(a) for a in args]


def changed_levers(a: Scenario, b: Scenario) -> list[str]:
    """Which policy levers differ between two scenarios."""
    out = []
    if a.programme.length_months != b.programme.length_months:
        out.append("programme.length_months")
    if a.follow_up != b.follow_up:
        out.append("follow_up.caseload_per_adviser")
    for key in ("level", "g_multiple_per_year", "under_25_fraction", "absence_deduction", "income_offset"):
        if getattr(a.stipend, key) != getattr(b.stipend, key):
            out.append(f"stipend.{key}")
    return out


def compare(
    scenarios: Sequence[Scenario],
    seed: int,
    replications: int,
    executor: Executor | None = None,
    sensitivity: bool = True,
    progress: Callable[[str], None] | None = None,
    voi_draws: int = 0,
) -> dict:
    """Compare scenarios (each after the first against the first). Returns the ``compare.json`` document.

    With ``voi_draws`` > 0 the document also holds ``value_of_information``: per scenario after the first,
    the EVPI and EVPPI of the choice between it and the first (:func:`decision_value`).

    With ``sensitivity``, for each lever that differs, the comparison is repeated with the key assumption
    behind that lever at its 5th and 95th percentile (``rests_on``), so the answer shows how much it
    depends on what the data cannot tell (e.g. the exit hazard after month 24 for a longer programme).
    """
    say = progress or (lambda _m: None)
    say(f"running {len(scenarios)} scenarios x {replications} replications")
    runs = run_all(scenarios, seed, replications, executor)
    doc = compare_runs(runs, seed, replications)
    base = runs[0]
    for run in runs[1:]:
        if sensitivity:
            doc["rests_on"][run.scenario.name] = _rests_on(base, run, seed, replications, executor, say)
    if voi_draws > 0:
        say(f"value of information: {len(scenarios)} scenarios x {voi_draws} parameter draws")
        doc["value_of_information"] = decision_value(scenarios, seed, voi_draws, executor)
    return doc


def decision_value(scenarios: Sequence[Scenario], seed: int, draws: int, executor: Executor | None = None) -> dict:
    """The value of information of choosing between the first scenario and each other one.

    Every scenario gets a PSA of ``draws`` parameter draws × 1 replication (:func:`model.uncertainty.run_draws`)
    with the same seed, so the draws are paired: the same parameter values (parameters the scenarios share
    and draw alike) and the same persons. The decision "A or B" has the incremental net benefit
    NPV(B) − NPV(A) per draw, and its EVPI and EVPPI (:func:`model.voi.value_of_information`, Strong–Oakley–Brennan
    regression) are computed on it, regressed on the parameters whose draws the two scenarios share.

    Returns:
        ``{scenario name: value_of_information(...) of B − A}`` for each scenario after the first.
    """
    from model.voi import value_of_information

    psas = []
    for scen in scenarios:
        params = scenario_parameters(scen)
        sample = sample_parameters(params, draws, seed, calibration_draws(scen))
        summary = run_draws(scen, params, sample.to_dict(orient="records"), seed, 1, executor).summary
        psas.append((params, sample, summary))
    (_, sample_a, summary_a), out = psas[0], {}
    for scen, (params, sample_b, summary_b) in zip(scenarios[1:], psas[1:], strict=True):
        shared = [c for c in sample_a.columns if c in sample_b.columns and np.array_equal(sample_a[c].to_numpy(), sample_b[c].to_numpy())]
        npv = [c for c in summary_b.columns if c.endswith("_npv_nok")]
        out[scen.name] = value_of_information(sample_b[shared], summary_b[npv] - summary_a[npv], scen, params)
    return out


def compare_runs(runs: Sequence[ScenarioRun], seed: int, replications: int) -> dict:
    """The ``compare.json`` document of already evaluated runs (each after the first against the first),
    without the ``rests_on`` sensitivity (left empty).

    The runs must share the seed and replication indices (common random numbers), as :func:`run_all`
    ensures; ``seed`` and ``replications`` are recorded in the document.
    """
    doc: dict = {
        "scenarios": [r.scenario.name for r in runs],
        "seed": seed,
        "replications": replications,
        # The intervals are over replications at the point parameters (simulation noise of the difference),
        # not predictive intervals over parameter draws (`nysjanse run --draws`, `nysjanse cba --draws`).
        "interval": "monte_carlo",
        "levels": {r.scenario.name: _levels(r) for r in runs},
        "difference": {},
        "waterfall": [],
        "waterfalls": {},
        "rests_on": {},
    }
    base = runs[0]
    for run in runs[1:]:
        diff = _differences(base, run)
        wf = waterfall(base, run)
        pooled = {r.scenario.name: float(r.evaluation.pooled().set_index("perspective").loc["society", "npv_nok"]) for r in (base, run)}
        diff["society_npv_nok_pooled"] = pooled[run.scenario.name] - pooled[base.scenario.name]
        doc["difference"][run.scenario.name] = diff
        doc["waterfalls"][run.scenario.name] = wf
    if len(runs) > 1:
        doc["waterfall"] = doc["waterfalls"][runs[1].scenario.name]
        doc["waterfall_total_nok"] = doc["difference"][runs[1].scenario.name]["society_npv_nok_pooled"]
    return doc


def _rests_on(base: ScenarioRun, run: ScenarioRun, seed: int, replications: int, executor: Executor | None, say: Callable[[str], None]) -> list[dict]:
    rows = []
    for lever in changed_levers(base.scenario, run.scenario):
        for name in KEY_ASSUMPTIONS.get(lever, ()):
            p = run.params[name]
            if not p.graded:
                continue
            for label, q in (("low", 0.05), ("high", 0.95)):
                value = float(p.ppf(q))
                say(f"{run.scenario.name}: {name} at its {label} value {value:.3g}")
                pair = run_all(
                    [base.scenario, run.scenario],
                    seed,
                    replications,
                    executor,
                    params=[base.params.with_values({name: value}), run.params.with_values({name: value})],
                )
                d = _differences(pair[0], pair[1])
                rows.append(
                    {
                        "lever": lever,
                        "parameter": name,
                        "at": label,
                        "value": value,
                        "point_value": p.value,
                        "employed_person_years_per_participant": d["employed_person_years_per_participant"],
                        "society_npv_nok": d["society_npv_nok"],
                    }
                )
    return rows
