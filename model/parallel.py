"""Where replications and draws run: serially, on local processes, or on a Dask cluster.

Every unit of work (a replication, a PSA draw) is a pure function of its inputs and its index, so the place
it runs never changes a number: the callers split the indices into chunks, run them on the executor that
:func:`executor_for` gives, and put the results back in index order.
"""

from __future__ import annotations

import concurrent.futures as cf
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any, TypeVar

from model.errors import InputError

T = TypeVar("T")

REPLICATIONS_PER_TASK = 8  # replications in one task on an executor (fewer tasks: less pickling; more: less idle tail)


@contextmanager
def executor_for(workers: int = 1, scheduler: str | None = None) -> Iterator[cf.Executor | None]:
    """The executor for ``workers`` local processes (None: serial) or a Dask cluster at ``scheduler``.

    A Dask scheduler address (``tcp://host:8786``) gives the cluster's ``concurrent.futures`` executor
    (``distributed.Client(address).get_executor()``); its workers must be able to import ``model``.

    Raises:
        InputError: nothing answers at ``scheduler``.
    """
    if scheduler:
        from distributed import Client

        try:
            client = Client(scheduler, timeout="20s")
        except (OSError, TimeoutError, ValueError) as exc:
            raise InputError("command line", "--scheduler", scheduler,
                             f"the address of a running dask.distributed scheduler, e.g. tcp://host:8786 ({type(exc).__name__}: {exc})") from None
        try:
            yield client.get_executor()
        finally:
            client.close()
        return
    if workers > 1:
        pool = cf.ProcessPoolExecutor(max_workers=workers)
        try:
            yield pool
        except BaseException:
            pool.shutdown(wait=False, cancel_futures=True)
            raise
        pool.shutdown()
        return
    yield None


def split(indices: Sequence[int], chunks: int) -> list[list[int]]:
    """``indices`` cut into at most ``chunks`` consecutive runs of nearly equal length."""
    items = list(indices)
    chunks = max(1, min(chunks, len(items)))
    size, extra = divmod(len(items), chunks)
    out, start = [], 0
    for c in range(chunks):
        stop = start + size + (1 if c < extra else 0)
        out.append(items[start:stop])
        start = stop
    return [c for c in out if c]


def map_chunks(
    fn: Callable[..., list[T]],
    args: tuple[Any, ...],
    chunks: list[list[int]],
    executor: cf.Executor | None,
    progress: Callable[[int], None] | None = None,
) -> list[T]:
    """``fn(*args, chunk)`` for every chunk (each returns one result per index), in index order.

    Serially without an executor; otherwise every chunk is submitted at once and ``progress`` is called
    with the chunk's length as each finishes.
    """
    if executor is None:
        out: list[T] = []
        for chunk in chunks:
            out.extend(fn(*args, chunk))
            if progress:
                progress(len(chunk))
        return out
    futures = {executor.submit(fn, *args, chunk): k for k, chunk in enumerate(chunks)}
    results: list[list[T] | None] = [None] * len(chunks)
    for future in cf.as_completed(futures):
        k = futures[future]
        results[k] = future.result()
        if progress:
            progress(len(chunks[k]))
    return [x for part in results for x in (part or [])]
