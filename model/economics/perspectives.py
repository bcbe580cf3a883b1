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

import numpy as np
import pandas as pd

from model.economics.discounting import discount_factors
from model.economics.ledger import FLOW_NAMES, FLOWS, PARTIES, _group, category_codes
from model.economics.policy import EconomicPolicy
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
_IS_TRANSFER = np.array([f.kind == "transfer" for f in FLOWS])


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


def base_year_of(effects: pd.DataFrame, policy: EconomicPolicy) -> int:
    """The year discounted to: ``policy.base_year``, else the ledger's, else its first year."""
    if policy.base_year is not None:
        return policy.base_year
    if "base_year" in effects.attrs:
        return int(effects.attrs["base_year"])
    return int(effects["year"].min())


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
    base = base_year_of(effects, policy)
    money = effects[effects["kind"].astype(str) != "quantity"]
    f = category_codes(money["flow"], FLOW_NAMES, "flow")
    amount = money["amount_nok"].to_numpy(float)
    rep = money["replication"].to_numpy(np.int64)
    year = money["year"].to_numpy(np.int64)
    ext = money["extrapolated"].to_numpy(bool)
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
    cols = [np.concatenate(c) for c in zip(*blocks, strict=True)]
    r, y, fc, e, pc, a = cols
    order = np.lexsort((fc, y, pc, r))
    r, y, fc, e, pc, a = (c[order] for c in (r, y, fc, e, pc, a))
    d = discount_factors(y - base, policy.discounting, params)
    out = pd.DataFrame(
        {
            "replication": r.astype(np.int32),
            "year": y.astype(np.int32),
            "perspective": pd.Categorical.from_codes(pc, dtype=_DTYPES["perspective"]),
            "flow": pd.Categorical.from_codes(fc, dtype=_DTYPES["flow"]),
            "payer": pd.Categorical.from_codes(_LINE_META["payer"][0][fc], dtype=_DTYPES["payer"]),
            "receiver": pd.Categorical.from_codes(_LINE_META["receiver"][0][fc], dtype=_DTYPES["receiver"]),
            "kind": pd.Categorical.from_codes(_LINE_META["kind"][0][fc], dtype=_DTYPES["kind"]),
            "group": pd.Categorical.from_codes(_LINE_META["group"][0][fc], dtype=_DTYPES["group"]),
            "extrapolated": e,
            "amount_nok": a,
            "discount_factor": d,
            "pv_nok": a * d,
        }
    )
    out.attrs.update(effects.attrs)
    out.attrs["base_year"] = base
    return out


def _payback_years(group: np.ndarray, year_index: np.ndarray, pv: np.ndarray, years: np.ndarray) -> pd.arrays.IntegerArray:
    """Payback year per group: ``group`` and ``year_index`` sorted (one row each), years on a grid
    (missing cells count 0); the first year from which the cumulative PV is and stays > 0, else <NA>."""
    new_group = np.ones(group.size, dtype=bool)
    new_group[1:] = group[1:] != group[:-1]
    row = np.cumsum(new_group) - 1
    wide = np.zeros((int(new_group.sum()), years.size))
    if wide.size == 0:  # no flows at all
        return pd.array([pd.NA] * wide.shape[0], dtype="Int64")
    wide[row, year_index] = pv
    cum = np.cumsum(wide, axis=1)
    nonpos = cum <= 0.0
    any_nonpos = nonpos.any(axis=1)
    last_nonpos = np.where(any_nonpos, nonpos.shape[1] - 1 - np.argmax(nonpos[:, ::-1], axis=1), -1)
    first_ok = last_nonpos + 1
    return pd.array([int(years[i]) if i < len(years) else pd.NA for i in first_ok], dtype="Int64")


def _payback(pv_by_year: pd.DataFrame) -> pd.Series:
    """First year from which the cumulative discounted NPV is and stays positive (else <NA>).

    ``pv_by_year`` has one row per (replication, perspective, year), sorted so (a groupby result); the
    years form a grid over all rows, missing cells counting 0.
    """
    rep = pv_by_year["replication"].to_numpy()
    persp = pv_by_year["perspective"]
    pcode = persp.cat.codes.to_numpy() if isinstance(persp.dtype, pd.CategoricalDtype) else pd.factorize(persp)[0]
    years, col = np.unique(pv_by_year["year"].to_numpy(), return_inverse=True)
    group = np.unique(np.stack([rep, pcode]), axis=1, return_inverse=True)[1].ravel() if rep.size else rep
    vals = _payback_years(group, col, pv_by_year["pv_nok"].to_numpy(float), years)
    first = np.ones(rep.size, dtype=bool)
    first[1:] = (rep[1:] != rep[:-1]) | (pcode[1:] != pcode[:-1])
    index = pd.MultiIndex.from_arrays([rep[first], persp.array[first]], names=["replication", "perspective"])
    return pd.Series(vals, index=index, name="payback_year")


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
    pl = perspective_ledger(effects, policy, params)
    base = int(pl.attrs["base_year"])
    pl = pl[pl["perspective"].isin(set(perspectives) | {"public"})]

    # Sums by (replication, perspective, line) and by (replication, perspective, year). Each groupby is
    # keyed by one integer code that sorts like the (replication, perspective, …) keys, so pandas forms
    # the same groups in the same order and sums them with the same algorithm as a groupby on the
    # columns, without the multi-key and categorical bookkeeping.
    n_persp, n_line = len(ALL_PERSPECTIVES), len(_LINE_NAMES)
    rep_values, rep_rank = np.unique(pl["replication"].to_numpy(), return_inverse=True)
    rp = rep_rank.astype(np.int64) * n_persp + pl["perspective"].cat.codes.to_numpy().astype(np.int64)
    pv = pl["pv_nok"]
    by_line = pv.groupby(rp * n_line + pl["flow"].cat.codes.to_numpy().astype(np.int64), sort=True).sum()
    line_rp = by_line.index.to_numpy() // n_line
    gains = by_line.clip(lower=0.0).groupby(line_rp, sort=True).sum()
    costs = (-by_line.clip(upper=0.0)).groupby(line_rp, sort=True).sum()
    npv = by_line.groupby(line_rp, sort=True).sum()
    g, c = gains.to_numpy(), costs.to_numpy()
    with np.errstate(divide="ignore", invalid="ignore"):
        bcr = np.where(c > 0, g / np.where(c > 0, c, 1.0), np.where(g > 0, np.inf, np.nan))
    year_values, year_rank = np.unique(pl["year"].to_numpy(), return_inverse=True)
    n_years = max(year_values.size, 1)
    by_year = pv.groupby(rp * n_years + year_rank, sort=True).sum()
    year_code = by_year.index.to_numpy()
    payback = _payback_years(year_code // n_years, year_code % n_years, by_year.to_numpy(), year_values)
    groups = npv.index.to_numpy()  # (replication rank, perspective code) of each result row

    # Public-budget metrics, one value per replication.
    reps = np.unique(effects["replication"].to_numpy())
    emp = effects[effects["flow"].astype(str) == "employed_person_years"]
    d_emp = discount_factors(emp["year"].to_numpy() - base, policy.discounting, params)
    emp_pv = (
        (emp["person_years"] * d_emp)
        .groupby(emp["replication"].to_numpy())
        .sum()
        .reindex(reps, fill_value=0.0)
    )
    emp_total = (
        emp.groupby(emp["replication"].to_numpy())["person_years"]
        .sum()
        .reindex(reps, fill_value=0.0)
    )
    public = pl[pl["perspective"] == "public"]
    prog_cost = (
        -public[public["group"].astype(str) == "programme"].groupby("replication")["pv_nok"].sum()
    )
    prog_cost = prog_cost.reindex(reps, fill_value=0.0)
    public_npv = public.groupby("replication")["pv_nok"].sum().reindex(reps, fill_value=0.0)
    annuity = float(
        discount_factors(np.arange(policy.analysis_horizon_years), policy.discounting, params).sum()
    )
    with np.errstate(divide="ignore", invalid="ignore"):
        cost_per = np.where(emp_pv.to_numpy() > 0, prog_cost.to_numpy() / emp_pv.to_numpy(), np.nan)
    rep_metrics = pd.DataFrame(
        {
            "cost_per_extra_employed_person_year_nok": cost_per,
            "net_budget_effect_nok_per_year": public_npv.to_numpy() / annuity,
            "extra_employed_person_years": emp_total.to_numpy(),
            "programme_cost_public_pv_nok": prog_cost.to_numpy(),
        },
        index=pd.Index(reps, name="replication"),
    )
    # Every replication × perspective (in that order), also those without any flow (NPV 0).
    names = list(perspectives)
    n_rep, n_out = reps.size, len(names)
    out_npv, out_gains, out_costs = np.zeros(n_rep * n_out), np.zeros(n_rep * n_out), np.zeros(n_rep * n_out)
    out_bcr = np.full(n_rep * n_out, np.nan)
    out_payback = pd.array([pd.NA] * (n_rep * n_out), dtype="Int64")
    slot = {ALL_PERSPECTIVES.index(n): j for j, n in enumerate(names) if n in ALL_PERSPECTIVES}
    rows = np.array([np.searchsorted(reps, rep_values[gr // n_persp]) * n_out + slot[gr % n_persp] if gr % n_persp in slot else -1
                     for gr in groups], dtype=np.int64)
    hit = rows >= 0
    out_npv[rows[hit]] = npv.to_numpy()[hit]
    out_gains[rows[hit]] = g[hit]
    out_costs[rows[hit]] = c[hit]
    out_bcr[rows[hit]] = bcr[hit]
    out_payback[rows[hit]] = payback[hit]
    res = pd.DataFrame(
        {
            "replication": np.repeat(reps, n_out).astype(np.int32),
            "perspective": pd.Categorical.from_codes(np.tile(np.arange(n_out), n_rep), categories=names),
            "npv_nok": out_npv,
            "pv_gains_nok": out_gains,
            "pv_costs_nok": out_costs,
            "bcr": out_bcr,
            "payback_year": out_payback,
            **{col: np.repeat(rep_metrics[col].to_numpy(), n_out) for col in rep_metrics.columns},
        }
    )
    res.attrs.update({**pl.attrs, "discounting": policy.discounting})
    return res[list(EVALUATION_COLUMNS)]


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
    "perspective_ledger",
    "summarize_evaluation",
    "summarize_ledger",
]
