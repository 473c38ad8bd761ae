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
from typing import TypeVar

from streamseg.errors import SourceError
from streamseg.frame import Frame, SourceInfo

__all__ = ["FrameSource"]

_F = TypeVar("_F", bound="FrameSource")


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
