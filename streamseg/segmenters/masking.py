"""From a sparse residual to a mask: one automatic rule for every low-rank method.

Low-rank + sparse methods (DeepLS, RPCA) give a residual ``S`` per frame, not a
mask. The rule here needs no ground truth and no per-sequence tuning: the
residual of the *background* is noise, so its scale is measured on each frame
and the threshold is a multiple of it.

* score ``|S|`` (for colour, the largest channel);
* noise scale ``σ = 1.4826 · median(|S|)``: the median absolute value is a robust
  estimate of a zero-mean Gaussian's spread as long as less than half of the
  pixels are foreground (MAD, Hampel 1974);
* threshold ``τ = max(k · σ, floor)``; the floor keeps a perfectly clean frame
  from turning its last quantisation noise into foreground;
* optional Gaussian blur of the score, then threshold at the output size
  (bilinear upsampling of the score gives smooth edges), then morphological
  opening/closing and removal of blobs smaller than ``min_area``.

``score_one`` exposes the continuous score as ``clip(|S| / (2τ), 0, 1)``: 0.5 is
the threshold, so precision–recall curves over it are comparable across frames.

Example:
    >>> import numpy as np
    >>> from streamseg.segmenters.masking import MaskRule
    >>> rng = np.random.default_rng(0)
    >>> residual = rng.normal(0, 0.01, (60, 80)).astype(np.float32)
    >>> residual[20:30, 30:40] = 0.3           # a foreground object
    >>> mask = MaskRule(k=4.0)(np.abs(residual), (120, 160))
    >>> mask.shape, int(mask[40:60, 60:80].min()), int((mask > 0).mean() * 100)
    ((120, 160), 255, 2)
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from streamseg.params import check

__all__ = ["MaskRule", "residual_score"]


def residual_score(residual: np.ndarray) -> np.ndarray:
    """``|S|`` as ``float32 H×W``; colour (``C×H×W`` or ``H×W×C``) keeps its largest channel."""
    r = np.abs(np.asarray(residual, np.float32))
    if r.ndim == 3:
        axis = 0 if r.shape[0] in (1, 3) and r.shape[2] not in (1, 3) else 2
        r = r.max(axis=axis)
    return r


@dataclass(frozen=True)
class MaskRule:
    """The automatic threshold and clean-up that turn ``|S|`` into a mask.

    Attributes:
        k: threshold in units of the frame's robust noise scale.
        floor: lowest threshold, in intensity units (frames scaled to [0, 1]).
        blur: Gaussian blur of the score before thresholding (sigma in pixels of the
            processing size; 0: none).
        open: side of the opening square at processing size (removes specks; 0: none).
        close: side of the closing square at processing size (fills holes; 0: none).
        min_area: smallest blob kept, in pixels at processing size (0: keep all).
    """

    k: float = 4.0
    floor: float = 0.03
    blur: float = 0.0
    open: int = 0
    close: int = 0
    min_area: int = 0

    def __post_init__(self) -> None:
        check(self.k > 0, f"mask.k must be > 0, got {self.k}")
        check(self.floor >= 0, "mask.floor must be >= 0")
        check(self.blur >= 0, "mask.blur must be >= 0")
        check(self.open >= 0 and self.close >= 0, "mask.open and mask.close must be >= 0")
        check(self.min_area >= 0, "mask.min_area must be >= 0")

    def noise_scale(self, score: np.ndarray) -> float:
        """Robust noise scale of a score map ``|S|`` (1.4826 · median)."""
        return 1.4826 * float(np.median(score))

    def threshold(self, score: np.ndarray) -> float:
        """The threshold for this frame's score map."""
        return max(self.k * self.noise_scale(score), self.floor)

    def _smooth(self, score: np.ndarray) -> np.ndarray:
        if self.blur <= 0:
            return score
        import cv2

        return cv2.GaussianBlur(score, (0, 0), self.blur)

    def normalised(self, score: np.ndarray, size: tuple[int, int] | None = None) -> np.ndarray:
        """``clip(score / (2τ), 0, 1)`` at ``size`` ``(h, w)``: 0.5 is the mask threshold."""
        import cv2

        tau = self.threshold(score)
        out: np.ndarray = np.clip(self._smooth(score) / (2.0 * tau), 0.0, 1.0)
        if size is not None and out.shape != tuple(size):
            out = cv2.resize(out, (size[1], size[0]), interpolation=cv2.INTER_LINEAR)
        return out.astype(np.float32)

    def __call__(self, score: np.ndarray, size: tuple[int, int] | None = None) -> np.ndarray:
        """The ``uint8`` mask (0/255) of score map ``score``, at ``size`` ``(h, w)``."""
        import cv2

        tau = self.threshold(score)
        smooth = self._smooth(score)
        h, w = score.shape
        out_h, out_w = size if size is not None else (h, w)
        if (out_h, out_w) != (h, w):
            smooth = cv2.resize(smooth, (out_w, out_h), interpolation=cv2.INTER_LINEAR)
        mask = np.where(smooth > tau, np.uint8(255), np.uint8(0))
        scale = out_w / w
        for size_px, op in ((self.open, cv2.MORPH_OPEN), (self.close, cv2.MORPH_CLOSE)):
            if size_px > 0:
                side = max(1, round(size_px * scale))
                kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (side, side))
                mask = cv2.morphologyEx(mask, op, kernel)
        if self.min_area > 0:
            n, labels, stats, _ = cv2.connectedComponentsWithStats(mask, connectivity=8)
            small = stats[:, cv2.CC_STAT_AREA] < self.min_area * scale * scale
            small[0] = False
            if small[1:].any():
                mask[small[labels]] = 0
        return mask
