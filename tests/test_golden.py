"""The golden baseline: a fixed-seed run of tests/data/two_projects.toml must reproduce its stored
summary.

A mismatch means the model's numbers moved. If that was intended, run ``make golden`` (which calls
tests/refresh_golden.py) and commit the new tests/golden/two_projects_summary.json with the change.
"""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from refresh_golden import GOLDEN, REPLICATIONS, SEED, golden_summary  # noqa: E402

REL = 1e-9
HINT = "if the change in the model's numbers is intended, run `make golden` and commit the file"


def differences(expected, actual, path: str = "") -> list[str]:
    """Every place where ``actual`` differs from ``expected`` (floats compared with rel 1e-9)."""
    if isinstance(expected, dict) and isinstance(actual, dict):
        out = []
        for key in sorted(set(expected) | set(actual)):
            where = f"{path}.{key}" if path else key
            if key not in actual:
                out.append(f"{where}: missing now")
            elif key not in expected:
                out.append(f"{where}: new (not in the golden file)")
            else:
                out += differences(expected[key], actual[key], where)
        return out
    if isinstance(expected, list) and isinstance(actual, list):
        if len(expected) != len(actual):
            return [f"{path}: {len(expected)} items in the golden file, {len(actual)} now"]
        return [
            d
            for i, (e, a) in enumerate(zip(expected, actual, strict=True))
            for d in differences(e, a, f"{path}[{i}]")
        ]
    if (
        isinstance(expected, float | int)
        and isinstance(actual, float | int)
        and not isinstance(expected, bool)
    ):
        if math.isclose(expected, actual, rel_tol=REL, abs_tol=1e-12):
            return []
        return [f"{path}: golden {expected!r}, now {actual!r}"]
    return [] if expected == actual else [f"{path}: golden {expected!r}, now {actual!r}"]


def test_golden_file_exists():
    assert GOLDEN.exists(), f"{GOLDEN} is missing: run `make golden` to create it"


def test_golden_summary_is_reproduced():
    if not GOLDEN.exists():
        pytest.fail(f"{GOLDEN} is missing: run `make golden` to create it")
    expected = json.loads(GOLDEN.read_text(encoding="utf-8"))
    assert expected["replications"] == REPLICATIONS and expected["seed"] == SEED
    diffs = differences(expected, golden_summary())
    if diffs:
        shown = "\n  ".join(diffs[:25]) + (
            f"\n  ... and {len(diffs) - 25} more" if len(diffs) > 25 else ""
        )
        pytest.fail(
            f"the fixed-seed summary differs from {GOLDEN.name} in {len(diffs)} place(s):\n"
            f"  {shown}\n{HINT}"
        )


def test_comparison_detects_a_change():
    base = {
        "flows": {"referred": {"mean": 100.0}},
        "participant_states": [{"month": "2005-04", "employed": 0.1}],
    }
    assert differences(base, json.loads(json.dumps(base))) == []
    assert (
        differences(
            base,
            {
                "flows": {"referred": {"mean": 100.0 * (1 + 1e-12)}},
                "participant_states": [{"month": "2005-04", "employed": 0.1}],
            },
        )
        == []
    )
    moved = {
        "flows": {"referred": {"mean": 100.0 * (1 + 1e-6)}},
        "participant_states": [{"month": "2005-04", "employed": 0.1}],
    }
    assert differences(base, moved) == [
        f"flows.referred.mean: golden 100.0, now {100.0 * (1 + 1e-6)!r}"
    ]
    assert differences(base, {"flows": {}, "participant_states": []})
