"""OpenCV's Gaussian-mixture background subtractor (Zivkovic 2004, 2006).

Example:
    >>> import numpy as np, streamseg as ss
    >>> seg = ss.create("mog2", history=100)
    >>> seg.apply(np.full((32, 32, 3), 90, np.uint8)).shape
    (32, 32)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from streamseg.params import check
from streamseg.segmenters._opencv import OpenCVSubtractor
from streamseg.segmenters.registration import register

__all__ = ["MOG2"]


@register("mog2")
class MOG2(OpenCVSubtractor):
    """``cv2.createBackgroundSubtractorMOG2`` with OpenCV's defaults."""

    @dataclass(frozen=True)
    class Config:
        """Parameters of :class:`MOG2` (OpenCV's names in snake_case).

        Attributes:
            history: frames that shape the automatic learning rate.
            var_threshold: squared Mahalanobis distance deciding a match.
            detect_shadows: mark shadows (they are then counted as background).
            n_mixtures: Gaussians per pixel.
            background_ratio: weight share that makes up the background.
        """

        history: int = 500
        var_threshold: float = 16.0
        detect_shadows: bool = True
        n_mixtures: int = 5
        background_ratio: float = 0.9

        def __post_init__(self) -> None:
            check(1 <= self.history < 2**31, f"history must be in 1..2**31-1, got {self.history}")
            check(self.var_threshold > 0, "var_threshold must be > 0")
            check(1 <= self.n_mixtures <= 16, "n_mixtures must be in 1..16")
            check(0 < self.background_ratio <= 1, "background_ratio must be in (0, 1]")

    def _make(self) -> Any:
        import cv2

        c = self.config
        sub = cv2.createBackgroundSubtractorMOG2(c.history, c.var_threshold, c.detect_shadows)
        sub.setNMixtures(c.n_mixtures)
        sub.setBackgroundRatio(c.background_ratio)
        return sub
