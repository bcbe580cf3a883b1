"""Result documents (the JSON an analyst or a checker reads), built from library results."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from model.cba import PERSPECTIVES, Evaluation, summary_row
from model.parameters import ParameterSet
from model.scenario import Scenario
from model.uncertainty import DrawResults, stats

BCR_DEFINITION = (
    "Benefit-cost ratio of a perspective: the present value of its ledger lines with a positive discounted "
    "total (gains) divided by the present value of those with a negative total (costs), lines taken "
    "programme arm minus counterfactual arm over the analysis horizon."
)


def _finite(x: float | None) -> float | None:
    return None if x is None or not math.isfinite(x) else float(x)


def cba_document(
    scenario: Scenario,
    params: ParameterSet,
    base: Evaluation,
    psa: DrawResults,
    tornado: pd.DataFrame | None,
    *,
    draws: int,
    inner: int,
    seed: int,
    sample: pd.DataFrame | None = None,
) -> dict:
    """The content of ``cba.json``.

    Intervals are over the PSA draws (each draw: the mean of its inner replications), i.e. parameter
    uncertainty; ``base_case`` is the point-value result. With ``sample`` (the PSA parameter draws, the rows
    of ``psa.summary``) the document also holds the value of information of the decision "run the
    programme or not" per perspective (:func:`model.voi.value_of_information`): ``evpi_nok``,
    ``evpi_standard_error_nok``, ``evppi`` (groups and top single parameters; every ``evppi_nok`` ≤ its
    perspective's ``evpi_nok``), ``voi_population`` and ``voi_draws``.
    """
    s = psa.summary
    base_row = summary_row(base)
    ev = psa.evaluation
    doc: dict = {
        "scenario": scenario.name,
        "scenario_hash": scenario.hash,
        "price_year": scenario.analysis.price_year,
        "discounting": scenario.analysis.discounting,
        "analysis_horizon_years": scenario.analysis.analysis_horizon_years,
        "draws": draws,
        "inner_replications": inner,
        "seed": seed,
        "bcr_definition": BCR_DEFINITION,
        "perspectives": {
            p: {"npv_nok": stats(s[f"{p}_npv_nok"]), "bcr": stats(s[f"{p}_bcr"])} for p in PERSPECTIVES
        },
        "prob_npv_positive": {p: float((s[f"{p}_npv_nok"] > 0).mean()) for p in PERSPECTIVES},
        "per_participant": {
            "society_npv_nok": stats(s["society_npv_per_participant_nok"]),
            "participants": stats(s["participants"]),
        },
        "payback_year": {
            p: stats(pd.to_numeric(ev.loc[ev["perspective"] == p, "payback_year"], errors="coerce").astype(float))
            for p in PERSPECTIVES
        },
        "share_paying_back": {
            p: float(ev.loc[ev["perspective"] == p, "payback_year"].notna().mean()) for p in PERSPECTIVES
        },
        "cost_per_extra_employed_person_year_nok": stats(s["cost_per_extra_employed_person_year_nok"]),
        "net_budget_effect_nok_per_year": stats(s["net_budget_effect_nok_per_year"]),
        "employed_person_years_per_participant": stats(s["employed_person_years_per_participant"]),
        "ledger_check": {
            "society_transfers_net_nok": float(
                max(np.abs(np.r_[s["society_transfers_net_nok"].to_numpy(), base_row["society_transfers_net_nok"]]))
            ),
        },
        "base_case": {k: _finite(v) for k, v in base_row.items()},
        "tornado": [],
    }
    if tornado is not None:
        doc["tornado"] = [
            {
                "parameter": r["parameter"],
                "low": float(r["low"]),
                "high": float(r["high"]),
                "npv_low": float(r["npv_low"]),
                "npv_high": float(r["npv_high"]),
                "switching_value": _finite(r["switching_value"]),
            }
            for r in tornado.to_dict(orient="records")
        ]
        doc["tornado_base_npv_nok"] = float(base_row["society_npv_nok"])
    doc["parameters_graded"] = len(params.graded())
    if sample is not None:
        from model.voi import value_of_information

        doc.update(value_of_information(sample, s, scenario, params))
    return doc
