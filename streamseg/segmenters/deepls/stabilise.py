"""Undo a shaking camera: align each frame to the background before segmenting it.

A camera on a pole in the wind, or a hand-held one, shifts the whole image by a few
pixels from frame to frame; every edge of the scene then looks like motion. The
:class:`Stabiliser` estimates the frame's global translation against a reference image
(the background the segmenter keeps) by phase correlation (``cv2.phaseCorrelate`` on a
copy at most ``width`` pixels wide) and shifts the frame back before it is segmented;
the mask is shifted forward again, so it lines up with the frame as given.

A translation is only used when it explains the frame: once aligned, the frame's median
pixel must differ from the reference by at most ``gain`` times what it did before. A
camera that moved passes that test; the shift of one large moving object, or of waves,
does not (the rest of the image then gets worse), so a still camera is left alone.

Example:
    >>> import numpy as np
    >>> from streamseg.segmenters.deepls.stabilise import Stabiliser
    >>> rng = np.random.default_rng(0)
    >>> scene = cv2.GaussianBlur(rng.integers(0, 255, (120, 160), dtype=np.uint8), (0, 0), 2)
    >>> moved = np.roll(scene, (3, -2), axis=(0, 1))
    >>> shift = Stabiliser().estimate(moved, scene)
    >>> [round(v) for v in shift]
    [-2, 3]
"""

from __future__ import annotations

import cv2
import numpy as np

from streamseg.params import check

__all__ = ["Stabiliser"]


def _gray(image: np.ndarray) -> np.ndarray:
    if image.ndim == 3 and image.shape[2] >= 3:
        image = cv2.cvtColor(image[..., :3], cv2.COLOR_BGR2GRAY)
    elif image.ndim == 3:
        image = image[..., 0]
    return image.astype(np.float32)


class Stabiliser:
    """Global-translation alignment of frames to a reference image.

    Args:
        width: the estimate is made on copies at most this wide.
        gain: the aligned frame's median difference to the reference must drop to this
            share of the unaligned one's for the shift to be used.
        min_shift: shifts below this many pixels (both axes) are ignored.
        min_response: phase correlation peaks weaker than this are ignored.
    """

    def __init__(
        self,
        width: int = 160,
        gain: float = 0.6,
        min_shift: float = 0.25,
        min_response: float = 0.05,
    ) -> None:
        check(width >= 16, "stabiliser width must be >= 16")
        check(0 < gain < 1, "stabiliser gain must be in (0, 1)")
        self.width = width
        self.gain = gain
        self.min_shift = min_shift
        self.min_response = min_response
        self.shift = (0.0, 0.0)

    def estimate(self, frame: np.ndarray, reference: np.ndarray) -> tuple[float, float]:
        """``(dx, dy)``: how far ``frame`` is shifted against ``reference`` ((0, 0): unclear)."""
        h, w = frame.shape[:2]
        cur, ref = _gray(frame), _gray(reference)
        if ref.shape != cur.shape:
            ref = cv2.resize(ref, (w, h), interpolation=cv2.INTER_AREA)
        scale = min(1.0, self.width / w)
        if scale < 1:
            size = (max(8, round(w * scale)), max(8, round(h * scale)))
            cur = cv2.resize(cur, size, interpolation=cv2.INTER_AREA)
            ref = cv2.resize(ref, size, interpolation=cv2.INTER_AREA)
        window = cv2.createHanningWindow(ref.shape[::-1], cv2.CV_32F)
        (sx, sy), response = cv2.phaseCorrelate(ref, cur, window)
        if response < self.min_response or max(abs(sx), abs(sy)) < self.min_shift * scale:
            return (0.0, 0.0)
        back = np.array([[1, 0, -sx], [0, 1, -sy]], np.float32)
        aligned = cv2.warpAffine(cur, back, cur.shape[::-1], flags=cv2.INTER_LINEAR,
                                 borderMode=cv2.BORDER_REPLICATE)  # fmt: skip
        m = int(np.ceil(max(abs(sx), abs(sy)))) + 1  # the border the shift filled in
        if 2 * m >= min(cur.shape):
            return (0.0, 0.0)
        before = float(np.median(np.abs(cur - ref)[m:-m, m:-m]))
        after = float(np.median(np.abs(aligned - ref)[m:-m, m:-m]))
        if not after < self.gain * before:
            return (0.0, 0.0)
        return (sx / scale, sy / scale)

    def align(self, frame: np.ndarray, reference: np.ndarray | None) -> np.ndarray:
        """``frame`` shifted onto ``reference`` (remembering the shift for :meth:`restore`)."""
        self.shift = (0.0, 0.0) if reference is None else self.estimate(frame, reference)
        if self.shift == (0.0, 0.0):
            return frame
        h, w = frame.shape[:2]
        back = np.array([[1, 0, -self.shift[0]], [0, 1, -self.shift[1]]], np.float32)
        return cv2.warpAffine(frame, back, (w, h), flags=cv2.INTER_LINEAR,
                              borderMode=cv2.BORDER_REPLICATE)  # fmt: skip

    def restore(self, mask: np.ndarray) -> np.ndarray:
        """A mask of the aligned frame shifted back onto the frame as given."""
        if self.shift == (0.0, 0.0):
            return mask
        h, w = mask.shape[:2]
        forward = np.array([[1, 0, self.shift[0]], [0, 1, self.shift[1]]], np.float32)
        return cv2.warpAffine(mask, forward, (w, h), flags=cv2.INTER_NEAREST, borderValue=0)
