"""OpenCV's K-nearest-neighbours background subtractor (Zivkovic & van der Heijden 2006).

Example:
    >>> import numpy as np, streamseg as ss
    >>> ss.create("knn").apply(np.full((32, 32), 90, np.uint8)).dtype
    dtype('uint8')
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from streamseg.params import check
from streamseg.segmenters._opencv import OpenCVSubtractor
from streamseg.segmenters.registration import register

__all__ = ["KNN"]


@register("knn")
class KNN(OpenCVSubtractor):
    """``cv2.createBackgroundSubtractorKNN`` with OpenCV's defaults.

    KNN samples with OpenCV's random generator, one per thread and shared by everything
    on it. The model seeds it before each frame, from its seed and the frames it has
    seen, so its masks depend on nothing else in the process: the same frames give the
    same masks whether a sequence is scored alone or after others, and two KNN models
    applied in turn on one thread (one loop over two cameras) are independent.
    """

    cannot_freeze: ClassVar[str | None] = "OpenCV's KNN replaces samples at learningRate=0 too"

    @dataclass(frozen=True)
    class Config:
        """Parameters of :class:`KNN` (OpenCV's names in snake_case).

        Attributes:
            history: frames that shape the automatic learning rate.
            dist2_threshold: squared distance deciding a sample is close.
            detect_shadows: mark shadows (they are then counted as background).
            k_nn: close samples needed to call a pixel background.
            seed: seed of OpenCV's random generator (reseeded before each frame).
        """

        history: int = 500
        dist2_threshold: float = 400.0
        detect_shadows: bool = True
        k_nn: int = 2
        seed: int = 0

        def __post_init__(self) -> None:
            check(1 <= self.history < 2**31, f"history must be in 1..2**31-1, got {self.history}")
            check(self.dist2_threshold > 0, "dist2_threshold must be > 0")
            check(self.k_nn >= 1, "k_nn must be >= 1")
            check(0 <= self.seed < 2**31, f"seed must be in 0..2**31-1, got {self.seed}")

    def _make(self) -> Any:
        import cv2

        c = self.config
        self._seen = 0
        sub = cv2.createBackgroundSubtractorKNN(c.history, c.dist2_threshold, c.detect_shadows)
        sub.setkNNSamples(c.k_nn)
        return sub

    def __init__(self, config: Any | None = None) -> None:
        super().__init__(config)
        self._seen = 0  # frames the current model has seen

    def _apply(self, image: np.ndarray, learning_rate: float) -> np.ndarray:
        if learning_rate == 1.0:
            self._seen = 0  # OpenCV starts the model again from this frame
        self._reseed()
        mask = super()._apply(image, learning_rate)
        self._seen += 1
        # Every pixel is foreground until it has k_nn matching samples: OpenCV's KNN
        # stores one every other frame (measured for k_nn 1 to 3), so the first 2·k_nn
        # masks are all foreground; they are warm-up, reported as such.
        return mask if self._seen > self._warm_up else np.zeros_like(mask)

    def _learn_one(self, image: np.ndarray) -> None:
        self._reseed()
        super()._learn_one(image)
        self._seen += 1

    def _reseed(self) -> None:
        import cv2

        # A C int from the seed and the frame count: a stream of its own for each frame.
        cv2.setRNGSeed((self.config.seed * 1_000_003 + self._seen) % 2**31)

    @property
    def _warm_up(self) -> int:
        return 2 * self.config.k_nn

    @property
    def ready(self) -> bool:
        """True once the next mask is the model's own (after the first 2·k_nn frames)."""
        return self._sub is not None and self._seen >= self._warm_up
