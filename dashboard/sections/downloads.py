"""The downloads tab: tables, manifest, per-scenario report and workbook."""

from __future__ import annotations

import json
import re
import tempfile
from pathlib import Path
from typing import Any

import streamlit as st

from format import guard, tag
from page_tables import all_tables, excel_bytes
from model.artifacts import manifest
from model.economics import perspective_ledger, write_html_report, write_workbook

def render(tab: Any, c: Any) -> None:
    results, names, doc, npv, n_rep, last = c.results, c.names, c.doc, c.npv, c.n_rep, c.last
    mc_note, all_key_names = c.mc_note, c.all_key_names
    with tab, guard("Preparing the downloads"):
        st.markdown("#### Take the results with you")
        tables = all_tables(results, names, doc, last, c.psas)
        c1, c2 = st.columns(2, gap="large")
        with c1:
            st.markdown("**Tables shown on this page**")
            st.download_button(
                "All tables (Excel)",
                lambda: excel_bytes(tables),
                file_name="nysjanse_dashboard.xlsx",
                mime="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                key="dl_xlsx",
                on_click="ignore",
                icon=":material/download:",
                width="stretch",
            )
            pick_t = st.selectbox("One table as CSV", list(tables), key="dl_table")
            st.download_button(
                f"{pick_t}.csv",
                tables[pick_t].to_csv(index=False).encode(),
                file_name=f"{pick_t}.csv",
                mime="text/csv",
                key="dl_csv",
                on_click="ignore",
                icon=":material/download:",
                width="stretch",
            )

            def manifest_bytes() -> bytes:
                man = manifest(
                    command="dashboard",
                    scenarios=[r["scenario"] for r in results],
                    params=results[0]["params"],
                    seed=last["seed"],
                    started=last["started"],
                    seconds=float(last.get("seconds", 0.0)),
                    files=["nysjanse_dashboard.xlsx"] + [f"{t}.csv" for t in tables],
                    extra={
                        "replications": n_rep,
                        "parameter_draws": len(c.psas[0]["summary"]) if c.psas else 0,
                        "conventions": c.conventions,
                        "overrides": {names[i]: o for i, o in enumerate(last["overrides"])},
                        "interface": "streamlit dashboard",
                    },
                )
                return (json.dumps(man, indent=2, ensure_ascii=False, default=str) + "\n").encode()

            st.download_button(
                "Manifest (JSON)",
                manifest_bytes,
                file_name="manifest.json",
                mime="application/json",
                key="dl_manifest",
                on_click="ignore",
                icon=":material/download:",
                width="stretch",
                help="What was run, with what, by which code version: scenario hashes, seed, parameter sources.",
            )
        with c2:
            st.markdown("**Per scenario: the cost-benefit report and the audit workbook**")
            torn = st.session_state.get("tornado_result")
            for i, (name, res) in enumerate(zip(names, results, strict=True)):

                def _man(res: dict = res) -> dict:
                    return manifest(
                        command="dashboard",
                        scenarios=[res["scenario"]],
                        params=res["params"],
                        seed=last["seed"],
                        started=last["started"],
                        seconds=float(res["seconds"]),
                        files=["report.html", "cba.xlsx"],
                        extra={"replications": n_rep, "conventions": c.conventions, "interface": "streamlit dashboard"},
                    )

                def report_bytes(res: dict = res, name: str = name) -> bytes:
                    ev = res["evaluation"]
                    t = torn if torn and torn["hash"] == (res["scenario"].hash, c.conventions) else None
                    with tempfile.TemporaryDirectory() as tmp:
                        path = Path(tmp) / "report.html"
                        write_html_report(
                            path,
                            evaluation=ev.evaluation,
                            params=ev.params,
                            manifest=_man(res),
                            perspective_ledger=perspective_ledger(
                                ev.mean_effects(), ev.policy, ev.params
                            ),
                            tornado=t["table"] if t else None,
                            tornado_base_npv_nok=t["base"] if t else None,
                            title=f"{name}: social cost-benefit analysis ({n_rep} replications, point parameters)",
                        )
                        return path.read_bytes()

                def workbook_bytes(res: dict = res) -> bytes:
                    ev = res["evaluation"]
                    with tempfile.TemporaryDirectory() as tmp:
                        path = Path(tmp) / "cba.xlsx"
                        write_workbook(
                            path,
                            params=ev.params,
                            evaluation=ev.evaluation,
                            perspective_ledger=perspective_ledger(
                                ev.mean_effects(), ev.policy, ev.params
                            ),
                            manifest=_man(res),
                        )
                        return path.read_bytes()

                stem = re.sub(r"[^A-Za-z0-9]+", "_", name).strip("_").lower()[:40]
                st.markdown(f"{tag(i)} {name}", unsafe_allow_html=True)
                a, b = st.columns(2)
                a.download_button(
                    "Report (HTML)",
                    report_bytes,
                    file_name=f"{stem}_report.html",
                    mime="text/html",
                    key=f"dl_html{i}",
                    on_click="ignore",
                    icon=":material/download:",
                    width="stretch",
                )
                b.download_button(
                    "Workbook (Excel)",
                    workbook_bytes,
                    file_name=f"{stem}_cba.xlsx",
                    mime="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                    key=f"dl_wb{i}",
                    on_click="ignore",
                    icon=":material/download:",
                    width="stretch",
                )
        st.caption(
            "The report and the workbook are written by the same functions as `nysjanse cba` "
            "(`model.economics.write_html_report`, `write_workbook`), here at the point parameters with "
            f"{n_rep} replications; the tornado is included once you have run it for that scenario."
        )
