"""Shared machinery of BGSLibrary's algorithms through ``pybgs`` (the ``[baselines]`` extra).

``pybgs`` builds from source against Debian's ``libopencv-dev``
(``pip install 'streamseg[baselines]'``, a few minutes). Its algorithms take no
parameters: each writes ``./config/<Name>.xml`` with its defaults when created and
reads it back, so a stale file in the working directory would silently change
them. streamseg therefore creates them inside a fresh temporary directory (under a
lock, since the working directory is process-wide), so they always run with
BGSLibrary's defaults and nothing is written where the user works.

They draw from the C library's unseeded ``rand()``, so two runs can differ
slightly (``deterministic = False``), and they have no learning rate and no way to
segment without learning (``predict_one`` learns too: ``stateless_predict = False``).

They also print to the process's standard output from C++ (``+SuBSENSE()`` when
created, ``-SuBSENSE()`` when destroyed, a format note on the first frame), which
would land among a user's output and corrupt ``streamseg eval --json``; those moments
(creation, the first frame, destruction, also of a segmenter never closed) run with
file descriptor 1 pointed at a temporary file, whose text then goes to the log at
debug level (``pybgs: +SuBSENSE()``).

Both are process-wide: while one of these methods is created or destroyed (its first
frame, a reset, a size change, ``close()``), another thread of a host application sees
the temporary working directory, and what it writes to fd 1 goes to the log too.
Create them before starting threads that use relative paths or print, or run them in
their own process.
"""

from __future__ import annotations

import contextlib
import ctypes
import logging
import os
import sys
import tempfile
import threading
import weakref
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from streamseg.segmenters.base import Segmenter

__all__ = ["BGSLibrarySubtractor"]

log = logging.getLogger(__name__)

_CWD_LOCK = threading.Lock()
_FD_LOCK = threading.Lock()


@contextlib.contextmanager
def _stdout_to_log() -> Iterator[None]:
    """Log (debug) what C code writes to file descriptor 1 meanwhile, instead of printing it.

    A file rather than a pipe: nothing has to read it while the native call runs.
    """
    with _FD_LOCK, tempfile.TemporaryFile() as sink:
        if sys.stdout is not None:
            sys.stdout.flush()
        saved = os.dup(1)
        try:
            os.dup2(sink.fileno(), 1)
            yield
        finally:
            ctypes.CDLL(None).fflush(None)  # C stdio buffers, before fd 1 is restored
            os.dup2(saved, 1)
            os.close(saved)
            sink.seek(0)
            for line in sink.read().decode(errors="replace").splitlines():
                if line.strip():
                    log.debug("pybgs: %s", line.strip())


def _destroy(native: list[Any]) -> None:
    """Drop the algorithm in ``native`` quietly: its C++ destructor prints."""
    if native:
        with _stdout_to_log():
            native.clear()


@contextlib.contextmanager
def _in_temp_dir() -> Any:
    with _CWD_LOCK, tempfile.TemporaryDirectory(prefix="streamseg-bgs-") as tmp:
        previous = os.getcwd()
        os.chdir(tmp)
        os.mkdir("config")  # where the algorithm writes (then reads) its default parameters
        try:
            yield
        finally:
            os.chdir(previous)


class BGSLibrarySubtractor(Segmenter):
    """A :class:`Segmenter` around one ``pybgs`` algorithm (subclasses set ``algorithm``)."""

    algorithm: ClassVar[str]
    deterministic: ClassVar[bool] = False
    stateless_predict: ClassVar[bool] = False
    cannot_freeze: ClassVar[str | None] = "BGSLibrary's algorithms have no learning rate"
    # Their neighbourhood sampling reads outside smaller frames (measured: 5×5 is the
    # smallest SuBSENSE and LOBSTER take; PAWCS sets its own).
    min_size: ClassVar[tuple[int, int]] = (5, 5)

    @dataclass(frozen=True)
    class Config:
        """BGSLibrary's algorithms are used with their own defaults (no parameters)."""

    def __init__(self, config: Any | None = None) -> None:
        super().__init__(config)
        # The algorithm lives in this list, the only reference to it: the finaliser
        # destroys it quietly also when the segmenter is collected or the interpreter
        # exits without close().
        self._native: list[Any] = []
        weakref.finalize(self, _destroy, self._native)

    @property
    def _bgs(self) -> Any:
        return self._native[0] if self._native else None

    def _make(self) -> Any:
        import pybgs

        with _in_temp_dir(), _stdout_to_log():
            return getattr(pybgs, self.algorithm)()

    def _drop(self) -> None:
        _destroy(self._native)

    def _apply(self, image: np.ndarray, learning_rate: float) -> np.ndarray:
        first = learning_rate == 1.0 or self._bgs is None
        if first:
            self._drop()
            self._native.append(self._make())
        image = np.ascontiguousarray(image)
        if first:
            with _stdout_to_log():
                mask = self._bgs.apply(image)
        else:
            mask = self._bgs.apply(image)
        if mask.ndim == 3:
            mask = mask[:, :, 0]
        return np.where(mask > 127, np.uint8(255), np.uint8(0))

    def _learn_one(self, image: np.ndarray) -> None:
        self._apply(image, -1.0)

    def _predict_one(self, image: np.ndarray) -> np.ndarray:
        if self._bgs is None:
            return np.zeros(image.shape[:2], np.uint8)
        return self._apply(image, -1.0)

    def background(self) -> np.ndarray | None:
        if self._bgs is None:
            return None
        bg = self._bgs.getBackgroundModel()
        return None if bg is None or getattr(bg, "size", 0) == 0 else bg

    def reset(self) -> None:
        self._drop()

    def close(self) -> None:
        self._drop()
        super().close()
