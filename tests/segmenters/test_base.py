from __future__ import annotations

import threading
from dataclasses import dataclass

import numpy as np
import pytest

import streamseg as ss
from streamseg.errors import ClosedError, ConcurrentUseError
from streamseg.segmenters.base import Segmenter


class Gate(Segmenter):
    """A segmenter whose learning waits until the test lets it go."""

    @dataclass(frozen=True)
    class Config:
        pass

    def __init__(self) -> None:
        super().__init__()
        self.inside = threading.Event()
        self.go = threading.Event()

    def _learn_one(self, image: np.ndarray) -> None:
        self.inside.set()
        assert self.go.wait(60)

    def _predict_one(self, image: np.ndarray) -> np.ndarray:
        return np.zeros(image.shape[:2], np.uint8)

    def reset(self) -> None:
        pass


FRAME = np.zeros((32, 48, 3), np.uint8)


def test_two_threads_in_one_segmenter_at_once_are_refused():
    seg = Gate()
    other = threading.Thread(target=seg.apply, args=(FRAME,))
    other.start()
    try:
        assert seg.inside.wait(60)
        for call in (seg.apply, seg.predict_one, seg.score_one, seg.learn_one):
            with pytest.raises(ConcurrentUseError, match="one segmenter per stream and thread"):
                call(FRAME)
    finally:
        seg.go.set()
        other.join(60)
    # One after the other, from any thread, is fine.
    assert seg.apply(FRAME).shape == (32, 48)
    seg.close()


def test_close_from_another_thread_during_a_call_takes_effect_when_it_returns():
    seg = Gate()
    other = threading.Thread(target=seg.apply, args=(FRAME,))
    other.start()
    assert seg.inside.wait(60)
    seg.close()  # does not wait for the call in flight
    seg.go.set()
    other.join(60)
    with pytest.raises(ClosedError, match="after close"):
        seg.apply(FRAME)


@pytest.mark.parametrize("name", ss.available())
def test_open_is_accepted_by_every_method(name):
    params = ss.registry.method_class(name)._unit_test_params()
    with ss.create(name, **params) as seg:
        assert seg.open(width=48, height=32) is seg
        assert seg.apply(FRAME).shape == (32, 48)
    with pytest.raises(ClosedError, match="after close"):
        seg.open(width=48, height=32)


@pytest.mark.parametrize(("width", "height"), [(0, 32), (48, None), ("48", 32), (True, 32)])
def test_open_refuses_a_size_that_is_no_size(width, height):
    with (
        ss.create("mog2") as seg,
        pytest.raises(ss.ConfigError, match="open\\(width=W, height=H\\)"),
    ):
        seg.open(width=width, height=height)
