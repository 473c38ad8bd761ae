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

    KNN samples with OpenCV's random generator, one per thread and shared by everything
    on it. The model seeds it when it is made (first frame, reset), so a run does not
    depend on what ran before it in the process: the same frames give the same masks
    whether a sequence is scored alone or after others. Two KNN models applied in turn
    on one thread still draw from one generator (``deterministic = False``).
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
            seed: seed of OpenCV's random generator, set when the model is made.
        """

        history: int = 500
        dist2_threshold: float = 400.0
        detect_shadows: bool = True
        k_nn: int = 2
        seed: int = 0

        def __post_init__(self) -> None:
            check(self.history >= 1, f"history must be >= 1, got {self.history}")
            check(self.dist2_threshold > 0, "dist2_threshold must be > 0")
            check(self.k_nn >= 1, "k_nn must be >= 1")

    def _make(self) -> Any:
        import cv2

        c = self.config
        cv2.setRNGSeed(c.seed)
        sub = cv2.createBackgroundSubtractorKNN(c.history, c.dist2_threshold, c.detect_shadows)
        sub.setkNNSamples(c.k_nn)
        return sub
