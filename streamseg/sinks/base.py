"""The sink interface: where masks go.

Every sink receives every frame with the masks of all methods of the run,
``write(frame, masks)``; a sink for one method picks its own by name (or the only
one). ``open()`` creates folders and checks they are writable before the first
frame, so a bad output path fails fast; ``close()`` is idempotent and leaves
whatever was written valid.
"""

from __future__ import annotations

import abc
from collections.abc import Mapping
from typing import TypeVar

import numpy as np

from streamseg.errors import ClosedError, ConfigError
from streamseg.frame import Frame

__all__ = ["Sink"]

_K = TypeVar("_K", bound="Sink")


class Sink(abc.ABC):
    """Base class of all sinks.

    Args:
        method: the method whose mask this sink writes; ``None`` for a sink that
            takes all masks, or the only one of a single-method run.
    """

    def __init__(self, method: str | None = None) -> None:
        self.method = method
        self._opened = False
        self._closed = False

    def open(self) -> None:
        """Prepare the output (create folders, check permissions). Idempotent.

        Raises:
            ClosedError: the sink was closed (what it holds is finished and let go of).
        """
        if self._closed:
            raise ClosedError(f"{type(self).__name__}: open() after close()")
        if not self._opened:
            self._open()
            self._opened = True

    def write(self, frame: Frame, masks: Mapping[str, np.ndarray]) -> None:
        """Write the results of one frame.

        Raises:
            ClosedError: the sink was closed.
        """
        if self._closed:
            raise ClosedError(f"{type(self).__name__}: write() after close()")
        if not self._opened:
            self.open()
        self._write(frame, masks)

    def close(self) -> None:
        """Finish the output so it stays valid. Idempotent."""
        if not self._closed:
            self._closed = True
            if self._opened:
                self._close()

    def __enter__(self: _K) -> _K:
        self.open()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def pick(self, masks: Mapping[str, np.ndarray]) -> np.ndarray:
        """This sink's mask among ``masks``."""
        if self.method is not None:
            try:
                return masks[self.method]
            except KeyError:
                raise ConfigError(
                    f"{type(self).__name__}: no method {self.method!r} in this "
                    f"run ({', '.join(masks)})"
                ) from None
        if len(masks) != 1:
            raise ConfigError(
                f"{type(self).__name__}: several methods ({', '.join(masks)}); "
                "say which one with method="
            )
        return next(iter(masks.values()))

    def _open(self) -> None:
        """Create what the sink needs before the first frame."""

    @abc.abstractmethod
    def _write(self, frame: Frame, masks: Mapping[str, np.ndarray]) -> None: ...

    def _close(self) -> None:
        """Finalise (called once, only if opened)."""
