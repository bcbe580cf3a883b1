"""The parameter registry: every number the model uses, with its source and its uncertainty.

A registry file is TOML. Any table that has a ``value`` key is one parameter; its dotted path is its name::

    [participation.work_hazard_per_year]
    value = 0.30
    unit = "1/year"
    source = "calibrated"        # calibrated | literature | assumption
    basis = "IMDi 4-2007, table 3: 48 left for work or education by 2006-12-01"
    low = 0.15                   # the range that feeds the uncertainty (PSA, tornado, Sobol)
    high = 0.60
    distribution = "lognormal"   # lognormal | uniform | normal | beta | fixed

``calibrated`` parameters name the targets that pin them down; ``literature`` ones cite a study;
``assumption`` ones give a reason. No number hides in a constant elsewhere in the code.
"""

from __future__ import annotations

import math
import tomllib
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats

from model.errors import InputError

SOURCES = ("calibrated", "literature", "assumption")
DISTRIBUTIONS = ("lognormal", "uniform", "normal", "beta", "fixed")
_FIELDS = {"value", "unit", "source", "basis", "low", "high", "distribution"}


@dataclass(frozen=True)
class Parameter:
    """One model input with its provenance.

    Attributes:
        name: dotted name, e.g. ``participation.work_hazard_per_year``.
        value: the point value used by default.
        unit: unit of ``value`` (also carried in the name).
        source: ``calibrated``, ``literature`` or ``assumption``.
        basis: the targets, citation or reason behind the value and the range.
        low: lower end of the plausible range (5th percentile for PSA draws).
        high: upper end of the plausible range (95th percentile for PSA draws).
        distribution: the shape used to draw the parameter in probabilistic analyses.
    """

    name: str
    value: float
    unit: str
    source: str
    basis: str
    low: float
    high: float
    distribution: str = "fixed"

    @property
    def graded(self) -> bool:
        """True if the parameter carries uncertainty (its range is not a point)."""
        return self.distribution != "fixed" and self.high > self.low

    def ppf(self, q: np.ndarray | float) -> np.ndarray:
        """Quantile function of the parameter's uncertainty distribution.

        ``low`` and ``high`` are the 5th and 95th percentiles (``uniform``: the bounds). Normal and lognormal
        ranges need not be symmetric: each side of the point value has its own spread (a two-piece
        distribution), so the quantiles 0.05 and 0.95 return ``low`` and ``high`` exactly.

        Args:
            q: probabilities in (0, 1).

        Returns:
            Parameter values at those quantiles.
        """
        q = np.asarray(q, dtype=float)
        if not self.graded:
            return np.full_like(q, self.value)
        lo, hi = self.low, self.high
        z95 = stats.norm.ppf(0.95)
        if self.distribution == "uniform":
            return lo + q * (hi - lo)
        if self.distribution in ("normal", "lognormal"):
            log = self.distribution == "lognormal"
            f = math.log if log else (lambda x: x)
            mu = f(self.value)
            z = stats.norm.ppf(q)
            x = mu + np.where(z < 0, (mu - f(lo)) / z95, (f(hi) - mu) / z95) * z
            return np.exp(x) if log else x
        if self.distribution == "beta":
            # Method of moments from the mean and the 90 % range read as +-1.645 sd.
            m = self.value
            sd = (hi - lo) / (2 * z95)
            k = max(m * (1 - m) / sd**2 - 1, 2.0)
            return stats.beta.ppf(q, m * k, (1 - m) * k)
        raise AssertionError(self.distribution)


def _check_entry(file: str, name: str, entry: Mapping) -> Parameter:
    unknown = set(entry) - _FIELDS
    if unknown:
        key = sorted(unknown)[0]
        raise InputError(file, f"{name}.{key}", entry[key], f"allowed fields: {sorted(_FIELDS)}")
    for req in ("value", "source", "basis"):
        if req not in entry:
            raise InputError(file, f"{name}.{req}", None, "every parameter needs value, source and basis")
    value = entry["value"]
    for field in ("value", "low", "high"):
        x = entry.get(field, 0.0)
        if isinstance(x, bool) or not isinstance(x, int | float):
            raise InputError(file, f"{name}.{field}", x, "a number")
        if not math.isfinite(x):
            raise InputError(file, f"{name}.{field}", x, "a finite number (not nan or inf)")
    value = entry["value"]
    if entry["source"] not in SOURCES:
        raise InputError(file, f"{name}.source", entry["source"], f"one of {list(SOURCES)}")
    dist = entry.get("distribution", "fixed")
    if dist not in DISTRIBUTIONS:
        raise InputError(file, f"{name}.distribution", dist, f"one of {list(DISTRIBUTIONS)}")
    low = float(entry.get("low", value))
    high = float(entry.get("high", value))
    if not low <= value <= high:
        raise InputError(file, f"{name}.value", value, f"within [low, high] = [{low}, {high}]")
    if dist == "lognormal" and low <= 0:
        raise InputError(file, f"{name}.low", low, "> 0 for a lognormal parameter")
    return Parameter(
        name=name,
        value=float(value),
        unit=str(entry.get("unit", "")),
        source=entry["source"],
        basis=str(entry["basis"]),
        low=low,
        high=high,
        distribution=dist,
    )


def _walk(file: str, table: Mapping, prefix: str) -> Iterator[Parameter]:
    for key, item in table.items():
        name = f"{prefix}.{key}" if prefix else key
        if not isinstance(item, Mapping):
            raise InputError(file, name, item, "a parameter table with value, unit, source, basis")
        if "value" in item:
            yield _check_entry(file, name, item)
        else:
            yield from _walk(file, item, name)


@dataclass(frozen=True)
class ParameterSet(Mapping[str, Parameter]):
    """An immutable collection of parameters, looked up by dotted name.

    Use ``params["x.y"]`` for the :class:`Parameter` and ``params.v("x.y")`` for its value.
    """

    items_: tuple[Parameter, ...] = field(default_factory=tuple)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_index", {p.name: p for p in self.items_})

    def __getitem__(self, name: str) -> Parameter:
        try:
            return self._index[name]  # type: ignore[attr-defined]
        except KeyError:
            raise KeyError(f"unknown parameter {name!r}") from None

    def __iter__(self) -> Iterator[str]:
        return iter(self._index)  # type: ignore[attr-defined]

    def __len__(self) -> int:
        return len(self.items_)

    def v(self, name: str) -> float:
        """The value of parameter ``name``."""
        return self[name].value

    def with_values(self, values: Mapping[str, float], source: str | None = None) -> ParameterSet:
        """A copy with some values replaced (e.g. a fitted point or a PSA draw).

        Args:
            values: name → new value. Unknown names raise ``KeyError``.
            source: if given, also set the source tag of the replaced parameters.
        """
        for name in values:
            self[name]
        items = tuple(
            replace(
                p,
                value=float(values[p.name]),
                low=min(p.low, float(values[p.name])),
                high=max(p.high, float(values[p.name])),
                source=source or p.source,
            )
            if p.name in values
            else p
            for p in self.items_
        )
        return ParameterSet(items)

    def merged(self, other: ParameterSet) -> ParameterSet:
        """A copy where parameters of ``other`` replace or extend ours."""
        index = dict(self._index)  # type: ignore[attr-defined]
        index.update(other._index)  # type: ignore[attr-defined]
        return ParameterSet(tuple(index.values()))

    def graded(self) -> list[Parameter]:
        """The parameters that carry uncertainty."""
        return [p for p in self.items_ if p.graded]

    def to_frame(self) -> pd.DataFrame:
        """The registry as a table (one row a parameter), for reports and exports."""
        return pd.DataFrame(
            [
                {
                    "parameter": p.name,
                    "value": p.value,
                    "unit": p.unit,
                    "source": p.source,
                    "low": p.low,
                    "high": p.high,
                    "distribution": p.distribution,
                    "basis": p.basis,
                }
                for p in self.items_
            ]
        )

    def to_toml_dict(self) -> dict:
        """The registry as nested dicts, ready for ``tomli_w.dumps``."""
        out: dict = {}
        for p in self.items_:
            node = out
            *path, leaf = p.name.split(".")
            for part in path:
                node = node.setdefault(part, {})
            node[leaf] = {
                "value": p.value,
                "unit": p.unit,
                "source": p.source,
                "basis": p.basis,
                "low": p.low,
                "high": p.high,
                "distribution": p.distribution,
            }
        return out


def load_parameters(paths: Iterable[Path | str]) -> ParameterSet:
    """Read one or more registry files; later files replace earlier parameters of the same name.

    Raises:
        InputError: a missing file, bad TOML or a malformed entry.
    """
    result = ParameterSet()
    for path in paths:
        path = Path(path)
        try:
            raw = tomllib.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise InputError(str(path), "", str(path), "an existing parameter file") from None
        except tomllib.TOMLDecodeError as exc:
            raise InputError(str(path), "", "(file)", f"valid TOML ({exc})") from None
        raw.pop("meta", None)
        result = result.merged(ParameterSet(tuple(_walk(str(path), raw, ""))))
    return result


DEFAULTS_DIR = Path(__file__).parent / "defaults"
#: Files in :data:`DEFAULTS_DIR` that are not parameter registries (the analysis conventions,
#: read by :mod:`model.conventions`).
NOT_REGISTRIES = ("conventions.toml",)


def default_parameters() -> ParameterSet:
    """The full default registry: behaviour (engine) and economics, with priors and sources."""
    return load_parameters(p for p in sorted(DEFAULTS_DIR.glob("*.toml")) if p.name not in NOT_REGISTRIES)
