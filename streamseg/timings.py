"""Per-frame timings of runs that may last for days, in fixed memory.

A camera at 25 fps makes two million frames a day: a list of their timings would grow
by tens of megabytes a day and make every percentile a sort of millions of values.
:class:`Timings` keeps the exact count, sum and first value, and a uniform random
sample of at most ``capacity`` values (reservoir sampling, Vitter's algorithm R, ACM
TOMS 1985) for the percentiles: exact for runs up to ``capacity`` frames, within a
fraction of a percentile of the truth after that.

Example:
    >>> from streamseg.timings import Timings
    >>> t = Timings()
    >>> for ms in (10.0, 2.0, 4.0):
    ...     t.add(ms)
    >>> len(t), t.first, t.mean, t.percentile(50)
    (3, 10.0, 5.333333333333333, 4.0)
"""

from __future__ import annotations

import random
from array import array

import numpy as np

from streamseg.params import check

__all__ = ["Timings"]


class Timings:
    """Milliseconds of a run: exact count, sum and mean, percentiles of a bounded sample.

    Args:
        capacity: values kept for the percentiles (8 bytes each).
        seed: seed of the sampling (the figures of a run reproduce).
    """

    def __init__(self, capacity: int = 100_000, seed: int = 0) -> None:
        check(capacity >= 1, f"capacity must be >= 1, got {capacity}")
        self.capacity = capacity
        self.total = 0.0
        self.first: float | None = None
        self._count = 0
        self._sample = array("d")
        self._rng = random.Random(seed)

    def add(self, ms: float) -> None:
        """Record one value."""
        if self.first is None:
            self.first = ms
        self.total += ms
        self._count += 1
        if len(self._sample) < self.capacity:
            self._sample.append(ms)
        else:
            slot = self._rng.randrange(self._count)
            if slot < self.capacity:
                self._sample[slot] = ms

    def __len__(self) -> int:
        return self._count

    @property
    def mean(self) -> float:
        """Mean of every value (NaN before any)."""
        return self.total / self._count if self._count else float("nan")

    def percentile(self, q: float) -> float:
        """The ``q``-th percentile (0–100; NaN before any value)."""
        if not self._count:
            return float("nan")
        # A copy first: a view would pin the array, and an add() from the run's thread
        # meanwhile (a /metrics scrape reads a running run's timings) would fail.
        return float(np.percentile(np.frombuffer(self._sample[:], np.float64), q))
