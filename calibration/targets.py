"""The calibration targets file: reported figures with their source and observation model.

Format (``calibration/targets/*.toml``)::

    [meta]
    report_date = "2006-12-01"
    calibrates = ["participation.hazard_work_or_education_per_year"]  # optional: parameters this set informs

    [[target]]
    name = "flows.referred"          # what the model reports (see calibration.statistics.NAME_GRAMMAR)
    value = 938
    date = "2006-12-01"              # the date the model's value is read at
    source = "IMDi 4-2007, table 3"
    observation = "count"            # count | share | multinomial | difference
    denominator = "flows.referred"   # shares: another target's name or a number
    group = "not_admitted_reasons"   # multinomial members share a group
    bound = "lower"                  # optional: the figure is a bound ("over half"), not a point
    population = "ended 2009-2010"   # optional: the figure describes other persons than the simulated ones
    transfer_sd = 0.05               # optional: sd of transferring the figure to the simulated persons
    sd = 0.04                        # the figure's own sampling sd (required for a difference)
    window_start = "2009-01-01"      # optional: start of the window of a windowed statistic (leavers.*)

Several files are one :class:`TargetSet` with :func:`load_target_sets`; each target keeps the name of
its file (``set``, the file stem).

The observation model (:func:`observation_sd`, :func:`draw_observation`): a count is Poisson (σ² =
observed), a share binomial with its denominator, a multinomial member n·p·(1−p), a difference normal with
its ``sd``; a stated ``sd`` replaces the model's σ; ``transfer_sd`` is added in quadrature.
"""

from __future__ import annotations

import datetime as dt
import math
import tomllib
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from model.errors import InputError

OBSERVATIONS = ("count", "share", "multinomial", "difference")


@dataclass(frozen=True)
class Target:
    """One reported figure."""

    name: str
    value: float
    date: dt.date
    source: str
    observation: str
    denominator: str | float | None = None
    group: str | None = None
    bound: str | None = None
    quote: str = ""
    population: str = ""  # empty: the figure is about the simulated persons themselves
    transfer_sd: float = 0.0
    sd: float | None = None
    window_start: dt.date | None = None
    set: str = ""  # the stem of the file the target came from


@dataclass(frozen=True)
class TargetSet:
    """All targets of one or more files, with their meta data."""

    path: Path
    report_date: dt.date
    targets: tuple[Target, ...]
    notes: str = ""
    scenario: Path | None = None
    calibrates: tuple[str, ...] = ()  # registry parameters the set is meant to inform
    paths: tuple[Path, ...] = ()  # every file of the set (``(path,)`` for one file)

    def by_name(self) -> dict[str, Target]:
        return {t.name: t for t in self.targets}

    @property
    def sets(self) -> tuple[str, ...]:
        """The names of the files' sets, in file order."""
        return tuple(dict.fromkeys(t.set for t in self.targets))

    def denominator_value(self, target: Target) -> float | None:
        """The denominator of a share as a number (another target's value, or the number given)."""
        d = target.denominator
        if d is None:
            return None
        if isinstance(d, int | float):
            return float(d)
        return float(self.by_name()[d].value)


_KEYS = {
    "name", "value", "date", "source", "observation", "denominator", "group", "bound", "quote",
    "population", "transfer_sd", "sd", "window_start",
}


def _number(raw: object) -> bool:
    return not isinstance(raw, bool) and isinstance(raw, int | float) and math.isfinite(raw)


def _date(file: str, key: str, raw: object) -> dt.date:
    if isinstance(raw, dt.date) and not isinstance(raw, dt.datetime):
        return raw
    try:
        return dt.date.fromisoformat(str(raw))
    except ValueError:
        raise InputError(file, key, raw, "a date YYYY-MM-DD") from None


def _target(file: str, key: str, raw: dict, set_name: str) -> Target:
    unknown = set(raw) - _KEYS
    if unknown:
        k = sorted(unknown)[0]
        raise InputError(file, f"{key}.{k}", raw[k], f"one of {sorted(_KEYS)}")
    for req in ("name", "value", "date", "source", "observation"):
        if req not in raw:
            raise InputError(file, f"{key}.{req}", None, "a required key (missing)")
    if not isinstance(raw["name"], str) or not raw["name"]:
        raise InputError(file, f"{key}.name", raw["name"], "a target name (a string)")
    obs = raw["observation"]
    if obs not in OBSERVATIONS:
        raise InputError(file, f"{key}.observation", obs, f"one of {list(OBSERVATIONS)}")
    value = raw["value"]
    if obs == "difference":
        if not _number(value):
            raise InputError(file, f"{key}.value", value, "a finite number")
        if "sd" not in raw:
            raise InputError(file, f"{key}.sd", None, "an sd > 0 for a difference (missing)")
    elif not _number(value) or value < 0:
        raise InputError(file, f"{key}.value", value, "a finite number >= 0")
    if obs == "share" and not 0 <= value <= 1:
        raise InputError(file, f"{key}.value", value, "a share in [0, 1]")
    if obs == "share" and "denominator" not in raw:
        raise InputError(file, f"{key}.denominator", None, "a denominator for a share")
    d = raw.get("denominator")
    if d is not None and not (isinstance(d, str) or (_number(d) and d > 0)):
        raise InputError(file, f"{key}.denominator", d, "the name of another target or a number > 0")
    if raw.get("bound") not in (None, "lower", "upper"):
        raise InputError(file, f"{key}.bound", raw["bound"], "lower or upper")
    if "sd" in raw and not (_number(raw["sd"]) and raw["sd"] > 0):
        raise InputError(file, f"{key}.sd", raw["sd"], "a finite number > 0")
    if "transfer_sd" in raw and not (_number(raw["transfer_sd"]) and raw["transfer_sd"] >= 0):
        raise InputError(file, f"{key}.transfer_sd", raw["transfer_sd"], "a finite number >= 0")
    for k in ("population", "source", "quote", "group"):
        if k in raw and not isinstance(raw[k], str):
            raise InputError(file, f"{key}.{k}", raw[k], "a string")
    date = _date(file, f"{key}.date", raw["date"])
    window = _date(file, f"{key}.window_start", raw["window_start"]) if "window_start" in raw else None
    if window is not None and window > date:
        raise InputError(file, f"{key}.window_start", str(window), f"a date not after the target's date {date}")
    return Target(
        name=raw["name"],
        value=float(value),
        date=date,
        source=raw["source"],
        observation=obs,
        denominator=d,
        group=raw.get("group"),
        bound=raw.get("bound"),
        quote=raw.get("quote", ""),
        population=raw.get("population", ""),
        transfer_sd=float(raw.get("transfer_sd", 0.0)),
        sd=float(raw["sd"]) if "sd" in raw else None,
        window_start=window,
        set=set_name,
    )


def load_targets(path: Path | str) -> TargetSet:
    """Read and check a targets file.

    Raises:
        InputError: a missing file, bad TOML, or a malformed target.
    """
    path = Path(path)
    file = str(path)
    try:
        doc = tomllib.loads(path.read_text(encoding="utf-8"))
    except (FileNotFoundError, IsADirectoryError):
        raise InputError(file, "", file, "an existing targets file") from None
    except tomllib.TOMLDecodeError as exc:
        raise InputError(file, "", "(file)", f"valid TOML syntax: {exc}") from None
    meta = doc.get("meta", {})
    report_date = _date(file, "meta.report_date", meta.get("report_date"))
    calibrates = meta.get("calibrates", [])
    if not isinstance(calibrates, list) or not all(isinstance(c, str) for c in calibrates):
        raise InputError(file, "meta.calibrates", calibrates, "a list of registry parameter names")
    if calibrates:
        from model.parameters import default_parameters

        registry = default_parameters()
        for i, name in enumerate(calibrates):
            if name not in registry:
                raise InputError(file, f"meta.calibrates[{i}]", name, "the name of a registry parameter (see `nysjanse parameters`)")
    targets = []
    names: set[str] = set()
    for i, raw in enumerate(doc.get("target", [])):
        t = _target(file, f"target[{i}]", raw, path.stem)
        if t.name in names:
            raise InputError(file, f"target[{i}].name", t.name, "a name used once")
        names.add(t.name)
        targets.append(t)
    scenario = (path.parent / meta["scenario"]).resolve() if "scenario" in meta else None
    ts = TargetSet(path, report_date, tuple(targets), meta.get("notes", ""), scenario, tuple(calibrates), (path,))
    for i, t in enumerate(ts.targets):
        if isinstance(t.denominator, str) and t.denominator not in names:
            raise InputError(file, f"target[{i}].denominator", t.denominator, "the name of another target of the file")
    return ts


def load_target_sets(paths: Iterable[Path | str]) -> TargetSet:
    """Several targets files as one set: the first file's report date and scenario, every file's targets
    (each with its file's ``set``), the union of their ``calibrates``.

    Raises:
        InputError: a file is bad (see :func:`load_targets`), the same file twice, or a target name used in
            two files.
    """
    paths = [Path(p) for p in paths]
    if not paths:
        raise InputError("", "--targets", None, "at least one targets file")
    sets = [load_targets(p) for p in paths]
    seen: dict[str, Path] = {}
    stems: dict[str, Path] = {}
    for ts in sets:
        stem = ts.path.stem
        if stem in stems:
            raise InputError(str(ts.path), "", str(ts.path), f"a targets file with another name than {stems[stem]} (the set names are the file names)")
        stems[stem] = ts.path
        for i, t in enumerate(ts.targets):
            if t.name in seen:
                raise InputError(str(ts.path), f"target[{i}].name", t.name, f"a name not used in another file (also in {seen[t.name]})")
            seen[t.name] = ts.path
    if len(sets) == 1:
        return sets[0]
    first = sets[0]
    return TargetSet(
        path=first.path,
        report_date=first.report_date,
        targets=tuple(t for ts in sets for t in ts.targets),
        notes="\n\n".join(f"[{ts.path.stem}]\n{ts.notes}".strip() for ts in sets if ts.notes),
        scenario=next((ts.scenario for ts in sets if ts.scenario is not None), None),
        calibrates=tuple(dict.fromkeys(c for ts in sets for c in ts.calibrates)),
        paths=tuple(ts.path for ts in sets),
    )


def check_names(targets: TargetSet, scenario=None) -> None:
    """Every target name is one the model can produce (:data:`calibration.statistics.NAME_GRAMMAR`),
    and, given the scenario, its group exists and its date is within the simulated period.

    Raises:
        InputError: the first target that is not (file, ``target[i].name`` or ``.date``, the value, what is
            allowed).
    """
    from calibration.statistics import NAME_GRAMMAR, parse_name

    index: dict[str, int] = {}
    for t in targets.targets:
        file = _file_of(targets, t)
        i = index.get(file, 0)
        index[file] = i + 1
        problem = parse_name(t.name, scenario)
        if problem is not None:
            raise InputError(file, f"target[{i}].name", t.name, f"{problem} ({NAME_GRAMMAR})")
        if scenario is not None:
            sim = scenario.simulation
            if not sim.start_date < t.date <= sim.horizon_date:
                raise InputError(file, f"target[{i}].date", t.date.isoformat(), f"a date after the start {sim.start_date} and not after the horizon {sim.horizon_date}")


def _file_of(targets: TargetSet, target: Target) -> str:
    for p in targets.paths or (targets.path,):
        if p.stem == target.set:
            return str(p)
    return str(targets.path)


def _base_sd(target: Target, targets: TargetSet) -> float:
    y = target.value
    if target.sd is not None:
        return target.sd
    if target.observation == "share":
        n = targets.denominator_value(target) or 1.0
        p = min(max(y, 0.5 / n), 1 - 0.5 / n)
        return math.sqrt(p * (1 - p) / n)
    if target.observation == "multinomial":
        group = [t for t in targets.targets if t.group == target.group and t.set == target.set]
        total = sum(t.value for t in group)
        p = min(max(y / total, 0.5 / total), 1 - 0.5 / total)
        return math.sqrt(total * p * (1 - p))
    return math.sqrt(max(y, 1.0))


def observation_sd(target: Target, targets: TargetSet) -> float:
    """σ of a target under its observation model, the transfer sd added in quadrature."""
    return math.hypot(_base_sd(target, targets), target.transfer_sd)


def draw_observation(target: Target, targets: TargetSet, simulated: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Simulated observables: each simulated value of the target's statistic plus the noise of the
    target's observation model that the simulation does not already hold.

    A replication simulates the persons themselves, so a figure about them (no ``population``) is already a
    draw of its count or share: only a stated ``sd`` and the ``transfer_sd`` add noise. A figure about other
    persons (``population`` set) is a sample of its own: a count Poisson around the simulated value, a
    share binomial with its denominator (or its ``sd``), a difference normal with its ``sd``; then the
    ``transfer_sd``. NaN stays NaN.
    """
    x = np.asarray(simulated, dtype=float).copy()
    ok = np.isfinite(x)
    if target.sd is not None:
        x[ok] += rng.normal(0.0, target.sd, ok.sum())
    elif target.population:
        if target.observation == "share":
            n = max(int(round(targets.denominator_value(target) or 1.0)), 1)
            x[ok] = rng.binomial(n, np.clip(x[ok], 0.0, 1.0)) / n
        elif target.observation in ("count", "multinomial"):
            x[ok] = rng.poisson(np.maximum(x[ok], 0.0)).astype(float)
    if target.transfer_sd > 0:
        x[ok] += rng.normal(0.0, target.transfer_sd, ok.sum())
    return x

