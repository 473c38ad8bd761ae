from __future__ import annotations

import threading

import numpy as np
import pytest

from streamseg.errors import ConfigError
from streamseg.window import FrameWindow


def frame(i: int, shape=(4, 5)) -> np.ndarray:
    return np.full(shape, i % 256, np.uint8)


def test_ring_keeps_the_newest_in_order():
    w = FrameWindow(size=4)
    for i in range(10):
        w.push(frame(i))
    assert len(w) == 4 and w.full
    assert w.snapshot()[:, 0, 0].tolist() == [6, 7, 8, 9]
    newest = w.newest()
    assert newest is not None and newest[0, 0] == 9
    newest[0, 0] = 0  # a copy
    assert w.snapshot()[-1, 0, 0] == 9
    assert FrameWindow(size=2).newest() is None


def test_stride_spans_more_time():
    w = FrameWindow(size=3, stride=5)
    kept = [i for i in range(23) if w.push(frame(i))]
    assert kept == [0, 5, 10, 15, 20]
    assert w.snapshot()[:, 0, 0].tolist() == [10, 15, 20]
    assert w.timestamps().tolist() == [10.0, 15.0, 20.0]


def test_sampling_by_time():
    w = FrameWindow(size=10, min_interval=0.5)
    kept = [t for t in np.arange(0, 3.0, 0.1) if w.push(frame(0), timestamp=float(t))]
    assert np.allclose(kept, [0.0, 0.5, 1.0, 1.5, 2.0, 2.5], atol=0.11)


def test_snapshot_is_a_copy_and_memory_is_bounded():
    w = FrameWindow(size=3)
    for i in range(100):
        w.push(frame(i, (8, 8, 3)))
    snap = w.snapshot()
    snap[:] = 0
    assert w.snapshot()[-1, 0, 0, 0] == 99
    assert w.nbytes == 3 * 8 * 8 * 3


def test_shape_change_restarts_and_clear_empties():
    w = FrameWindow(size=3)
    w.push(frame(1))
    w.push(frame(2, (6, 6)))
    assert len(w) == 1 and w.snapshot().shape == (1, 6, 6)
    v = w.version
    w.clear()
    assert len(w) == 0 and w.snapshot().size == 0 and w.version > v


def test_concurrent_push_and_snapshot():
    w = FrameWindow(size=8)
    errors = []

    def writer():
        for i in range(3000):
            w.push(np.full((16, 16), i % 256, np.uint8))

    def reader():
        for _ in range(1000):
            snap = w.snapshot()
            # every frame in a snapshot is whole: one value per frame, never torn
            if snap.size and not all((f == f.flat[0]).all() for f in snap):
                errors.append("torn frame")

    threads = [threading.Thread(target=writer), threading.Thread(target=reader)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert not errors


@pytest.mark.parametrize(
    "kwargs", [{"size": 0}, {"size": 3, "stride": 0}, {"size": 3, "min_interval": -1}]
)
def test_bad_parameters(kwargs):
    with pytest.raises(ConfigError):
        FrameWindow(**kwargs)
