"""Outcome tables kept as columns: joined as columns and made one DataFrame, they are exactly the
replications' DataFrames concatenated (values, types, categories, order)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from model.columns import Columns
from model.runner import run_replication, run_scenario, scenario_parameters
from model.scenario import load_scenario

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize("path", ["scenarios/ny_sjanse_2005_2006.toml", "scenarios/jobbsjansen_sarpsborg.toml"])
def test_joined_columns_are_the_concatenated_frames(path: str) -> None:
    scen = load_scenario(ROOT / path)
    params = scenario_parameters(scen)
    outcomes = [run_replication(scen, params, 4, r, tables=False) for r in range(4)]
    for name in outcomes[0].columns:
        parts = [o.columns[name] for o in outcomes]
        expected = pd.concat([getattr(o, name) for o in outcomes], ignore_index=True)
        pd.testing.assert_frame_equal(Columns.concat(parts).frame(), expected, check_exact=True, obj=name)
    result = run_scenario(scen, 3, 4, params, tables=False)
    for name in ("participant_states", "desks", "staff_months", "employment"):
        expected = pd.concat([getattr(o, name) for o in result.outcomes], ignore_index=True)
        pd.testing.assert_frame_equal(result.table(name), expected, check_exact=True, obj=name)


def test_empty_parts_and_lists() -> None:
    a = Columns({"x": np.array([1, 2], dtype=np.int32), "s": ["a", "b"], "c": np.array([0, 1], dtype=np.int8)}, {"c": ("no", "yes")})
    empty = Columns({"x": np.array([], dtype=np.int32), "s": [], "c": np.array([], dtype=np.int8)}, {"c": ("no", "yes")})
    joined = Columns.concat([empty, a, empty, a])
    assert len(joined) == 4 and joined.data["s"] == ["a", "b", "a", "b"]
    expected = pd.concat([a.frame(), a.frame()], ignore_index=True)
    pd.testing.assert_frame_equal(joined.frame(), expected, check_exact=True)


def test_refuses_tables_that_do_not_match() -> None:
    a = Columns({"c": np.array([0], dtype=np.int8)}, {"c": ("no", "yes")})
    with pytest.raises(ValueError, match="different columns, categories or nullable columns"):
        Columns.concat([a, Columns({"c": np.array([0], dtype=np.int8)}, {"c": ("yes", "no")})])
    with pytest.raises(ValueError, match="different columns, categories or nullable columns"):
        Columns.concat([a, Columns({"d": np.array([0], dtype=np.int8)}, {"c": ("no", "yes")})])
    with pytest.raises(ValueError, match="different columns, categories or nullable columns"):
        Columns.concat([a, Columns({"c": np.array([0], dtype=np.int8)}, {"c": ("no", "yes")}, {"c": np.array([True])})])
    with pytest.raises(ValueError, match="no tables"):
        Columns.concat([])


def test_nullable_integer_columns_join_as_their_frames() -> None:
    a = Columns({"y": np.array([2010, 0]), "v": np.array([1.0, 2.0])}, missing={"y": np.array([False, True])})
    b = Columns({"y": np.array([0, 2012]), "v": np.array([3.0, 4.0])}, missing={"y": np.array([True, False])})
    frame = a.frame()
    assert str(frame["y"].dtype) == "Int64" and frame["y"].isna().tolist() == [False, True] and frame["y"].iloc[0] == 2010
    expected = pd.concat([a.frame(), b.frame()], ignore_index=True)
    pd.testing.assert_frame_equal(Columns.concat([a, b]).frame(), expected, check_exact=True)
