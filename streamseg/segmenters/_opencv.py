"""Shared machinery of OpenCV's background subtractors (``mog2``, ``knn``).

OpenCV marks shadows with 127 (``getShadowValue``); CDnet counts shadows as
background, so only 255 becomes foreground here.

OpenCV cannot segment without touching its model: ``apply(..., learningRate=0)``
leaves the Gaussians' weights alone but still allocates modes (MOG2) or draws
from OpenCV's global random generator (KNN). :meth:`predict_one` uses that call,
so these methods set ``stateless_predict = False``.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np

from streamseg.segmenters.base import Segmenter

__all__ = ["OpenCVSubtractor"]


class OpenCVSubtractor(Segmenter):
    """A :class:`Segmenter` around a ``cv2.BackgroundSubtractor``.

    Subclasses implement :meth:`_make` from their ``Config``.
    """

    stateless_predict: ClassVar[bool] = False

    def __init__(self, config: Any | None = None) -> None:
        super().__init__(config)
        self._sub: Any = None

    def _make(self) -> Any:
        raise NotImplementedError

    def _subtractor(self) -> Any:
        if self._sub is None:
            self._sub = self._make()
        return self._sub

    def _apply(self, image: np.ndarray, learning_rate: float) -> np.ndarray:
        # OpenCV's own contract for learningRate (-1 auto, 0 frozen, 1 reinitialise).
        raw = self._subtractor().apply(image, learningRate=learning_rate)
        return np.where(raw == 255, np.uint8(255), np.uint8(0))

    def _learn_one(self, image: np.ndarray) -> None:
        self._subtractor().apply(image, learningRate=-1)

    def _predict_one(self, image: np.ndarray) -> np.ndarray:
        if self._sub is None:
            return np.zeros(image.shape[:2], np.uint8)
        return self._apply(image, 0.0)

    def background(self) -> np.ndarray | None:
        return None if self._sub is None else self._sub.getBackgroundImage()

    def reset(self) -> None:
        self._sub = None

    def close(self) -> None:
        self._sub = None
        super().close()
