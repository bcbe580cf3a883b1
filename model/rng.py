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

import numpy as np


def _name_key(name: str) -> int:
    return zlib.crc32(name.encode("utf-8"))


class Streams:
    """The named streams of one replication.

    Args:
        seed: the run's root seed.
        replication: the replication index.
    """

    def __init__(self, seed: int, replication: int) -> None:
        self.seed = int(seed)
        self.replication = int(replication)

    def generator(self, name: str) -> np.random.Generator:
        """A fresh generator for the random quantity ``name``; the same name gives the same draws."""
        ss = np.random.SeedSequence(entropy=self.seed, spawn_key=(self.replication, _name_key(name)))
        return np.random.Generator(np.random.PCG64(ss))

    def uniform(self, name: str, size: int | tuple[int, ...]) -> np.ndarray:
        """``size`` U(0,1) draws of quantity ``name``."""
        return self.generator(name).random(size)

    def exponential(self, name: str, size: int | tuple[int, ...]) -> np.ndarray:
        """``size`` Exp(1) draws of quantity ``name``."""
        return self.generator(name).standard_exponential(size)
