"""``Streams.uniforms`` (Numba PCG64) must give exactly ``Streams.uniform``'s numbers, stream by stream."""

from __future__ import annotations

import numpy as np
import pytest

from model.rng import Streams, _pcg64_words


def _random_requests(rng: np.random.Generator, n: int) -> list[tuple[str, int | tuple[int, ...]]]:
    requests = []
    for _ in range(n):
        name = "".join(rng.choice(list("abcxyz.é_0123"), size=int(rng.integers(1, 20))))
        kind = rng.integers(3)
        size = int(rng.integers(0, 60))
        requests.append((name, size if kind == 0 else (size,) if kind == 1 else (size, int(rng.integers(0, 13)))))
    return requests


@pytest.mark.parametrize("n_requests", [0, 1, 3, 40])  # below and above prefetch's batch threshold
@pytest.mark.parametrize("seed", [0, 1, 12345, 2**32 - 1, 2**32, 2**70 + 3])
@pytest.mark.parametrize("replication", [0, 7, 2**32 + 1])
def test_bulk_uniforms_equal_per_stream_uniforms(seed, replication, n_requests):
    rng = np.random.default_rng([seed % 2**64, replication, n_requests])
    requests = _random_requests(rng, n_requests)
    requests += [(requests[0][0], 5)] if requests else []  # a repeated name restarts its stream
    got = Streams(seed, replication).uniforms(requests)
    assert len(got) == len(requests)
    for (name, size), draws in zip(requests, got, strict=True):
        ref = Streams(seed, replication).uniform(name, size)
        assert draws.dtype == ref.dtype and draws.shape == ref.shape, name
        assert np.array_equal(draws, ref), name


def test_bulk_uniforms_long_stream_and_prefetched_words():
    streams = Streams(3, 1)
    streams.prefetch([f"n{i}" for i in range(10)])
    got = streams.uniforms([("n0", 100_000), ("n9", (7, 12)), ("other", 3)])
    for (name, size), draws in zip([("n0", 100_000), ("n9", (7, 12)), ("other", 3)], got, strict=True):
        assert np.array_equal(draws, Streams(3, 1).uniform(name, size)), name


@pytest.mark.parametrize(("seed", "replication"), [(-1, 0), (0, -2)])
def test_bulk_uniforms_fail_like_uniform_for_negative_seeds(seed, replication):
    with pytest.raises(ValueError):
        Streams(seed, replication).uniform("x", 3)
    with pytest.raises(ValueError):
        Streams(seed, replication).uniforms([("x", 3)])


def test_bulk_uniforms_reject_negative_sizes_like_uniform():
    with pytest.raises(ValueError):
        Streams(1, 0).uniform("x", -1)
    with pytest.raises(ValueError):
        Streams(1, 0).uniforms([("x", -1)])


@pytest.mark.parametrize("seed", [0, 1, 2**32 - 1, 2**32, 2**64 + 5, 2**70 + 3, "random"])
@pytest.mark.parametrize("replication", [0, 7, 2**32 + 1])
def test_pcg64_words_equal_numpy_seed_sequence(seed, replication):
    rng = np.random.default_rng([replication, 0 if seed == "random" else seed % 2**64 + 1])
    if seed == "random":
        seeds = [int(s) for s in rng.integers(0, 2**63, 3)] + [2**100 + int(rng.integers(2**40))]
    else:
        seeds = [seed]
    keys = np.concatenate([[0, 1, 2**32 - 1], rng.integers(0, 2**32, 60)]).astype(np.uint64)
    for s in seeds:
        words = _pcg64_words(s, replication, keys)
        assert words.dtype == np.uint64 and words.shape == (keys.size, 4)
        for key, row in zip(keys, words, strict=True):
            ref = np.random.SeedSequence(entropy=s, spawn_key=(replication, int(key))).generate_state(4, np.uint64)
            assert np.array_equal(row, ref), (s, replication, int(key))


def test_pcg64_words_edge_sizes():
    assert _pcg64_words(3, 1, np.array([], dtype=np.uint64)).shape == (0, 4)
    with pytest.raises(ValueError):  # numpy would hash a 33-bit key as two words
        _pcg64_words(3, 1, np.array([5, 2**32], dtype=np.uint64))
