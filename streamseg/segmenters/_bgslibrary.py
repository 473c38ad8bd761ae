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
"""

from __future__ import annotations

import contextlib
import os
import tempfile
import threading
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from streamseg.segmenters.base import Segmenter

__all__ = ["BGSLibrarySubtractor"]

_CWD_LOCK = threading.Lock()


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

    @dataclass(frozen=True)
    class Config:
        """BGSLibrary's algorithms are used with their own defaults (no parameters)."""

    def __init__(self, config: Any | None = None) -> None:
        super().__init__(config)
        self._bgs: Any = None

    def _make(self) -> Any:
        import pybgs

        with _in_temp_dir():
            return getattr(pybgs, self.algorithm)()

    def _apply(self, image: np.ndarray, learning_rate: float) -> np.ndarray:
        if learning_rate == 1.0 or self._bgs is None:
            self._bgs = self._make()
        mask = self._bgs.apply(np.ascontiguousarray(image))
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
        self._bgs = None

    def close(self) -> None:
        self._bgs = None
        super().close()
