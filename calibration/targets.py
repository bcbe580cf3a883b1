"""The calibration targets file: reported figures with their source and observation model.

Format (``calibration/targets/*.toml``)::

    [meta]
    report_date = "2006-12-01"

    [[target]]
    name = "flows.referred"          # what the model reports (see calibration.statistics)
    value = 938
    date = "2006-12-01"
    source = "IMDi 4-2007, table 3"
    observation = "count"            # count | share | multinomial
    denominator = "flows.referred"   # shares: another target's name or a number
    group = "not_admitted_reasons"   # multinomial members share a group
    bound = "lower"                  # optional: the figure is a bound ("over half"), not a point
"""

from __future__ import annotations

import datetime as dt
import tomllib
from dataclasses import dataclass
from pathlib import Path

from model.errors import InputError

OBSERVATIONS = ("count", "share", "multinomial")


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


@dataclass(frozen=True)
class TargetSet:
    """All targets of a file, with its meta data."""

    path: Path
    report_date: dt.date
    targets: tuple[Target, ...]
    notes: str = ""
    scenario: Path | None = None

    def by_name(self) -> dict[str, Target]:
        return {t.name: t for t in self.targets}

    def denominator_value(self, target: Target) -> float | None:
        """The denominator of a share as a number (another target's value, or the number given)."""
        d = target.denominator
        if d is None:
            return None
        if isinstance(d, int | float):
            return float(d)
        return float(self.by_name()[d].value)


_KEYS = {"name", "value", "date", "source", "observation", "denominator", "group", "bound", "quote"}


def load_targets(path: Path | str) -> TargetSet:
    """Read and check a targets file.

    Raises:
        InputError: a missing file, bad TOML, or a malformed target.
    """
    path = Path(path)
    file = str(path)
    try:
        doc = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError(file, "", file, "an existing targets file") from None
    except tomllib.TOMLDecodeError as exc:
        raise InputError(file, "", "(file)", f"valid TOML syntax: {exc}") from None
    meta = doc.get("meta", {})
    try:
        report_date = dt.date.fromisoformat(str(meta["report_date"]))
    except (KeyError, ValueError):
        raise InputError(file, "meta.report_date", meta.get("report_date"), "a date YYYY-MM-DD") from None
    targets = []
    names = set()
    for i, raw in enumerate(doc.get("target", [])):
        key = f"target[{i}]"
        unknown = set(raw) - _KEYS
        if unknown:
            k = sorted(unknown)[0]
            raise InputError(file, f"{key}.{k}", raw[k], f"one of {sorted(_KEYS)}")
        for req in ("name", "value", "date", "source", "observation"):
            if req not in raw:
                raise InputError(file, f"{key}.{req}", None, "a required key (missing)")
        if raw["observation"] not in OBSERVATIONS:
            raise InputError(file, f"{key}.observation", raw["observation"], f"one of {list(OBSERVATIONS)}")
        if isinstance(raw["value"], bool) or not isinstance(raw["value"], int | float) or raw["value"] < 0:
            raise InputError(file, f"{key}.value", raw["value"], "a number >= 0")
        if raw["observation"] == "share" and not 0 <= raw["value"] <= 1:
            raise InputError(file, f"{key}.value", raw["value"], "a share in [0, 1]")
        if raw["observation"] == "share" and "denominator" not in raw:
            raise InputError(file, f"{key}.denominator", None, "a denominator for a share")
        if raw.get("bound") not in (None, "lower", "upper"):
            raise InputError(file, f"{key}.bound", raw["bound"], "lower or upper")
        if raw["name"] in names:
            raise InputError(file, f"{key}.name", raw["name"], "a name used once")
        names.add(raw["name"])
        targets.append(
            Target(
                name=raw["name"],
                value=float(raw["value"]),
                date=dt.date.fromisoformat(str(raw["date"])),
                source=raw["source"],
                observation=raw["observation"],
                denominator=raw.get("denominator"),
                group=raw.get("group"),
                bound=raw.get("bound"),
                quote=raw.get("quote", ""),
            )
        )
    scenario = (path.parent / meta["scenario"]).resolve() if "scenario" in meta else None
    ts = TargetSet(path, report_date, tuple(targets), meta.get("notes", ""), scenario)
    for t in ts.targets:
        if isinstance(t.denominator, str) and t.denominator not in names:
            raise InputError(file, f"target {t.name}.denominator", t.denominator, "the name of another target")
    return ts
