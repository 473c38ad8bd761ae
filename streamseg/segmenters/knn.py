"""OpenCV's K-nearest-neighbours background subtractor (Zivkovic & van der Heijden 2006).

Example:
    >>> import numpy as np, streamseg as ss
    >>> ss.create("knn").apply(np.full((32, 32), 90, np.uint8)).dtype
    dtype('uint8')
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from streamseg.config import check
from streamseg.registry import register
from streamseg.segmenters._opencv import OpenCVSubtractor

__all__ = ["KNN"]


@register("knn")
class KNN(OpenCVSubtractor):
    """``cv2.createBackgroundSubtractorKNN`` with OpenCV's defaults.

    KNN samples with OpenCV's global random generator, so two runs on the same
    frames can differ slightly (``deterministic = False``).
    """

    deterministic: ClassVar[bool] = False

    @dataclass(frozen=True)
    class Config:
        """Parameters of :class:`KNN` (OpenCV's names in snake_case).

        Attributes:
            history: frames that shape the automatic learning rate.
            dist2_threshold: squared distance deciding a sample is close.
            detect_shadows: mark shadows (they are then counted as background).
            k_nn: close samples needed to call a pixel background.
        """

        history: int = 500
        dist2_threshold: float = 400.0
        detect_shadows: bool = True
        k_nn: int = 2

        def __post_init__(self) -> None:
            check(self.history >= 1, f"history must be >= 1, got {self.history}")
            check(self.dist2_threshold > 0, "dist2_threshold must be > 0")
            check(self.k_nn >= 1, "k_nn must be >= 1")

    def _make(self) -> Any:
        import cv2

        c = self.config
        sub = cv2.createBackgroundSubtractorKNN(c.history, c.dist2_threshold, c.detect_shadows)
        sub.setkNNSamples(c.k_nn)
        return sub
