"""The inputs: the sidebar (scenarios, uploads, run settings, glossary) and the lever panels with the
Run button."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import streamlit as st

import figures as fg
from format import GLOSSARY, guard
from library_calls import (
    DEFAULT_CONVENTIONS,
    SECONDS_PER_DRAW,
    SECONDS_PER_REPLICATION,
    VOI_AVAILABLE,
    dashboard_workers,
    default_draws,
    default_replications,
    preset_info,
)
from scenario_inputs import MAX_UPLOAD_BYTES, ROOT, _upload_label, base_scenario, build_scenario, lever_panel, preset_keys, scenario_from_upload, settings_toml
from model.conventions import convention_names, convention_set
from model.errors import InputError
from model.runner import scenario_parameters
from model.scenario import parse_override

DEFAULT_SCENARIOS = ["scenarios/ny_sjanse_2005_2006.toml", "scenarios/policy/length_36_months.toml"]
MAX_SCENARIOS = 4
#: The page's two kinds of interval: over parameter draws (the default) or over replications only.
INTERVALS = {
    "psa": "What we do not know: parameter draws (PSA)",
    "mc": "Simulation noise only: replications at the point values",
}


def sidebar() -> tuple[list[str], int, int, dict]:
    """The sidebar; returns the selected scenario keys, the replications, the seed and the analysis
    settings (``interval``: ``psa`` or ``mc``, ``draws``, ``conventions``)."""
    with st.sidebar:
        st.header("① Scenarios", anchor=False)
        choose_box = st.container()
        up = st.file_uploader(
            "Add your own scenario (TOML, ≤ 200 kB)",
            type=["toml"],
            key="upload",
            help="A scenario file like those in scenarios/ (see README). It is read as TOML only — "
            'nothing in it is executed. `extends = "ny_sjanse_2005_2006.toml"` builds on a preset '
            "(paths are relative to the scenarios/ folder).",
        )
        if up is not None:
            data = up.getvalue()
            safe = re.sub(r"[^A-Za-z0-9_.-]", "_", Path(up.name).name) or "upload.toml"
            with guard("Reading the upload") as ok:
                if len(data) > MAX_UPLOAD_BYTES:
                    raise InputError(
                        _upload_label(safe),
                        "",
                        f"{len(data) / 1000:.0f} kB",
                        "a scenario file of at most 200 kB",
                    )
                try:
                    text = data.decode("utf-8")
                except UnicodeDecodeError:
                    raise InputError(
                        _upload_label(safe), "", "(binary)", "a UTF-8 TOML text file"
                    ) from None
                scen = scenario_from_upload(safe, text)
                scenario_parameters(scen)  # parameter names in [parameters.values] must exist
                new = st.session_state["uploads"].get(safe) != text
                st.session_state["uploads"][safe] = text
                key = f"upload:{safe}"
                if new and key not in st.session_state["selection"]:
                    st.session_state["selection"] = [*st.session_state["selection"], key][
                        -MAX_SCENARIOS:
                    ]
                st.success(f"Added “{scen.name}”.", icon=":material/check_circle:")
        options = preset_keys() + [f"upload:{n}" for n in st.session_state["uploads"]]

        def label(key: str) -> str:
            if key.startswith("upload:"):
                return f"⬆ {key.split(':', 1)[1]} (uploaded)"
            info = preset_info(key, (ROOT / key).stat().st_mtime)
            return f"{'Policy: ' if '/policy/' in key else ''}{info['name']}"

        st.session_state["selection"] = [k for k in st.session_state["selection"] if k in options]
        with choose_box:
            selected = st.multiselect(
                "Scenarios to compare (the first is the reference)",
                options,
                key="selection",
                format_func=label,
                max_selections=MAX_SCENARIOS,
                help="Presets from scenarios/ (systems in the sources) and scenarios/policy/ "
                "(policy variants). Every scenario after the first is compared with the first, "
                "on the same simulated persons (common random numbers).",
            )

        st.header("Run settings", anchor=False)
        replications = st.slider(
            "Replications",
            2,
            200,
            default_replications(),
            key="replications",
            help="Monte Carlo replications per scenario (each a new set of referred persons, the "
            "same across scenarios). More = narrower intervals but slower: about "
            f"{SECONDS_PER_REPLICATION:g} s per replication per scenario.",
        )
        seed = int(
            st.number_input(
                "Seed",
                0,
                2**31 - 1,
                1,
                1,
                key="seed",
                help="Root seed: the same seed gives the same persons and draws (as `--seed` in the CLI).",
            )
        )
        interval = st.radio(
            "Intervals on the page",
            list(INTERVALS),
            format_func=INTERVALS.get,
            key="interval",
            help="**Parameter draws (PSA)**: each draw takes every uncertain parameter from its "
            "distribution (the calibrated ones jointly from the calibration's posterior), and the "
            "interval and P(NPV > 0) are over the draws — what we do not know, as in `nysjanse cba`. "
            "**Simulation noise only**: replications at the point values of the parameters (Monte "
            "Carlo), which says how precisely the model was run, not how sure we are.",
        )
        draws = st.slider(
            "Parameter draws",
            20,
            1000,
            default_draws(),
            10,
            key="draws",
            disabled=interval != "psa",
            help="Outer draws of the probabilistic sensitivity analysis, each with one replication "
            "(the same persons in every draw and scenario: common random numbers). About "
            f"{SECONDS_PER_DRAW:g} s per draw per scenario on one core.",
        )
        voi = st.toggle(
            "Value of information (what to find out next)",
            value=VOI_AVAILABLE,
            key="voi",
            disabled=interval != "psa" or not VOI_AVAILABLE,
            help="EVPI and EVPPI of the society NPV on the parameter draws (model.voi, as `nysjanse cba`): "
            "which uncertainty would be worth resolving before deciding. A regression on the draws; a few "
            "seconds per scenario.",
        )
        names = convention_names()
        conventions = st.selectbox(
            "Analysis conventions",
            names,
            index=names.index(DEFAULT_CONVENTIONS),
            key="conventions",
            format_func=lambda n: f"{n}: {convention_set(n).title}",
            help="Named sets of analysis conventions (model/defaults/conventions.toml, as "
            "`nysjanse cba --conventions`): the horizon, what is carried beyond it, which costs and "
            "savings count, the discounting rules. No set changes what is simulated.",
        )
        st.caption(convention_set(conventions).description)
        st.divider()
        with st.expander("Norwegian terms", icon=":material/menu_book:"):
            for term, meaning in GLOSSARY.items():
                st.markdown(f"**{term}** — {meaning}")
        st.caption(
            "This page calls the same library functions as the command line (`nysjanse run`, `compare`, "
            "`cba`, `size`); it holds no model logic. Sources: IMDi-rapport 4-2007 and R-109."
        )
    return selected, replications, seed, {
        "interval": interval,
        "draws": int(draws),
        "voi": bool(voi) and interval == "psa",
        "conventions": conventions,
    }


def levers(selected: list[str], seed: int, replications: int, settings: dict) -> dict:
    """The lever panels and the Run button; returns the current settings (hashes, seed, replications
    and the analysis ``settings``)."""
    st.subheader("② Scenarios and their levers", anchor=False)
    if not selected:
        st.info(
            "Pick at least one scenario in the sidebar — two or more to compare them.",
            icon=":material/arrow_back:",
        )
        st.stop()

    columns = st.columns(len(selected), gap="medium")
    compact = len(selected) <= 2
    specs: list[dict] = []
    for i, key in enumerate(selected):
        box = columns[i].container(border=True)
        spec = {"key": key, "ok": False, "box": box}
        with box, guard(f"Loading {key}"):
            base = base_scenario(key)
            base_params = scenario_parameters(base)
            over, extra = lever_panel(i, key, base, base_params, compact)
            for line in extra:
                k_, v_ = parse_override(line)
                over[k_] = v_
            spec.update(base=base, overrides=over)
        specs.append(spec)

    # Unique names: an edited scenario says so; duplicates get their letter.
    names_seen: dict[str, int] = {}
    for i, spec in enumerate(specs):
        if "base" not in spec:
            continue
        name = spec["base"].name + (" (edited)" if spec["overrides"] else "")
        if name in names_seen:
            name = f"{name} [{fg.LETTERS[i]}]"
        names_seen[name] = i
        if name != spec["base"].name:
            spec["overrides"] = {**spec["overrides"], "name": name}
    for i, spec in enumerate(specs):
        if "base" not in spec:
            continue
        with spec["box"]:
            with guard(f"Applying the levers of {fg.LETTERS[i]}") as ok:
                spec["scenario"] = build_scenario(spec["key"], spec["overrides"])
                scenario_parameters(spec["scenario"])
            spec["ok"] = ok["ok"]
            if spec["ok"]:
                levers = {k: v for k, v in spec["overrides"].items() if k != "name"}
                st.caption(
                    ("Changed: " + ", ".join(f"`{k}={v}`" for k, v in levers.items()))
                    if levers
                    else "As in the file."
                )
                st.download_button(
                    "Save these settings (TOML)",
                    settings_toml(spec["key"], spec["overrides"], seed, replications),
                    file_name=f"{Path(spec['key'].split(':')[-1]).stem}_settings.toml",
                    mime="application/toml",
                    key=f"save|{spec['key']}",
                    on_click="ignore",
                    icon=":material/download:",
                    width="stretch",
                    type="tertiary",
                )

    ready = [s for s in specs if s["ok"]]
    all_ok = len(ready) == len(specs)
    estimate = len(ready) * replications * SECONDS_PER_REPLICATION
    psa = settings["interval"] == "psa"
    if psa:
        estimate += len(ready) * settings["draws"] * SECONDS_PER_DRAW / dashboard_workers()
    run_col, note_col = st.columns([1, 3], vertical_alignment="center")
    with run_col:
        clicked = st.button(
            "Run comparison",
            type="primary",
            key="run",
            disabled=not all_ok,
            width="stretch",
            icon=":material/play_arrow:",
        )
    with note_col:
        if all_ok:
            st.caption(
                f"{len(ready)} scenario{'s' if len(ready) > 1 else ''} × {replications} replications"
                + (f" and {settings['draws']} parameter draws (PSA)" if psa else "")
                + f": about {estimate:.0f} s the first time, instant for settings already run."
            )
        else:
            st.caption("Fix the message above to run.")

    current = {
        "hashes": [s["scenario"].hash for s in ready],
        "seed": seed,
        "replications": replications,
        **settings,
    }
    if clicked and all_ok:
        st.session_state["last"] = {
            **current,
            "scenarios": [s["scenario"] for s in ready],
            "keys": [s["key"] for s in ready],
            "overrides": [s["overrides"] for s in ready],
            "started": dt.datetime.now(dt.UTC),
        }
    return current
