"""The shared vocabulary of the tidy tables (docs/data_model.md): arms and person states.

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
