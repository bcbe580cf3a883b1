"""The ledger: cash and resource flows per replication × arm × calendar year × flow, payer →
receiver.

Built from the tidy tables of docs/data_model.md (``persons``, ``person_months``, ``events``) in two
steps:

1. :func:`count_states` aggregates person-months to counts by (replication, arm, year, Jan–Apr or
   May–Dec, state, under 25, married, children by age band) and counts the events that carry money.
   This is the only step that touches rows; do it once per simulation. (:func:`person_month_counts`
   counts rows given as arrays, e.g. straight from a simulation's state matrices;
   :meth:`StateCounts.concat` joins replications counted apart.)
2. :func:`ledger_from_counts` prices the counts with a policy and a parameter set (one PSA draw),
   vectorised over the count cells. :func:`build_ledger` is both steps in one call.

Every row has a ``payer`` and a ``receiver`` among ``state``, ``municipality``, ``participant``,
``employer`` and ``society``. ``kind == "transfer"`` rows move money between parties and net to zero
for society (:func:`transfers_net`); ``kind == "resource"`` rows are real resource use (``X →
society``) or production (``society → employer``). ``kind == "quantity"`` rows carry person-years
(column ``person_years``) and no money. Amounts are NOK of the policy's price year, undiscounted.

Beyond the simulated horizon the post-programme (employment-related) flows are extrapolated month by
month to the end of the analysis horizon: the counterfactual arm stays at its level in the last 12
simulated months, and the programme arm's difference from it decays with the annual persistence
factor ``cba.employment_effect_persistence_per_year``; money flows also grow with
``prices.real_wage_growth_per_year``. Persons still in the programme at the horizon are assumed to
return to social assistance. Such rows have ``extrapolated == True``; only the difference between
the arms is meaningful there.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from model.economics.policy import EconomicPolicy
from model.economics.prices import PARAMETER_PRICE_YEAR, GIndex
from model.economics.sums import (
    block_sums,
    encode_keys,
    group_numbers,
    group_sums,
    grouped_columns,
    sums_by_keys,
)
from model.parameters import ParameterSet
from model.vocabulary import ARMS, STATES

PARTIES = ("state", "municipality", "participant", "employer")
ACTORS = (*PARTIES, "society")
KINDS = ("transfer", "resource", "quantity")
GROUPS = ("programme", "post_programme", "quantity")
_S = {name: i for i, name in enumerate(STATES)}
_A = {name: i for i, name in enumerate(ARMS)}
#  States priced as social-assistance months (assessment and waiting happen while on social
# assistance).
SA_STATES = ("social_assistance", "assessment", "waiting")
#: Events that carry money (assessments fall back to ``referred`` when no ``assessment_started``).
MONEY_EVENTS = ("incentive_milestone", "assessment_started", "referred")


@dataclass(frozen=True)
class Flow:
    """One ledger line: a named flow from ``payer`` to ``receiver``.

    Attributes:
        name: the flow's name (the ``flow`` column).
        payer: who pays (or, for production, ``society``: the economy that produces the value).
        receiver: who receives (``society`` for real resource use).
        kind: ``transfer`` (between parties), ``resource`` (real resource use or production) or
            ``quantity``.
        group: ``programme`` (caused by taking part) or ``post_programme`` (priced from the
            states after or outside the programme; these are the employment-related flows that
            are extrapolated) or ``quantity``.
        description: what it is and how it is priced.
    """

    name: str
    payer: str
    receiver: str
    kind: str
    group: str
    description: str


FLOWS: tuple[Flow, ...] = (
    Flow(
        "stipend",
        "municipality",
        "participant",
        "transfer",
        "programme",
        "Qualification stipend in in_programme months: G multiple (2 G/yr; under-25 fraction) at "
        "the G in force, or the household's social-assistance level; less absence deductions and "
        "income offsets. Tax-free.",
    ),
    Flow(
        "supplementary_social_assistance",
        "municipality",
        "participant",
        "transfer",
        "programme",
        "Top-up social assistance in in_programme months: a share of max(0, household norm - "
        "gross stipend).",
    ),
    Flow(
        "social_assistance",
        "municipality",
        "participant",
        "transfer",
        "post_programme",
        "Social assistance: household norm (state guideline rates 2006 + housing - child benefit) "
        "in social_assistance, assessment and waiting months; a share of it in education and "
        "part-time months.",
    ),
    Flow(
        "student_support",
        "state",
        "participant",
        "transfer",
        "post_programme",
        "Student support in education months (out of scope: parameter 0 by default).",
    ),
    Flow(
        "wages",
        "employer",
        "participant",
        "transfer",
        "post_programme",
        "Gross wages in employed months (full-time annual wage; part-time fraction of it).",
    ),
    Flow(
        "employer_contributions",
        "employer",
        "state",
        "transfer",
        "post_programme",
        "Employer's social security contributions on the wages (14.1 %, zone 1).",
    ),
    Flow(
        "income_tax_state",
        "participant",
        "state",
        "transfer",
        "post_programme",
        "Income tax and social security contributions on earnings, the state's share.",
    ),
    Flow(
        "income_tax_municipality",
        "participant",
        "municipality",
        "transfer",
        "post_programme",
        "Income tax on earnings, the municipality's share (kommuneskatt).",
    ),
    Flow(
        "production",
        "society",
        "employer",
        "resource",
        "post_programme",
        "Value of production: gross wage incl. employer contributions (R-109 / DFØ).",
    ),
    Flow(
        "project_staff",
        "municipality",
        "society",
        "resource",
        "programme",
        "Project advisers: FTE by month x cost per FTE-year (salary, social costs, overhead); "
        "programme arm.",
    ),
    Flow(
        "assessment",
        "municipality",
        "society",
        "resource",
        "programme",
        "Referral and mapping effort outside the advisers' FTE, per assessment started.",
    ),
    Flow(
        "social_office_follow_up",
        "municipality",
        "society",
        "resource",
        "post_programme",
        "Social-office caseworker time for recipients of social assistance (cost per FTE / "
        "caseload).",
    ),
    Flow(
        "courses_and_measures",
        "municipality",
        "society",
        "resource",
        "programme",
        "Courses and measures bought by the project, per participant-month.",
    ),
    Flow(
        "nav_measures",
        "state",
        "society",
        "resource",
        "programme",
        "NAV labour-market measures used by the programme, per participant-month.",
    ),
    Flow(
        "childcare_programme",
        "municipality",
        "society",
        "resource",
        "programme",
        "Kindergarten places for children 0-5 of participants in in_programme months (gross cost).",
    ),
    Flow(
        "childcare_fee_programme",
        "participant",
        "municipality",
        "transfer",
        "programme",
        "Parental fee for those places.",
    ),
    Flow(
        "childcare_employed",
        "municipality",
        "society",
        "resource",
        "post_programme",
        "Kindergarten places for children 0-5 of employed persons (gross cost).",
    ),
    Flow(
        "childcare_fee_employed",
        "participant",
        "municipality",
        "transfer",
        "post_programme",
        "Parental fee for those places.",
    ),
    Flow(
        "incentive_payments",
        "state",
        "municipality",
        "transfer",
        "programme",
        "Result grant per incentive_milestone event (6 and 12 months in a full-time job), once "
        "per person and milestone.",
    ),
    Flow(
        "state_project_grant",
        "state",
        "municipality",
        "transfer",
        "programme",
        "State project grant, allocated per participant-month (NOK 18.4 M 2006 / (500 "
        "participants x 12)).",
    ),
    Flow(
        "employed_person_years",
        "",
        "",
        "quantity",
        "quantity",
        "Person-years in employment (full- or part-time); column person_years.",
    ),
    Flow(
        "participant_person_years",
        "",
        "",
        "quantity",
        "quantity",
        "Person-years in the programme; column person_years.",
    ),
)
FLOW_INDEX = {f.name: f for f in FLOWS}
FLOW_NAMES = tuple(f.name for f in FLOWS)
POST_PROGRAMME_FLOWS = tuple(f.name for f in FLOWS if f.group == "post_programme")
QUANTITY_FLOWS = tuple(f.name for f in FLOWS if f.kind == "quantity")

LEDGER_COLUMNS = (
    "replication",
    "arm",
    "year",
    "flow",
    "payer",
    "receiver",
    "kind",
    "group",
    "extrapolated",
    "amount_nok",
    "person_years",
)


@dataclass(frozen=True)
class StateCounts:
    """Person-months and money events, aggregated for pricing (the output of :func:`count_states`).

    Attributes:
        cells: one row per (replication, arm, year, may_dec, state, under_25, married, children_0_5,
            children_6_10, children_11_17) with ``months`` (count of person-months). ``arm`` and
            ``state`` are integer codes into :data:`ARMS` and :data:`STATES`; ``may_dec`` is True
            for May–December.
        events: one row per (replication, arm, year, event) with ``count``: ``incentive_milestone``
            (once per person and milestone) and ``assessment`` (programme arm; see
            ``assessment_source``).
        basis: the last ``basis_months`` simulated months by (replication, arm, state, married,
            children…) with ``months`` (count of person-months) and ``months_per_year``
            (annualised), in_programme relabelled as social_assistance: the level the
            extrapolation starts from.
        replications: the replication ids (those with person-months).
        first_month: the first simulated month (NaT without person-months).
        horizon_month: the last simulated month (NaT without person-months).
        basis_months: number of months in the extrapolation basis (≤ 12; 0 without
            person-months).
        assessment_source: the events counted as assessments: ``assessment_started``, or
            ``referred`` when the table has no ``assessment_started`` (every referred person is
            assessed), or ``none``.
    """

    cells: pd.DataFrame
    events: pd.DataFrame
    basis: pd.DataFrame
    replications: np.ndarray
    first_month: pd.Timestamp
    horizon_month: pd.Timestamp
    basis_months: int
    assessment_source: str = "assessment_started"

    @classmethod
    def concat(cls, parts: Sequence[StateCounts]) -> StateCounts:
        """The counts of several replications together: what :func:`count_states` gives on their
        tables concatenated (exact: the parts' cells and basis count person-months of distinct
        replications; the annualisation of the basis is recomputed from its counts).

        Args:
            parts: counts of distinct replications with the same horizon month. A part without
                person-months (no replications, e.g. a replication without participants) adds only
                its money events.

        Returns:
            The counts of all parts: rows sorted by replication, the first and horizon months and
            the basis over all parts; assessments counted from the events of the first of
            ``assessment_started``, ``referred`` that any part counts from (a part that counts
            another source had none of those events). One part with person-months is its own
            concatenation and is returned as it is.

        Raises:
            ValueError: no part has person-months, a replication is in two parts, or the horizon
                months differ.
        """
        if len(parts) == 1 and len(parts[0].replications):
            return parts[0]
        filled = [p for p in parts if len(p.replications)]
        if not filled:
            raise ValueError("no person-months in any part: nothing to price")
        reps = np.concatenate([p.replications for p in filled])
        if np.unique(reps).size != reps.size:
            raise ValueError("a replication is in more than one part")
        horizon = filled[0].horizon_month
        if any(p.horizon_month != horizon for p in filled):
            raise ValueError("the parts end in different horizon months")
        first = min(p.first_month for p in filled)
        basis_months = min(12, (horizon.year - first.year) * 12 + horizon.month - first.month + 1)
        basis = _by_replication([p.basis for p in filled])
        basis["months_per_year"] = basis["months"].to_numpy() * 12.0 / basis_months
        sources = {p.assessment_source for p in parts}
        source = next((s for s in ("assessment_started", "referred") if s in sources), "none")
        events = [
            p.events
            if p.assessment_source == source
            else p.events[p.events["event"] != "assessment"]
            for p in parts
        ]
        events = [e for e in events if len(e)]
        empty = np.empty(0, dtype=np.int64)
        return cls(
            cells=_by_replication([p.cells for p in filled]),
            events=(
                _by_replication(events)
                if events
                else money_event_counts(empty, empty, empty, empty.astype(bool))
            ),
            basis=basis,
            replications=np.sort(reps),
            first_month=first,
            horizon_month=horizon,
            basis_months=basis_months,
            assessment_source=source,
        )


def _by_replication(frames: list[pd.DataFrame]) -> pd.DataFrame:
    """Non-empty frames of distinct replications, one after another, rows ordered by replication
    (stable: each frame keeps its order)."""
    out = pd.concat(frames, ignore_index=True)
    rep = out["replication"].to_numpy()
    if (np.diff(rep) < 0).any():
        out = out.take(np.argsort(rep, kind="stable")).reset_index(drop=True)
    return out


def category_codes(
    series: pd.Series, names: tuple[str, ...], column: str, rows: np.ndarray | None = None
) -> np.ndarray:
    """Integer codes of ``series`` into ``names`` (categoricals: only categories mapped).

    Args:
        series: the values.
        names: the allowed values; a value's code is its index here.
        column: the column's name, for the error.
        rows: a boolean mask: the codes of these rows only (only they must be allowed values).

    Raises:
        ValueError: a value (of ``rows``) that is missing or not one of ``names``.
    """
    if isinstance(series.dtype, pd.CategoricalDtype):
        cat_codes = series.array.codes
        categories = [str(c) for c in series.dtype.categories.tolist()]
    else:
        cat_codes, uniques = pd.factorize(series.astype(str), use_na_sentinel=True)
        categories = [str(c) for c in uniques]
    if rows is not None:
        cat_codes = cat_codes[rows]
    lookup = {n: i for i, n in enumerate(names)}
    present = np.flatnonzero(np.bincount(cat_codes[cat_codes >= 0], minlength=len(categories)))
    bad = sorted({categories[c] for c in present if categories[c] not in lookup})
    if bad or (cat_codes < 0).any():
        raise ValueError(f"unknown {column} value(s) {bad or ['<missing>']}; allowed {list(names)}")
    mapping = np.array([lookup.get(c, -1) for c in categories], dtype=np.int64)
    return mapping[cat_codes] if len(mapping) else np.zeros(cat_codes.size, dtype=np.int64)


def _month_numbers(values: pd.Series | np.ndarray) -> np.ndarray:
    """Months since 1970-01 (int64) of datetime-like values."""
    arr = np.asarray(pd.to_datetime(values).to_numpy())
    if arr.dtype.kind == "M" and arr.size > 256:
        # Look the months up between month boundaries (exact; faster than a calendar conversion per value).
        secs = arr.astype("datetime64[s]").view(np.int64)
        if not (secs == np.iinfo(np.int64).min).any():  # no NaT
            ends = np.array([secs.min(), secs.max()]).astype("datetime64[s]").astype("datetime64[M]").astype(np.int64)
            bounds = np.arange(ends[0], ends[1] + 2).astype("datetime64[M]").astype("datetime64[s]").view(np.int64)
            return np.searchsorted(bounds, secs, side="right") - 1 + ends[0]
    return arr.astype("datetime64[M]").astype(np.int64)


def _group(
    keys: list[np.ndarray], weights: np.ndarray | None = None
) -> tuple[list[np.ndarray], np.ndarray]:
    """Group rows by non-negative integer keys (mixed radix); return key columns and sums."""
    radices = [int(k.max()) + 1 if k.size else 1 for k in keys]
    code = np.zeros(keys[0].shape, dtype=np.int64)
    for k, r in zip(keys, radices, strict=True):
        code = code * r + k
    space = int(np.prod(np.array(radices, dtype=float)))
    if space >= 2**62:
        raise ValueError("too many distinct key combinations to encode in int64")
    if space <= 4 * code.size:
        # Dense key space: count with bincount, no sort.
        full = np.bincount(code, weights=weights, minlength=space)
        hits = np.bincount(code, minlength=space) > 0
        uniq = np.flatnonzero(hits)
        sums = full[uniq]
    else:
        # Sparse: number the keys by hashing (sorted afterwards); the same sums, bin by bin in row order.
        inv, uniq = pd.factorize(code, sort=True)
        uniq = np.asarray(uniq, dtype=np.int64)
        sums = np.bincount(inv, weights=weights, minlength=uniq.size)
    cols = []
    rest = uniq
    for r in reversed(radices):
        rest, col = np.divmod(rest, r)
        cols.append(col)
    return cols[::-1], sums.astype(float)


def count_states(
    persons: pd.DataFrame, person_months: pd.DataFrame, events: pd.DataFrame
) -> StateCounts:
    """Aggregate the tidy tables into the counts that the ledger prices.

    Args:
        persons: the ``persons`` table (household attributes, age, referral date).
        person_months: the ``person_months`` table (both arms).
        events: the ``events`` table (both arms); only incentive milestones and assessments
            (``assessment_started``, else ``referred``, programme arm) carry money.

    Returns:
        The aggregated counts.

    Raises:
        ValueError: an unknown state or arm, or person-months of persons missing from ``persons``.
    """
    if person_months.empty:
        raise ValueError("person_months is empty: nothing to price")
    pm_rep = person_months["replication"].to_numpy(np.int64)
    pm_person = person_months["person"].to_numpy(np.int64)
    arm = category_codes(person_months["arm"], ARMS, "arm")
    state = category_codes(person_months["state"], STATES, "state")
    month_no = _month_numbers(person_months["month"])

    # Person attributes, looked up by (replication, person).
    p_rep = persons["replication"].to_numpy(np.int64)
    p_person = persons["person"].to_numpy(np.int64)
    width = int(max(p_person.max(initial=0), pm_person.max(initial=0))) + 1
    p_key = p_rep * width + p_person
    order = np.argsort(p_key, kind="stable")
    p_key_sorted = p_key[order]
    pm_key = pm_rep * width + pm_person
    pos = np.searchsorted(p_key_sorted, pm_key)
    pos_clipped = np.minimum(pos, len(p_key_sorted) - 1)
    if len(p_key_sorted) == 0 or (p_key_sorted[pos_clipped] != pm_key).any():
        raise ValueError("person_months has (replication, person) pairs that are not in persons")
    row = order[pos_clipped]

    married = persons["married"].to_numpy(bool).astype(np.int64)[row]
    kids = [
        np.clip(persons[c].to_numpy(np.int64), 0, None)[row]
        for c in ("children_0_5", "children_6_10", "children_11_17")
    ]
    age_ref = persons["age_at_referral_years"].to_numpy(float)[row]
    ref_day = np.asarray(pd.to_datetime(persons["referral_date"]).to_numpy()).astype(
        "datetime64[D]"
    )[row]
    m0 = int(month_no.min())
    month_days = np.arange(m0, int(month_no.max()) + 1).astype("datetime64[M]").astype("datetime64[D]")
    mid_month = month_days[month_no - m0] + np.timedelta64(14, "D")
    age = age_ref + (mid_month - ref_day).astype(np.int64) / 365.25
    under_25 = (age < 25.0).astype(np.int64)

    # Money events: incentive milestones (any arm) and assessments (programme arm only).
    # (Row masks on the columns as they are: comparing a categorical with a string is cheap.)
    is_inc = (events["event"] == "incentive_milestone").to_numpy(dtype=bool)
    in_prog = (events["arm"] == "programme").to_numpy(dtype=bool)
    assessment_source = "assessment_started"
    is_assess = in_prog & (events["event"] == "assessment_started").to_numpy(dtype=bool)
    if not is_assess.any():
        # Tables without assessment_started: every referred person is assessed (IMDi 4-2007 table 3,
        # "referred and assessed").
        assessment_source = "referred"
        is_assess = in_prog & (events["event"] == "referred").to_numpy(dtype=bool)
    if not is_assess.any():
        assessment_source = "none"
    # One payment per person and milestone: repeats of (replication, arm, person, milestone) drop;
    # the first in time counts.
    inc = events[is_inc]
    i_rep = inc["replication"].to_numpy(np.int64)
    i_arm = category_codes(inc["arm"], ARMS, "arm")
    i_month = _month_numbers(inc["time"])
    if len(inc):
        time_ns = np.asarray(pd.to_datetime(inc["time"]).to_numpy()).astype("datetime64[ns]")
        keep = first_milestones(
            i_rep,
            i_arm,
            inc["person"].to_numpy(np.int64),
            pd.factorize(inc["detail"].astype(str))[0],
            time_ns.view(np.int64),
        )
        i_rep, i_arm, i_month = i_rep[keep], i_arm[keep], i_month[keep]
    assess = events[is_assess]
    ev_counts = money_event_counts(
        np.concatenate([i_rep, assess["replication"].to_numpy(np.int64)]),
        np.concatenate([i_arm, np.full(len(assess), _A["programme"], dtype=np.int64)]),
        np.concatenate([i_month, _month_numbers(assess["time"])]),
        np.concatenate([np.ones(i_rep.size, dtype=bool), np.zeros(len(assess), dtype=bool)]),
    )
    reps = np.sort(pd.unique(np.concatenate([p_rep, pm_rep])))
    return person_month_counts(
        reps,
        pm_rep,
        arm,
        month_no,
        state,
        under_25,
        married,
        kids,
        ev_counts,
        assessment_source,
    )


def person_month_counts(
    replications: np.ndarray,
    replication: np.ndarray,
    arm: np.ndarray,
    month: np.ndarray,
    state: np.ndarray,
    under_25: np.ndarray,
    married: np.ndarray,
    children: list[np.ndarray],
    events: pd.DataFrame,
    assessment_source: str,
    person_months: np.ndarray | None = None,
) -> StateCounts:
    """The :class:`StateCounts` of person-month rows given as arrays (one entry per row).

    The rows may come in any order and repeat keys: the cells are sorted by their keys and sum the
    rows' integer counts (exact).

    Args:
        replications: the replication ids of the counts, sorted (every row's among them).
        replication: replication id per row.
        arm: arm code per row (index into :data:`ARMS`).
        month: calendar month per row, as months since 1970-01.
        state: state code per row (index into :data:`STATES`).
        under_25: per row, whether the person is under 25 at mid-month (0/1).
        married: per row, whether the person is married (0/1).
        children: per row, the numbers of children aged 0-5, 6-10 and 11-17 (non-negative).
        events: the money-event counts (:func:`money_event_counts`).
        assessment_source: the events counted as assessments (see :class:`StateCounts`).
        person_months: per row, the number of person-months it stands for (whole numbers; default
            one each).

    Returns:
        The counts; the first and horizon months are the rows' first and last months (without rows:
        no cells, no basis, NaT months and ``basis_months`` 0, e.g. a replication without
        participants, which adds only its money events to :meth:`StateCounts.concat`).
    """
    cells = CellArrays.group(replications, replication, arm, month, state, under_25, married, children, person_months)
    return cells.state_counts(events, assessment_source)


_CELL_COLUMNS = ("replication", "arm", "year", "may_dec", "state", "under_25", "married", "children_0_5", "children_6_10", "children_11_17", "months")
_BASIS_COLUMNS = ("replication", "arm", "state", "married", "children_0_5", "children_6_10", "children_11_17", "months")
_FLAGS = ("may_dec", "under_25", "married")  # boolean columns


@dataclass(frozen=True)
class CellArrays:
    """The cells and the extrapolation basis of :class:`StateCounts` as arrays (its columns, in small
    integer types: compact to keep and to send between processes), before they become tables.

    Attributes:
        replications: the replication ids with person-months, ascending.
        cells: the cells' columns (``_CELL_COLUMNS``; ``months`` a whole number).
        basis: the basis' columns (``_BASIS_COLUMNS``), without the annualised ``months_per_year``.
        first_month, horizon_month: the first and last month with person-months (months since
            1970-01; None without person-months).
    """

    replications: np.ndarray
    cells: dict[str, np.ndarray]
    basis: dict[str, np.ndarray]
    first_month: int | None
    horizon_month: int | None

    @classmethod
    def group(
        cls, replications: np.ndarray, replication: np.ndarray, arm: np.ndarray, month: np.ndarray, state: np.ndarray,
        under_25: np.ndarray, married: np.ndarray, children: list[np.ndarray], person_months: np.ndarray | None = None,
    ) -> CellArrays:
        """Group person-month rows into cells and the basis (the arguments as :func:`person_month_counts`)."""
        rep_pos = np.searchsorted(replications, replication)
        weight = np.ones(month.size) if person_months is None else person_months
        year = month // 12 + 1970
        may_dec = (month % 12 + 1 >= 5).astype(np.int64)
        y0 = int(year.min()) if year.size else 0
        cols, months = _group([rep_pos, arm, year - y0, may_dec, state, under_25, married, *children], weights=weight)
        cols[0], cols[2] = replications[cols[0]], cols[2] + y0
        # Extrapolation basis: the last 12 simulated months, in_programme counted as social assistance.
        horizon_no = int(month.max()) if month.size else None
        first_no = int(month.min()) if month.size else None
        basis_months = min(12, horizon_no - first_no + 1) if month.size else 0
        sel = month > (horizon_no or 0) - basis_months
        b_state = state[sel].copy()
        b_state[b_state == _S["in_programme"]] = _S["social_assistance"]
        bcols, bmonths = _group([rep_pos[sel], arm[sel], b_state, married[sel], *(k[sel] for k in children)], weights=weight[sel])
        bcols[0] = replications[bcols[0]]
        return cls(
            np.asarray(replications, dtype=np.int64),
            _compact(dict(zip(_CELL_COLUMNS, [*cols, months], strict=True))),
            _compact(dict(zip(_BASIS_COLUMNS, [*bcols, bmonths], strict=True))),
            first_no,
            horizon_no,
        )

    @property
    def basis_months(self) -> int:
        """Months in the extrapolation basis (≤ 12; 0 without person-months)."""
        return 0 if self.first_month is None else min(12, self.horizon_month - self.first_month + 1)

    @classmethod
    def concat(cls, parts: Sequence[CellArrays]) -> CellArrays:
        """Parts of distinct replications with person-months, one after another, rows by replication
        (stable), first month the earliest (as :meth:`StateCounts.concat` joins their tables)."""
        reps = np.concatenate([p.replications for p in parts])
        if np.unique(reps).size != reps.size:
            raise ValueError("a replication is in more than one part")
        if len({p.horizon_month for p in parts}) > 1:
            raise ValueError("the parts end in different horizon months")

        def joined(name: str) -> dict[str, np.ndarray]:
            out = {c: np.concatenate([getattr(p, name)[c] for p in parts]) for c in getattr(parts[0], name)}
            rep = out["replication"]
            if (np.diff(rep) < 0).any():
                order = np.argsort(rep, kind="stable")
                out = {c: v[order] for c, v in out.items()}
            return out

        return cls(np.sort(reps), joined("cells"), joined("basis"), min(p.first_month for p in parts), parts[0].horizon_month)

    def state_counts(self, events: pd.DataFrame, assessment_source: str) -> StateCounts:
        """The :class:`StateCounts` of these cells and the money ``events``."""
        basis = _frame(self.basis, _BASIS_COLUMNS)
        basis["months_per_year"] = basis["months"].to_numpy() * 12.0 / max(self.basis_months, 1)
        return StateCounts(cells=_frame(self.cells, _CELL_COLUMNS), events=events, basis=basis, **self._months(), assessment_source=assessment_source)

    def count_arrays(self, events: dict[str, np.ndarray]) -> CountArrays:
        """The :class:`CountArrays` of these cells and the money ``events`` (columns as
        :func:`money_event_columns` gives them)."""
        basis = _typed(self.basis, _BASIS_COLUMNS)
        basis["months_per_year"] = basis["months"] * 12.0 / max(self.basis_months, 1)
        return CountArrays(cells=_typed(self.cells, _CELL_COLUMNS), events=events, basis=basis, **self._months())

    def _months(self) -> dict:
        """The replications and the months of :class:`StateCounts` (``pd.NaT`` without person-months)."""
        def stamp(month: int | None) -> pd.Timestamp:
            return pd.NaT if month is None else pd.Timestamp(np.datetime64(month, "M"))

        return {"replications": self.replications, "first_month": stamp(self.first_month),
                "horizon_month": stamp(self.horizon_month), "basis_months": self.basis_months}


@dataclass(frozen=True)
class CountArrays:
    """What :func:`price_counts` reads of :class:`StateCounts`, as column arrays: the same values, without
    the tables (a PSA draw prices its counts once and never looks at them).

    Attributes:
        cells, events, basis: the columns of :class:`StateCounts`' tables (``event`` an object array).
        replications, first_month, horizon_month, basis_months: as in :class:`StateCounts`.
    """

    cells: dict[str, np.ndarray]
    events: dict[str, np.ndarray]
    basis: dict[str, np.ndarray]
    replications: np.ndarray
    first_month: pd.Timestamp
    horizon_month: pd.Timestamp
    basis_months: int


def _compact(columns: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Columns of small whole numbers in the smallest types that hold them exactly (the replication
    ids and the year in 32 bits, the months counted in 32 bits, the rest in 8)."""
    wide = {"replication": np.int32, "year": np.int32, "months": np.int32}
    return {c: v.astype(wide.get(c, np.int8)) for c, v in columns.items()}


def _typed(columns: dict[str, np.ndarray], names: tuple[str, ...]) -> dict[str, np.ndarray]:
    """The compact columns in :class:`StateCounts`' types (int64, bool flags, float months), as arrays:
    the values of :func:`_frame`'s columns."""
    return {c: columns[c].astype(bool if c in _FLAGS else float if c == "months" else np.int64) for c in names}


def _frame(columns: dict[str, np.ndarray], names: tuple[str, ...]) -> pd.DataFrame:
    """A table of compact columns in :class:`StateCounts`' types: int64, bool flags, float months.

    The integer columns are written straight into one int64 block (what pandas would otherwise build by
    converting each column and then stacking them: two copies of a table that can have millions of rows).
    """
    ints = [c for c in names if c not in _FLAGS and c != "months"]
    n = len(columns[names[0]])
    block = np.empty((len(ints), n), dtype=np.int64)  # pandas keeps a block as (columns, rows)
    for j, c in enumerate(ints):
        block[j] = columns[c]
    frame = pd.DataFrame(block.T, columns=ints, copy=False)
    for position, c in enumerate(names):
        if c not in ints:
            frame.insert(position, c, columns[c].astype(float if c == "months" else bool))
    return frame


@dataclass(frozen=True)
class CountRows:
    """What :class:`StateCounts` is made of, as arrays: the grouped cells and basis (:class:`CellArrays`)
    and the money events (one entry each), before they become tables (:meth:`counts`).

    Compact and cheap to send between processes; the rows of many replications are joined with
    :meth:`concat` and made tables once, which gives exactly what :meth:`StateCounts.concat` gives on
    each replication's counts.

    Attributes:
        cells: the person-months grouped (:meth:`CellArrays.group`).
        event_replication, event_arm, event_month, event_incentive: one entry per money event, as
            :func:`money_event_counts` takes them.
        assessment_source: the events counted as assessments (see :class:`StateCounts`).
    """

    cells: CellArrays
    event_replication: np.ndarray
    event_arm: np.ndarray
    event_month: np.ndarray
    event_incentive: np.ndarray
    assessment_source: str

    def counts(self) -> StateCounts:
        """The counts as tables."""
        events = money_event_counts(self.event_replication, self.event_arm, self.event_month, self.event_incentive)
        return self.cells.state_counts(events, self.assessment_source)

    def count_arrays(self) -> CountArrays:
        """The counts as column arrays (what :func:`price_counts` reads; the same values as :meth:`counts`)."""
        events = money_event_columns(self.event_replication, self.event_arm, self.event_month, self.event_incentive)
        return self.cells.count_arrays(events)

    @classmethod
    def concat(cls, parts: Sequence[CountRows]) -> CountRows:
        """The rows of several parts together, as :meth:`StateCounts.concat` joins their counts: the
        assessments are counted from the first of ``assessment_started``, ``referred`` that any part
        counts from (a part that counts another source adds only its incentive milestones); a part
        without person-months adds only its money events.

        Raises:
            ValueError: no part has person-months, a replication is in two parts, or the parts' last
                months (the horizon) differ.
        """
        filled = [p.cells for p in parts if p.cells.first_month is not None]
        if not filled:
            raise ValueError("no person-months in any part: nothing to price")
        sources = {p.assessment_source for p in parts}
        source = next((s for s in ("assessment_started", "referred") if s in sources), "none")
        paid = [np.ones(p.event_incentive.size, dtype=bool) if p.assessment_source == source else p.event_incentive for p in parts]

        def events(name: str) -> np.ndarray:
            return np.concatenate([getattr(p, name)[keep] for p, keep in zip(parts, paid, strict=True)])

        return cls(
            filled[0] if len(filled) == 1 else CellArrays.concat(filled),
            events("event_replication"), events("event_arm"), events("event_month"), events("event_incentive"), source,
        )


def first_milestones(
    replication: np.ndarray,
    arm: np.ndarray,
    person: np.ndarray,
    milestone: np.ndarray,
    time: np.ndarray,
) -> np.ndarray:
    """Which incentive-milestone events are paid: one per (replication, arm, person, milestone).

    Args:
        replication, arm, person, milestone: integer keys per event (any codes).
        time: when, as numbers that order like the times (ties: the earlier row).

    Returns:
        Indices of the first event in time of each key, ordered by key.
    """
    order = np.lexsort((time, milestone, person, arm, replication))
    keys = np.stack([replication, arm, person, milestone])[:, order]
    first = np.ones(order.size, dtype=bool)
    first[1:] = (keys[:, 1:] != keys[:, :-1]).any(axis=0)
    return order[first]


def money_event_columns(
    replication: np.ndarray, arm: np.ndarray, month: np.ndarray, incentive: np.ndarray
) -> dict[str, np.ndarray]:
    """The ``events`` of :class:`StateCounts` from the money events, one entry per event, as columns.

    Args:
        replication: replication id per event.
        arm: arm code per event (index into :data:`ARMS`).
        month: calendar month per event, as months since 1970-01.
        incentive: True for a paid incentive milestone (:func:`first_milestones`), False for an
            assessment.

    Returns:
        One row per (replication, arm, year, event), sorted: ``replication``, ``arm``, ``year``
        (int64), ``event`` (object: ``assessment`` or ``incentive_milestone``) and ``count`` (float).
    """
    keys = np.stack(
        [
            replication.astype(np.int64),
            arm.astype(np.int64),
            month.astype(np.int64) // 12 + 1970,
            incentive.astype(np.int64),
        ]
    )
    # The distinct key rows in lexicographic order and their counts (np.unique(axis=0), faster).
    keys = keys[:, np.lexsort(keys[::-1])]
    start = np.flatnonzero(np.concatenate([[keys.shape[1] > 0], (keys[:, 1:] != keys[:, :-1]).any(axis=0)]))
    rows = keys[:, start]
    return {
        "replication": rows[0],
        "arm": rows[1],
        "year": rows[2],
        "event": _EVENT_NAMES[rows[3]],
        "count": np.diff(np.append(start, keys.shape[1])).astype(float),
    }


_EVENT_NAMES = np.array(["assessment", "incentive_milestone"], dtype=object)


def money_event_counts(
    replication: np.ndarray, arm: np.ndarray, month: np.ndarray, incentive: np.ndarray
) -> pd.DataFrame:
    """:func:`money_event_columns` as the ``events`` table of :class:`StateCounts` (``event`` a string
    column)."""
    columns = money_event_columns(replication, arm, month, incentive)
    if replication.size:
        columns["event"] = pd.array(columns["event"], dtype="str")
    return pd.DataFrame(columns)


def _unit_prices(policy: EconomicPolicy, params: ParameterSet, g: GIndex) -> dict[str, float]:
    """Every unit price, in NOK of the price year (monthly unless the name says otherwise)."""
    k = float(g.factor(PARAMETER_PRICE_YEAR, policy.price_year))
    v = params.v
    staff_fte_month = v("staff.cost_nok_per_fte_year_2006") * k / 12.0
    absence = {
        "none": 0.0,
        "introduction_act": v("stipend.absence_deduction_share.introduction_act"),
        "strict": v("stipend.absence_deduction_share.strict"),
    }[policy.absence_deduction]
    offset = {
        "none": 0.0,
        "discretionary": v("stipend.income_offset.discretionary_offset_share"),
        "full": v("stipend.income_offset.full_offset_share"),
    }[policy.income_offset]
    offset *= v("stipend.income_offset.share_with_offsettable_income")
    return {
        "norm_single": v("social_assistance.norm_single_nok_per_month_2006") * k,
        "norm_couple": v("social_assistance.norm_couple_nok_per_month_2006") * k,
        "norm_child_0_5": v("social_assistance.norm_child_0_5_nok_per_month_2006") * k,
        "norm_child_6_10": v("social_assistance.norm_child_6_10_nok_per_month_2006") * k,
        "norm_child_11_17": v("social_assistance.norm_child_11_17_nok_per_month_2006") * k,
        "housing": v("social_assistance.housing_nok_per_month_2006") * k,
        "child_benefit": v("social_assistance.child_benefit_offset_nok_per_child_month_2006") * k,
        "sa_share_education": v("social_assistance.share_of_education_months_with_sa"),
        "sa_share_part_time": v("social_assistance.top_up_share_of_norm_when_part_time"),
        "caseworker_month": staff_fte_month / v("social_office.caseload_per_caseworker"),
        "stipend_kept": (1.0 - absence) * (1.0 - offset),
        "supplementary_share": v("stipend.supplementary_sa_share_of_gap"),
        "wage_month": v("wages.full_time_gross_nok_per_year_2006") * k / 12.0,
        "part_time_fraction": v("wages.part_time_fraction"),
        "employer_rate": v("tax.employer_contribution_rate"),
        "tax_full_time": v("tax.average_income_tax_rate_full_time"),
        "tax_part_time": v("tax.average_income_tax_rate_part_time"),
        "tax_municipal_share": v("tax.municipal_share_of_income_tax"),
        "staff_fte_month": staff_fte_month,
        "assessment_each": v("staff.assessment_cost_nok_per_assessment_2006") * k,
        "courses_month": v("measures.courses_nok_per_participant_month_2006") * k,
        "nav_month": v("measures.nav_nok_per_participant_month_2006") * k,
        "childcare_share": v("childcare.share_of_children_0_5_needing_place"),
        "childcare_cost": v("childcare.cost_nok_per_place_month_2006") * k,
        "childcare_fee": v("childcare.parental_fee_nok_per_place_month_2006") * k,
        "incentive_each": v("incentive.payment_nok_per_milestone_2006") * k,
        "grant_month": v("grants.state_grant_nok_per_year_2006")
        * k
        / (v("grants.national_participants_2006") * 12.0),
        "student_support_month": v("education.student_support_nok_per_month_2006") * k,
    }


def household_norm_nok_per_month(
    married: np.ndarray | bool,
    children_0_5: np.ndarray | int,
    children_6_10: np.ndarray | int,
    children_11_17: np.ndarray | int,
    params: ParameterSet,
    price_year: int = PARAMETER_PRICE_YEAR,
) -> np.ndarray:
    """Monthly social assistance a household receives (NOK of ``price_year``).

    Guideline rate for one or two adults plus the children's rates by age band, plus housing costs,
    less the child benefit (which counts as income). This is the level year-long recipients are
    paid; the housing parameter is calibrated so that it matches SSB's NOK 8 579/month for them
    (docs/economics.md).
    """
    g = GIndex(params, price_year)
    policy = EconomicPolicy(price_year=price_year)
    up = _unit_prices(policy, params, g)
    return _norm(np.asarray(married, bool), children_0_5, children_6_10, children_11_17, up)


def _norm(married, c0, c1, c2, up) -> np.ndarray:
    c0, c1, c2 = (np.asarray(c, dtype=float) for c in (c0, c1, c2))
    adults = np.where(married, up["norm_couple"], up["norm_single"])
    kids = c0 * up["norm_child_0_5"] + c1 * up["norm_child_6_10"] + c2 * up["norm_child_11_17"]
    return np.maximum(adults + kids + up["housing"] - (c0 + c1 + c2) * up["child_benefit"], 0.0)


def _price_post(
    c: dict[str, np.ndarray], n: np.ndarray, up: dict[str, float], norm: np.ndarray
) -> dict[str, np.ndarray]:
    """Post-programme flows of count cells (``n`` = person-months, or person-months per year;
    ``norm`` = the cells' household norm, :func:`_norm`)."""
    s = c["state"]
    sa_months = (
        n * _SA_STATE[s]
        + n * (s == _S["education"]) * up["sa_share_education"]
        + n * (s == _S["employed_part_time"]) * up["sa_share_part_time"]
    )
    ft = n * (s == _S["employed_full_time"])
    pt = n * (s == _S["employed_part_time"])
    wage_ft = ft * up["wage_month"]
    wage_pt = pt * up["wage_month"] * up["part_time_fraction"]
    wages = wage_ft + wage_pt
    tax = wage_ft * up["tax_full_time"] + wage_pt * up["tax_part_time"]
    places_employed = (ft + pt) * c["children_0_5"] * up["childcare_share"]
    return {
        "social_assistance": sa_months * norm,
        "social_office_follow_up": sa_months * up["caseworker_month"],
        "student_support": n * (s == _S["education"]) * up["student_support_month"],
        "wages": wages,
        "employer_contributions": wages * up["employer_rate"],
        "income_tax_state": tax * (1.0 - up["tax_municipal_share"]),
        "income_tax_municipality": tax * up["tax_municipal_share"],
        "production": wages * (1.0 + up["employer_rate"]),
        "childcare_employed": places_employed * up["childcare_cost"],
        "childcare_fee_employed": places_employed * up["childcare_fee"],
        "employed_person_years": (ft + pt) / 12.0,
    }


def _price_programme(
    c: dict[str, np.ndarray],
    up: dict[str, float],
    policy: EconomicPolicy,
    g: GIndex,
    norm: np.ndarray,
) -> dict[str, np.ndarray]:
    """Programme flows of count cells (in_programme person-months; ``norm`` as for
    :func:`_price_post`)."""
    prog = c["months"] * (c["state"] == _S["in_programme"])
    if policy.stipend_level == "g_multiple":
        g_month = g.in_force(c["year"], np.where(c["may_dec"], 5, 1)) * g.factor(
            c["year"], policy.price_year
        )
        gross = (
            policy.g_multiple_per_year
            * g_month
            / 12.0
            * np.where(c["under_25"], policy.under_25_fraction, 1.0)
        )
    else:
        gross = norm
    places = prog * c["children_0_5"] * up["childcare_share"]
    return {
        "stipend": prog * gross * up["stipend_kept"],
        "supplementary_social_assistance": prog
        * up["supplementary_share"]
        * np.maximum(norm - gross, 0.0),
        "courses_and_measures": prog * up["courses_month"],
        "nav_measures": prog * up["nav_month"],
        "childcare_programme": places * up["childcare_cost"],
        "childcare_fee_programme": places * up["childcare_fee"],
        "state_project_grant": prog * up["grant_month"],
        "participant_person_years": prog / 12.0,
    }


def _cell_norm(c: dict[str, np.ndarray], up: dict[str, float]) -> np.ndarray:
    """The household norm of count cells (NOK per month)."""
    return _norm(c["married"], c["children_0_5"], c["children_6_10"], c["children_11_17"], up)


def _arrays(
    df: pd.DataFrame | dict[str, np.ndarray], rows: np.ndarray | None = None, columns: tuple[str, ...] | None = None
) -> dict[str, np.ndarray]:
    """The ``columns`` (default all) of a table (or of its columns as arrays) as arrays; only the rows
    of the boolean mask ``rows`` if given."""
    names = (df.columns if isinstance(df, pd.DataFrame) else df) if columns is None else columns
    if rows is None:
        return {col: np.asarray(df[col]) for col in names}
    return {col: np.asarray(df[col])[rows] for col in names}


#: The columns of the extrapolation basis that are priced.
_BASIS_PRICED = (
    "replication",
    "arm",
    "state",
    "married",
    "children_0_5",
    "children_6_10",
    "children_11_17",
    "months_per_year",
)


def analysis_years(counts: StateCounts | CountArrays, policy: EconomicPolicy) -> tuple[int, int]:
    """(base year, last year) of the analysis.

    The base year is ``policy.base_year`` or else the first year with person-months or adviser FTE;
    the analysis runs ``policy.analysis_horizon_years`` calendar years from it.

    Raises:
        ValueError: ``policy.base_year`` after the first year with flows (they would be lost).
    """
    first = counts.first_month.year
    fte = policy.staff_fte_by_month
    staffed = fte.to_numpy() > 0
    if staffed.any():
        first = min(first, _years(fte.index.to_numpy()[staffed]).min().item())
    if policy.base_year is not None and policy.base_year > first:
        raise ValueError(
            f"base_year {policy.base_year} is after the first year with flows ({first}); "
            "those flows would be lost"
        )
    base = first if policy.base_year is None else policy.base_year
    return base, base + policy.analysis_horizon_years - 1


def _years(dates: np.ndarray) -> np.ndarray:
    """Calendar years (int64) of ``datetime64`` values."""
    return dates.astype("datetime64[Y]").astype(np.int64) + 1970


def _extrapolation_weights(
    horizon_month: pd.Timestamp, last_year: int, persistence: float, real_growth: float
) -> tuple[np.ndarray, np.ndarray]:
    """Per year after the horizon: sums over its months of the level and effect weights (years).

    Returns:
        The years (int64, ascending) and per year the weights ``level, effect, level_q, effect_q``
        (one column each); no years if the horizon month ends the analysis.
    """
    h = horizon_month.year * 12 + horizon_month.month - 1
    end = last_year * 12 + 11
    if end <= h:
        return np.zeros(0, dtype=np.int64), np.zeros((0, 4))
    j = np.arange(1, end - h + 1, dtype=float)  # months after the horizon month
    years = (h + j.astype(np.int64)) // 12
    growth = (1.0 + real_growth) ** (j / 12.0)
    decay = persistence ** (j / 12.0)
    weights = np.column_stack(
        [growth / 12.0, decay * growth / 12.0, np.full(j.size, 1.0 / 12.0), decay / 12.0]
    )
    # The four weights are the float columns of one frame: one block for group_sums.
    return group_sums(years, weights)


@dataclass(frozen=True)
class LedgerArrays:
    """A ledger or an effect ledger as NumPy arrays, one entry per row.

    What the frames of :func:`ledger_from_counts` (with ``arm``) and :func:`arm_effects` hold
    (without the columns that follow from the flow), for pricing that does not need the frames: a
    PSA draw prices (:func:`price_counts`), takes the effects (:meth:`effects`), averages them
    (:meth:`mean_over_replications`) and evaluates
    (:func:`model.economics.perspectives.evaluate_arrays`) on these, with the frames' numbers.

    Attributes:
        replication: replication id per row.
        arm: arm code per row (into :data:`ARMS`); None for an effect ledger.
        year: calendar year per row.
        flow: flow code per row (into :data:`FLOW_NAMES`).
        extrapolated: whether the row is extrapolated beyond the simulated horizon.
        amount_nok: NOK of the price year, undiscounted (0 on quantity rows).
        person_years: person-years (0 on money rows).
        attrs: the ledger's ``attrs`` (price_year, base_year, last_year, horizon_month).
    """

    replication: np.ndarray
    arm: np.ndarray | None
    year: np.ndarray
    flow: np.ndarray
    extrapolated: np.ndarray
    amount_nok: np.ndarray
    person_years: np.ndarray
    attrs: dict[str, object]

    def frame(self) -> pd.DataFrame:
        """The ledger frame of a ledger's arrays (:func:`ledger_from_counts`)."""
        flow = self.flow
        out = pd.DataFrame(
            {
                "replication": self.replication.astype(np.int32),
                "arm": pd.Categorical.from_codes(self.arm, dtype=_category_dtype(ARMS)),
                "year": self.year.astype(np.int32),
                "flow": pd.Categorical.from_codes(flow, dtype=_category_dtype(FLOW_NAMES)),
                **{
                    attr: pd.Categorical.from_codes(codes[flow], dtype=_category_dtype(categories))
                    for attr, (codes, categories) in _FLOW_ATTRIBUTES.items()
                },
                "extrapolated": self.extrapolated,
                "amount_nok": self.amount_nok,
                "person_years": self.person_years,
            }
        )
        out.attrs.update(self.attrs)
        return out

    def effects(self) -> LedgerArrays:
        """Programme arm − counterfactual arm of a ledger's arrays: the rows and numbers of
        :func:`arm_effects` of its frame."""
        sign = np.where(self.arm == _A["programme"], 1.0, -1.0)
        reps, rep_rank = np.unique(self.replication, return_inverse=True)
        years, year_rank = np.unique(self.year, return_inverse=True)
        key, flow, extrapolated, (amount, person_years) = _cell_sums(
            rep_rank.reshape(-1) * years.size + year_rank.reshape(-1),
            self.flow,
            self.extrapolated,
            [self.amount_nok * sign, self.person_years * sign],
        )
        rep_i, year_i = np.divmod(key, years.size)
        return LedgerArrays(
            replication=reps[rep_i],
            arm=None,
            year=years[year_i],
            flow=flow,
            extrapolated=extrapolated,
            amount_nok=amount,
            person_years=person_years,
            attrs=self.attrs,
        )

    def mean_over_replications(self, label: int) -> LedgerArrays:
        """An effect ledger's arrays averaged over its replications, as one pseudo-replication
        ``label``: the rows and numbers of :func:`model.cba.mean_effects` of the frame
        :func:`arm_effects` gives for them."""
        n = np.unique(self.replication).size
        years, year_rank = np.unique(self.year, return_inverse=True)
        year_i, flow, extrapolated, (amount, person_years) = _cell_sums(
            year_rank.reshape(-1),
            self.flow,
            self.extrapolated,
            [self.amount_nok, self.person_years],
        )
        return LedgerArrays(
            replication=np.full(year_i.size, label),
            arm=None,
            year=years[year_i],
            flow=flow,
            extrapolated=extrapolated,
            amount_nok=amount / n,
            person_years=person_years / n,
            attrs=self.attrs,
        )

    def transfers_net(self) -> float:
        """:func:`transfers_net` of the frame of these arrays (NOK)."""
        transfer = _IS_TRANSFER[self.flow]
        amount = self.amount_nok[transfer]
        receiver = _FLOW_RECEIVER_IS_PARTY[self.flow][transfer]
        payer = _FLOW_PAYER_IS_PARTY[self.flow][transfer]
        values = np.concatenate([amount[receiver], -amount[payer]])
        values[np.isnan(values)] = 0.0
        return float(values.sum())


def _cell_sums(
    key: np.ndarray, flow: np.ndarray, extrapolated: np.ndarray, blocks: list[np.ndarray]
) -> tuple[np.ndarray, np.ndarray, np.ndarray, list[np.ndarray]]:
    """Sums of ``blocks`` (each summed on its own, as :func:`groupby_sum` sums) per cell (``key``,
    flow code, extrapolated), cells in that order: each cell's key, flow code and extrapolated flag,
    and the sums."""
    n_flow = len(FLOW_NAMES)
    cells, ids = group_numbers((key * n_flow + flow) * 2 + extrapolated)
    rest, cell_extrapolated = np.divmod(cells, 2)
    cell_key, cell_flow = np.divmod(rest, n_flow)
    sums = block_sums(ids, cells.size, blocks)
    return cell_key, cell_flow, cell_extrapolated.astype(bool), sums


def price_counts(counts: StateCounts | CountArrays, policy: EconomicPolicy, params: ParameterSet) -> LedgerArrays:
    """Price aggregated counts: the ledger of :func:`ledger_from_counts` as arrays.

    Args:
        counts: from :func:`count_states` (or the same counts as arrays, :meth:`CountRows.count_arrays`).
        policy: the scenario's economic policy.
        params: the registry (point values or one PSA draw).

    Returns:
        The ledger's rows (see :func:`ledger_from_counts`).
    """
    base, last = analysis_years(counts, policy)
    cells = counts.cells
    cell_year = np.asarray(cells["year"])
    g = GIndex(params, max(last, policy.price_year, int(cell_year.max())) + 1)
    up = _unit_prices(policy, params, g)
    reps = counts.replications
    n_rep, n_year, n_flow = len(reps), last - base + 1, len(FLOW_NAMES)

    # Simulated block: grid (replication, arm, year) × flow.
    money = np.zeros((n_rep, 2, n_year, n_flow))
    in_years = (cell_year >= base) & (cell_year <= last)
    c = _arrays(cells, None if in_years.all() else in_years)
    if c["year"].size:
        flat = (np.searchsorted(reps, c["replication"]) * 2 + c["arm"]) * n_year + (
            c["year"] - base
        )
        norm = _cell_norm(c, up)
        priced = {
            **_price_post(c, c["months"], up, norm),
            **_price_programme(c, up, policy, g, norm),
        }
        view = money.reshape(n_rep * 2 * n_year, n_flow)
        for name, amount in priced.items():
            view[:, _FLOW_CODE[name]] += np.bincount(flat, weights=amount, minlength=view.shape[0])

    ev = _arrays(counts.events)
    ev_in = (ev["year"] >= base) & (ev["year"] <= last)
    for event, flow, price in (
        ("incentive_milestone", "incentive_payments", up["incentive_each"]),
        ("assessment", "assessment", up["assessment_each"]),
    ):
        rows = ev_in & (ev["event"] == event)
        if rows.any():
            np.add.at(
                money[..., _FLOW_CODE[flow]],
                (
                    np.searchsorted(reps, ev["replication"][rows]),
                    ev["arm"][rows].astype(np.int64),
                    ev["year"][rows].astype(np.int64) - base,
                ),
                ev["count"][rows].astype(float) * price,
            )

    fte = policy.staff_fte_by_month
    fte_year = _years(fte.index.to_numpy())
    staffed = (fte_year >= base) & (fte_year <= last)
    if staffed.any():
        by_year = np.bincount(
            fte_year[staffed] - base, weights=fte.to_numpy()[staffed], minlength=n_year
        )
        money[:, _A["programme"], :, _FLOW_CODE["project_staff"]] += (
            by_year[None, :] * up["staff_fte_month"]
        )
    blocks = [_long_rows(money, reps, np.arange(base, last + 1), np.arange(n_flow), False)]

    # Extrapolated block: post-programme flows and employed person-years after the horizon month.
    ext_years, weights = _extrapolation_weights(
        counts.horizon_month,
        last,
        params.v("cba.employment_effect_persistence_per_year"),
        params.v("prices.real_wage_growth_per_year"),
    )
    if ext_years.size:
        b = _arrays(counts.basis, columns=_BASIS_PRICED)
        basis = np.zeros((n_rep, 2, n_flow))
        if b["replication"].size:
            priced = _price_post(b, b["months_per_year"], up, _cell_norm(b, up))
            flat = np.searchsorted(reps, b["replication"]) * 2 + b["arm"]
            view = basis.reshape(n_rep * 2, n_flow)
            for name, amount in priced.items():
                view[:, _FLOW_CODE[name]] += np.bincount(
                    flat, weights=amount, minlength=view.shape[0]
                )
        keep = _EXTRAPOLATED_FLOWS
        q = _IS_QUANTITY[None, keep]
        lvl = np.where(q, weights[:, 2:3], weights[:, 0:1])  # (year, flow)
        eff = np.where(q, weights[:, 3:4], weights[:, 1:2])
        cf = basis[:, _A["counterfactual"], keep]
        diff = basis[:, _A["programme"], keep] - cf
        ext = np.empty((n_rep, 2, ext_years.size, keep.size))
        ext[:, _A["counterfactual"]] = cf[:, None, :] * lvl[None]
        ext[:, _A["programme"]] = cf[:, None, :] * lvl[None] + diff[:, None, :] * eff[None]
        blocks.append(_long_rows(ext, reps, ext_years, keep, True))

    rep, arm, year, flow, extrapolated, value = (
        np.concatenate(col) for col in zip(*blocks, strict=True)
    )
    if policy.excluded_flows:  # lines a convention leaves out: priced at zero, rows kept
        value = np.where(np.isin(flow, [_FLOW_CODE[f] for f in policy.excluded_flows]), 0.0, value)
    is_q = _IS_QUANTITY[flow]
    return LedgerArrays(
        replication=rep,
        arm=arm,
        year=year,
        flow=flow,
        extrapolated=extrapolated,
        amount_nok=np.where(is_q, 0.0, value),
        person_years=np.where(is_q, value, 0.0),
        attrs={
            "price_year": policy.price_year,
            "base_year": base,
            "last_year": last,
            "horizon_month": str(counts.horizon_month.date()),
        },
    )


def ledger_from_counts(
    counts: StateCounts, policy: EconomicPolicy, params: ParameterSet
) -> pd.DataFrame:
    """Price aggregated counts: the ledger for one policy and one parameter set.

    Args:
        counts: from :func:`count_states`.
        policy: the scenario's economic policy.
        params: the registry (point values or one PSA draw).

    Returns:
        The ledger (columns :data:`LEDGER_COLUMNS`): one row per replication × arm × year × flow (×
        whether extrapolated), NOK of ``policy.price_year``, undiscounted. Years run from the base
        year to the end of the analysis horizon; flows after it are dropped. Rows: the simulated
        years (every flow), then the extrapolated years (the post-programme flows and employed
        person-years), each ordered by replication, arm, year and flow.
    """
    return price_counts(counts, policy, params).frame()


@functools.lru_cache(maxsize=64)
def _category_dtype(categories: tuple[str, ...]) -> pd.CategoricalDtype:
    """The category dtype of string ``categories`` (built once: validating them is not free)."""
    return pd.CategoricalDtype(pd.Index(list(categories), dtype="str"))


#: Per flow attribute of the ledger (payer, receiver, kind, group): each flow's code into the
#: attribute's categories, and those categories.
_FLOW_ATTRIBUTES: dict[str, tuple[np.ndarray, tuple[str, ...]]] = {
    attr: (np.array([categories.index(getattr(f, attr)) for f in FLOWS]), categories)
    for attr, categories in (
        ("payer", ("", *ACTORS)),
        ("receiver", ("", *ACTORS)),
        ("kind", KINDS),
        ("group", GROUPS),
    )
}
_FLOW_CODE = {name: i for i, name in enumerate(FLOW_NAMES)}
_IS_QUANTITY = np.array([f.kind == "quantity" for f in FLOWS])
_IS_TRANSFER = np.array([f.kind == "transfer" for f in FLOWS])
_FLOW_RECEIVER_IS_PARTY = np.array([f.receiver in PARTIES for f in FLOWS])
_FLOW_PAYER_IS_PARTY = np.array([f.payer in PARTIES for f in FLOWS])
#: Whether each state (by code) is priced as a social-assistance month.
_SA_STATE = np.array([s in SA_STATES for s in STATES])
#: Flows extrapolated beyond the horizon (codes, ascending).
_EXTRAPOLATED_FLOWS = np.array(
    sorted(_FLOW_CODE[f] for f in (*POST_PROGRAMME_FLOWS, "employed_person_years"))
)


def _long_rows(
    arr: np.ndarray, reps: np.ndarray, years: np.ndarray, flows: np.ndarray, extrapolated: bool
) -> tuple[np.ndarray, ...]:
    """A (replication, arm, year, flow) array as ledger rows in that order: the replication, arm
    code, year, flow code and extrapolated flag of every row, and its value."""
    n_rep, n_arm, n_year, n_flow = arr.shape
    return (
        np.repeat(reps, n_arm * n_year * n_flow),
        np.tile(np.repeat(np.arange(n_arm), n_year * n_flow), n_rep),
        np.tile(np.repeat(years, n_flow), n_rep * n_arm),
        np.tile(flows, n_rep * n_arm * n_year),
        np.full(arr.size, extrapolated),
        arr.reshape(-1),
    )


def build_ledger(
    persons: pd.DataFrame,
    person_months: pd.DataFrame,
    events: pd.DataFrame,
    policy: EconomicPolicy,
    params: ParameterSet,
) -> pd.DataFrame:
    """The ledger of cash and resource flows for both arms of every replication.

    For many parameter draws on the same tables, call :func:`count_states` once and
    :func:`ledger_from_counts` per draw.

    Args:
        persons: the ``persons`` table.
        person_months: the ``person_months`` table (both arms).
        events: the ``events`` table (both arms).
        policy: the scenario's economic policy.
        params: the registry (point values or a PSA draw).

    Returns:
        Ledger rows (see :func:`ledger_from_counts`), NOK of ``policy.price_year``, undiscounted.
    """
    return ledger_from_counts(count_states(persons, person_months, events), policy, params)


def str_isin(series: pd.Series, names: tuple[str, ...]) -> np.ndarray:
    """Whether each value, as a string, is one of ``names``: ``series.astype(str).isin(names)`` as a
    boolean array (categoricals: decided once per category; missing values: False)."""
    if isinstance(series.dtype, pd.CategoricalDtype):
        per_category = [str(c) in names for c in series.dtype.categories.tolist()]
        return np.array([*per_category, False])[series.array.codes]
    return series.astype(str).isin(names).to_numpy()


def arm_effects(ledger: pd.DataFrame) -> pd.DataFrame:
    """Effects: programme arm − counterfactual arm, same persons, per replication, year and flow.

    Args:
        ledger: from :func:`build_ledger`.

    Returns:
        The ledger's columns without ``arm``, one row per replication, year, flow and extrapolated
        (sorted so); ``amount_nok`` and ``person_years`` are the differences (summed as
        :func:`groupby_sum` sums). ``payer``, ``receiver``, ``kind`` and ``group`` are categoricals
        of the values present.
    """
    keys = ["replication", "year", "flow", "extrapolated"]
    sign = np.where(str_isin(ledger["arm"], ("programme",)), 1.0, -1.0)
    signed = {v: ledger[v].to_numpy() * sign for v in ("amount_nok", "person_years")}
    encoded = encode_keys([ledger[k] for k in keys], len(ledger))
    if encoded is None:  # keys only pandas can group (e.g. flow names as strings)
        out = grouped_columns(ledger[keys].assign(**signed), keys, list(signed))
    else:
        out = sums_by_keys(encoded, keys, signed)
    flow = out["flow"]
    if isinstance(flow.dtype, pd.CategoricalDtype):
        # Map the categories, not the rows: the same values as mapping every row's name.
        names = [str(c) for c in flow.categories.tolist()]
        codes = np.asarray(flow.codes)
        present = np.flatnonzero(np.bincount(codes[codes >= 0], minlength=len(names)))
        derived = {}
        for col in ("payer", "receiver", "kind", "group"):
            per_category = [getattr(FLOW_INDEX[n], col) if n in FLOW_INDEX else None for n in names]
            values = tuple(sorted({per_category[i] for i in present} - {None}))
            lookup = {v: i for i, v in enumerate(values)}
            category_code = np.array([lookup.get(v, -1) for v in per_category] + [-1])
            derived[col] = pd.Categorical.from_codes(
                category_code[codes], dtype=_category_dtype(values)
            )
    else:
        flows = pd.Series(flow).astype(str)
        derived = {
            col: pd.Categorical(flows.map({f.name: getattr(f, col) for f in FLOWS}))
            for col in ("payer", "receiver", "kind", "group")
        }
    frame = pd.DataFrame(
        {
            "replication": np.asarray(out["replication"]).astype(np.int32),
            "year": np.asarray(out["year"]).astype(np.int32),
            "flow": flow,
            **derived,
            "extrapolated": out["extrapolated"],
            "amount_nok": out["amount_nok"],
            "person_years": out["person_years"],
        }
    )
    frame.attrs.update(ledger.attrs)
    return frame


def party_positions(ledger: pd.DataFrame) -> pd.DataFrame:
    """Each party's net position per ledger row: ``+amount`` as receiver, ``−amount`` as payer.

    Args:
        ledger: a ledger or an effect ledger.

    Returns:
        Long rows: the ledger's key columns plus ``party`` and ``amount_nok`` (only the parties of
        :data:`PARTIES`; ``society`` is the other side of real resource flows, not a party).
    """
    money = ledger[ledger["kind"].astype(str) != "quantity"]
    keys = [
        c
        for c in ("replication", "arm", "year", "flow", "kind", "group", "extrapolated")
        if c in money.columns
    ]
    recv = money[keys].assign(
        party=money["receiver"].astype(str), amount_nok=money["amount_nok"].to_numpy()
    )
    pay = money[keys].assign(
        party=money["payer"].astype(str), amount_nok=-money["amount_nok"].to_numpy()
    )
    both = pd.concat([recv, pay], ignore_index=True)
    return both[both["party"].isin(PARTIES)].reset_index(drop=True)


def transfers_net(ledger: pd.DataFrame) -> float:
    """Sum over all parties of their positions on transfer rows: 0 for a sound ledger (NOK).

    Transfers move money between state, municipality, participant and employer; for society they net
    to zero. A transfer with ``society`` (or an unknown actor) on one side would show up here as a
    non-zero sum.

    Args:
        ledger: a ledger or an effect ledger.

    Returns:
        The net, in NOK of the price year (undiscounted); 0 up to rounding.
    """
    # The positions of party_positions() on transfer rows, in its order (receivers, then payers), summed
    # as a pandas column is (NaN counts 0).
    transfer = str_isin(ledger["kind"], ("transfer",))
    amount = ledger["amount_nok"].to_numpy(float)[transfer]
    receiver = str_isin(ledger["receiver"], PARTIES)[transfer]
    payer = str_isin(ledger["payer"], PARTIES)[transfer]
    values = np.concatenate([amount[receiver], -amount[payer]])
    values[np.isnan(values)] = 0.0
    return float(values.sum())
