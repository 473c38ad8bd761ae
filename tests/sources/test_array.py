from __future__ import annotations

import numpy as np
import pytest

import streamseg as ss
from streamseg.errors import FrameError, SourceError
from streamseg.sources.array import ArraySource


def test_stack_and_generator():
    stack = np.zeros((4, 6, 8, 3), np.uint8)
    with ArraySource(stack, fps=10) as src:
        assert src.info.frame_count == 4
        frames = list(src)
    assert [f.timestamp for f in frames] == [0.0, 0.1, 0.2, pytest.approx(0.3)]
    gen = (np.zeros((6, 8), np.uint8) for _ in range(3))
    with ArraySource(gen, live=True) as src:
        assert src.info.frame_count is None and src.info.is_live
        assert len(list(src)) == 3


def test_bad_frame_names_its_position():
    frames = [np.zeros((6, 8, 3), np.uint8), np.zeros((6, 8, 3), np.float64)]
    with ArraySource(frames) as src:
        next(iter(src))
        with pytest.raises(FrameError, match="frame 1: .*float64"):
            src.read()


def test_empty():
    with pytest.raises(SourceError, match="empty"), ArraySource([]):
        pass


def test_live_frames_are_stamped_on_arrival_so_latency_means_something():
    frames = [np.zeros((8, 8), np.uint8)] * 5
    with ArraySource(frames, live=True) as src:
        stats = ss.run(src, {"mog2": ss.create("mog2")}, [])
    assert stats.frames == 5 and 0 <= stats.as_dict()["latency_ms_p99"] < 5_000
