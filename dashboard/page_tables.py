"""The page's tables (NPV, flows, differences) and the Excel bytes of all of them."""

from __future__ import annotations

import io
import json

import numpy as np
import pandas as pd

import figures as fg
from model.cba import PERSPECTIVES
from model.uncertainty import stats

# ================================================================================ tables for the page
def _npv_row(name: str, perspective: str, x: np.ndarray, count: str) -> dict:
    s = stats(x)
    return {
        "scenario": name,
        "perspective": perspective,
        "mean": s["mean"],
        "p05": s["p05"],
        "p95": s["p95"],
        "p_npv_positive": float(np.mean(x > 0)),
        count: int(len(x)),
    }


def npv_rows(results: list[dict], names: list[str]) -> pd.DataFrame:
    return pd.DataFrame(
        [_npv_row(name, p, res["evaluation"].npv(p), "replications") for name, res in zip(names, results, strict=True) for p in PERSPECTIVES]
    )


def psa_npv_rows(psas: list[dict], names: list[str]) -> pd.DataFrame:
    """The rows of :func:`npv_rows` over the PSA's parameter draws (each draw: its inner replications
    pooled) instead of the replications."""
    return pd.DataFrame(
        [
            _npv_row(name, p, psa["summary"][f"{p}_npv_nok"].to_numpy(dtype=float), "draws")
            for name, psa in zip(names, psas, strict=True)
            for p in PERSPECTIVES
        ]
    )


def psa_difference_rows(psas: list[dict], names: list[str]) -> pd.DataFrame:
    """Each scenario after the first minus the first, draw by draw (the same parameter draws and persons
    in both: paired), per perspective: mean, 5th and 95th percentile, P(difference > 0)."""
    rows = []
    base = psas[0]["summary"]
    for name, psa in zip(names[1:], psas[1:], strict=True):
        for p in PERSPECTIVES:
            d = psa["summary"][f"{p}_npv_nok"].to_numpy(dtype=float) - base[f"{p}_npv_nok"].to_numpy(dtype=float)
            rows.append(
                {
                    "scenario": name,
                    "against": names[0],
                    "perspective": p,
                    **stats(d),
                    "p_difference_positive": float(np.mean(d > 0)),
                    "draws": int(len(d)),
                }
            )
    return pd.DataFrame(rows)


def psa_draw_rows(psas: list[dict], names: list[str]) -> pd.DataFrame:
    """Every PSA draw of every scenario: its parameter values and its results (as ``psa_draws.csv``)."""
    return pd.concat(
        [
            pd.concat([psa["sample"], psa["summary"]], axis=1).rename_axis("draw").reset_index().assign(scenario=name)
            for name, psa in zip(names, psas, strict=True)
        ],
        ignore_index=True,
    )


def flow_rows(results: list[dict], names: list[str]) -> pd.DataFrame:
    rows = []
    for name, res in zip(names, results, strict=True):
        sm = res["summary"]
        for group, table in (
            ("flow", sm["flows"]),
            ("not_admitted_reason", sm["not_admitted_reasons"]),
            ("broke_off_reason", sm["broke_off_reasons"]),
        ):
            for k, v in table.items():
                rows.append(
                    {
                        "scenario": name,
                        "report_date": sm["report_date"],
                        "group": group,
                        "key": k,
                        **v,
                    }
                )
    return pd.DataFrame(rows)


def difference_rows(doc: dict, base_name: str) -> pd.DataFrame:
    rows = []
    for name, d in doc["difference"].items():
        for metric in [f"{p}_npv_nok" for p in PERSPECTIVES] + [
            "employed_person_years_per_participant",
            "share_employed_1y",
            "share_employed_2y",
            "share_employed_5y",
        ]:
            rows.append({"scenario": name, "against": base_name, "metric": metric, **d[metric]})
        for k, v in d["flows"].items():
            rows.append({"scenario": name, "against": base_name, "metric": f"flow_{k}", **v})
    return pd.DataFrame(rows)


def all_tables(
    results: list[dict], names: list[str], doc: dict | None, meta: dict, psas: list[dict] | None = None
) -> dict[str, pd.DataFrame]:
    """Every table shown on the page, for CSV and Excel downloads (with the PSA's when it was run)."""
    out = {
        "scenarios": pd.DataFrame(
            [
                {
                    "letter": fg.LETTERS[i],
                    "scenario": n,
                    "file": meta["keys"][i],
                    "hash": r["scenario"].hash,
                    "overrides": json.dumps(meta["overrides"][i]),
                    "seed": meta["seed"],
                    "replications": meta["replications"],
                    "parameter_draws": len(psas[i]["summary"]) if psas else 0,
                    "conventions": meta.get("conventions", "default"),
                }
                for i, (n, r) in enumerate(zip(names, results, strict=True))
            ]
        ),
        "npv_by_perspective": npv_rows(results, names),
        "flows_at_report_date": flow_rows(results, names),
        "participant_states": pd.concat(
            [r["states"].assign(scenario=n) for n, r in zip(names, results, strict=True)]
        ),
        "employment_difference": pd.concat(
            [r["gap"].assign(scenario=n) for n, r in zip(names, results, strict=True)]
        ),
        "staffing_by_month": pd.concat(
            [r["desks"].assign(scenario=n) for n, r in zip(names, results, strict=True)]
        ),
        "parameters": pd.concat(
            [r["params"].to_frame().assign(scenario=n) for n, r in zip(names, results, strict=True)]
        ),
    }
    if psas:
        out["psa_npv_by_perspective"] = psa_npv_rows(psas, names)
        out["psa_draws"] = psa_draw_rows(psas, names)
        if len(psas) > 1:
            out["psa_differences"] = psa_difference_rows(psas, names)
    if doc and doc["difference"]:
        out["differences"] = difference_rows(doc, names[0])
        out["waterfall"] = pd.DataFrame(
            [
                {"scenario": n, "against": names[0], **it}
                for n, items in doc["waterfalls"].items()
                for it in items
            ]
        )
    return {k: v.reset_index(drop=True) for k, v in out.items()}


def excel_bytes(tables: dict[str, pd.DataFrame]) -> bytes:
    buf = io.BytesIO()
    with pd.ExcelWriter(buf, engine="openpyxl") as xw:
        for name, df in tables.items():
            out = df.copy()
            for col in out.columns:
                if isinstance(out[col].dtype, pd.CategoricalDtype):
                    out[col] = out[col].astype(str)
            out.replace([np.inf, -np.inf], np.nan).to_excel(xw, sheet_name=name[:31], index=False)
    return buf.getvalue()


