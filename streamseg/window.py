"""A sliding window of recent frames: the matrix ``D`` that low-rank methods learn from.

A background is low-rank only over time: a window of 32 consecutive frames at
25 fps spans about a second, in which a slow car never leaves its place and
becomes "background". :class:`FrameWindow` therefore keeps every ``stride``-th
frame (or one frame per ``min_interval`` seconds), so the same memory spans
seconds. Memory is fixed: one preallocated ``size × H × W × C`` array.

It is one of the two objects shared between threads (the other is the ONNX
runner): :meth:`push` and :meth:`snapshot` take a lock, and a snapshot is a copy.

Example:
    >>> import numpy as np
    >>> from streamseg.window import FrameWindow
    >>> w = FrameWindow(size=3, stride=2)
    >>> for i in range(8):
    ...     _ = w.push(np.full((2, 2), i, np.uint8))
    >>> w.snapshot()[:, 0, 0].tolist()   # frames 2, 4, 6: every 2nd, newest 3
    [2, 4, 6]
"""

from __future__ import annotations

import threading

import numpy as np

from streamseg.params import check

__all__ = ["FrameWindow"]


class FrameWindow:
    """A bounded ring buffer of frames, sampled by count or by time.

    Args:
        size: frames kept.
        stride: keep every ``stride``-th pushed frame (the first one is kept).
        min_interval: if > 0, keep a frame only when at least this many seconds
            (by the timestamps given to :meth:`push`) passed since the last kept one;
            replaces ``stride`` (the ``interval`` of DeepLS and RPCA).
    """

    def __init__(self, size: int, stride: int = 1, min_interval: float = 0.0) -> None:
        check(size >= 1, f"window size must be >= 1, got {size}")
        check(stride >= 1, f"window stride must be >= 1, got {stride}")
        check(min_interval >= 0, "window min_interval must be >= 0")
        self.size = size
        self.stride = stride
        self.min_interval = min_interval
        self._lock = threading.Lock()
        self._buf: np.ndarray | None = None
        self._times = np.zeros(size, np.float64)
        self._count = 0  # frames held
        self._head = 0  # next slot to write
        self._seen = 0  # frames pushed since the last clear
        self._last_kept: float | None = None
        #: Incremented on every kept frame: lets a reader tell whether the window moved.
        self.version = 0

    def push(self, image: np.ndarray, timestamp: float | None = None) -> bool:
        """Offer a frame; returns whether it was kept. O(1), one copy into the ring.

        A frame of another shape than the window holds empties the window first.
        """
        with self._lock:
            seen = self._seen
            self._seen += 1
            if self.min_interval > 0 and timestamp is not None:
                if self._last_kept is not None and timestamp - self._last_kept < self.min_interval:
                    return False
            elif seen % self.stride:
                return False
            if self._buf is None or self._buf.shape[1:] != image.shape:
                self._buf = np.empty((self.size, *image.shape), image.dtype)
                self._count = self._head = 0
            self._buf[self._head] = image
            self._times[self._head] = timestamp if timestamp is not None else float(seen)
            self._head = (self._head + 1) % self.size
            self._count = min(self._count + 1, self.size)
            self._last_kept = timestamp
            self.version += 1
            return True

    def snapshot(self) -> np.ndarray:
        """The held frames, oldest first, as a new ``(n, H, W[, C])`` array."""
        with self._lock:
            if self._buf is None or self._count == 0:
                return np.empty((0,), np.uint8)
            order = (np.arange(self._count) + self._head - self._count) % self.size
            return self._buf[order].copy()

    def timestamps(self) -> np.ndarray:
        """Timestamps (or push positions) of the held frames, oldest first."""
        with self._lock:
            order = (np.arange(self._count) + self._head - self._count) % self.size
            return self._times[order].copy()

    def newest(self) -> np.ndarray | None:
        """A copy of the last kept frame (None when empty)."""
        with self._lock:
            if self._buf is None or self._count == 0:
                return None
            return self._buf[(self._head - 1) % self.size].copy()

    def clear(self) -> None:
        """Drop every frame (the buffer is kept for reuse)."""
        with self._lock:
            self._count = self._head = self._seen = 0
            self._last_kept = None
            self.version += 1

    def __len__(self) -> int:
        return self._count

    @property
    def full(self) -> bool:
        """``True`` once ``size`` frames are held."""
        return self._count == self.size

    @property
    def nbytes(self) -> int:
        """Memory held by the ring buffer."""
        return 0 if self._buf is None else int(self._buf.nbytes)

    def __repr__(self) -> str:
        return (
            f"FrameWindow(size={self.size}, stride={self.stride}, "
            f"min_interval={self.min_interval}, held={self._count})"
        )
