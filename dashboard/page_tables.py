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
def npv_rows(results: list[dict], names: list[str]) -> pd.DataFrame:
    rows = []
    for name, res in zip(names, results, strict=True):
        ev = res["evaluation"]
        for p in PERSPECTIVES:
            x = ev.npv(p)
            s = stats(x)
            rows.append(
                {
                    "scenario": name,
                    "perspective": p,
                    "mean": s["mean"],
                    "p05": s["p05"],
                    "p95": s["p95"],
                    "p_npv_positive": float(np.mean(x > 0)),
                    "replications": int(len(x)),
                }
            )
    return pd.DataFrame(rows)


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
    results: list[dict], names: list[str], doc: dict | None, meta: dict
) -> dict[str, pd.DataFrame]:
    """Every table shown on the page, for CSV and Excel downloads."""
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


