"""Objects: the connected components of a mask, each with a box, an area and anchors.

:func:`find_objects` turns a ``uint8`` mask (0 background, anything else foreground) into
:class:`Object` s: connected components (8-connected) of at least ``min_area``, after an
optional morphological opening (removes specks) and closing (joins an object split by a
thin stripe of background). Each object has its box, area, centroid and bottom-centre
anchor (the point on the ground of a standing person or a car, which zones test; the
convention of Frigate and roboflow supervision), and a confidence: the mean of the
method's continuous score over its pixels where one is given (``Segmenter.score_one``),
else ``None``.

Example:
    >>> import numpy as np
    >>> mask = np.zeros((48, 64), np.uint8)
    >>> mask[10:30, 20:30] = 255
    >>> mask[0, 0] = 255                           # a speck: under the minimum area
    >>> [(o.box, o.area, o.anchor) for o in find_objects(mask, ObjectConfig(min_area=20))]
    [((20, 10, 10, 20), 200, (24.5, 29.0))]
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from streamseg.params import check

__all__ = ["Object", "ObjectConfig", "box_iou", "find_objects", "min_area_pixels"]


@dataclass(frozen=True)
class ObjectConfig:
    """How a mask becomes objects.

    Attributes:
        min_area: the smallest object: below 1, a fraction of the frame's area (0.001 is
            77 pixels at 320×240); from 1 on, pixels.
        open: side in pixels of the square opening applied first (removes specks thinner
            than it; 0: none).
        close: side in pixels of the square closing applied after it (joins parts split by
            a thin gap; 0: none).
    """

    min_area: float = 0.001
    open: int = 0
    close: int = 0

    def __post_init__(self) -> None:
        check(self.min_area > 0, f"min_area must be > 0, got {self.min_area}")
        check(self.open >= 0, f"open must be >= 0 pixels, got {self.open}")
        check(self.close >= 0, f"close must be >= 0 pixels, got {self.close}")


@dataclass(frozen=True)
class Object:
    """One object of one frame.

    Attributes:
        box: ``(x, y, w, h)`` in pixels, ``x, y`` the top-left corner.
        area: foreground pixels.
        centroid: ``(x, y)`` mean of its pixels.
        anchor: ``(x, y)`` bottom-centre of the box (where it stands).
        confidence: mean continuous score over its pixels (``None``: the method has none).
        id: the track's id across frames (``None`` before tracking).
    """

    box: tuple[int, int, int, int]
    area: int
    centroid: tuple[float, float]
    anchor: tuple[float, float]
    confidence: float | None = None
    id: int | None = None

    def as_dict(self) -> dict[str, object]:
        """The object as the event log writes it."""
        return {
            "id": self.id,
            "box": list(self.box),
            "area": self.area,
            "centroid": [round(self.centroid[0], 1), round(self.centroid[1], 1)],
            "anchor": [self.anchor[0], self.anchor[1]],
            "confidence": None if self.confidence is None else round(self.confidence, 3),
        }


def min_area_pixels(min_area: float, width: int, height: int) -> int:
    """``min_area`` in pixels for a ``width × height`` frame (a fraction below 1).

    Example:
        >>> min_area_pixels(0.001, 320, 240), min_area_pixels(50, 320, 240)
        (77, 50)
    """
    if min_area < 1:
        return max(1, round(min_area * width * height))
    return int(min_area)


def _kernel(side: int) -> np.ndarray:
    return np.ones((side, side), np.uint8)


def find_objects(
    mask: np.ndarray, config: ObjectConfig | None = None, score: np.ndarray | None = None
) -> list[Object]:
    """The objects of ``mask``, largest first.

    Args:
        mask: ``uint8 H×W``; nonzero is foreground.
        config: the minimum area and morphology.
        score: the method's continuous score ``float32 H×W`` in ``[0, 1]`` (optional): each
            object's confidence is its mean over the object's pixels.

    Returns:
        The objects of at least ``config.min_area``, largest first.
    """
    import cv2

    config = config or ObjectConfig()
    binary: np.ndarray = (mask > 0).view(np.uint8)
    if config.open > 1:
        binary = cv2.morphologyEx(binary, cv2.MORPH_OPEN, _kernel(config.open))
    if config.close > 1:
        binary = cv2.morphologyEx(binary, cv2.MORPH_CLOSE, _kernel(config.close))
    count, labels, stats, centroids = cv2.connectedComponentsWithStats(binary, connectivity=8)
    if count <= 1:
        return []
    h, w = mask.shape[:2]
    smallest = min_area_pixels(config.min_area, w, h)
    areas = stats[1:, cv2.CC_STAT_AREA]
    keep = np.flatnonzero(areas >= smallest) + 1
    if keep.size == 0:
        return []
    means = None
    if score is not None:
        sums = np.bincount(labels.ravel(), weights=score.ravel(), minlength=count)
        means = sums / np.maximum(stats[:, cv2.CC_STAT_AREA], 1)
    found = []
    for label in keep[np.argsort(-areas[keep - 1], kind="stable")]:
        x, y, bw, bh, area = (int(v) for v in stats[label])
        cx, cy = centroids[label]
        found.append(
            Object(
                box=(x, y, bw, bh),
                area=area,
                centroid=(float(cx), float(cy)),
                anchor=(x + (bw - 1) / 2, float(y + bh - 1)),
                confidence=None if means is None else float(means[label]),
            )
        )
    return found


def box_iou(a: tuple[int, int, int, int], b: tuple[int, int, int, int]) -> float:
    """Intersection over union of two ``(x, y, w, h)`` boxes.

    Example:
        >>> box_iou((0, 0, 10, 10), (5, 0, 10, 10))
        0.3333333333333333
    """
    ix = min(a[0] + a[2], b[0] + b[2]) - max(a[0], b[0])
    iy = min(a[1] + a[3], b[1] + b[3]) - max(a[1], b[1])
    if ix <= 0 or iy <= 0:
        return 0.0
    inter = ix * iy
    return inter / (a[2] * a[3] + b[2] * b[3] - inter)
