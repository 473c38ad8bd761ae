"""LiveReader with scripted connections: dropping, reconnecting, giving up, stopping."""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest

from streamseg.errors import StreamLostError
from streamseg.sources.live import LiveReader


class Scripted:
    """A connection that yields ``n`` frames, optionally slowly, then ends or raises."""

    def __init__(
        self, n: int, delay: float = 0.0, fail: bool = False, block: threading.Event | None = None
    ) -> None:
        self.n, self.delay, self.fail, self.block = n, delay, fail, block
        self.closed = False

    def frames(self):
        for i in range(self.n):
            time.sleep(self.delay)
            yield np.full((2, 2), i, np.uint8)
        if self.block is not None:
            self.block.wait(30)
        if self.fail:
            raise OSError("connection reset")

    def close(self):
        self.closed = True


def _drain(reader: LiveReader, limit: float = 10.0) -> list[int]:
    out = []
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        try:
            item = reader.get()
        except StreamLostError:
            break
        if item is None:
            break
        out.append(item[1])
    return out


def test_keeps_only_the_newest_frame():
    reader = LiveReader(lambda: Scripted(0), name="t", max_reconnects=0, backoff=0.01)
    reader.start(Scripted(50))
    time.sleep(0.3)  # the consumer is late: 49 frames are stale by now
    first = reader.get()
    assert first is not None and first[1] == 49
    assert reader.dropped == 49
    with pytest.raises(StreamLostError, match="reconnect"):
        reader.get()
    reader.stop()


def test_bounded_buffer_without_dropping():
    reader = LiveReader(lambda: Scripted(0), name="t", capacity=8, max_reconnects=0, backoff=0.01)
    reader.start(Scripted(20))
    got = _drain(reader)
    assert got == list(range(20)) and reader.dropped == 0
    reader.stop()


def test_reconnects_after_each_end_and_counts():
    connections = iter(
        [Scripted(3, delay=0.01), Scripted(3, delay=0.01, fail=True), Scripted(3, delay=0.01)]
    )
    reader = LiveReader(
        lambda: next(connections),
        name="t",
        capacity=16,
        max_reconnects=2,
        backoff=0.01,
        backoff_max=0.02,
    )
    reader.start(Scripted(3, delay=0.01))
    got = _drain(reader)
    assert got == list(range(12))  # every frame of the four connections
    assert reader.reconnects == 3
    reader.stop()


def test_gives_up_after_the_budget_with_a_clear_error():
    attempts = []

    def refuse():
        attempts.append(time.monotonic())
        raise ConnectionRefusedError("refused")

    reader = LiveReader(refuse, name="rtsp://cam", max_reconnects=3, backoff=0.01, backoff_max=0.04)
    reader.start(Scripted(1))
    with pytest.raises(StreamLostError, match=r"rtsp://cam: stream lost; 3 reconnect attempts"):
        _ = [reader.get() for _ in range(5)]
    assert len(attempts) == 3
    gaps = np.diff(attempts)
    assert gaps[1] > gaps[0] * 1.5  # the backoff grows
    reader.stop()


def test_stall_while_connected_is_reported():
    hold = threading.Event()
    reader = LiveReader(lambda: Scripted(0), name="cam", read_timeout=0.1, max_reconnects=0)
    reader.start(Scripted(1, block=hold))
    assert reader.get() is not None
    with pytest.raises(StreamLostError, match="no frame for"):
        reader.get()
    hold.set()
    reader.stop()


def test_stop_returns_within_its_timeout_even_if_the_thread_is_blocked():
    hold = threading.Event()
    reader = LiveReader(lambda: Scripted(0), name="cam", max_reconnects=0)
    reader.start(Scripted(1, block=hold))
    t0 = time.monotonic()
    reader.stop(timeout=0.3)
    assert time.monotonic() - t0 < 1.0
    hold.set()


def test_cancel_unblocks_get():
    hold = threading.Event()
    reader = LiveReader(lambda: Scripted(0), name="cam", read_timeout=30, max_reconnects=0)
    reader.start(Scripted(0, block=hold))
    threading.Timer(0.2, reader.cancel).start()
    t0 = time.monotonic()
    assert reader.get() is None
    assert time.monotonic() - t0 < 2.0
    hold.set()
    reader.stop()
