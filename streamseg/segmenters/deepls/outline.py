"""Full-resolution outlines: the net finds objects at the processing size, the frame draws them.

DeepLS segments a small copy of the frame (80×60 for a 320×240 frame), so its mask,
upsampled to the frame's size, overshoots every object by a few pixels: a rim of
background around each car or person. A cheap background at the frame's own resolution trims that
rim: a pixel stays foreground only where the frame differs from the background there.

The background is a Σ-Δ approximate median (McFarlane & Schofield, "Segmentation and
tracking of piglets in images", MVA 1995; Manzanera & Richefeu, PRL 2007): every time
the window keeps a frame, each background pixel moves one grey level toward it. It
ignores whatever passes and absorbs a lasting change of Δ grey levels after Δ kept
frames. It holds one ``uint8`` image (three channels for colour models), and for a grey
model fed colour frames a colour copy besides, so that :meth:`Outline.background`
answers in the frames' colours as OpenCV's ``getBackgroundImage`` does.

The test is the mask rule's, at full resolution, on the difference ``d = frame − B``:
its median (a global shift: a camera's auto-exposure, lights switched on) is taken off
first, so a change of the whole scene does not hide the objects while ``B`` catches
up; then ``|d − median(d)|``, Gaussian-blurred with σ = 1 px (sensor noise averaged
over the pixel's neighbours), must exceed ``max(k·σ, floor)`` with ``σ = 1.4826 ·
median|d − median(d)|`` (most pixels are background, so this measures the noise;
``k = 3``: three standard deviations of Gaussian noise). Colour takes the largest
channel, as the mask rule does. Unchanged pixels enclosed by changed ones count as changed:
they are the inside of an object that matches the background there (a grey coat on a grey
floor), and a hole in a mask is never what CDnet's ground truth draws. The outline only
removes pixels, never adds any.

Example:
    >>> import numpy as np
    >>> from streamseg.segmenters.deepls.outline import Outline
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
    >>> int((coarse > 0).sum()), int((mask > 0).sum())  # 10×10 object, edge blurred by 1 px
    (324, 140)
"""

from __future__ import annotations

import cv2
import numpy as np

from streamseg.params import check

__all__ = ["Outline"]


def _median_offset(diff: np.ndarray) -> np.ndarray:
    """Per-channel median of a signed ``int16`` difference in [−255, 255], from its histogram."""
    flat = diff.reshape(-1, diff.shape[2] if diff.ndim == 3 else 1)
    half = (flat.shape[0] + 1) // 2
    out = [
        np.searchsorted(np.bincount(flat[:, c] + 255, minlength=511).cumsum(), half) - 255
        for c in range(flat.shape[1])
    ]
    return np.asarray(out if diff.ndim == 3 else out[0], np.int16)


def _fill_holes(changed: np.ndarray) -> np.ndarray:
    """``changed`` with every region of ``False`` that does not touch the border set ``True``."""
    h, w = changed.shape
    # A one-pixel unchanged frame around the image joins every outside region into one,
    # which a single flood fill from the corner marks; what it does not reach is a hole.
    outside = np.zeros((h + 2, w + 2), np.uint8)
    outside[1:-1, 1:-1] = changed
    cv2.floodFill(outside, np.zeros((h + 4, w + 4), np.uint8), (0, 0), 2)
    return outside[1:-1, 1:-1] != 2


def _median_u8(image: np.ndarray) -> float:
    """Median of a ``uint8`` image from its histogram (a fraction of ``np.median``'s cost)."""
    counts = np.bincount(image.ravel(), minlength=256).cumsum()
    return float(np.searchsorted(counts, (image.size + 1) // 2))


def _step(bg: np.ndarray | None, plane: np.ndarray, keep: np.ndarray | None) -> np.ndarray:
    """``bg`` moved one level toward ``plane`` (in place), except at ``keep``; a new one if none."""
    if bg is None or bg.shape != plane.shape:
        return plane.copy()
    up = plane > bg
    down = plane < bg
    if keep is not None:
        moving = ~keep if plane.ndim == 2 else ~keep[..., None]
        up &= moving
        down &= moving
    bg += up.view(np.uint8)  # no wrap: a pixel goes up only below 255, down only above 0
    bg -= down.view(np.uint8)
    return bg


class Outline:
    """A Σ-Δ background at the frame's size that trims a coarse mask to the frame's changes.

    Args:
        k: the change must exceed this many robust noise scales of the difference.
        floor: and at least this much, in intensity units (frames scaled to [0, 1]).
        colour: compare BGR frames channel by channel (else their grey level).
    """

    def __init__(self, k: float = 3.0, floor: float = 0.07, colour: bool = False) -> None:
        check(k > 0, f"outline k must be > 0, got {k}")
        check(floor >= 0, "outline floor must be >= 0")
        self.k = k
        self.floor = floor
        self.colour = colour
        self._background: np.ndarray | None = None
        self._colour: np.ndarray | None = None  # grey outline, colour frames: background()

    def _plane(self, frame: np.ndarray) -> np.ndarray:
        """A ``uint8`` gray or BGR frame as what is compared: grey, or BGR for colour."""
        if self.colour:
            return frame if frame.ndim == 3 else cv2.cvtColor(frame, cv2.COLOR_GRAY2BGR)
        return frame if frame.ndim == 2 else cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY)

    def update(self, frame: np.ndarray, keep: np.ndarray | None = None) -> None:
        """Move the background one grey level toward ``frame`` (``uint8`` gray or BGR).

        Args:
            frame: the frame the window kept.
            keep: pixels (bool, the frame's ``h×w``) whose background must not move, e.g.
                an object held out of the window.
        """
        self._background = _step(self._background, self._plane(frame), keep)
        if not self.colour and frame.ndim == 3:
            # Only for background(): the test stays on grey (measured: +0.17 ms per kept
            # 320×240 frame, the window keeping every 4th frame by default).
            self._colour = _step(self._colour, frame, keep)

    def background(self) -> np.ndarray | None:
        """The background (a copy) in the colours of the frames it learned; None before any."""
        bg = self._colour if self._colour is not None else self._background
        return None if bg is None else bg.copy()

    def changed(self, frame: np.ndarray) -> np.ndarray | None:
        """Where ``frame`` differs from the background (bool, ``h×w``); None before any frame."""
        plane = self._plane(frame)
        bg = self._background
        if bg is None or bg.shape != plane.shape:
            return None
        # Medians from a quarter of the pixels (every other row and column): the same
        # estimate of a whole frame's statistics, at a quarter of the cost.
        offset = _median_offset(plane[::2, ::2].astype(np.int16) - bg[::2, ::2])
        shifted = np.clip(bg + offset, 0, 255, dtype=np.int16).astype(np.uint8)
        deviation = cv2.absdiff(plane, shifted)
        if deviation.ndim == 3:
            deviation = cv2.max(cv2.max(deviation[..., 0], deviation[..., 1]), deviation[..., 2])
        smooth = cv2.GaussianBlur(deviation, (0, 0), 1.0)
        tau = max(self.k * 1.4826 * _median_u8(smooth[::2, ::2]), self.floor * 255.0)
        return _fill_holes(smooth > tau)

    def __call__(self, mask: np.ndarray, frame: np.ndarray) -> np.ndarray:
        """``mask`` (``uint8`` 0/255 at the frame's size) without the pixels that did not change."""
        if not mask.any():
            return mask
        changed = self.changed(frame)
        if changed is None:
            return mask
        return np.where(changed, mask, np.uint8(0))
