"""Timings of long runs in fixed memory."""

from __future__ import annotations

import math

import numpy as np

from streamseg.timings import Timings


def test_exact_below_capacity():
    values = [5.0, 1.0, 3.0, 9.0]
    t = Timings(capacity=10)
    for v in values:
        t.add(v)
    assert len(t) == 4 and t.first == 5.0 and t.total == 18.0 and t.mean == 4.5
    assert t.percentile(50) == float(np.percentile(values, 50))
    assert t.percentile(99) == float(np.percentile(values, 99))


def test_memory_stays_bounded_and_the_sample_stays_representative():
    rng = np.random.default_rng(0)
    values = rng.exponential(4.0, 200_000)
    t = Timings(capacity=5_000)
    for v in values:
        t.add(float(v))
    assert len(t) == 200_000 and len(t._sample) == 5_000
    assert math.isclose(t.mean, float(values.mean()), rel_tol=1e-9)
    for q in (50, 99):
        truth = float(np.percentile(values, q))
        assert abs(t.percentile(q) - truth) < 0.1 * truth


def test_empty():
    t = Timings()
    assert len(t) == 0 and t.first is None
    assert math.isnan(t.mean) and math.isnan(t.percentile(99))


def test_percentiles_can_be_read_while_another_thread_adds():
    import threading

    timings = Timings(capacity=200_000)
    for i in range(100_000):
        timings.add(float(i))
    errors: list[BaseException] = []
    done = threading.Event()

    def add() -> None:
        try:
            i = 0
            while not done.is_set():
                timings.add(float(i))
                i += 1
        except BaseException as err:  # BufferError while a reader held the array
            errors.append(err)

    writer = threading.Thread(target=add)
    writer.start()
    try:
        for _ in range(30):
            timings.percentile(99)
    finally:
        done.set()
        writer.join()
    assert errors == []
