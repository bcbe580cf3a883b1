"""Grouped sums of float columns, exactly as pandas (3.x) adds them up, without its overhead.

The ledger and the perspectives sum many small groups (flows by replication, arm and year; present values
by perspective). pandas' ``groupby(...).sum()`` does it with much bookkeeping per call; these functions
give the same numbers, bit for bit: pandas adds a block of float columns with ``np.add.reduceat`` when
the group codes are ascending and there is no NaN, and otherwise row by row with Kahan compensation.
Both ways are reproduced; ``tests/test_pricing_speed_equivalence.py`` checks them against pandas itself
(so a pandas release that sums differently is caught).
"""

from __future__ import annotations

import numpy as np
import pandas as pd


def group_sums(code: np.ndarray, values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Sums of float ``values`` by integer ``code``: the numbers pandas (3.x) gives for
    ``groupby(code, sort=True).sum()``, without its overhead.

    pandas adds up a block of float columns with ``np.add.reduceat`` over each group's rows when
    the codes are ascending and the block has no NaN; otherwise row by row with Kahan compensation
    (reset to 0 when it is not finite), skipping NaN (a group of NaN only sums to 0). Both are
    reproduced here, the second vectorised over the groups (one step per row of the largest
    group).

    Args:
        code: the integer group key of each row.
        values: float64 values, shape ``(rows,)`` or ``(rows, columns)``: the columns of one pandas
            block (a frame's float columns built together; a Series is one column).

    Returns:
        The distinct codes (ascending) and the sums, one row per code (trailing shape of
        ``values``).
    """
    uniq, ids = group_numbers(code)
    return uniq, _sums_by_group(ids, uniq.size, values)


def group_numbers(code: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``np.unique(code, return_inverse=True)`` (inverse flat), without the sort for ascending
    codes."""
    if code.size and (code[1:] >= code[:-1]).all():
        first = np.concatenate([[True], code[1:] != code[:-1]])
        return code[first], np.cumsum(first) - 1
    uniq, ids = np.unique(code, return_inverse=True)
    return uniq, ids.reshape(-1)


def _sums_by_group(ids: np.ndarray, n_groups: int, values: np.ndarray) -> np.ndarray:
    """:func:`group_sums` given each row's group number (0 … ``n_groups`` − 1, in code order)."""
    return block_sums(ids, n_groups, [values])[0]


def block_sums(ids: np.ndarray, n_groups: int, blocks: list[np.ndarray]) -> list[np.ndarray]:
    """:func:`_sums_by_group` of several blocks (each summed on its own) over the same groups."""
    ascending = bool(ids.size) and bool((ids[1:] >= ids[:-1]).all())
    rounds = None
    out = []
    for values in blocks:
        vals = values[:, None] if values.ndim == 1 else values
        nan = np.isnan(vals)
        has_nan = bool(nan.any())
        if ascending and not has_nan:
            starts = np.flatnonzero(np.concatenate([[True], ids[1:] != ids[:-1]]))
            sums = np.add.reduceat(vals, starts, axis=0)
        else:
            if rounds is None:
                rounds = _kahan_order(ids, n_groups)
            by_size, rows, per_round = rounds
            total = None
            if not has_nan:
                total = _kahan_rounds(vals[rows], per_round, n_groups)
            if total is None:
                total = _kahan_rounds(vals[rows], per_round, n_groups, skip=nan[rows])
            sums = np.empty_like(total)
            sums[by_size] = total
        out.append(sums.reshape((n_groups, *values.shape[1:])))
    return out


def _kahan_order(ids: np.ndarray, n_groups: int) -> tuple[np.ndarray, np.ndarray, list[int]]:
    """How :func:`_kahan_rounds` visits the rows: one round per row of the largest group, round k
    taking the k-th row (in row order) of every group that has one. With the groups ordered by size
    (largest first) the groups of round k are the first ones, so each round works on slices.

    Returns:
        The groups by size, the rows in visiting order, and the number of rows of each round.
    """
    sizes = np.bincount(ids, minlength=n_groups)
    by_size = np.argsort(-sizes, kind="stable")
    place = np.empty(n_groups, dtype=np.int64)
    place[by_size] = np.arange(n_groups)
    rank = np.empty(ids.size, dtype=np.int64)
    rank[np.argsort(ids, kind="stable")] = np.arange(ids.size) - np.repeat(
        np.cumsum(sizes) - sizes, sizes
    )
    rows = np.argsort(rank * n_groups + place[ids])  # by round, then by group (distinct keys)
    return by_size, rows, np.bincount(rank).tolist()


def _kahan_rounds(
    v_rows: np.ndarray, per_round: list[int], n_groups: int, skip: np.ndarray | None = None
) -> np.ndarray | None:
    """pandas' Kahan summation, round by round: round k adds the next ``per_round[k]`` rows of
    ``v_rows`` to the first ``per_round[k]`` groups.

    pandas resets a compensation that is not finite (from an infinite term or an overflowing sum)
    to 0. Without ``skip`` (rows to leave out: NaN) that reset is left out: exact as long as every
    sum ends finite (a compensation turns non-finite only with an infinite or NaN term or sum,
    after which the group's sum stays infinite or NaN), and None is returned otherwise, for the
    caller to add up again with ``skip`` (all False if no NaN).

    Returns:
        The sums per group (groups ordered as the rounds fill them), or None (see above).
    """
    total = np.zeros((n_groups, v_rows.shape[1]))
    comp = np.zeros_like(total)
    y_buf, t_buf = np.empty_like(total), np.empty_like(total)
    lo = 0
    with np.errstate(invalid="ignore", over="ignore"):  # inf - inf etc.: see above
        for n in per_round:
            v, s, c, y, t = v_rows[lo : lo + n], total[:n], comp[:n], y_buf[:n], t_buf[:n]
            np.subtract(v, c, out=y)
            np.add(s, y, out=t)
            if skip is None:
                np.subtract(t, s, out=c)
                np.subtract(c, y, out=c)
                s[...] = t
            else:
                new_c = t - s
                new_c -= y
                np.copyto(new_c, 0.0, where=~np.isfinite(new_c))
                keep = ~skip[lo : lo + n]
                np.copyto(s, t, where=keep)
                np.copyto(c, new_c, where=keep)
            lo += n
    if skip is None and not np.isfinite(total).all():
        return None
    return total


def encode_keys(columns: list[pd.Series], n_rows: int) -> tuple[np.ndarray, list[tuple]] | None:
    """One int64 code per row (of ``n_rows``) that sorts like the key ``columns`` (mixed radix of
    their ranks; categories in category order), and per column what :func:`_decode_keys` needs;
    None if a column is neither integer, boolean nor categorical without missing values, or the
    codes would overflow."""
    code = np.zeros(n_rows, dtype=np.int64)
    levels: list[tuple] = []  # (uniques or None, dtype, radix) per key
    space = 1.0
    for col in columns:
        dtype = col.dtype
        if isinstance(dtype, pd.CategoricalDtype):
            ranks = col.array.codes.astype(np.int64)
            if (ranks < 0).any():
                return None
            radix, uniques = len(dtype.categories), None
        elif dtype.kind in "iub":
            uniques, ranks = np.unique(col.to_numpy(), return_inverse=True)
            radix = max(uniques.size, 1)
        else:
            return None
        space *= max(radix, 1)
        if space >= 2**62:
            return None
        code = code * radix + ranks.reshape(-1)
        levels.append((uniques, dtype, radix))
    return code, levels


def _decode_keys(codes: np.ndarray, names: list[str], levels: list[tuple]) -> dict[str, object]:
    """The key columns of the sorted distinct ``codes`` of :func:`encode_keys`, by name."""
    cols: dict[str, object] = {}
    rest = codes
    for k, (uniques, dtype, radix) in zip(reversed(names), reversed(levels), strict=True):
        rest, r = np.divmod(rest, radix)
        if uniques is None:
            cols[k] = pd.Categorical.from_codes(r, dtype=dtype)
        else:
            cols[k] = uniques[r].astype(dtype, copy=False)
    return {k: cols[k] for k in names}


def sums_by_keys(
    encoded: tuple[np.ndarray, list[tuple]], keys: list[str], values: dict[str, np.ndarray]
) -> dict[str, object]:
    """Key columns and float sums per group of keys encoded by :func:`encode_keys`, by name (each
    value column summed as a block of its own by :func:`group_sums`)."""
    code, levels = encoded
    uniq, ids = group_numbers(code)
    sums = block_sums(ids, uniq.size, list(values.values()))
    return {**_decode_keys(uniq, keys, levels), **dict(zip(values, sums, strict=True))}


def groupby_sum(frame: pd.DataFrame, keys: list[str], values: list[str]) -> pd.DataFrame:
    """``frame.groupby(keys, observed=True, sort=True, as_index=False)[values].sum()``, faster.

    For keys that are integer, boolean or categorical columns without missing values and float64
    values, the rows are grouped by one integer code that sorts like the keys (mixed radix of their
    ranks, categories in category order) and summed as pandas sums them (:func:`group_sums`, each
    value column as a block of its own); only the (slow) multi-key and categorical bookkeeping is
    skipped. Other keys or values fall back to the groupby.
    """
    return pd.DataFrame(grouped_columns(frame, keys, values))


def grouped_columns(frame: pd.DataFrame, keys: list[str], values: list[str]) -> dict[str, object]:
    """The columns of :func:`groupby_sum` by name (NumPy or pandas arrays), before they are put in a
    frame: for callers that build their own frame from them."""
    arrays = {v: frame[v].to_numpy() for v in values}
    encoded = encode_keys([frame[k] for k in keys], len(frame))
    if encoded is None or any(a.dtype != np.float64 for a in arrays.values()):
        out = frame.groupby(keys, observed=True, sort=True, as_index=False)[values].sum()
        return {c: out[c].array for c in out.columns}
    return sums_by_keys(encoded, keys, arrays)
