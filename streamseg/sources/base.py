"""The frame-source interface.

A source is a context manager and an iterator of :class:`~streamseg.frame.Frame`.
``open()`` acquires the file, device or connection (constructors do no I/O),
``read()`` returns the next frame or ``None`` at the end, ``close()`` is
idempotent. Counters (:attr:`FrameSource.dropped`, :attr:`FrameSource.reconnects`)
and :attr:`FrameSource.warning` (why a stream ended early) are read by the
pipeline for its statistics.
"""

from __future__ import annotations

import abc
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Literal, TypeVar

from streamseg.errors import SourceError
from streamseg.frame import Frame, SourceInfo
from streamseg.params import check

__all__ = ["FrameSource", "SourceConfig"]

_F = TypeVar("_F", bound="FrameSource")


@dataclass(frozen=True)
class SourceConfig:
    """How to open the input.

    Attributes:
        uri: a video file, an image folder (CDnet ``input/`` or a sequence root), a
            webcam index or ``/dev/videoN``, an ``rtsp://``/``http(s)://`` URL, or
            ``synthetic`` (optionally ``synthetic:frames=300,seed=1,size=320x240``).
        backend: ``auto`` (PyAV, OpenCV if PyAV cannot open the file), ``pyav`` or ``opencv``.
        gray: decode to gray ``H×W`` (the Y plane) instead of BGR.
        fps: frame rate to assume for folders and arrays, which carry no timing.
        open_timeout: seconds allowed to open a stream or device.
        read_timeout: seconds without a frame after which a live source counts as stalled.
        max_reconnects: reconnect attempts for a live source before giving up (-1: forever).
        backoff: first wait between reconnect attempts, doubled up to ``backoff_max``.
        backoff_max: longest wait between reconnect attempts.
        drop_frames: keep only the newest frame (``None``: yes for live sources, no for files).
        realtime: read a file at its frame rate, as a camera would deliver it.
    """

    uri: str = "synthetic"
    backend: Literal["auto", "pyav", "opencv"] = "auto"
    gray: bool = False
    fps: float = 25.0
    open_timeout: float = 10.0
    read_timeout: float = 5.0
    max_reconnects: int = 10
    backoff: float = 0.5
    backoff_max: float = 8.0
    drop_frames: bool | None = None
    realtime: bool = False

    def __post_init__(self) -> None:
        check(self.fps > 0, f"source.fps must be > 0, got {self.fps}")
        for name in ("open_timeout", "read_timeout", "backoff", "backoff_max"):
            value = getattr(self, name)
            check(value > 0, f"source.{name} must be > 0 seconds, got {value}")
        check(self.max_reconnects >= -1, "source.max_reconnects must be >= -1 (-1: forever)")


class FrameSource(abc.ABC):
    """Base class of all sources.

    Subclasses implement ``_open`` (return the :class:`SourceInfo`), ``_read`` and
    optionally ``_close``.
    """

    def __init__(self) -> None:
        self._info: SourceInfo | None = None
        self._opened = False
        self._closed = False
        self._cancelled = False
        #: Frames decoded but never handed out (live sources keep only the newest).
        self.dropped = 0
        #: Times a live source reconnected after losing its stream.
        self.reconnects = 0
        #: Why the source ended early (truncated file, undecodable frames), if it did.
        self.warning: str | None = None

    @property
    def info(self) -> SourceInfo:
        """Size, frame rate, length and liveness; valid after :meth:`open`."""
        if self._info is None:
            raise SourceError(f"{self!r} is not open; call open() or use it in a with-block")
        return self._info

    def open(self) -> None:
        """Acquire the underlying file, device or connection.

        Raises:
            SourceError: the source cannot be opened (the message says why).
        """
        if self._closed:
            raise SourceError(f"{self!r} was closed; create a new source")
        if not self._opened:
            self._info = self._open()
            self._opened = True

    def read(self) -> Frame | None:
        """The next frame, or ``None`` at the end of the source."""
        if not self._opened:
            self.open()
        if self._closed or self._cancelled:
            return None
        return self._read()

    def cancel(self) -> None:
        """Make pending and later reads return ``None`` soon; safe from a signal handler.

        Live sources stop their reader; files end at the next read.
        """
        self._cancelled = True

    @property
    def cancelled(self) -> bool:
        """:meth:`cancel` was called (reads end early, not at the source's end)."""
        return self._cancelled

    def close(self) -> None:
        """Release everything. Idempotent."""
        if not self._closed:
            self._closed = True
            if self._opened:
                self._close()

    def __enter__(self: _F) -> _F:
        self.open()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __iter__(self) -> Iterator[Frame]:
        while (frame := self.read()) is not None:
            yield frame

    @abc.abstractmethod
    def _open(self) -> SourceInfo: ...

    @abc.abstractmethod
    def _read(self) -> Frame | None: ...

    def _close(self) -> None:
        """Release resources (called once, only if opened)."""
