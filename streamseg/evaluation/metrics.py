"""CDnet 2014 metrics: confusion counts under CDnet's rules, and the scores derived from them.

Ground-truth values (CDnet 2014): 0 static, 50 shadow (scored as background),
85 outside the ROI and 170 unknown (both ignored), 255 motion. Pixels outside
``ROI.bmp`` are ignored too. A result pixel is foreground when it is >= 128
(results are 0/255; OpenCV's shadow value 127 stays background).

Scores follow CDnet's definitions: recall TP/(TP+FN), specificity TN/(TN+FP),
FPR FP/(FP+TN), FNR FN/(TP+FN), PWC 100·(FN+FP)/(TP+FN+FP+TN), precision
TP/(TP+FP), F-measure 2·P·R/(P+R). A ratio whose denominator is zero is NaN.

Example:
    >>> import numpy as np
    >>> from streamseg.evaluation.metrics import Confusion
    >>> gt = np.array([[255, 255, 0], [50, 170, 85]], np.uint8)
    >>> pred = np.array([[255, 0, 255], [255, 255, 255]], np.uint8)
    >>> c = Confusion(); _ = c.update(pred, gt)
    >>> s = c.compute(); (s.tp, s.fn, s.fp, s.tn), round(s.f_measure, 4)
    ((1, 1, 2, 0), 0.4)
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from streamseg.errors import EvaluationError

__all__ = [
    "Confusion",
    "Scores",
    "GT_STATIC",
    "GT_SHADOW",
    "GT_OUTSIDE",
    "GT_UNKNOWN",
    "GT_MOTION",
    "METRICS",
    "valid_pixels",
]

GT_STATIC, GT_SHADOW, GT_OUTSIDE, GT_UNKNOWN, GT_MOTION = 0, 50, 85, 170, 255
#: CDnet's seven scores, in the order of its reports.
METRICS = ("recall", "specificity", "fpr", "fnr", "pwc", "precision", "f_measure")


def _size(image: np.ndarray) -> str:
    return f"{image.shape[1]}x{image.shape[0]}"


def _ratio(num: int, den: int) -> float:
    return num / den if den else float("nan")


@dataclass(frozen=True)
class Scores:
    """Confusion counts and CDnet's scores for one sequence (or one frame)."""

    tp: int
    fp: int
    fn: int
    tn: int

    @property
    def recall(self) -> float:
        return _ratio(self.tp, self.tp + self.fn)

    @property
    def specificity(self) -> float:
        return _ratio(self.tn, self.tn + self.fp)

    @property
    def fpr(self) -> float:
        return _ratio(self.fp, self.fp + self.tn)

    @property
    def fnr(self) -> float:
        return _ratio(self.fn, self.tp + self.fn)

    @property
    def pwc(self) -> float:
        return 100.0 * _ratio(self.fn + self.fp, self.tp + self.fn + self.fp + self.tn)

    @property
    def precision(self) -> float:
        return _ratio(self.tp, self.tp + self.fp)

    @property
    def f_measure(self) -> float:
        # 2PR/(P+R) written as 2TP/(2TP+FP+FN): identical, and defined when TP = 0.
        return _ratio(2 * self.tp, 2 * self.tp + self.fp + self.fn)

    def as_dict(self) -> dict[str, Any]:
        """The seven scores, then the counts, for JSON/CSV."""
        return {**{name: getattr(self, name) for name in METRICS}, **asdict(self)}


def valid_pixels(gt: np.ndarray, roi: np.ndarray | None = None) -> np.ndarray:
    """Pixels CDnet scores: static, shadow or motion, inside the ROI."""
    valid = (gt == GT_STATIC) | (gt == GT_SHADOW) | (gt == GT_MOTION)
    if roi is not None:
        valid &= roi > 0
    return valid


class Confusion:
    """Accumulates TP/FP/FN/TN over frames under CDnet's rules.

    Call :meth:`update` once per scored frame, then :meth:`compute`.
    """

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        """Forget all counts."""
        self.tp = self.fp = self.fn = self.tn = 0

    def update(self, pred: np.ndarray, gt: np.ndarray, roi: np.ndarray | None = None) -> Scores:
        """Add one frame; returns that frame's own counts.

        Args:
            pred: the result mask, ``uint8 H×W`` (foreground >= 128).
            gt: CDnet ground truth of the same size.
            roi: optional region of interest (nonzero = scored).

        Raises:
            EvaluationError: sizes differ.
        """
        if roi is not None and roi.shape[:2] != gt.shape[:2]:
            raise EvaluationError(
                f"the ROI is {_size(roi)} but the ground truth is {_size(gt)}; they must match"
            )
        if pred.shape[:2] != gt.shape[:2]:
            raise EvaluationError(
                f"the result is {_size(pred)} but the ground truth is {_size(gt)}; they must match"
            )
        valid = valid_pixels(gt, roi)
        fg = pred >= 128
        truth = gt == GT_MOTION
        tp = int(np.count_nonzero(fg & truth & valid))
        fp = int(np.count_nonzero(fg & ~truth & valid))
        fn = int(np.count_nonzero(~fg & truth & valid))
        tn = int(np.count_nonzero(valid)) - tp - fp - fn
        self.tp += tp
        self.fp += fp
        self.fn += fn
        self.tn += tn
        return Scores(tp, fp, fn, tn)

    def compute(self) -> Scores:
        """The scores of everything added so far."""
        return Scores(self.tp, self.fp, self.fn, self.tn)
