"""Scenarios: TOML files validated into frozen objects.

A scenario describes one programme system: its projects (start, staff, intake), who is eligible, the
programme's structure, the follow-up ratio, the stipend rules, the simulated period and report dates, and
which parameter files to use. Presets live in ``scenarios/``; policy variants in ``scenarios/policy/``
change a few keys on top of a base through ``extends``.

Rules:
- ``extends = "other.toml"`` (relative to the file) loads the parent first; tables merge key by key,
  arrays (``projects``, ``report_dates`` …) replace the parent's wholesale.
- Command-line overrides ``--set programme.length_months=36`` apply last; the value is read as TOML
  (``36``, ``2.5``, ``"2007-01-01"``, ``["female"]``).
- Every key is checked: an unknown key, a wrong type or an out-of-range value raises
  :class:`~model.errors.InputError` naming the file, the key, the value and what is allowed.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import math
import tomllib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from model.errors import InputError
from model.vocabulary import EXCLUDABLE_FLOWS

# --------------------------------------------------------------------------------------------------
# Frozen scenario objects


@dataclass(frozen=True)
class StaffChange:
    """From ``date`` on, the project has ``advisers_fte`` adviser full-time equivalents."""

    date: dt.date
    advisers_fte: float


@dataclass(frozen=True)
class IntakeGroup:
    """A group intake: ``referrals`` persons referred for ``size`` places starting on ``start_date``."""

    name: str
    start_date: dt.date
    size: int
    referrals: int


@dataclass(frozen=True)
class Project:
    """One municipal project (a participant project in the national scheme)."""

    name: str
    cohort: int
    intake_start_date: dt.date
    intake: str
    referrals_per_month: float
    staff: tuple[StaffChange, ...]
    groups: tuple[IntakeGroup, ...]
    staff_reported: bool = True  # False: spread by a rule, scaled by staffing.unreported_fte_multiplier

    def fte_on(self, day: dt.date) -> float:
        """Adviser FTE in force on ``day`` (0 before the first staff date)."""
        fte = 0.0
        for change in self.staff:
            if change.date <= day:
                fte = change.advisers_fte
        return fte


@dataclass(frozen=True)
class Simulation:
    """The simulated period."""

    start_date: dt.date
    horizon_date: dt.date
    report_dates: tuple[dt.date, ...]
    referral_end_date: dt.date


@dataclass(frozen=True)
class Eligibility:
    """Who may be admitted (IMDi 4-2007 §1.2 and appendix 1)."""

    min_age_years: float
    max_age_years: float
    min_social_assistance_months: float
    min_years_in_municipality: float
    sexes: tuple[str, ...]


@dataclass(frozen=True)
class Stage:
    """A stage at the start of the programme, e.g. a 10-week group stage."""

    name: str
    length_weeks: float


@dataclass(frozen=True)
class Programme:
    """The programme's structure."""

    length_months: float
    stages: tuple[Stage, ...]


@dataclass(frozen=True)
class FollowUp:
    """The follow-up ratio: participants per adviser FTE.

    ``staff_sized_for_caseload``: if set, the projects' staff figures were planned for that caseload, and
    the staff actually employed is scaled by it / ``caseload_per_adviser``, so places stay as planned and a
    looser ratio means fewer advisers (and lower staff costs) rather than more places.
    """

    caseload_per_adviser: float
    staff_sized_for_caseload: float | None = None

    @property
    def staff_scale(self) -> float:
        """Multiplier on every project's adviser FTE implied by ``staff_sized_for_caseload``."""
        if self.staff_sized_for_caseload is None:
            return 1.0
        return self.staff_sized_for_caseload / self.caseload_per_adviser


@dataclass(frozen=True)
class Stipend:
    """The qualification stipend rules (IMDi 4-2007 §5.5)."""

    level: str
    g_multiple_per_year: float
    under_25_fraction: float
    absence_deduction: str
    income_offset: str


@dataclass(frozen=True)
class Analysis:
    """Settings of the cost-benefit analysis."""

    price_year: int
    analysis_horizon_years: int
    discounting: str
    #: Ledger lines left out of the analysis (a convention, model/defaults/conventions.toml); none by default.
    excluded_flows: tuple[str, ...] = ()


@dataclass(frozen=True)
class ParameterSources:
    """Parameter files (layered on the defaults) and point overrides."""

    files: tuple[Path, ...]
    values: tuple[tuple[str, float], ...]


@dataclass(frozen=True)
class Scenario:
    """A validated, immutable scenario."""

    name: str
    description: str
    path: Path
    simulation: Simulation
    eligibility: Eligibility
    programme: Programme
    follow_up: FollowUp
    stipend: Stipend
    analysis: Analysis
    parameters: ParameterSources
    projects: tuple[Project, ...]
    raw: str  # canonical JSON of the merged document (for hashing and manifests)

    @property
    def report_date(self) -> dt.date:
        """The headline report date (the first of ``report_dates``)."""
        return self.simulation.report_dates[0]

    @property
    def has_groups(self) -> bool:
        """True if any project takes in dated groups."""
        return any(p.intake == "groups" for p in self.projects)

    @property
    def hash(self) -> str:
        """SHA-256 of the merged, canonical scenario document (first 16 hex digits)."""
        return hashlib.sha256(self.raw.encode()).hexdigest()[:16]

    def fte_multiplier(self, project: Project, unreported_multiplier: float) -> float:
        """What multiplies a project's scenario FTE: the follow-up staffing rule, and the calibrated
        multiplier for projects whose staff the sources do not report."""
        scale = self.follow_up.staff_scale
        return scale if project.staff_reported else scale * unreported_multiplier

    def total_fte_on(self, day: dt.date, unreported_multiplier: float = 1.0) -> float:
        """Adviser FTE employed over all projects on ``day``."""
        return sum(p.fte_on(day) * self.fte_multiplier(p, unreported_multiplier) for p in self.projects)


# --------------------------------------------------------------------------------------------------
# Schema: key → (parser, default). A default of REQUIRED means the key must be given somewhere in the
# extends chain.

REQUIRED = object()
SECTION = object()  # an optional table: when absent, its keys take their defaults


class _Ctx:
    """Where we are, for error messages."""

    def __init__(self, file: str) -> None:
        self.file = file

    def fail(self, key: str, value: Any, allowed: str) -> InputError:
        return InputError(self.file, key, value, allowed)


def _date(ctx: _Ctx, key: str, v: Any) -> dt.date:
    if isinstance(v, dt.datetime):
        return v.date()
    if isinstance(v, dt.date):
        return v
    if isinstance(v, str):
        try:
            return dt.date.fromisoformat(v)
        except ValueError:
            pass
    raise ctx.fail(key, v, "a date YYYY-MM-DD")


def _num(lo: float | None = None, hi: float | None = None, *, lo_open: bool = False) -> Callable:
    def parse(ctx: _Ctx, key: str, v: Any) -> float:
        if isinstance(v, bool) or not isinstance(v, int | float):
            raise ctx.fail(key, v, "a number" + _range_text(lo, hi, lo_open))
        if not math.isfinite(v):
            raise ctx.fail(key, v, "a finite number (not nan or inf)" + _range_text(lo, hi, lo_open))
        if (lo is not None and (v < lo or (lo_open and v == lo))) or (hi is not None and v > hi):
            raise ctx.fail(key, v, "a number" + _range_text(lo, hi, lo_open))
        return float(v)

    return parse


def _int(lo: int | None = None, hi: int | None = None) -> Callable:
    def parse(ctx: _Ctx, key: str, v: Any) -> int:
        if isinstance(v, bool) or not isinstance(v, int):
            raise ctx.fail(key, v, "a whole number" + _range_text(lo, hi, False))
        if (lo is not None and v < lo) or (hi is not None and v > hi):
            raise ctx.fail(key, v, "a whole number" + _range_text(lo, hi, False))
        return v

    return parse


def _range_text(lo: float | None, hi: float | None, lo_open: bool) -> str:
    if lo is not None and hi is not None:
        return f" in {'(' if lo_open else '['}{lo:g}, {hi:g}]"
    if lo is not None:
        return f" {'>' if lo_open else '>='} {lo:g}"
    if hi is not None:
        return f" <= {hi:g}"
    return ""


def _str(ctx: _Ctx, key: str, v: Any) -> str:
    if not isinstance(v, str):
        raise ctx.fail(key, v, "a string")
    return v


def _bool(ctx: _Ctx, key: str, v: Any) -> bool:
    if not isinstance(v, bool):
        raise ctx.fail(key, v, "true or false")
    return v


def _choice(*options: str) -> Callable:
    def parse(ctx: _Ctx, key: str, v: Any) -> str:
        if v not in options:
            raise ctx.fail(key, v, f"one of {list(options)}")
        return v

    return parse


def _list_of(item: Callable, *, min_len: int = 0) -> Callable:
    def parse(ctx: _Ctx, key: str, v: Any) -> tuple:
        if not isinstance(v, list) or len(v) < min_len:
            raise ctx.fail(key, v, f"a list of at least {min_len} item(s)")
        return tuple(item(ctx, f"{key}[{i}]", x) for i, x in enumerate(v))

    return parse


def _table(schema: Mapping[str, tuple[Callable, Any]]) -> Callable:
    def parse(ctx: _Ctx, key: str, v: Any) -> dict:
        if not isinstance(v, Mapping):
            raise ctx.fail(key, v, f"a table with keys {sorted(schema)}")
        return _apply(ctx, key, v, schema)

    parse.schema = schema  # type: ignore[attr-defined]
    return parse


def _check_own_keys(ctx: _Ctx, prefix: str, doc: Mapping, schema: Mapping[str, tuple[Callable, Any]]) -> None:
    """Check the keys one file sets (before merging), so that an error names the file it is in.

    Unknown keys and bad values are caught here; required keys and rules across keys are checked on the
    merged document.
    """
    for k, v in doc.items():
        if k == "extends" and not prefix:
            continue
        if k not in schema:
            raise ctx.fail(_join(prefix, k), v, f"an unknown key; allowed here: {sorted(schema)}")
        parser = schema[k][0]
        inner = getattr(parser, "schema", None)
        if inner is not None and isinstance(v, Mapping):
            _check_own_keys(ctx, _join(prefix, k), v, inner)
        else:
            parser(ctx, _join(prefix, k), v)


def _apply(ctx: _Ctx, prefix: str, doc: Mapping, schema: Mapping[str, tuple[Callable, Any]]) -> dict:
    unknown = [k for k in doc if k not in schema]
    if unknown:
        k = unknown[0]
        raise ctx.fail(_join(prefix, k), doc[k], f"an unknown key; allowed here: {sorted(schema)}")
    out = {}
    for k, (parser, default) in schema.items():
        key = _join(prefix, k)
        if k in doc:
            out[k] = parser(ctx, key, doc[k])
        elif default is REQUIRED:
            raise ctx.fail(key, None, "a required key (missing)")
        elif default is SECTION:
            out[k] = parser(ctx, key, {})
        else:
            out[k] = default
    return out


def _join(prefix: str, key: str) -> str:
    return f"{prefix}.{key}" if prefix else key


def _sex(ctx: _Ctx, key: str, v: Any) -> str:
    return _choice("female", "male")(ctx, key, v)


_STAFF = _table({"date": (_date, REQUIRED), "advisers_fte": (_num(0), REQUIRED)})
_GROUP = _table(
    {
        "name": (_str, REQUIRED),
        "start_date": (_date, REQUIRED),
        "size": (_int(1), REQUIRED),
        "referrals": (_int(0), None),
    }
)
_PROJECT = _table(
    {
        "name": (_str, REQUIRED),
        "cohort": (_int(2000, 2100), REQUIRED),
        "intake_start_date": (_date, REQUIRED),
        "intake": (_choice("continuous", "groups"), "continuous"),
        "referrals_per_month": (_num(0), 0.0),
        "staff": (_list_of(_STAFF, min_len=1), REQUIRED),
        "staff_reported": (_bool, True),
        "groups": (_list_of(_GROUP), ()),
    }
)
_STAGE = _table({"name": (_str, REQUIRED), "length_weeks": (_num(0, None, lo_open=True), REQUIRED)})

SCHEMA: dict[str, tuple[Callable, Any]] = {
    "name": (_str, REQUIRED),
    "description": (_str, ""),
    "simulation": (
        _table(
            {
                "start_date": (_date, REQUIRED),
                "horizon_date": (_date, REQUIRED),
                "report_dates": (_list_of(_date, min_len=1), REQUIRED),
                "referral_end_date": (_date, None),
            }
        ),
        REQUIRED,
    ),
    "eligibility": (
        _table(
            {
                "min_age_years": (_num(15, 80), 18.0),
                "max_age_years": (_num(15, 80), 55.0),
                "min_social_assistance_months": (_num(0, 240), 6.0),
                "min_years_in_municipality": (_num(0, 80), 2.0),
                "sexes": (_list_of(_sex, min_len=1), ("female", "male")),
            }
        ),
        SECTION,
    ),
    "programme": (
        _table(
            {
                "length_months": (_num(0, 120, lo_open=True), 24.0),
                "stages": (_list_of(_STAGE), ()),
            }
        ),
        SECTION,
    ),
    "follow_up": (
        _table(
            {
                "caseload_per_adviser": (_num(0, 500, lo_open=True), 10.0),
                "staff_sized_for_caseload": (_num(0, 500, lo_open=True), None),
            }
        ),
        SECTION,
    ),
    "stipend": (
        _table(
            {
                "level": (_choice("g_multiple", "social_assistance"), "g_multiple"),
                "g_multiple_per_year": (_num(0, 10), 2.0),
                "under_25_fraction": (_num(0, 1), 2 / 3),
                "absence_deduction": (_choice("none", "introduction_act", "strict"), "introduction_act"),
                "income_offset": (_choice("none", "discretionary", "full"), "discretionary"),
            }
        ),
        SECTION,
    ),
    "analysis": (
        _table(
            {
                "price_year": (_int(2005, 2026), 2025),
                "analysis_horizon_years": (_int(1, 100), 20),
                "discounting": (_choice("r109_2014", "r109_2005_flat"), "r109_2014"),
                "excluded_flows": (_list_of(_choice(*EXCLUDABLE_FLOWS)), ()),
            }
        ),
        SECTION,
    ),
    "projects": (_list_of(_PROJECT, min_len=1), REQUIRED),
}


def _table_any_numbers(ctx: _Ctx, key: str, v: Any) -> dict:
    if not isinstance(v, Mapping):
        raise ctx.fail(key, v, "a table of parameter name = number")
    out = {}
    for name, x in _flatten(v).items():
        out[name] = _num()(ctx, f"{key}.{name}", x)
    return out


def _flatten(doc: Mapping, prefix: str = "") -> dict:
    out = {}
    for k, v in doc.items():
        name = _join(prefix, k)
        if isinstance(v, Mapping):
            out.update(_flatten(v, name))
        else:
            out[name] = v
    return out


SCHEMA["parameters"] = (
    _table({"files": (_list_of(_str), ()), "values": (_table_any_numbers, {})}),
    SECTION,
)

LEVER_KEYS = (
    "programme.length_months",
    "follow_up.caseload_per_adviser",
    "stipend.g_multiple_per_year",
    "stipend.under_25_fraction",
)

# --------------------------------------------------------------------------------------------------
# Loading


def _read_toml(path: Path) -> dict:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputError(str(path), "", str(path), "an existing scenario file") from None
    except IsADirectoryError:
        raise InputError(str(path), "", str(path), "a scenario file, not a folder") from None
    except UnicodeDecodeError:
        raise InputError(str(path), "", "(binary)", "a UTF-8 TOML text file") from None
    return parse_toml_text(text, str(path))


def parse_toml_text(text: str, file: str) -> dict:
    """Parse TOML text, turning syntax errors into :class:`InputError`."""
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise InputError(file, "", "(file)", f"valid TOML syntax: {exc}") from None


def _deep_merge(base: Mapping, over: Mapping) -> dict:
    out = dict(base)
    for k, v in over.items():
        if isinstance(v, Mapping) and isinstance(out.get(k), Mapping):
            out[k] = _deep_merge(out[k], v)
        else:
            out[k] = v
    return out


def _resolve(path: Path, doc: dict, chain: tuple[Path, ...]) -> tuple[dict, dict[str, Path]]:
    """Merge ``doc`` over its ``extends`` chain; also return, per parameter file, its resolved path."""
    path = path.resolve()
    if chain:  # a parent file: check its own keys now, so an error names it
        _check_own_keys(_Ctx(str(path)), "", doc, SCHEMA)
    files = doc.get("parameters", {}).get("files", []) if isinstance(doc.get("parameters"), Mapping) else []
    if not isinstance(files, list):
        files = []
    origin = {str(f): (path.parent / f).resolve() for f in files if isinstance(f, str)}
    parent_name = doc.pop("extends", None)
    if parent_name is None:
        return doc, origin
    if not isinstance(parent_name, str):
        raise InputError(str(path), "extends", parent_name, "a path to another scenario file")
    parent_path = (path.parent / parent_name).resolve()
    if parent_path in chain or parent_path == path:
        loop = " -> ".join(p.name for p in (*chain, path, parent_path))
        raise InputError(str(path), "extends", parent_name, f"a file outside the extends loop ({loop})")
    if not parent_path.exists():
        raise InputError(str(path), "extends", parent_name, "an existing scenario file")
    parent_doc, parent_origin = _resolve(parent_path, _read_toml(parent_path), (*chain, path))
    merged = _deep_merge(parent_doc, doc)
    return merged, {**parent_origin, **origin}


def parse_override(text: str) -> tuple[str, Any]:
    """Parse one ``--set key=value`` override; the value is read as TOML.

    Raises:
        InputError: the override is not ``dotted.key=value`` or the value is not TOML.
    """
    if "=" not in text:
        raise InputError("command line", "--set", text, "dotted.key=value, e.g. programme.length_months=36")
    key, value = text.split("=", 1)
    key = key.strip()
    try:
        parsed = tomllib.loads(f"v = {value.strip()}")["v"]
    except tomllib.TOMLDecodeError:
        parsed = value.strip()  # bare words are strings: stipend.level=social_assistance
    return key, parsed


def _apply_override(doc: dict, key: str, value: Any) -> None:
    node = doc
    *path, leaf = key.split(".")
    for part in path:
        nxt = node.setdefault(part, {})
        if not isinstance(nxt, dict):
            raise InputError("command line", key, value, f"a key inside a table; {part} is not a table")
        node = nxt
    node[leaf] = value


def load_scenario(path: Path | str, overrides: Sequence[str] | Mapping[str, Any] = ()) -> Scenario:
    """Load, merge and validate a scenario file.

    Args:
        path: the scenario TOML.
        overrides: ``["programme.length_months=36", …]`` or a mapping ``{dotted key: value}``.

    Returns:
        The frozen :class:`Scenario`.

    Raises:
        InputError: on any bad input (see module docstring).
    """
    path = Path(path)
    doc = _read_toml(path)
    return scenario_from_document(doc, path, overrides)


def scenario_from_document(
    doc: dict, path: Path, overrides: Sequence[str] | Mapping[str, Any] = ()
) -> Scenario:
    """Validate a parsed TOML document (``extends`` resolved against ``path``'s folder)."""
    merged, file_origin = _resolve(Path(path), dict(doc), ())
    pairs = list(overrides.items() if isinstance(overrides, Mapping) else map(parse_override, overrides))
    for key, value in pairs:
        _apply_override(merged, key, value)
    try:
        checked = _apply(_Ctx(str(path)), "", merged, SCHEMA)
    except InputError as err:
        # A bad value that came from --set is reported against the command line, not the file.
        if any(err.key == k or err.key.startswith(k + ".") for k, _ in pairs):
            raise InputError("command line (--set)", err.key, err.value, err.allowed) from None
        raise
    return _build(checked, Path(path), file_origin, merged)


def _build(c: dict, path: Path, file_origin: dict[str, Path], merged: dict) -> Scenario:
    file = str(path)
    sim = c["simulation"]
    referral_end = sim["referral_end_date"] or max(sim["report_dates"])
    if sim["horizon_date"] <= sim["start_date"]:
        raise InputError(file, "simulation.horizon_date", str(sim["horizon_date"]), "a date after simulation.start_date")
    for i, d in enumerate(sim["report_dates"]):
        if not sim["start_date"] < d <= sim["horizon_date"]:
            raise InputError(
                file,
                f"simulation.report_dates[{i}]",
                str(d),
                f"a date after the start {sim['start_date']} and not after the horizon {sim['horizon_date']}",
            )
    if not sim["start_date"] < referral_end <= sim["horizon_date"]:
        raise InputError(file, "simulation.referral_end_date", str(referral_end), "a date within the simulated period")
    el = c["eligibility"]
    if el["min_age_years"] >= el["max_age_years"]:
        raise InputError(file, "eligibility.max_age_years", el["max_age_years"], "above eligibility.min_age_years")
    projects = []
    names = set()
    for i, p in enumerate(c["projects"]):
        key = f"projects[{i}]"
        if p["name"] in names:
            raise InputError(file, f"{key}.name", p["name"], "a project name used once")
        names.add(p["name"])
        if not sim["start_date"] <= p["intake_start_date"] <= sim["horizon_date"]:
            raise InputError(file, f"{key}.intake_start_date", str(p["intake_start_date"]), "a date within the simulated period")
        staff = tuple(sorted((StaffChange(**s) for s in p["staff"]), key=lambda s: s.date))
        if p["intake"] == "groups":
            if not p["groups"]:
                raise InputError(file, f"{key}.groups", [], "at least one group when intake = 'groups'")
            groups = []
            for j, g in enumerate(p["groups"]):
                if not sim["start_date"] < g["start_date"] <= sim["horizon_date"]:
                    raise InputError(file, f"{key}.groups[{j}].start_date", str(g["start_date"]), "a date within the simulated period")
                refs = g["size"] if g["referrals"] is None else g["referrals"]
                groups.append(IntakeGroup(g["name"], g["start_date"], g["size"], refs))
            groups_t = tuple(sorted(groups, key=lambda g: g.start_date))
        else:
            if p["groups"]:
                raise InputError(file, f"{key}.groups", "(groups)", "groups only with intake = 'groups'")
            groups_t = ()
        projects.append(
            Project(
                name=p["name"],
                cohort=p["cohort"],
                intake_start_date=p["intake_start_date"],
                intake=p["intake"],
                referrals_per_month=p["referrals_per_month"],
                staff=staff,
                groups=groups_t,
                staff_reported=p["staff_reported"],
            )
        )
    params = c["parameters"]
    files = tuple(file_origin.get(f, (path.parent / f).resolve()) for f in params["files"])
    for f in files:
        if not f.exists():
            raise InputError(file, "parameters.files", str(f), "an existing parameter file")
    canonical = json.dumps(merged, sort_keys=True, default=str)
    return Scenario(
        name=c["name"],
        description=c["description"],
        path=path,
        simulation=Simulation(sim["start_date"], sim["horizon_date"], tuple(sim["report_dates"]), referral_end),
        eligibility=Eligibility(**{**el, "sexes": tuple(el["sexes"])}),
        programme=Programme(c["programme"]["length_months"], tuple(Stage(**s) for s in c["programme"]["stages"])),
        follow_up=FollowUp(**c["follow_up"]),
        stipend=Stipend(**c["stipend"]),
        analysis=Analysis(**c["analysis"]),
        parameters=ParameterSources(files, tuple(sorted(params["values"].items()))),
        projects=tuple(projects),
        raw=canonical,
    )


def scenario_to_dict(scenario: Scenario) -> dict:
    """The scenario as plain data (dates as ISO strings), e.g. for manifests and downloads."""
    return json.loads(json.dumps(asdict(scenario), default=str))
