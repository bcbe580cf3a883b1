"""Rewrite the golden baseline: the summary of a fixed-seed run of tests/data/two_projects.toml.

Run explicitly (``make golden``) after a change that is meant to move the numbers, and commit the
new tests/golden/two_projects_summary.json with it. tests/test_golden.py recomputes the same run and
compares.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))  # run as a script from anywhere

from model.runner import run_scenario, summarize  # noqa: E402
from model.scenario import load_scenario  # noqa: E402

SCENARIO = HERE / "data" / "two_projects.toml"
GOLDEN = HERE / "golden" / "two_projects_summary.json"
REPLICATIONS = 5
SEED = 123


def golden_summary() -> dict:
    """The summary the golden file holds, computed now through the library."""
    scen = load_scenario(SCENARIO)
    summary = summarize(run_scenario(scen, REPLICATIONS, SEED))
    return json.loads(json.dumps(summary))  # exactly what the file round-trips to


def main() -> None:
    summary = golden_summary()
    GOLDEN.parent.mkdir(parents=True, exist_ok=True)
    GOLDEN.write_text(
        json.dumps(summary, indent=2, ensure_ascii=False, sort_keys=True) + "\n", encoding="utf-8"
    )
    print(f"wrote {GOLDEN.relative_to(HERE.parent)} ({REPLICATIONS} replications, seed {SEED})")


if __name__ == "__main__":
    main()
