"""The rolling ball: a ball rolled under each frame's intensity surface (Sternberg 1983).

The background of a frame is the surface a ball of ``radius`` pixels reaches when
rolled under it, as ImageJ's *Subtract Background* computes it; this is
scikit-image's implementation (:func:`skimage.restoration.rolling_ball`). It sees one
frame, not time: structure narrower than the ball is foreground, broader is
background. Camera noise would let the ball follow the noise's minima (a background
biased low), so each frame is first smoothed by a Gaussian of ``smooth`` pixels, as
ImageJ smooths (3×3 mean) unless told not to; the smoothed frame only shapes the
background, the frame itself is not changed.

Its cost grows with the radius squared: a 50-pixel ball takes about a second on a
256×256 frame (``shrink`` computes it on a frame shrunk by that factor, as ImageJ does
for large radii, and scales it back).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import cv2
import numpy as np

from streamseg.params import check
from streamseg.segmenters.stack.base import Decomposition, StackLike, StackMethod, as_float

__all__ = ["RollingBall"]


class RollingBall(StackMethod):
    """A ball rolled under each frame, ImageJ's Subtract Background (scikit-image's)."""

    name = "rolling-ball"

    @dataclass(frozen=True)
    class Config:
        """Parameters of the rolling ball.

        Attributes:
            radius: the ball's radius in pixels (ImageJ's default is 50).
            smooth: σ in pixels of the Gaussian smoothing before rolling (0: none).
            shrink: compute on the frame shrunk by this factor (1: full size).
        """

        radius: float = 25.0
        smooth: float = 1.0
        shrink: int = 1

        def __post_init__(self) -> None:
            check(self.radius > 0, f"radius must be > 0, got {self.radius}")
            check(self.smooth >= 0, "smooth must be >= 0")
            check(self.shrink >= 1, "shrink must be >= 1")

    def background_of(self, frame: np.ndarray) -> np.ndarray:
        """The rolling-ball background of one frame (float32)."""
        from skimage.restoration import rolling_ball

        c = self.config
        x = as_float(frame)
        if c.smooth > 0:
            x = cv2.GaussianBlur(x, (0, 0), c.smooth)
        h, w = x.shape
        if c.shrink > 1:
            small = cv2.resize(
                x, (max(1, w // c.shrink), max(1, h // c.shrink)), interpolation=cv2.INTER_AREA
            )
            bg = rolling_ball(small, radius=c.radius / c.shrink).astype(np.float32)
            return cv2.resize(bg, (w, h), interpolation=cv2.INTER_LINEAR)
        return rolling_ball(x, radius=c.radius).astype(np.float32)

    def decompose(self, stack: StackLike, start: int = 0) -> Iterator[Decomposition]:
        for t in range(start, len(stack)):
            frame = as_float(stack[t])
            yield Decomposition(t, frame, np.minimum(self.background_of(frame), frame.max()))
