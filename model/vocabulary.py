"""The shared vocabulary of the tidy tables (docs/data_model.md): arms and person states; and the ledger lines
a scenario's analysis may leave out.

Both the engine, which produces the tables, and the economics, which reads them, use these names; neither
imports the other.
"""

ARMS = ("programme", "counterfactual")
STATES = (
    "assessment",
    "waiting",
    "in_programme",
    "employed_full_time",
    "employed_part_time",
    "education",
    "social_assistance",
    "other",
)
#: Ledger lines an analysis convention may leave out (scenario key ``analysis.excluded_flows``,
#: ``model.economics.EconomicPolicy.excluded_flows``; model/defaults/conventions.toml, set
#: ``employment_benefits_only``): the social office's follow-up time (a resource saving that is not
#: production) and the kindergarten places of the employed with their parental fee (a resource cost of
#: employment). Every other line is always counted.
EXCLUDABLE_FLOWS = ("social_office_follow_up", "childcare_employed", "childcare_fee_employed")
