"""Small tables kept as NumPy columns, made DataFrames on demand.

A replication's outcome tables (state shares, desks, staff, employment) are built in worker processes,
sent to the parent and joined over hundreds of replications. As columns they cost a fraction of a
DataFrame to build and to pickle, and the parent joins them with one ``np.concatenate`` per column and
builds a single DataFrame: the same table, value for value and type for type, as concatenating the
replications' DataFrames (``tests/test_columns.py``).
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd


@functools.lru_cache(maxsize=128)
def category_dtype(categories: tuple[str, ...]) -> pd.CategoricalDtype:
    """The category dtype of ``categories``, built once (validating categories is not free)."""
    return pd.CategoricalDtype(list(categories))


@dataclass(frozen=True)
class Columns:
    """A table as columns in order: NumPy arrays, or Python lists (strings, as pandas infers their type);
    a column named in ``categories`` holds the codes of a categorical with those categories; a column
    named in ``missing`` is a nullable integer column (pandas ``Int64``) with that mask of missing values."""

    data: dict[str, np.ndarray | list]
    categories: dict[str, tuple[str, ...]] = field(default_factory=dict)
    missing: dict[str, np.ndarray] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(next(iter(self.data.values()))) if self.data else 0

    def frame(self) -> pd.DataFrame:
        """The table as a DataFrame."""
        def column(name: str, values: np.ndarray | list) -> np.ndarray | list | pd.api.extensions.ExtensionArray:
            if name in self.categories:
                return pd.Categorical.from_codes(values, dtype=category_dtype(self.categories[name]))
            if name in self.missing:
                return pd.arrays.IntegerArray(np.asarray(values, dtype=np.int64), np.asarray(self.missing[name], dtype=bool))
            return values

        return pd.DataFrame({name: column(name, values) for name, values in self.data.items()})

    @classmethod
    def concat(cls, parts: Sequence[Columns]) -> Columns:
        """The parts' rows one after another (the parts have the same columns and categories).

        Raises:
            ValueError: no parts, or parts with other columns or categories than the first.
        """
        if not parts:
            raise ValueError("no tables to join")
        first = parts[0]
        if any(list(p.data) != list(first.data) or p.categories != first.categories or list(p.missing) != list(first.missing) for p in parts):
            raise ValueError("the tables to join have different columns, categories or nullable columns")

        def join(name: str) -> np.ndarray | list:
            values = [p.data[name] for p in parts]
            if isinstance(values[0], list):
                return [x for v in values for x in v]
            return np.concatenate(values)

        missing = {name: np.concatenate([p.missing[name] for p in parts]) for name in first.missing}
        return cls({name: join(name) for name in first.data}, first.categories, missing)
