"""Frames handed in by a host application: any iterable of numpy images.

Example:
    >>> import numpy as np
    >>> from streamseg.sources.array import ArraySource
    >>> frames = (np.zeros((4, 4, 3), np.uint8) for _ in range(2))
    >>> [f.index for f in ArraySource(frames)]
    [0, 1]
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator

import numpy as np

from streamseg.errors import FrameError, SourceError
from streamseg.frame import Frame, SourceInfo, check_image
from streamseg.sources.base import FrameSource

__all__ = ["ArraySource"]


class ArraySource(FrameSource):
    """Frames from an iterable of arrays (a list, a generator, an ``N×H×W×3`` array).

    Each frame is checked with :func:`~streamseg.frame.check_image`; a wrong one
    raises :class:`~streamseg.errors.FrameError` naming its position.

    Args:
        frames: the images, ``uint8`` BGR ``H×W×3`` or gray ``H×W``.
        fps: frame rate for timestamps (``index / fps``).
        live: whether the frames come from a live feed: they are then stamped with the
            monotonic clock as they arrive, as every live source's are (latency is
            measured from there).
    """

    def __init__(
        self, frames: Iterable[np.ndarray], *, fps: float = 25.0, live: bool = False
    ) -> None:
        super().__init__()
        self._frames = frames
        self._iter: Iterator[np.ndarray] | None = None
        self._head: np.ndarray | None = None
        self._fps = fps
        self._live = live
        self._count = 0

    def _open(self) -> SourceInfo:
        self._iter = iter(self._frames)
        try:
            self._head = self._check(next(self._iter))
        except StopIteration:
            raise SourceError("the frame iterable is empty") from None
        length = len(self._frames) if hasattr(self._frames, "__len__") else None  # type: ignore[arg-type]
        h, w = self._head.shape[:2]
        return SourceInfo(w, h, self._fps, length, is_live=self._live)

    def _check(self, image: np.ndarray) -> np.ndarray:
        try:
            return check_image(image)
        except FrameError as err:
            raise FrameError(f"frame {self._count}: {err}") from None

    def _read(self) -> Frame | None:
        if self._head is not None:
            image, self._head = self._head, None
        else:
            assert self._iter is not None
            try:
                image = self._check(next(self._iter))
            except StopIteration:
                return None
        stamp = time.monotonic() if self._live else self._count / self._fps
        frame = Frame(image, self._count, stamp)
        self._count += 1
        return frame
