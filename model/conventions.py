"""Analysis conventions: named sets of documented overrides of the analysis settings, and the reconciliation
between two sets.

The NPV of a labour-market programme turns on conventions as much as on behaviour: the horizon, how the
employment effect is carried beyond the simulated period, which resource costs and savings count, which
discounting rules. ``model/defaults/conventions.toml`` names them in one place:

* an **item** is a documented override of existing scenario keys (only ``analysis.analysis_horizon_years``,
  ``analysis.discounting`` and ``analysis.excluded_flows``: what :class:`~model.economics.EconomicPolicy`
  reads) and/or economic registry parameters (which the simulator never reads), each with its source;
* a **set** is the default (the scenario as written, with its registry) plus its items. ``default`` has no
  items, so ``--conventions default`` changes nothing.

Because no convention changes what is simulated, a set is applied by re-pricing: :func:`apply_conventions`
returns the scenario with its analysis settings replaced and the registry with the overridden parameters
fixed at the item's value; :func:`reconcile` simulates each PSA draw once and prices it under every state on
the way from one set to the other (common random numbers: the same draws, seeds and replications), so the
steps of the waterfall telescope to the difference of the two sets' mean NPVs.

The path from set A to set B (:func:`reconciliation_path`): first A's items that B lacks are removed, last
listed first; then B's items that A lacks are added, in B's order. Items of one set never set the same key
(checked on loading, except ``analysis.excluded_flows``, whose items add lines), so the order within a set
does not change its NPV.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import math
import tomllib
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Executor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from model.cba import replications_policy
from model.economics import evaluate_arrays, price_counts
from model.economics.ledger import CountRows
from model.economics.policy import DISCOUNTING_SCHEMES
from model.engine import simulate
from model.errors import InputError
from model.outcomes import economic_counts
from model.parameters import DEFAULTS_DIR, ParameterSet, load_parameters
from model.population import _age_quantile, draw_population
from model.rng import Streams
from model.scenario import Scenario
from model.vocabulary import EXCLUDABLE_FLOWS

CONVENTIONS_FILE = DEFAULTS_DIR / "conventions.toml"
#: Scenario keys an item may set, and the :class:`~model.economics.EconomicPolicy` field each one is.
SCENARIO_KEYS = {
    "analysis.analysis_horizon_years": "analysis_horizon_years",
    "analysis.discounting": "discounting",
    "analysis.excluded_flows": "excluded_flows",
}
#: The derived horizon value: until the average participant reaches the item's retirement age.
TO_RETIREMENT = "to_retirement_age"
_ITEM_FIELDS = {"title", "description", "source", "basis", "scenario", "parameters", "retirement_age_years"}
_SET_FIELDS = {"title", "description", "items"}
_SOURCES = ("literature", "assumption")
#: Relative tolerance of the telescoping check (plus 1 NOK absolute).
TELESCOPE_RTOL = 1e-6


@dataclass(frozen=True)
class Item:
    """One convention: overrides of analysis settings and/or economic parameters, with its source.

    Attributes:
        name: the item's key in the file.
        title, description: what it changes, in words.
        source, basis: ``literature`` or ``assumption``, and the citation or reason.
        scenario: ``(key, value)`` pairs of :data:`SCENARIO_KEYS` (a horizon may be :data:`TO_RETIREMENT`).
        parameters: ``(registry name, value)`` pairs of economic parameters.
        retirement_age_years: the age of :data:`TO_RETIREMENT` (None if the item has no such horizon).
    """

    name: str
    title: str
    description: str
    source: str
    basis: str
    scenario: tuple[tuple[str, Any], ...]
    parameters: tuple[tuple[str, float], ...]
    retirement_age_years: float | None = None

    def to_dict(self) -> dict[str, Any]:
        """Plain values for JSON documents."""
        return {
            "name": self.name,
            "title": self.title,
            "description": self.description,
            "source": self.source,
            "basis": self.basis,
            "scenario": {k: list(v) if isinstance(v, tuple) else v for k, v in self.scenario},
            "parameters": dict(self.parameters),
            **({"retirement_age_years": self.retirement_age_years} if self.retirement_age_years is not None else {}),
        }


@dataclass(frozen=True)
class ConventionSet:
    """A named set: the default plus ``items`` (in order)."""

    name: str
    title: str
    description: str
    items: tuple[Item, ...]

    def to_dict(self) -> dict[str, Any]:
        """Plain values for JSON documents."""
        return {"name": self.name, "title": self.title, "description": self.description, "items": [i.name for i in self.items]}


@dataclass(frozen=True)
class Conventions:
    """Every set of a conventions file, the default first."""

    sets: tuple[ConventionSet, ...]
    items: tuple[Item, ...]
    file: str

    @property
    def names(self) -> list[str]:
        """The set names, the default first."""
        return [s.name for s in self.sets]

    def get(self, name: str) -> ConventionSet:
        """The set called ``name``.

        Raises:
            InputError: no set has that name.
        """
        for s in self.sets:
            if s.name == name:
                return s
        raise InputError(self.file, "conventions", name, "one of: " + ", ".join(self.names))


def _text(file: str, key: str, table: Mapping, name: str) -> str:
    v = table.get(name)
    if not isinstance(v, str) or not v.strip():
        raise InputError(file, f"{key}.{name}", v, "a non-empty string")
    return v


def _item(file: str, name: str, table: Any, economic: ParameterSet) -> Item:
    key = f"items.{name}"
    if not isinstance(table, Mapping):
        raise InputError(file, key, table, "a table with title, description, source, basis and scenario and/or parameters")
    unknown = sorted(set(table) - _ITEM_FIELDS)
    if unknown:
        raise InputError(file, f"{key}.{unknown[0]}", table[unknown[0]], f"allowed fields: {sorted(_ITEM_FIELDS)}")
    source = _text(file, key, table, "source")
    if source not in _SOURCES:
        raise InputError(file, f"{key}.source", source, f"one of {list(_SOURCES)}")
    scenario, parameters = table.get("scenario", {}), table.get("parameters", {})
    if not isinstance(scenario, Mapping) or not isinstance(parameters, Mapping) or not (scenario or parameters):
        raise InputError(file, key, table, "at least one override in a scenario or parameters table")
    pairs: list[tuple[str, Any]] = []
    retirement = table.get("retirement_age_years")
    for k, v in scenario.items():
        where = f"{key}.scenario.{k}"
        if k not in SCENARIO_KEYS:
            raise InputError(file, where, v, f"one of the analysis keys {sorted(SCENARIO_KEYS)}")
        if k == "analysis.analysis_horizon_years":
            if v == TO_RETIREMENT:
                if isinstance(retirement, bool) or not isinstance(retirement, int | float) or not 40 <= retirement <= 80:
                    raise InputError(file, f"{key}.retirement_age_years", retirement, "an age in [40, 80] (needed by to_retirement_age)")
            elif isinstance(v, bool) or not isinstance(v, int) or not 1 <= v <= 100:
                raise InputError(file, where, v, f"a whole number of years in [1, 100] or {TO_RETIREMENT!r}")
        elif k == "analysis.discounting" and v not in DISCOUNTING_SCHEMES:
            raise InputError(file, where, v, f"one of {list(DISCOUNTING_SCHEMES)}")
        elif k == "analysis.excluded_flows":
            if not isinstance(v, list) or not v or not all(f in EXCLUDABLE_FLOWS for f in v):
                raise InputError(file, where, v, f"a non-empty list of flows among {list(EXCLUDABLE_FLOWS)}")
            v = tuple(v)
        pairs.append((k, v))
    values: list[tuple[str, float]] = []
    for k, v in parameters.items():
        where = f"{key}.parameters.{k}"
        if k not in economic:
            raise InputError(file, where, v, "the name of an economic registry parameter (model/defaults/economics.toml)")
        if isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(v):
            raise InputError(file, where, v, "a finite number")
        values.append((k, float(v)))
    return Item(
        name=name,
        title=_text(file, key, table, "title"),
        description=_text(file, key, table, "description"),
        source=source,
        basis=_text(file, key, table, "basis"),
        scenario=tuple(pairs),
        parameters=tuple(values),
        retirement_age_years=None if retirement is None else float(retirement),
    )


def _set(file: str, name: str, table: Any, items: Mapping[str, Item]) -> ConventionSet:
    key = f"sets.{name}"
    if not isinstance(table, Mapping):
        raise InputError(file, key, table, "a table with title, description and items")
    unknown = sorted(set(table) - _SET_FIELDS)
    if unknown:
        raise InputError(file, f"{key}.{unknown[0]}", table[unknown[0]], f"allowed fields: {sorted(_SET_FIELDS)}")
    names = table.get("items")
    if not isinstance(names, list) or len(set(map(str, names))) != len(names):
        raise InputError(file, f"{key}.items", names, "a list of distinct item names")
    chosen = []
    for n in names:
        if n not in items:
            raise InputError(file, f"{key}.items", n, "one of the items: " + ", ".join(items))
        chosen.append(items[n])
    seen: dict[str, str] = {}
    for it in chosen:
        for k in [k for k, _ in it.scenario if k != "analysis.excluded_flows"] + [k for k, _ in it.parameters]:
            if k in seen:
                raise InputError(file, f"{key}.items", names, f"items that set different keys ({seen[k]} and {it.name} both set {k})")
            seen[k] = it.name
    return ConventionSet(name, _text(file, key, table, "title"), _text(file, key, table, "description"), tuple(chosen))


@functools.lru_cache(maxsize=8)
def load_conventions(path: Path | str = CONVENTIONS_FILE) -> Conventions:
    """Read and check a conventions file (the default: ``model/defaults/conventions.toml``).

    Raises:
        InputError: a missing or malformed file, an unknown key, an override of something that is not an
            analysis setting or an economic parameter, or a default that is not the first set.
    """
    path = Path(path)
    file = str(path)
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError(file, "", file, "an existing conventions file") from None
    except tomllib.TOMLDecodeError as exc:
        raise InputError(file, "", "(file)", f"valid TOML ({exc})") from None
    economic = load_parameters([DEFAULTS_DIR / "economics.toml"])
    items = {name: _item(file, name, t, economic) for name, t in raw.get("items", {}).items()}
    sets = tuple(_set(file, name, t, items) for name, t in raw.get("sets", {}).items())
    default = raw.get("meta", {}).get("default")
    if not sets or sets[0].name != default or sets[0].items:
        raise InputError(file, "meta.default", default, "the name of the first set, which has no items")
    return Conventions(sets, tuple(items.values()), file)


def convention_names() -> list[str]:
    """The names of the sets in ``model/defaults/conventions.toml``, the default first."""
    return load_conventions().names


def convention_set(name: str) -> ConventionSet:
    """The set ``name`` of ``model/defaults/conventions.toml``.

    Raises:
        InputError: ``("model/defaults/conventions.toml", "conventions", name, "one of: …")``.
    """
    sets = load_conventions()
    try:
        return sets.get(name)
    except InputError as err:
        raise InputError("model/defaults/conventions.toml", err.key, err.value, err.allowed) from None


def mean_age_at_referral(scenario: Scenario, params: ParameterSet) -> float:
    """Mean age of the referred persons: the population model's age distribution
    (:func:`model.population._age_quantile`, the one the population is drawn from) at ``params``,
    truncated to the scenario's eligibility band, by its quantiles at 4 000 midpoints."""
    u = (np.arange(4000) + 0.5) / 4000
    el = scenario.eligibility
    return float(_age_quantile(u, params, el.min_age_years, el.max_age_years).mean())


def years_to_retirement(scenario: Scenario, params: ParameterSet, retirement_age_years: float) -> int:
    """The analysis horizon to retirement: ``ceil(retirement age − mean age at referral)`` calendar years
    from the base year (at least 1)."""
    return max(1, math.ceil(retirement_age_years - mean_age_at_referral(scenario, params) - 1e-9))


def analysis_settings(items: Sequence[Item], scenario: Scenario, params: ParameterSet) -> dict[str, Any]:
    """The analysis settings (as :class:`~model.economics.EconomicPolicy` fields) of the scenario after
    ``items``, in order: ``analysis_horizon_years``, ``discounting``, ``excluded_flows``.

    Args:
        items: the convention items.
        scenario: the scenario as written (its settings are the start).
        params: the registry at its point values (for :data:`TO_RETIREMENT`).
    """
    a = scenario.analysis
    out: dict[str, Any] = {
        "analysis_horizon_years": a.analysis_horizon_years,
        "discounting": a.discounting,
        "excluded_flows": tuple(a.excluded_flows),
    }
    for item in items:
        for key, value in item.scenario:
            field = SCENARIO_KEYS[key]
            if field == "excluded_flows":
                out[field] = tuple(dict.fromkeys((*out[field], *value)))
            elif value == TO_RETIREMENT:
                out[field] = years_to_retirement(scenario, params, item.retirement_age_years)
            else:
                out[field] = value
    return out


def parameter_values(items: Sequence[Item]) -> dict[str, float]:
    """The parameter values ``items`` set (name → value)."""
    return {name: value for item in items for name, value in item.parameters}


def fix_parameters(params: ParameterSet, values: Mapping[str, float]) -> ParameterSet:
    """``params`` with the named parameters fixed at ``values`` (point and range; not drawn in a PSA), their
    basis noting the convention."""
    fixed = [
        dataclasses.replace(params[n], value=float(v), low=float(v), high=float(v), distribution="fixed",
                            basis=f"{params[n].basis} [fixed at {v:g} by an analysis convention]")
        for n, v in values.items()
    ]
    return params.merged(ParameterSet(tuple(fixed))) if fixed else params


def apply_conventions(scenario: Scenario, params: ParameterSet, name: str) -> tuple[Scenario, ParameterSet]:
    """The scenario and the registry under the convention set ``name``.

    The scenario's analysis settings are replaced (and its canonical document and hash with them); the
    economic parameters the set overrides are fixed at the set's values. ``default`` returns both unchanged.

    Raises:
        InputError: an unknown set name.
    """
    cs = convention_set(name)
    if not cs.items:
        return scenario, params
    settings = analysis_settings(cs.items, scenario, params)
    doc = json.loads(scenario.raw)
    analysis = doc.setdefault("analysis", {})
    for field, value in settings.items():
        if value != getattr(scenario.analysis, field):
            analysis[field] = list(value) if isinstance(value, tuple) else value
    scen = dataclasses.replace(
        scenario,
        analysis=dataclasses.replace(scenario.analysis, **settings),
        raw=json.dumps(doc, sort_keys=True, default=str),
    )
    return scen, fix_parameters(params, parameter_values(cs.items))


# ----------------------------------------------------------------------------------------- reconciliation
@dataclass(frozen=True)
class Step:
    """One state on the path between two sets: the items in force after it, and the step that led there
    (``item`` None for the start; ``change`` ``add`` or ``remove``)."""

    item: Item | None
    change: str | None
    items: tuple[Item, ...]


def reconciliation_path(a: ConventionSet, b: ConventionSet) -> list[Step]:
    """The states from set ``a`` to set ``b``, one convention item at a time: the start (``a``'s items), then
    ``a``'s items that ``b`` lacks removed (last listed first), then ``b``'s items that ``a`` lacks added (in
    ``b``'s order). The last state has ``b``'s items."""
    current = list(a.items)
    path = [Step(None, None, tuple(current))]
    for item in reversed(a.items):
        if item not in b.items:
            current.remove(item)
            path.append(Step(item, "remove", tuple(current)))
    for item in b.items:
        if item not in current:
            current.append(item)
            path.append(Step(item, "add", tuple(current)))
    return path


def _society_npv(pooled: pd.DataFrame, perspective: str) -> float:
    names = pooled["perspective"].astype(str).to_numpy()
    return float(pooled["npv_nok"].to_numpy()[names == perspective][0])


def _draw_npvs(args: tuple) -> list[float]:
    """One draw: simulate ``inner`` replications once, price them under every state (policy changes and
    parameter values), return the pooled NPVs of ``perspective``, one per state."""
    scenario, params, values, seed, inner, label, states, perspective = args
    draw = params.with_values(values)
    parts = []
    for r in range(inner):
        streams = Streams(seed, r)
        pop = draw_population(scenario, draw, streams)
        parts.append(economic_counts(scenario, pop, simulate(scenario, draw, pop, streams), r))
    # What model.cba.summarize_parameters prices, kept to re-price it.
    counts = CountRows.concat([p.count_rows for p in parts]).counts()
    policy = replications_policy(scenario, parts)
    out = []
    for changes, pvalues in states:
        pol = policy.replace(**changes)
        prm = draw.with_values(pvalues) if pvalues else draw
        pooled = evaluate_arrays(price_counts(counts, pol, prm).effects().mean_over_replications(label), pol, prm)
        out.append(_society_npv(pooled, perspective))
    return out


@dataclass
class Reconciliation:
    """The waterfall from one convention set to another.

    Attributes:
        from_set, to_set: the two sets.
        perspective: the perspective of the NPVs (``society``).
        steps: per step ``item``, ``change``, ``title``, ``delta_npv_nok`` (mean over draws) and its
            ``p05``/``p95`` over the draws.
        npv_from_nok, npv_to_nok: the mean NPVs of the two sets.
        npv_by_draw: draws × states NPVs (NOK).
        settings: per state the analysis settings and parameter values.
    """

    from_set: ConventionSet
    to_set: ConventionSet
    perspective: str
    steps: list[dict[str, Any]]
    npv_from_nok: float
    npv_to_nok: float
    npv_by_draw: np.ndarray
    settings: list[dict[str, Any]]

    @property
    def total_delta_npv_nok(self) -> float:
        """The sum of the steps (in their order), which :func:`reconcile` checked equals
        ``npv_to_nok − npv_from_nok`` (relative tolerance :data:`TELESCOPE_RTOL`, plus 1 NOK)."""
        return float(sum(s["delta_npv_nok"] for s in self.steps))

    def to_dict(self) -> dict[str, Any]:
        """The ``reconcile.json`` document."""
        return {
            "from": self.from_set.name,
            "to": self.to_set.name,
            "perspective": self.perspective,
            "npv_from_nok": self.npv_from_nok,
            "npv_to_nok": self.npv_to_nok,
            "steps": self.steps,
            "total_delta_npv_nok": self.total_delta_npv_nok,
            "draws": int(self.npv_by_draw.shape[0]),
            "method": (
                "PSA mean NPV per state; every state prices the same simulated draws (same parameter draws, "
                "seeds and replications: common random numbers), so the steps telescope to the total"
            ),
            "order": "items of 'from' not in 'to' removed (last listed first), then items of 'to' not in 'from' added (in its order)",
            "sets": {self.from_set.name: self.from_set.to_dict(), self.to_set.name: self.to_set.to_dict()},
            "items": {s["item"]: next(i.to_dict() for i in (*self.from_set.items, *self.to_set.items) if i.name == s["item"])
                      for s in self.steps},
            "settings": self.settings,
        }


def reconcile(
    scenario: Scenario,
    params: ParameterSet,
    from_name: str,
    to_name: str,
    sample: pd.DataFrame,
    seed: int,
    inner: int,
    executor: Executor | None = None,
    progress: Callable[[int], None] | None = None,
    perspective: str = "society",
) -> Reconciliation:
    """The NPV waterfall from convention set ``from_name`` to ``to_name`` over PSA draws.

    Args:
        scenario: the scenario as written (the ``default`` set's).
        params: its registry (point values; the draws replace the graded ones).
        from_name, to_name: set names.
        sample: the PSA draws (:func:`model.uncertainty.sample_parameters` of ``params``), one row a draw.
        seed, inner: root seed and inner replications of each draw (replications ``0 … inner − 1``).
        executor: runs the draws (None: serially).
        progress: called with 1 after each draw.
        perspective: whose NPV.

    Returns:
        The reconciliation; its steps sum to ``NPV(to) − NPV(from)`` (checked).

    Raises:
        InputError: an unknown set name.
    """
    a, b = convention_set(from_name), convention_set(to_name)
    path = reconciliation_path(a, b)
    states = [(analysis_settings(s.items, scenario, params), parameter_values(s.items)) for s in path]
    rows = sample.to_dict(orient="records") if len(sample.columns) else [{} for _ in range(len(sample))]
    args = [(scenario, params, dict(row), seed, inner, k, states, perspective) for k, row in enumerate(rows)]
    results = []
    for npvs in (executor.map(_draw_npvs, args) if executor is not None else map(_draw_npvs, args)):
        results.append(npvs)
        if progress:
            progress(1)
    npv = np.asarray(results, dtype=float).reshape(len(args), len(path))
    mean = npv.mean(axis=0)
    deltas = np.diff(npv, axis=1)
    steps = [
        {
            "item": s.item.name,
            "change": s.change,
            "title": s.item.title,
            "delta_npv_nok": float(mean[k + 1] - mean[k]),
            "p05": float(np.quantile(deltas[:, k], 0.05)),
            "p95": float(np.quantile(deltas[:, k], 0.95)),
        }
        for k, s in enumerate(path[1:])
    ]
    total = float(mean[-1] - mean[0])
    summed = sum(s["delta_npv_nok"] for s in steps)
    if abs(summed - total) > TELESCOPE_RTOL * abs(total) + 1.0:
        raise AssertionError(f"reconciliation steps sum to {summed} NOK, not the total {total} NOK")
    settings = [
        {"after": None if s.item is None else s.item.name,
         **{k: list(v) if isinstance(v, tuple) else v for k, v in st.items()}, "parameters": pv}
        for s, (st, pv) in zip(path, states, strict=True)
    ]
    return Reconciliation(a, b, perspective, steps, float(mean[0]), float(mean[-1]), npv, settings)


def waterfall_figure(rec: Reconciliation) -> Any:
    """A plotly waterfall of the reconciliation: the start set's NPV, one bar per step, the end set's NPV
    (NOK million)."""
    import plotly.graph_objects as go

    labels = [rec.from_set.name] + [("− " if s["change"] == "remove" else "+ ") + s["item"] for s in rec.steps] + [rec.to_set.name]
    values = [rec.npv_from_nok / 1e6] + [s["delta_npv_nok"] / 1e6 for s in rec.steps] + [rec.npv_to_nok / 1e6]
    fig = go.Figure(go.Waterfall(
        x=labels, y=values, measure=["absolute"] + ["relative"] * len(rec.steps) + ["total"],
        text=[f"{v:,.1f}" for v in values], textposition="outside",
    ))
    fig.update_layout(
        title=f"{rec.perspective.capitalize()} NPV from conventions '{rec.from_set.name}' to '{rec.to_set.name}' "
              f"(mean over {rec.npv_by_draw.shape[0]} PSA draws, NOK million)",
        yaxis_title="NPV, NOK million", showlegend=False,
    )
    return fig


def reconcile_html(rec: Reconciliation, title: str) -> str:
    """A self-contained page: the waterfall figure (plotly.js inline) and the table of steps with each
    step's 90 % range over the draws."""
    from html import escape

    from model.artifacts import figure_html

    def m(x: float) -> str:
        return f"{x / 1e6:,.2f}"

    rows = [f"<tr><td>{escape(rec.from_set.name)} (start)</td><td></td><td>{m(rec.npv_from_nok)}</td><td></td></tr>"]
    for s in rec.steps:
        rows.append(
            f"<tr><td>{'−' if s['change'] == 'remove' else '+'} {escape(s['item'])}</td><td>{escape(s['title'])}</td>"
            f"<td>{m(s['delta_npv_nok'])}</td><td>{m(s['p05'])} to {m(s['p95'])}</td></tr>"
        )
    rows.append(f"<tr><td>{escape(rec.to_set.name)} (end)</td><td></td><td>{m(rec.npv_to_nok)}</td><td></td></tr>")
    rows.append(f"<tr><th>total change</th><td></td><th>{m(rec.total_delta_npv_nok)}</th><td></td></tr>")
    style = "body{font-family:sans-serif;max-width:1100px;margin:2em auto}td,th{padding:4px 10px;text-align:left}table{border-collapse:collapse}tr{border-bottom:1px solid #ddd}"
    return (
        f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{escape(title)}</title><style>{style}</style></head><body>"
        f"<h1>{escape(title)}</h1><p>{escape(rec.perspective.capitalize())} NPV, NOK million, mean over "
        f"{rec.npv_by_draw.shape[0]} PSA draws; every step prices the same simulated draws (common random numbers), "
        "so the steps sum to the total. The range is the step's 5th to 95th percentile over the draws.</p>"
        f"{figure_html(waterfall_figure(rec), include_plotlyjs=True)}"
        f"<table><tr><th>step</th><th>convention</th><th>Δ NPV</th><th>90 % range over draws</th></tr>{''.join(rows)}</table>"
        "</body></html>"
    )


__all__ = [
    "CONVENTIONS_FILE", "ConventionSet", "Conventions", "Item", "Reconciliation", "Step", "analysis_settings",
    "apply_conventions", "convention_names", "convention_set", "fix_parameters", "load_conventions",
    "mean_age_at_referral", "parameter_values", "reconcile", "reconcile_html", "reconciliation_path", "waterfall_figure",
    "years_to_retirement",
]
