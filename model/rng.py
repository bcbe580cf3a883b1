"""Named random streams: one generator per random quantity, derived from one ``SeedSequence``.

Every random quantity in the model (a person's sex, an assessment duration, the referral times of one
project …) has a name. Its generator is derived from the run's root seed, the replication index and the
name alone, so

- two scenarios run with the same seed see the same persons and the same draws (common random numbers),
  whatever else they change;
- adding a new random quantity does not shift the draws of the existing ones;
- the result does not depend on the order in which streams are used, nor on which worker runs a
  replication (serial, parallel and Dask runs agree).

The global NumPy RNG is never used.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterable

import numpy as np
from numpy.random.bit_generator import ISeedSequence


def _name_key(name: str) -> int:
    return zlib.crc32(name.encode("utf-8"))


# numpy's SeedSequence constants (numpy/random/bit_generator.pyx; Melissa O'Neill's seed_seq hash).
_INIT_A, _MULT_A = 0x43B0D7E5, 0x931E8875
_INIT_B, _MULT_B = 0x8B51F9DD, 0x58F38DED
_MIX_MULT_L, _MIX_MULT_R, _XSHIFT = 0xCA01F9DD, 0x4973F715, 16
_POOL_SIZE = 4
_BATCH_MIN = 8  # below this many names numpy's own SeedSequence is faster


def _uint32_words(x: int) -> list[int]:
    """``numpy.random.bit_generator._int_to_uint32_array``: little-endian 32-bit words of ``x`` >= 0."""
    if x < 0:
        raise ValueError("expected non-negative integer")
    if x == 0:
        return [0]
    words = []
    while x > 0:
        words.append(x & 0xFFFFFFFF)
        x >>= 32
    return words


class _SeededState(ISeedSequence):
    """A seed sequence whose PCG64 seeding words are already known (see :meth:`Streams.prefetch`)."""

    __slots__ = ("words",)

    def __init__(self, words: np.ndarray) -> None:
        self.words = words

    def generate_state(self, n_words: int, dtype=np.uint32) -> np.ndarray:
        if n_words != 4 or np.dtype(dtype) != np.dtype(np.uint64):  # pragma: no cover - only PCG64 uses it
            raise ValueError("precomputed for PCG64 only")
        return self.words.copy()


def _pcg64_words(seed: int, replication: int, keys: np.ndarray) -> np.ndarray:
    """``SeedSequence(seed, spawn_key=(replication, key)).generate_state(4, np.uint64)`` for many keys.

    The same integer hash as numpy's SeedSequence (pool of four 32-bit words, ``mix_entropy`` then
    ``generate_state``), vectorised over the keys with wrapping uint32 arithmetic: one pass of NumPy
    operations instead of one seed sequence per name. Its output is pinned to numpy's by a test.
    """
    k = keys.size
    run = _uint32_words(int(seed))
    if len(run) < _POOL_SIZE:  # spawn keys present: pad the run entropy to the pool size (numpy >= 1.19)
        run = run + [0] * (_POOL_SIZE - len(run))
    fixed = run + _uint32_words(int(replication))
    entropy = [np.full(k, w, dtype=np.uint32) for w in fixed] + [keys.astype(np.uint32)]
    hash_const = [_INIT_A]

    def hashmix(value: np.ndarray) -> np.ndarray:
        value = value ^ np.uint32(hash_const[0])
        hash_const[0] = (hash_const[0] * _MULT_A) & 0xFFFFFFFF
        value = value * np.uint32(hash_const[0])
        return value ^ (value >> np.uint32(_XSHIFT))

    def mix(x: np.ndarray, y: np.ndarray) -> np.ndarray:
        result = np.uint32(_MIX_MULT_L) * x - np.uint32(_MIX_MULT_R) * y
        return result ^ (result >> np.uint32(_XSHIFT))

    mixer = [hashmix(entropy[i]) if i < len(entropy) else hashmix(np.zeros(k, dtype=np.uint32)) for i in range(_POOL_SIZE)]
    for i_src in range(_POOL_SIZE):
        for i_dst in range(_POOL_SIZE):
            if i_src != i_dst:
                mixer[i_dst] = mix(mixer[i_dst], hashmix(mixer[i_src]))
    for i_src in range(_POOL_SIZE, len(entropy)):
        for i_dst in range(_POOL_SIZE):
            mixer[i_dst] = mix(mixer[i_dst], hashmix(entropy[i_src]))
    # generate_state(4, uint64): eight 32-bit words cycling over the pool, then pairs as little-endian u64.
    out = np.empty((k, 8), dtype=np.uint32)
    hc = _INIT_B
    for i in range(8):
        value = mixer[i % _POOL_SIZE] ^ np.uint32(hc)
        hc = (hc * _MULT_B) & 0xFFFFFFFF
        value = value * np.uint32(hc)
        out[:, i] = value ^ (value >> np.uint32(_XSHIFT))
    return out.astype("<u4").view("<u8").astype(np.uint64)


class Streams:
    """The named streams of one replication.

    Args:
        seed: the run's root seed.
        replication: the replication index.
    """

    def __init__(self, seed: int, replication: int) -> None:
        self.seed = int(seed)
        self.replication = int(replication)
        self._words: dict[str, np.ndarray] = {}

    def prefetch(self, names: Iterable[str]) -> None:
        """Seed the streams ``names`` in one vectorised pass (faster than one at a time; same draws)."""
        todo = [n for n in dict.fromkeys(names) if n not in self._words]
        if len(todo) < _BATCH_MIN or self.seed < 0 or self.replication < 0:
            return
        words = _pcg64_words(self.seed, self.replication, np.array([_name_key(n) for n in todo], dtype=np.uint64))
        for name, row in zip(todo, words, strict=True):
            self._words[name] = row

    def generator(self, name: str) -> np.random.Generator:
        """A fresh generator for the random quantity ``name``; the same name gives the same draws."""
        words = self._words.get(name)
        if words is not None:
            return np.random.Generator(np.random.PCG64(_SeededState(words)))
        ss = np.random.SeedSequence(entropy=self.seed, spawn_key=(self.replication, _name_key(name)))
        return np.random.Generator(np.random.PCG64(ss))

    def uniform(self, name: str, size: int | tuple[int, ...]) -> np.ndarray:
        """``size`` U(0,1) draws of quantity ``name``."""
        return self.generator(name).random(size)

    def exponential(self, name: str, size: int | tuple[int, ...]) -> np.ndarray:
        """``size`` Exp(1) draws of quantity ``name``."""
        return self.generator(name).standard_exponential(size)
