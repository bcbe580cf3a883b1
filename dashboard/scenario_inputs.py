"""Scenarios on the page: presets, uploads (read as TOML only), lever overrides (exactly as ``--set``
in the CLI) and the lever panel of each scenario."""

from __future__ import annotations

import copy
import datetime as dt
from pathlib import Path
from typing import Any

import streamlit as st
import tomli_w

from format import ABSENCE_LABELS, G, LEVEL_LABELS, tag
from model.errors import InputError
from model.scenario import Scenario, load_scenario, parse_toml_text, scenario_from_document

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
SCENARIOS_DIR = ROOT / "scenarios"
MAX_UPLOAD_BYTES = 200_000


def _changed(value: float, base: float, tol: float = 1e-9) -> bool:
    return abs(float(value) - float(base)) > tol


def _nest(doc: dict, dotted: str, value: Any) -> None:
    node = doc
    *path, leaf = dotted.split(".")
    for part in path:
        node = node.setdefault(part, {})
    node[leaf] = value


# ================================================================================ scenarios
def preset_keys() -> list[str]:
    paths = sorted(SCENARIOS_DIR.glob("*.toml")) + sorted((SCENARIOS_DIR / "policy").glob("*.toml"))
    return [p.relative_to(ROOT).as_posix() for p in paths]


def upload_path(name: str) -> Path:
    """Where an upload is taken to live: in ``scenarios/``, so its ``extends`` resolves from there."""
    return SCENARIOS_DIR / name


def _upload_label(name: str) -> str:
    return f"upload: {name}"


def _inside(path: Path, folder: Path) -> bool:
    try:
        path.resolve().relative_to(folder.resolve())
        return True
    except ValueError:
        return False


def _check_upload_paths(name: str, doc: dict) -> None:
    """An upload may build on the presets and the repository's parameter files, nothing else on the server."""
    parent = doc.get("extends")
    if isinstance(parent, str) and not _inside(SCENARIOS_DIR / parent, SCENARIOS_DIR):
        raise InputError(
            _upload_label(name), "extends", parent, "a scenario file inside the scenarios/ folder"
        )
    params = doc.get("parameters")
    files = params.get("files", []) if isinstance(params, dict) else []
    for i, f in enumerate(files if isinstance(files, list) else []):
        if isinstance(f, str) and not _inside(SCENARIOS_DIR / f, ROOT):
            raise InputError(
                _upload_label(name),
                f"parameters.files[{i}]",
                f,
                "a parameter file inside the repository",
            )


def scenario_from_upload(name: str, text: str, overrides: dict | None = None) -> Scenario:
    """Validate an uploaded scenario: TOML only (no code runs), errors named after the upload."""
    doc = parse_toml_text(text, _upload_label(name))
    path = upload_path(name)
    _check_upload_paths(name, doc)
    try:
        return scenario_from_document(doc, path, overrides or {})
    except InputError as err:
        if err.file in (str(path), str(path.resolve())):
            raise InputError(_upload_label(name), err.key, err.value, err.allowed) from None
        raise


def base_scenario(key: str) -> Scenario:
    """The scenario behind a choice, without any lever changes."""
    if key.startswith("upload:"):
        name = key.split(":", 1)[1]
        return scenario_from_upload(name, st.session_state["uploads"][name])
    return load_scenario(ROOT / key)


def build_scenario(key: str, overrides: dict) -> Scenario:
    """The scenario with the levers applied as overrides (``--set`` in the CLI)."""
    if key.startswith("upload:"):
        name = key.split(":", 1)[1]
        return scenario_from_upload(name, st.session_state["uploads"][name], overrides)
    return load_scenario(ROOT / key, overrides)


def settings_toml(key: str, overrides: dict, seed: int, replications: int) -> str:
    """The current settings of one scenario as a TOML file that can be uploaded again."""
    if key.startswith("upload:"):
        name = key.split(":", 1)[1]
        doc = copy.deepcopy(parse_toml_text(st.session_state["uploads"][name], _upload_label(name)))
    else:
        doc = {"extends": Path(key).relative_to("scenarios").as_posix()}
    for k, v in overrides.items():
        _nest(doc, k, v)
    head = (
        "# nysjanse scenario saved from the dashboard on "
        f"{dt.datetime.now().isoformat(timespec='seconds')}\n"
        f"# Run it: nysjanse run <this file> --replications {replications} --seed {seed}\n"
        "# (extends is relative to the scenarios/ folder; keep the file there or upload it to the dashboard)\n\n"
    )
    scalars = {k: v for k, v in doc.items() if not isinstance(v, dict | list)}
    tables = {k: v for k, v in doc.items() if isinstance(v, dict | list)}
    return head + tomli_w.dumps({**scalars, **tables})


def lever_panel(
    i: int, key: str, base: Scenario, base_params: Any, compact: bool
) -> tuple[dict, list[str]]:
    """Widgets for one scenario's levers; returns the overrides and any extra ``key=value`` lines."""
    k = f"lv|{key}|"

    def row() -> tuple[Any, Any]:
        return tuple(st.columns(2, gap="small")) if compact else (st.container(), st.container())

    st.markdown(f"{tag(i)} **{base.name}**", unsafe_allow_html=True)
    source = key if not key.startswith("upload:") else f"uploaded file {key.split(':', 1)[1]}"
    with st.expander("What is this scenario?"):
        st.caption(source)
        st.write(base.description.strip() or "No description in the file.")
    over: dict[str, Any] = {}

    a, b = row()
    length = a.slider(
        "Programme length, months",
        min(1.0, base.programme.length_months),
        120.0,
        float(base.programme.length_months),
        1.0,
        format="%.0f",
        key=k + "length",
        help="`programme.length_months`: the longest a participant may stay. Ny sjanse: up to 24 "
        "months. Beyond month 24 the model rests on an assumed exit hazard (nobody had passed it "
        "by December 2006).",
    )
    if _changed(length, base.programme.length_months):
        over["programme.length_months"] = float(length)
    caseload = b.number_input(
        "Participants per adviser",
        min(1.0, base.follow_up.caseload_per_adviser),
        500.0,
        float(base.follow_up.caseload_per_adviser),
        1.0,
        format="%.0f",
        key=k + "caseload",
        help="`follow_up.caseload_per_adviser`, the follow-up ratio: places per adviser FTE. "
        f"kontaktperson: {G['kontaktperson']} Social offices: 60–120 per caseworker.",
    )
    if _changed(caseload, base.follow_up.caseload_per_adviser):
        over["follow_up.caseload_per_adviser"] = float(caseload)
    sized = base.follow_up.staff_sized_for_caseload
    keep = st.checkbox(
        "Keep the planned places (a looser ratio means fewer advisers)",
        value=sized is not None,
        key=k + "keep",
        help="`follow_up.staff_sized_for_caseload`: the projects' staff were planned for this "
        "ratio; when ticked, changing the ratio changes the number of advisers (and staff costs), "
        "not the number of places. Unticked: the advisers stay and the places change.",
    )
    if keep and sized is None:
        over["follow_up.staff_sized_for_caseload"] = float(base.follow_up.caseload_per_adviser)
    elif not keep and sized is not None:
        over["follow_up.staff_sized_for_caseload"] = float(
            caseload
        )  # scale 1: the staff as scheduled

    a, b = row()
    levels = list(LEVEL_LABELS)
    level = a.selectbox(
        "Stipend",
        levels,
        index=levels.index(base.stipend.level),
        format_func=LEVEL_LABELS.get,
        key=k + "level",
        help="`stipend.level`: *fixed, in G* = the qualification stipend (kvalifiseringsstønad): "
        f"{G['kvalifiseringsstønad']} *social-assistance level* = what the household would get on "
        f"social assistance (sosialhjelp): {G['sosialhjelp']}",
    )
    if level != base.stipend.level:
        over["stipend.level"] = level
    g = b.slider(
        "Stipend, G per year",
        0.0,
        10.0,
        float(base.stipend.g_multiple_per_year),
        0.1,
        format="%.1f",
        key=k + "g",
        disabled=level != "g_multiple",
        help=f"`stipend.g_multiple_per_year` (kvalifiseringsstønad). {G['G (grunnbeløp)']} Ny sjanse: 2 G.",
    )
    if _changed(g, base.stipend.g_multiple_per_year, 0.01):
        over["stipend.g_multiple_per_year"] = round(float(g), 2)

    a, b = row()
    u25 = a.slider(
        "Under 25: share of the stipend",
        0.0,
        1.0,
        float(base.stipend.under_25_fraction),
        0.01,
        format="%.2f",
        key=k + "u25",
        help="`stipend.under_25_fraction`: Ny sjanse paid participants under 25 two thirds (0.67), "
        "copying the introduction programme (introduksjonsprogram).",
    )
    if _changed(u25, base.stipend.under_25_fraction, 0.005):
        over["stipend.under_25_fraction"] = round(float(u25), 4)
    absences = list(ABSENCE_LABELS)
    absence = b.selectbox(
        "Deductions for invalid absence",
        absences,
        index=absences.index(base.stipend.absence_deduction),
        format_func=ABSENCE_LABELS.get,
        key=k + "absence",
        help="`stipend.absence_deduction`: *introduction act* = deductions for invalid absence as in the "
        f"introduction programme (introduksjonsprogram: {G['introduksjonsprogram']}); *strict* = "
        "a weekly link between attendance and payment (e.g. Drammen); *none* = no deductions.",
    )
    if absence != base.stipend.absence_deduction:
        over["stipend.absence_deduction"] = absence

    a, b = row()
    ref0 = float(base_params.v("referral.intensity_multiplier"))
    ref = a.slider(
        "Referrals, × the reported rate",
        min(0.1, ref0),
        max(3.0, ref0),
        ref0,
        0.05,
        format="%.2f",
        key=k + "ref",
        help="`[parameters.values] referral.intensity_multiplier`: scales every project's referrals "
        "from the social office (sosialhjelp) and NAV. 1.0 reproduces the 938 referred by December "
        "2006 (IMDi 4-2007). Places do not grow with it, so more referrals mean longer waits.",
    )
    if _changed(ref, ref0, 0.001):
        over["parameters.values.referral.intensity_multiplier"] = round(float(ref), 3)
    with b.popover("More overrides", icon=":material/tune:", width="stretch"):
        extra_text = st.text_area(
            "Any scenario key, one `key=value` per line (as `--set` in the CLI)",
            key=k + "extra",
            height=110,
            placeholder="analysis.analysis_horizon_years=30\n"
            "parameters.values.follow_up.work_elasticity=0.4",
            help="Validated exactly as `nysjanse run --set key=value`. See the Assumptions tab "
            "(or `nysjanse parameters`) for parameter names.",
        )
    extra = [
        line.strip()
        for line in (extra_text or "").splitlines()
        if line.strip() and not line.strip().startswith("#")
    ]
    return over, extra


