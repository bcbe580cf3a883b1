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

import functools
import math
import zlib
from collections.abc import Iterable, Sequence

import numpy as np
from numba import njit, types
from numpy.random.bit_generator import ISeedSequence


@functools.lru_cache(maxsize=65536)
def _name_key(name: str) -> int:
    """The stream's spawn key: the CRC-32 of its name (names repeat in every replication: cached)."""
    return zlib.crc32(name.encode("utf-8"))


# numpy's SeedSequence constants (numpy/random/bit_generator.pyx; Melissa O'Neill's seed_seq hash). They are
# uint64 so that Numba keeps the arithmetic unsigned (uint64 with a Python int would give float64); each
# 32-bit operation is done in uint64 and masked back to 32 bits.
_U32 = np.uint64(0xFFFFFFFF)
_INIT_A, _MULT_A = np.uint64(0x43B0D7E5), np.uint64(0x931E8875)
_INIT_B, _MULT_B = np.uint64(0x8B51F9DD), np.uint64(0x58F38DED)
_MIX_MULT_L, _MIX_MULT_R, _XSHIFT = np.uint64(0xCA01F9DD), np.uint64(0x4973F715), np.uint64(16)
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


@njit(cache=True)
def _hashmix(value, hash_const):
    """SeedSequence's ``hashmix`` of one 32-bit word: the hashed word and the next ``hash_const``."""
    value ^= hash_const
    hash_const = (hash_const * _MULT_A) & _U32
    value = (value * hash_const) & _U32
    return value ^ (value >> _XSHIFT), hash_const


@njit(cache=True)
def _mix(x, y):
    """SeedSequence's ``mix`` of two 32-bit words (the uint64 difference wraps, the mask keeps it mod 2**32)."""
    result = (_MIX_MULT_L * x - _MIX_MULT_R * y) & _U32
    return result ^ (result >> _XSHIFT)


@njit(types.uint64[:, ::1](types.uint64[::1], types.uint64[::1]), cache=True)
def _seed_sequence_words(prefix, keys):
    """``generate_state(4, np.uint64)`` of a SeedSequence whose entropy words are ``prefix`` + ``[key]``.

    Row ``j`` is for ``keys[j]``; all words are 32-bit values held in uint64. ``prefix`` has at least
    ``_POOL_SIZE`` words, so the pool and ``hash_const`` after mixing it in are the same for every key:
    they are computed once, and only the key is mixed into a copy per key.
    """
    # mix_entropy: hash the first words into the pool, mix the pool with itself, then mix in the rest.
    pool = np.empty(_POOL_SIZE, dtype=np.uint64)
    hash_const = _INIT_A
    for i in range(_POOL_SIZE):
        pool[i], hash_const = _hashmix(prefix[i], hash_const)
    for i_src in range(_POOL_SIZE):
        for i_dst in range(_POOL_SIZE):
            if i_src != i_dst:
                hashed, hash_const = _hashmix(pool[i_src], hash_const)
                pool[i_dst] = _mix(pool[i_dst], hashed)
    for i_src in range(_POOL_SIZE, prefix.size):
        for i_dst in range(_POOL_SIZE):
            hashed, hash_const = _hashmix(prefix[i_src], hash_const)
            pool[i_dst] = _mix(pool[i_dst], hashed)

    out = np.empty((keys.size, 4), dtype=np.uint64)
    key_pool = np.empty(_POOL_SIZE, dtype=np.uint64)
    for j in range(keys.size):
        if keys[j] > _U32:  # numpy would split a larger key into several words
            raise ValueError("keys must be 32-bit")
        key_hash_const = hash_const
        for i_dst in range(_POOL_SIZE):
            hashed, key_hash_const = _hashmix(keys[j], key_hash_const)
            key_pool[i_dst] = _mix(pool[i_dst], hashed)
        # generate_state: eight 32-bit words cycling over the pool, paired little-endian into four uint64.
        state_const = _INIT_B
        for i in range(8):
            value = key_pool[i % _POOL_SIZE] ^ state_const
            state_const = (state_const * _MULT_B) & _U32
            value = (value * state_const) & _U32
            value ^= value >> _XSHIFT
            if i % 2 == 0:
                out[j, i // 2] = value
            else:
                out[j, i // 2] |= value << np.uint64(32)
    return out


def _pcg64_words(seed: int, replication: int, keys: np.ndarray) -> np.ndarray:
    """``SeedSequence(seed, spawn_key=(replication, key)).generate_state(4, np.uint64)`` for many 32-bit keys.

    Builds numpy's entropy words (the seed's 32-bit words padded to the pool size, as numpy >= 1.19 does
    when there is a spawn key, then the replication's words) in Python, since the seed may exceed 2**64,
    and hashes them with each key in :func:`_seed_sequence_words`. One compiled call replaces one
    SeedSequence per name (or ~100 small NumPy operations when vectorised). Its output is pinned to
    numpy's by tests.
    """
    run = _uint32_words(int(seed))
    run += [0] * (_POOL_SIZE - len(run))
    prefix = np.array(run + _uint32_words(int(replication)), dtype=np.uint64)
    return _seed_sequence_words(prefix, np.ascontiguousarray(keys, dtype=np.uint64))


# numpy's PCG64 (PCG XSL RR 128/64; numpy/random/src/pcg64/pcg64.h), 128-bit values as (high, low) uint64.
_U64 = np.uint64
_MASK32, _SHIFT32 = _U64(0xFFFFFFFF), _U64(32)
_MULT_HI, _MULT_LO = _U64(0x2360ED051FC65DA4), _U64(0x4385DF649FCCF645)  # PCG_DEFAULT_MULTIPLIER_128
_TO_DOUBLE = 1.0 / 9007199254740992.0  # 2**-53: numpy's next_double is (next64 >> 11) * 2**-53


@njit(cache=True)
def _mul_hi(a, b):
    """High 64 bits of the 128-bit product ``a * b`` of two uint64 (32-bit limbs; no 128-bit type in Numba)."""
    a0, a1, b0, b1 = a & _MASK32, a >> _SHIFT32, b & _MASK32, b >> _SHIFT32
    p00, p01, p10 = a0 * b0, a0 * b1, a1 * b0
    mid = (p00 >> _SHIFT32) + (p01 & _MASK32) + (p10 & _MASK32)  # < 3 * 2**32: no overflow
    return a1 * b1 + (p01 >> _SHIFT32) + (p10 >> _SHIFT32) + (mid >> _SHIFT32)


@njit(cache=True)
def _step(s_hi, s_lo, i_hi, i_lo):
    """``pcg_setseq_128_step_r``: state * MULT + inc (mod 2**128)."""
    hi = _mul_hi(s_lo, _MULT_LO) + s_hi * _MULT_LO + s_lo * _MULT_HI  # uint64 products wrap mod 2**64
    lo = s_lo * _MULT_LO + i_lo
    return hi + i_hi + _U64(lo < i_lo), lo  # carry out of the low half


@njit(types.float64[::1](types.uint64[:, ::1], types.int64[::1]), cache=True)
def _pcg64_random(words, counts):
    """``np.random.Generator(np.random.PCG64(ss)).random(counts[j])`` for every stream ``j``, concatenated.

    ``words[j]`` is ``ss.generate_state(4, np.uint64)``. Seeding is numpy's ``pcg64_set_seed``: seed
    ``words[0]:words[1]`` and increment ``words[2]:words[3]`` (high:low) go through
    ``pcg_setseq_128_srandom_r``; each draw steps the state, then outputs XSL RR of the new state.
    One compiled loop over all streams replaces one Generator object per stream, whose creation costs far
    more than its few dozen draws.
    """
    out = np.empty(counts.sum(), dtype=np.float64)
    pos = 0
    for j in range(counts.size):
        i_hi = (words[j, 2] << _U64(1)) | (words[j, 3] >> _U64(63))  # inc = (initseq << 1) | 1
        i_lo = (words[j, 3] << _U64(1)) | _U64(1)
        s_hi, s_lo = _step(_U64(0), _U64(0), i_hi, i_lo)
        s_lo = s_lo + words[j, 1]
        s_hi = s_hi + words[j, 0] + _U64(s_lo < words[j, 1])
        s_hi, s_lo = _step(s_hi, s_lo, i_hi, i_lo)
        for _ in range(counts[j]):
            s_hi, s_lo = _step(s_hi, s_lo, i_hi, i_lo)
            x, rot = s_hi ^ s_lo, s_hi >> _U64(58)
            value = (x >> rot) | (x << ((_U64(64) - rot) & _U64(63)))  # rotr64; rot == 0 leaves x as is
            out[pos] = np.float64(value >> _U64(11)) * _TO_DOUBLE
            pos += 1
    return out


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

    def uniforms(self, requests: Sequence[tuple[str, int | tuple[int, ...]]]) -> list[np.ndarray]:
        """``[self.uniform(name, size) for name, size in requests]``, bit for bit, in one compiled pass.

        Seeds the streams with :meth:`prefetch` and draws them all with a Numba copy of numpy's PCG64, so
        no Generator is created per stream (that creation, not the draws, dominates for short streams).
        The arrays are views into one buffer. Negative seeds or replications, which numpy's SeedSequence
        rejects, take the per-generator path so that they fail exactly as :meth:`uniform` does.
        """
        if self.seed < 0 or self.replication < 0:
            return [self.uniform(name, size) for name, size in requests]
        shapes = [(size,) if isinstance(size, (int, np.integer)) else tuple(size) for _, size in requests]
        counts = [math.prod(shape) for shape in shapes]
        if any(d < 0 for shape in shapes for d in shape):
            raise ValueError("negative dimensions are not allowed")
        names = [name for name, _ in requests]
        self.prefetch(names)
        for name in names:
            if name not in self._words:  # too few names for prefetch's batch: numpy's own SeedSequence
                ss = np.random.SeedSequence(entropy=self.seed, spawn_key=(self.replication, _name_key(name)))
                self._words[name] = ss.generate_state(4, np.uint64)
        words = np.array([self._words[name] for name in names], dtype=np.uint64).reshape(len(names), 4)
        flat = _pcg64_random(words, np.array(counts, dtype=np.int64))
        out, start = [], 0
        for count, shape in zip(counts, shapes, strict=True):
            block = flat[start : start + count]
            out.append(block if len(shape) == 1 else block.reshape(shape))  # reshape is slow per call
            start += count
        return out

    def exponential(self, name: str, size: int | tuple[int, ...]) -> np.ndarray:
        """``size`` Exp(1) draws of quantity ``name``."""
        return self.generator(name).standard_exponential(size)
