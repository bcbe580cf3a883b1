"""Perspectives: who gains and who pays, discounted: NPV, benefit-cost ratio, payback,
cost-effectiveness.

Each party's position on a ledger row is ``+amount`` if it receives and ``−amount`` if it pays
(:func:`model.economics.ledger.party_positions`). The perspectives:

* ``state``, ``municipality``, ``participant``, ``employer``: the party's positions.
* ``public``: state + municipality (the budget perspective).
* ``society``: the sum of the four parties' positions, so transfers cancel and what remains is
  production less real resource use, minus the tax financing cost (MCPF): ``tax_financing_cost_t =
  cba.tax_financing_cost_share · (state_t + municipality_t)`` (negative when the public budgets have
  a net cost, positive when they have a net gain).

Identity (tested): ``NPV_society = NPV_state + NPV_municipality + NPV_participant + NPV_employer +
PV(tax_financing_cost)``, with ``NPV_employer = 0`` because production is valued at the gross wage
incl. employer contributions.

Benefit-cost ratio of a perspective: ``PV of gains / PV of costs`` where, for each ledger line
(flow) of that perspective, the discounted total over the analysis horizon counts as a gain if
positive and as a cost if negative. ``inf`` when there are gains and no costs, NaN when neither.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from model.columns import Columns
from model.economics.discounting import discount_factors
from model.economics.ledger import (
    _IS_QUANTITY,
    _IS_TRANSFER,
    FLOW_NAMES,
    FLOWS,
    PARTIES,
    LedgerArrays,
    _group,
    category_codes,
    str_isin,
)
from model.economics.policy import EconomicPolicy
from model.economics.sums import block_sums, group_numbers, group_sums
from model.parameters import ParameterSet

#: Perspectives reported by :func:`evaluate` by default.
PERSPECTIVES = ("society", "state", "municipality", "participant")
#: Every perspective in :func:`perspective_ledger`.
ALL_PERSPECTIVES = ("society", "state", "municipality", "participant", "employer", "public")
MCPF_FLOW = "tax_financing_cost"

#: Ledger lines of the perspectives: the flows, then the tax financing cost.
_LINE_NAMES = (*FLOW_NAMES, MCPF_FLOW)
_SIGNS = np.array(
    [[(p == f.receiver) - (p == f.payer) for p in PARTIES] for f in FLOWS], dtype=float
)
#: The flow of the extra employed person-years (the denominator of cost-effectiveness).
_EMPLOYED_CODE = FLOW_NAMES.index("employed_person_years")


def _line_meta(attr: str, mcpf_value: str) -> tuple[np.ndarray, list[str]]:
    values = [getattr(f, attr) for f in FLOWS] + [mcpf_value]
    cats = sorted(set(values))
    return np.array([cats.index(v) for v in values]), cats


_LINE_META = {
    "payer": _line_meta("payer", "society"),
    "receiver": _line_meta("receiver", "deadweight_loss"),
    "kind": _line_meta("kind", "resource"),
    "group": _line_meta("group", "tax_financing"),
}
#: Whether each line is in the ``programme`` group (the programme's cost to public budgets).
_PROGRAMME_LINE = np.array(
    [_LINE_META["group"][1][i] == "programme" for i in _LINE_META["group"][0]]
)

# Category dtypes of the perspective ledger's columns, built once.
_DTYPES = {
    "perspective": pd.CategoricalDtype(list(ALL_PERSPECTIVES)),
    "flow": pd.CategoricalDtype(list(_LINE_NAMES)),
    **{k: pd.CategoricalDtype(list(v[1])) for k, v in _LINE_META.items()},
}

EVALUATION_COLUMNS = (
    "replication",
    "perspective",
    "npv_nok",
    "pv_gains_nok",
    "pv_costs_nok",
    "bcr",
    "payback_year",
    "cost_per_extra_employed_person_year_nok",
    "net_budget_effect_nok_per_year",
    "extra_employed_person_years",
    "programme_cost_public_pv_nok",
)


def base_year_of(effects: pd.DataFrame | LedgerArrays, policy: EconomicPolicy) -> int:
    """The year discounted to: ``policy.base_year``, else the ledger's, else its first year."""
    if policy.base_year is not None:
        return policy.base_year
    if "base_year" in effects.attrs:
        return int(effects.attrs["base_year"])
    years = effects.year if isinstance(effects, LedgerArrays) else effects["year"].to_numpy()
    return int(years.min())


def _effect_arrays(effects: pd.DataFrame) -> tuple[LedgerArrays, np.ndarray]:
    """An effect ledger frame as arrays, and per row whether it carries money (``kind`` is not
    ``quantity``).

    The flow codes are those of the money rows (which must be flows of :data:`FLOW_NAMES`) and of
    ``employed_person_years`` rows; other quantity rows get -1.
    """
    money = ~str_isin(effects["kind"], ("quantity",))
    flow_names = effects["flow"]
    flow = np.full(len(effects), -1, dtype=np.int64)
    flow[money] = category_codes(flow_names, FLOW_NAMES, "flow", rows=money)
    flow[str_isin(flow_names, ("employed_person_years",))] = _EMPLOYED_CODE
    arrays = LedgerArrays(
        replication=effects["replication"].to_numpy(),
        arm=None,
        year=effects["year"].to_numpy(),
        flow=flow,
        extrapolated=effects["extrapolated"].to_numpy(bool),
        amount_nok=effects["amount_nok"].to_numpy(float),
        person_years=effects["person_years"].to_numpy(float),
        attrs=dict(effects.attrs),
    )
    return arrays, money


@dataclass(frozen=True)
class _Lines:
    """The rows of :func:`perspective_ledger` as arrays, sorted by replication, perspective, year
    and line."""

    replication: np.ndarray  # int64
    year: np.ndarray  # int64
    perspective: np.ndarray  # codes into ALL_PERSPECTIVES
    line: np.ndarray  # codes into _LINE_NAMES
    extrapolated: np.ndarray  # bool
    amount_nok: np.ndarray  # NOK of the price year, undiscounted
    discount_factor: np.ndarray
    base_year: int


def _perspective_lines(
    effects: LedgerArrays, money: np.ndarray, policy: EconomicPolicy, params: ParameterSet
) -> _Lines:
    """The effect ledger seen from every perspective (see :func:`perspective_ledger`), as arrays;
    ``money``: the rows that carry money."""
    base = base_year_of(effects, policy)
    f = effects.flow[money]
    amount = effects.amount_nok[money]
    rep = effects.replication[money].astype(np.int64)
    year = effects.year[money].astype(np.int64)
    ext = effects.extrapolated[money]
    signs = _SIGNS[f]  # (rows, parties): +1 receiver, -1 payer
    pos = amount[:, None] * signs
    persp = {name: i for i, name in enumerate(ALL_PERSPECTIVES)}
    blocks: list[tuple[np.ndarray, ...]] = []

    def add(mask: np.ndarray, name: str, values: np.ndarray) -> None:
        n = int(mask.sum())
        blocks.append(
            (rep[mask], year[mask], f[mask], ext[mask], np.full(n, persp[name]), values[mask])
        )

    for j, party in enumerate(PARTIES):
        add(signs[:, j] != 0, party, pos[:, j])
    i_state, i_mun = PARTIES.index("state"), PARTIES.index("municipality")
    public = pos[:, i_state] + pos[:, i_mun]
    add((signs[:, i_state] != 0) | (signs[:, i_mun] != 0), "public", public)
    add(~_IS_TRANSFER[f], "society", pos.sum(axis=1))
    # Tax financing cost: a share of the net public effect of each replication and year.
    (m_rep, m_year, m_ext), m_sum = _group(
        [rep, year - year.min(initial=0), ext.astype(np.int64)], public
    )
    share = params.v("cba.tax_financing_cost_share")
    blocks.append(
        (
            m_rep,
            m_year + year.min(initial=0),
            np.full(m_rep.size, len(FLOW_NAMES)),
            m_ext.astype(bool),
            np.full(m_rep.size, persp["society"]),
            share * m_sum,
        )
    )
    r, y, fc, e, pc, a = (np.concatenate(c) for c in zip(*blocks, strict=True))
    order = np.lexsort((fc, y, pc, r))
    r, y, fc, e, pc, a = (c[order] for c in (r, y, fc, e, pc, a))
    return _Lines(
        replication=r,
        year=y,
        perspective=pc,
        line=fc,
        extrapolated=e,
        amount_nok=a,
        discount_factor=discount_factors(y - base, policy.discounting, params),
        base_year=base,
    )


def perspective_ledger(
    effects: pd.DataFrame, policy: EconomicPolicy, params: ParameterSet
) -> pd.DataFrame:
    """The effect ledger seen from every perspective, by year and line, undiscounted and discounted.

    Args:
        effects: the effect ledger (:func:`model.economics.ledger.arm_effects`).
        policy: the scenario's economic policy (discounting scheme, base year).
        params: the registry (discount rates, tax financing cost).

    Returns:
        Columns ``replication, year, perspective, flow, payer, receiver, kind, group, extrapolated,
        amount_nok, discount_factor, pv_nok`` (NOK of the price year). Society's transfer lines are
        left out (they are exactly zero); society's ``tax_financing_cost`` line is the MCPF.
    """
    lines = _perspective_lines(*_effect_arrays(effects), policy, params)
    fc = lines.line
    out = pd.DataFrame(
        {
            "replication": lines.replication.astype(np.int32),
            "year": lines.year.astype(np.int32),
            "perspective": pd.Categorical.from_codes(
                lines.perspective, dtype=_DTYPES["perspective"]
            ),
            "flow": pd.Categorical.from_codes(fc, dtype=_DTYPES["flow"]),
            **{
                attr: pd.Categorical.from_codes(codes[fc], dtype=_DTYPES[attr])
                for attr, (codes, _) in _LINE_META.items()
            },
            "extrapolated": lines.extrapolated,
            "amount_nok": lines.amount_nok,
            "discount_factor": lines.discount_factor,
            "pv_nok": lines.amount_nok * lines.discount_factor,
        }
    )
    out.attrs.update(effects.attrs)
    out.attrs["base_year"] = lines.base_year
    return out


def _payback_years(
    group: np.ndarray, year_index: np.ndarray, pv: np.ndarray, years: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Payback year per group: the first year from which the cumulative PV is and stays > 0.

    Args:
        group: group per row, sorted (one row per group and year).
        year_index: index into ``years`` per row.
        pv: PV per row (NOK); years missing from a group count 0.
        years: the calendar years, ascending.

    Returns:
        Per group (in order) the payback year and whether there is one (else the year is
        meaningless).
    """
    new_group = np.ones(group.size, dtype=bool)
    new_group[1:] = group[1:] != group[:-1]
    row = np.cumsum(new_group) - 1
    wide = np.zeros((int(new_group.sum()), years.size))
    if wide.size == 0:  # no flows at all
        return np.zeros(wide.shape[0], dtype=np.int64), np.zeros(wide.shape[0], dtype=bool)
    wide[row, year_index] = pv
    nonpos = np.cumsum(wide, axis=1) <= 0.0
    last_nonpos = np.where(
        nonpos.any(axis=1), nonpos.shape[1] - 1 - np.argmax(nonpos[:, ::-1], axis=1), -1
    )
    first_ok = last_nonpos + 1
    pays_back = first_ok < years.size
    return np.where(pays_back, years[np.minimum(first_ok, years.size - 1)], 0), pays_back


def _reindexed(reps: np.ndarray, keys: np.ndarray, sums: np.ndarray) -> np.ndarray:
    """``sums`` of the replications ``keys`` placed on all replications ``reps`` (0 elsewhere)."""
    out = np.zeros(reps.size)
    out[np.searchsorted(reps, keys)] = sums
    return out


def evaluate(
    effects: pd.DataFrame,
    policy: EconomicPolicy,
    params: ParameterSet,
    perspectives: tuple[str, ...] = PERSPECTIVES,
) -> pd.DataFrame:
    """Cost-benefit results per replication and perspective.

    Args:
        effects: the effect ledger (:func:`model.economics.ledger.arm_effects`).
        policy: the scenario's economic policy (discounting scheme, base year, horizon).
        params: the registry (discount rates, tax financing cost).
        perspectives: which perspectives to report (any of :data:`ALL_PERSPECTIVES`).

    Returns:
        One row per replication × perspective with columns :data:`EVALUATION_COLUMNS`:

        * ``npv_nok``: net present value (NOK of the price year, discounted to the base year).
        * ``pv_gains_nok`` / ``pv_costs_nok``: PV of the lines with a positive / negative discounted
          total.
        * ``bcr``: ``pv_gains_nok / pv_costs_nok``.
        * ``payback_year``: first calendar year from which the cumulative discounted NPV is and
          stays > 0; ``<NA>`` if it never does within the horizon.
        * ``cost_per_extra_employed_person_year_nok``: the programme's gross cost to public budgets
          (PV of the ``programme`` lines from the public perspective: stipend, supplementary social
          assistance, staff, assessment, courses, NAV measures, childcare during the programme)
          divided by the discounted extra employed person-years (same discount factors); NaN if
          there are none. The same on every row of a replication.
        * ``net_budget_effect_nok_per_year``: the public (state + municipality) NPV as an equivalent
          annual amount over the analysis horizon (NPV / Σ discount factors). Same on every row of a
          replication.
        * ``extra_employed_person_years``: undiscounted extra person-years in employment over the
          horizon.
        * ``programme_cost_public_pv_nok``: the numerator of the cost per extra employed
          person-year.
    """
    arrays, money = _effect_arrays(effects)
    return evaluate_arrays(arrays, policy, params, perspectives, money)


def evaluate_arrays(
    effects: LedgerArrays,
    policy: EconomicPolicy,
    params: ParameterSet,
    perspectives: tuple[str, ...] = PERSPECTIVES,
    money: np.ndarray | None = None,
) -> pd.DataFrame:
    """:func:`evaluate` of an effect ledger given as arrays
    (:meth:`~model.economics.ledger.LedgerArrays.effects`,
    :meth:`~model.economics.ledger.LedgerArrays.mean_over_replications`): the table of
    :func:`evaluation_columns`, with its ``attrs``."""
    columns, attrs = evaluation_columns(effects, policy, params, perspectives, money)
    res = columns.frame()
    res.attrs.update(attrs)
    return res


def evaluation_columns(
    effects: LedgerArrays,
    policy: EconomicPolicy,
    params: ParameterSet,
    perspectives: tuple[str, ...] = PERSPECTIVES,
    money: np.ndarray | None = None,
) -> tuple[Columns, dict]:
    """The rows of :func:`evaluate` of an effect ledger given as arrays, as columns (cheap to send from a
    worker and to join over many PSA draws before one table is built), and the table's ``attrs``.

    Args:
        effects: the effect ledger's arrays.
        policy: the scenario's economic policy (discounting scheme, base year, horizon).
        params: the registry (discount rates, tax financing cost).
        perspectives: which perspectives to report (any of :data:`ALL_PERSPECTIVES`).
        money: per row whether it carries money (default: the flow's kind is not ``quantity``).

    Returns:
        The columns of :func:`evaluate`'s rows and the attrs of its table.
    """
    if money is None:
        money = ~_IS_QUANTITY[effects.flow]
    lines = _perspective_lines(effects, money, policy, params)
    base = lines.base_year
    shown = np.isin(
        lines.perspective,
        [ALL_PERSPECTIVES.index(p) for p in {*perspectives, "public"} if p in ALL_PERSPECTIVES],
    )
    r, y, pc, fc = (
        x[shown] for x in (lines.replication, lines.year, lines.perspective, lines.line)
    )
    pv = (lines.amount_nok * lines.discount_factor)[shown]

    # Sums by (replication, perspective, line) and by (replication, perspective, year), added up as
    # pandas' groupby sums on one integer code that sorts like those keys (group_sums).
    n_persp, n_line = len(ALL_PERSPECTIVES), len(_LINE_NAMES)
    rep_values, rep_rank = group_numbers(r)  # the lines are sorted by replication
    rp = rep_rank * n_persp + pc
    line_code, by_line = group_sums(rp * n_line + fc, pv)
    groups, ids = group_numbers(line_code // n_line)  # (replication rank, perspective)
    g, c, npv = block_sums(
        ids,
        groups.size,
        [
            np.where(by_line < 0.0, 0.0, by_line),  # Series.clip(lower=0)
            -np.where(by_line > 0.0, 0.0, by_line),  # -Series.clip(upper=0)
            by_line,
        ],
    )
    with np.errstate(divide="ignore", invalid="ignore"):
        bcr = np.where(c > 0, g / np.where(c > 0, c, 1.0), np.where(g > 0, np.inf, np.nan))
    year_values, year_rank = np.unique(y, return_inverse=True)
    n_years = max(year_values.size, 1)
    year_code, by_year = group_sums(rp * n_years + year_rank.reshape(-1), pv)
    payback, pays_back = _payback_years(
        year_code // n_years, year_code % n_years, by_year, year_values
    )

    # Public-budget metrics, one value per replication.
    reps = np.unique(effects.replication)
    emp = effects.flow == _EMPLOYED_CODE
    emp_rep, emp_years = effects.replication[emp], effects.person_years[emp]
    d_emp = discount_factors(effects.year[emp] - base, policy.discounting, params)
    emp_pv = _reindexed(reps, *group_sums(emp_rep, emp_years * d_emp))
    emp_total = _reindexed(reps, *group_sums(emp_rep, emp_years))
    public = pc == ALL_PERSPECTIVES.index("public")
    prog = public & _PROGRAMME_LINE[fc]
    prog_reps, prog_sums = group_sums(r[prog], pv[prog])
    prog_cost = _reindexed(reps, prog_reps, -prog_sums)
    public_npv = _reindexed(reps, *group_sums(r[public], pv[public]))
    annuity = float(
        discount_factors(np.arange(policy.analysis_horizon_years), policy.discounting, params).sum()
    )
    with np.errstate(divide="ignore", invalid="ignore"):
        cost_per = np.where(emp_pv > 0, prog_cost / emp_pv, np.nan)

    # Every replication × perspective (in that order), also those without any flow (NPV 0).
    names = list(perspectives)
    n_rep, n_out = reps.size, len(names)
    slot = np.full(n_persp, -1)
    for j, name in enumerate(names):
        if name in ALL_PERSPECTIVES:
            slot[ALL_PERSPECTIVES.index(name)] = j
    group_slot = slot[groups % n_persp]
    hit = group_slot >= 0
    rows = (np.searchsorted(reps, rep_values[groups // n_persp]) * n_out + group_slot)[hit]
    size = n_rep * n_out
    out_npv, out_gains, out_costs = np.zeros(size), np.zeros(size), np.zeros(size)
    out_bcr = np.full(size, np.nan)
    out_payback, out_pays_back = np.zeros(size, dtype=np.int64), np.zeros(size, dtype=bool)
    for out, values in (
        (out_npv, npv),
        (out_gains, g),
        (out_costs, c),
        (out_bcr, bcr),
        (out_payback, payback),
        (out_pays_back, pays_back),
    ):
        out[rows] = values[hit]
    columns = Columns(
        {
            "replication": np.repeat(reps, n_out).astype(np.int32),
            "perspective": np.tile(np.arange(n_out), n_rep),
            "npv_nok": out_npv,
            "pv_gains_nok": out_gains,
            "pv_costs_nok": out_costs,
            "bcr": out_bcr,
            "payback_year": out_payback,
            "cost_per_extra_employed_person_year_nok": np.repeat(cost_per, n_out),
            "net_budget_effect_nok_per_year": np.repeat(public_npv / annuity, n_out),
            "extra_employed_person_years": np.repeat(emp_total, n_out),
            "programme_cost_public_pv_nok": np.repeat(prog_cost, n_out),
        },
        {"perspective": tuple(names)},
        {"payback_year": ~out_pays_back},
    )
    return columns, {**effects.attrs, "base_year": base, "discounting": policy.discounting}


def summarize_evaluation(evaluation: pd.DataFrame) -> pd.DataFrame:
    """Mean, 5th and 95th percentile of each result over replications (or PSA draws), per
    perspective.

    Args:
        evaluation: from :func:`evaluate`.

    Returns:
        Long table: ``perspective, metric, mean, p05, p95, n`` (``n``: replications with a finite
        value; for ``payback_year``, those that pay back).
    """
    metrics = [c for c in EVALUATION_COLUMNS if c not in ("replication", "perspective")]
    rows = []
    for persp, grp in evaluation.groupby("perspective", observed=True, sort=False):
        for m in metrics:
            x = pd.to_numeric(grp[m], errors="coerce").astype(float).to_numpy()
            x = x[np.isfinite(x)]
            rows.append(
                {
                    "perspective": str(persp),
                    "metric": m,
                    "mean": float(x.mean()) if x.size else np.nan,
                    "p05": float(np.quantile(x, 0.05)) if x.size else np.nan,
                    "p95": float(np.quantile(x, 0.95)) if x.size else np.nan,
                    "n": int(x.size),
                }
            )
    return pd.DataFrame(rows, columns=["perspective", "metric", "mean", "p05", "p95", "n"])


def summarize_ledger(perspective_ledger_df: pd.DataFrame) -> pd.DataFrame:
    """The perspective ledger averaged over replications: by year, perspective and line (for
    export).

    Args:
        perspective_ledger_df: from :func:`perspective_ledger`.

    Returns:
        Columns ``year, perspective, flow, payer, receiver, kind, group, extrapolated, amount_nok,
        discount_factor, pv_nok`` (means over replications; NOK of the price year).
    """
    pl = perspective_ledger_df
    n_rep = max(pl["replication"].nunique(), 1)
    keys = ["year", "perspective", "flow", "payer", "receiver", "kind", "group", "extrapolated"]
    out = pl.groupby(keys, observed=True, as_index=False).agg(
        amount_nok=("amount_nok", "sum"),
        discount_factor=("discount_factor", "first"),
        pv_nok=("pv_nok", "sum"),
    )
    out["amount_nok"] /= n_rep
    out["pv_nok"] /= n_rep
    return out.sort_values(["perspective", "year", "flow"], ignore_index=True)


__all__ = [
    "ALL_PERSPECTIVES",
    "EVALUATION_COLUMNS",
    "MCPF_FLOW",
    "PARTIES",
    "PERSPECTIVES",
    "evaluate",
    "evaluate_arrays",
    "evaluation_columns",
    "perspective_ledger",
    "summarize_evaluation",
    "summarize_ledger",
]
