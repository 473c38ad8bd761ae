"""Frames to the processing resolution, the same way for every low-rank method.

Low-rank methods work on a small copy of the frame (a 320×240 frame has 76,800
pixels; 80×60 keeps the moving objects and costs 16× less). The processing size
keeps the frame's aspect ratio at a fixed pixel *area*, so a wide and a tall
camera cost the same; both sides are multiples of 4 (a 2-pool U-Net halves them
twice) and a frame is never upscaled. Masks are computed there and the score is
upsampled back to the frame's size.

Example:
    >>> from streamseg.segmenters.preprocess import processing_size
    >>> processing_size(240, 320, area=4800), processing_size(136, 200, area=4800)
    ((60, 80), (56, 84))
"""

from __future__ import annotations

import math

import numpy as np

__all__ = ["processing_size", "to_processing"]


def processing_size(height: int, width: int, area: int, multiple: int = 4) -> tuple[int, int]:
    """``(h, w)`` with ``h·w ≈ area``, the aspect ratio kept, sides multiples of ``multiple``."""
    scale = min(1.0, math.sqrt(area / (height * width)))
    h = max(multiple, int(round(height * scale / multiple)) * multiple)
    w = max(multiple, int(round(width * scale / multiple)) * multiple)
    return h, w


def to_processing(image: np.ndarray, size: tuple[int, int], colour: bool) -> np.ndarray:
    """A ``uint8`` frame as ``float32`` in [0, 1] at ``size``: ``h×w`` gray or ``h×w×3`` BGR."""
    import cv2

    if not colour and image.ndim == 3:
        image = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
    elif colour and image.ndim == 2:
        image = cv2.cvtColor(image, cv2.COLOR_GRAY2BGR)
    h, w = size
    if image.shape[:2] != (h, w):
        image = cv2.resize(image, (w, h), interpolation=cv2.INTER_AREA)
    return image.astype(np.float32) * np.float32(1.0 / 255.0)
