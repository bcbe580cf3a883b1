"""Social cost-benefit analysis of Ny sjanse: pure functions over the tidy tables (R-109, DFØ's
guide).

The path: ``persons, person_months, events`` (docs/data_model.md) → :func:`build_ledger` (cash and
resource flows, payer → receiver, per replication × arm × year, NOK of the price year) →
:func:`arm_effects` (programme − counterfactual) → :func:`evaluate` (NPV, benefit-cost ratio,
payback year, cost per extra employed person-year, net budget effect, per replication × perspective)
→ :func:`write_workbook` / :func:`write_html_report`. A PSA draw runs the same chain on arrays, with
the same numbers and without the frames: :func:`price_counts` → :class:`LedgerArrays` (``effects``,
``mean_over_replications``) → :func:`evaluate_arrays`. Nothing here runs the simulator. See
docs/economics.md.
"""

from model.economics.discounting import annuity_factor, discount_factors, discount_rates
from model.economics.ledger import (
    ARMS,
    FLOWS,
    PARTIES,
    STATES,
    Flow,
    LedgerArrays,
    StateCounts,
    arm_effects,
    build_ledger,
    count_states,
    household_norm_nok_per_month,
    ledger_from_counts,
    party_positions,
    price_counts,
    transfers_net,
)
from model.economics.perspectives import (
    ALL_PERSPECTIVES,
    EVALUATION_COLUMNS,
    PERSPECTIVES,
    evaluate,
    evaluate_arrays,
    perspective_ledger,
    summarize_evaluation,
    summarize_ledger,
)
from model.economics.policy import EconomicPolicy
from model.economics.prices import GIndex, real_wage_growth_factor, to_price_year
from model.economics.report import write_html_report, write_workbook

__all__ = [
    "ALL_PERSPECTIVES",
    "ARMS",
    "EVALUATION_COLUMNS",
    "FLOWS",
    "PARTIES",
    "PERSPECTIVES",
    "STATES",
    "EconomicPolicy",
    "Flow",
    "GIndex",
    "LedgerArrays",
    "StateCounts",
    "annuity_factor",
    "arm_effects",
    "build_ledger",
    "count_states",
    "discount_factors",
    "discount_rates",
    "evaluate",
    "evaluate_arrays",
    "household_norm_nok_per_month",
    "ledger_from_counts",
    "party_positions",
    "perspective_ledger",
    "price_counts",
    "real_wage_growth_factor",
    "summarize_evaluation",
    "summarize_ledger",
    "to_price_year",
    "transfers_net",
    "write_html_report",
    "write_workbook",
]
