"""Full-resolution outlines: the net finds objects at the processing size, the frame draws them.

DeepLS segments a small copy of the frame (80×60 for a 320×240 frame), so its mask,
upsampled to the frame's size, overshoots every object by a few pixels: a rim of
background around each car or person. On CDnet highway and SBI CAVIAR2 most false
positives lie 3–10 pixels from the objects. A cheap background at the frame's own
resolution trims that rim: a pixel stays foreground only where the frame differs
from the background there.

The background is a Σ-Δ approximate median (McFarlane & Schofield, "Segmentation and
tracking of piglets in images", MVA 1995; Manzanera & Richefeu, PRL 2007): every time
the window keeps a frame, each background pixel moves one grey level toward it. Like
the window's median it ignores whatever passes, and it follows slow changes at a
rate set by the window's own sampling; it holds one ``uint8`` image and costs a few
comparisons per pixel.

The test is the mask rule's, at full resolution: the difference ``|frame − B|``,
Gaussian-blurred by one pixel (sensor noise averaged over a 3×3 neighbourhood), must
exceed ``max(k·σ, floor)``, with ``σ = 1.4826 · median`` of the difference (most
pixels are background, so the median measures the noise; ``k = 3``: three standard
deviations of Gaussian noise). The outline only removes pixels, never adds any.

Example:
    >>> import numpy as np
    >>> from streamseg.segmenters.outline import Outline
    >>> outline = Outline(k=3.0, floor=0.07)
    >>> scene = np.full((40, 60), 100, np.uint8)
    >>> outline.update(scene)
    >>> frame = scene.copy()
    >>> frame[10:20, 10:20] = 200                    # an object
    >>> coarse = np.zeros((40, 60), np.uint8)
    >>> coarse[6:24, 6:24] = 255                     # the net's mask, with a rim
    >>> mask = outline(coarse, frame)
    >>> int(mask[15, 15]), int(mask[8, 8])          # the object stays, the rim goes
    (255, 0)
    >>> int((coarse > 0).sum()), int((mask > 0).sum())  # 10×10 object, blurred edge by 1 px
    (324, 140)
"""

from __future__ import annotations

import cv2
import numpy as np

from streamseg.config import check

__all__ = ["Outline"]


def _grey(frame: np.ndarray) -> np.ndarray:
    """A ``uint8`` frame (gray, BGR or BGRA) as one ``uint8`` grey channel."""
    if frame.ndim == 2:
        return frame
    code = cv2.COLOR_BGRA2GRAY if frame.shape[2] == 4 else cv2.COLOR_BGR2GRAY
    return cv2.cvtColor(frame, code)


def _median_u8(image: np.ndarray) -> float:
    """Median of a ``uint8`` image from its histogram (a fraction of ``np.median``'s cost)."""
    counts = np.bincount(image.ravel(), minlength=256).cumsum()
    return float(np.searchsorted(counts, (image.size + 1) // 2))


class Outline:
    """A Σ-Δ background at the frame's size that trims a coarse mask to the frame's changes.

    Args:
        k: the change must exceed this many robust noise scales of the difference.
        floor: and at least this much, in intensity units (frames scaled to [0, 1]).
    """

    def __init__(self, k: float = 3.0, floor: float = 0.07) -> None:
        check(k > 0, f"outline k must be > 0, got {k}")
        check(floor >= 0, "outline floor must be >= 0")
        self.k = k
        self.floor = floor
        self._background: np.ndarray | None = None

    @property
    def ready(self) -> bool:
        """``True`` once the background has seen a frame."""
        return self._background is not None

    def update(self, frame: np.ndarray) -> None:
        """Move the background one grey level toward ``frame`` (``uint8``, any channels)."""
        grey = _grey(frame)
        bg = self._background
        if bg is None or bg.shape != grey.shape:
            self._background = grey.copy()
            return
        up = grey > bg
        down = grey < bg
        bg += up.view(np.uint8)
        bg -= down.view(np.uint8)

    def changed(self, frame: np.ndarray) -> np.ndarray | None:
        """Where ``frame`` differs from the background (bool, the frame's ``h×w``); None: not ready."""
        grey = _grey(frame)
        if self._background is None or self._background.shape != grey.shape:
            return None
        diff = cv2.GaussianBlur(cv2.absdiff(grey, self._background), (0, 0), 1.0)
        tau = max(self.k * 1.4826 * _median_u8(diff), self.floor * 255.0)
        return diff > tau

    def __call__(self, mask: np.ndarray, frame: np.ndarray) -> np.ndarray:
        """``mask`` (``uint8`` 0/255 at the frame's size) without the pixels that did not change."""
        changed = self.changed(frame)
        if changed is None:
            return mask
        return np.where(changed, mask, np.uint8(0))

    def reset(self) -> None:
        """Forget the background."""
        self._background = None
