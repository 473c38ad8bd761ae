"""The unit of data that flows from sources to segmenters to sinks.

Frames at the boundary are ``uint8`` images, BGR ``H×W×3`` (OpenCV's order) or
gray ``H×W``. :func:`check_image` is the single gate every public entry point
uses, so a wrong array gets the same one-line message everywhere.

Example:
    >>> import numpy as np
    >>> from streamseg.frame import Frame, check_image
    >>> img = check_image(np.zeros((4, 6, 4), np.uint8))   # BGRA: alpha dropped
    >>> img.shape
    (4, 6, 3)
    >>> Frame(img, index=7, timestamp=0.28).index
    7
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from streamseg.errors import FrameError

__all__ = ["Frame", "SourceInfo", "check_image", "check_mask", "to_gray"]

_EXPECTED = "expected a uint8 image, BGR H×W×3 or gray H×W"


@dataclass(frozen=True, slots=True)
class Frame:
    """One decoded frame.

    Attributes:
        image: ``uint8`` BGR ``H×W×3`` (or gray ``H×W`` when the source was opened gray).
        index: position in the stream (the first frame is 0). Folder sources keep
            the number in the file name (``in000470.jpg`` → 470) instead.
        timestamp: seconds; the stream's presentation time for files, the
            monotonic clock at arrival for live sources.
        numbered: ``index`` is the number of the frame's own file (folder sources).
        truth: the exact foreground mask (``uint8`` 0/255) where the source knows it (the
            built-in synthetic scene); mosaics show it beside the methods' masks.
    """

    image: np.ndarray
    index: int
    timestamp: float
    numbered: bool = False
    truth: np.ndarray | None = None

    @property
    def number(self) -> int:
        """The frame's number in CDnet's sense, which names its mask (``binNNNNNN.png``).

        A folder's frames keep their files' numbers, so masks line up with CDnet ground
        truth (``gt000470.png``). Frames of a video, stream or array are counted from 1,
        as CDnet numbers a sequence's frames (``in000001.jpg`` is the first): the masks
        of a CDnet sequence turned into a video still line up.
        """
        return self.index if self.numbered else self.index + 1


@dataclass(frozen=True, slots=True)
class SourceInfo:
    """What a source knows about itself once it is open.

    Attributes:
        width: frame width in pixels.
        height: frame height in pixels.
        fps: nominal frame rate, ``None`` when unknown.
        frame_count: number of frames, ``None`` for live or unknown-length sources.
        is_live: ``True`` for cameras and network streams (frames may be dropped).
    """

    width: int
    height: int
    fps: float | None
    frame_count: int | None
    is_live: bool


def _float_hint(image: np.ndarray) -> str:
    """How to convert a float frame, judged by its values (only on the error path)."""
    if image.size == 0:
        return ""
    if not np.isfinite(image).all():
        return " (it holds NaN or infinity: fix what made it, then convert it)"
    top = float(image.max())
    if top <= 1.0:
        return " (from [0, 1]: (img * 255).round().astype(np.uint8))"
    return f" (values up to {top:g}: np.clip(img, 0, 255).round().astype(np.uint8))"


def check_image(image: object) -> np.ndarray:
    """Validate a frame handed in from outside and bring it to BGR or gray ``uint8``.

    Accepts gray ``H×W``, ``H×W×1`` (squeezed), BGR ``H×W×3`` and BGRA ``H×W×4``
    (alpha dropped). Refuses other dtypes rather than guessing their scale: a
    16-bit frame may hold 10, 12 or 16 significant bits.

    Args:
        image: the array to check.

    Returns:
        A C-contiguous ``uint8`` array, ``H×W`` or ``H×W×3``.

    Raises:
        FrameError: for anything that is not such an image.
    """
    if not isinstance(image, np.ndarray):
        raise FrameError(f"{_EXPECTED}; got {type(image).__name__}")
    if image.dtype != np.uint8:
        if image.dtype == np.uint16:
            hint = " (scale it to 8 bits first, e.g. (img >> 8).astype(np.uint8))"
        elif image.dtype.kind == "f":
            hint = _float_hint(image)
        elif image.dtype == np.bool_:
            hint = " (a mask? frames are images: img.astype(np.uint8) * 255)"
        else:
            hint = ""
        raise FrameError(f"{_EXPECTED}; got dtype {image.dtype}{hint}")
    if image.ndim == 3 and image.shape[2] == 1:
        image = image[:, :, 0]
    elif image.ndim == 3 and image.shape[2] == 4:
        image = image[:, :, :3]
    if not (image.ndim == 2 or (image.ndim == 3 and image.shape[2] == 3)):
        raise FrameError(f"{_EXPECTED}; got shape {image.shape}")
    if image.shape[0] < 2 or image.shape[1] < 2:
        raise FrameError(f"{_EXPECTED}; got a degenerate shape {image.shape}")
    return np.ascontiguousarray(image)


def check_mask(mask: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """Validate a mask against the frame it belongs to (``uint8 H×W``, values 0/255)."""
    if mask.dtype != np.uint8 or mask.shape != shape[:2]:
        raise FrameError(
            f"expected a uint8 mask of shape {shape[:2]}; got {mask.dtype} {mask.shape}"
        )
    return mask


def to_gray(image: np.ndarray) -> np.ndarray:
    """Luma of a BGR frame (ITU-R BT.601 weights, as OpenCV), gray frames unchanged."""
    if image.ndim == 2:
        return image
    import cv2

    return cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
