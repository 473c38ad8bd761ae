"""Object-level scores: what an operator feels, beside CDnet's pixel scores.

Pixel F-measure rewards a mask that outlines people well; an operator cares whether each
person was seen and whether the screen lit up with nobody there. Per scored frame:

* **objects**: the connected components (8-connected) of the ground truth's motion pixels
  (255) and of the mask's foreground inside the ROI, each of at least ``min_area`` (a
  fraction of the frame below 1, else pixels: :class:`~streamseg.events.objects.ObjectConfig`'s
  rule). A predicted object lying mostly on pixels CDnet leaves unscored (``unknown``,
  170) is ignored, as those pixels are.
* **matching**: a predicted and a true object match when their boxes overlap by an
  intersection over union of at least ``iou`` (0.3: a loose box still finds its person;
  two people the mask merged into one blob match one of them). Pairs are taken greedily,
  best overlap first, each object in one pair at most. **Object recall** is the share of
  true objects matched, **object precision** the share of predicted objects matched,
  both over every scored frame of a sequence.
* **false alarms per minute**: on the scored frames without a true object (the empty
  stretches), a false alarm starts when a predicted object is there for ``alarm_frames``
  frames in a row (an event detector's ``min_frames``), and lasts until a frame without
  one; their count over the empty stretches' length at ``fps`` frames a second (CDnet
  gives no frame rate: 25, most of its sequences' and this scene's).

Example:
    >>> import numpy as np
    >>> gt = np.zeros((60, 80), np.uint8)
    >>> gt[10:30, 10:20] = 255                       # one person
    >>> pred = np.zeros_like(gt)
    >>> pred[12:32, 11:21] = 255                     # found, a little off
    >>> pred[40:50, 60:70] = 255                     # and a false blob
    >>> counter = ObjectCounter(ObjectRule(min_area=20))
    >>> counter.update(pred, gt)
    >>> scores = counter.compute()
    >>> scores.recall, scores.precision
    (1.0, 0.5)
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from streamseg.evaluation.metrics import GT_MOTION, GT_OUTSIDE, GT_UNKNOWN
from streamseg.events.objects import box_iou, min_area_pixels
from streamseg.params import check

__all__ = ["OBJECT_METRICS", "ObjectCounter", "ObjectRule", "ObjectScores"]

#: The object-level figures a report shows, by their names in ``results.json``.
OBJECT_METRICS = ("object_recall", "object_precision", "false_alarms_per_min")

_Box = tuple[int, int, int, int]


@dataclass(frozen=True)
class ObjectRule:
    """How objects are found, matched and counted as alarms.

    Attributes:
        iou: the smallest box overlap (intersection over union) of a match.
        min_area: the smallest object, true or predicted: below 1 a fraction of the
            frame, else pixels.
        alarm_frames: frames in a row with a predicted object on an empty stretch that
            make one false alarm.
        fps: the frame rate that turns frames into minutes.
    """

    iou: float = 0.3
    min_area: float = 0.0005
    alarm_frames: int = 3
    fps: float = 25.0

    def __post_init__(self) -> None:
        check(0 < self.iou <= 1, f"iou must be in (0, 1], got {self.iou}")
        check(self.min_area > 0, f"min_area must be > 0, got {self.min_area}")
        check(self.alarm_frames >= 1, f"alarm_frames must be >= 1, got {self.alarm_frames}")
        check(self.fps > 0, f"fps must be > 0, got {self.fps}")


@dataclass(frozen=True)
class ObjectScores:
    """Object counts over a sequence, and the scores they give.

    Attributes:
        true_objects: objects of the ground truth.
        found: of those, matched by a predicted object.
        predicted: objects of the masks (not counting those on unscored pixels).
        correct: of those, matched with a true object.
        false_alarms: false alarms on the empty stretches.
        empty_frames: scored frames without a true object.
        fps: the frame rate of the per-minute figure.
    """

    true_objects: int = 0
    found: int = 0
    predicted: int = 0
    correct: int = 0
    false_alarms: int = 0
    empty_frames: int = 0
    fps: float = 25.0

    @property
    def recall(self) -> float:
        """Share of true objects found (NaN without any)."""
        return self.found / self.true_objects if self.true_objects else float("nan")

    @property
    def precision(self) -> float:
        """Share of predicted objects that are true ones (NaN without any)."""
        return self.correct / self.predicted if self.predicted else float("nan")

    @property
    def false_alarms_per_min(self) -> float:
        """False alarms per minute of empty stretch (NaN without any empty frame)."""
        minutes = self.empty_frames / self.fps / 60.0
        return self.false_alarms / minutes if minutes else float("nan")

    def as_dict(self) -> dict[str, float | int]:
        """The scores (:data:`OBJECT_METRICS`) and the counts behind them."""
        return {
            "object_recall": self.recall,
            "object_precision": self.precision,
            "false_alarms_per_min": self.false_alarms_per_min,
            "true_objects": self.true_objects,
            "predicted_objects": self.predicted,
            "false_alarms": self.false_alarms,
            "empty_frames": self.empty_frames,
        }


def _components(binary: np.ndarray, smallest: int) -> tuple[np.ndarray, np.ndarray, list[int]]:
    """``(labels, stats, kept labels)`` of ``binary``'s components of ``smallest`` pixels on."""
    import cv2

    count, labels, stats, _ = cv2.connectedComponentsWithStats(binary, connectivity=8)
    kept = [i for i in range(1, count) if stats[i, cv2.CC_STAT_AREA] >= smallest]
    return labels, stats, kept


def _box(stats: np.ndarray, label: int) -> _Box:
    x, y, w, h = (int(v) for v in stats[label, :4])
    return x, y, w, h


def _match(true: list[_Box], predicted: list[_Box], iou: float) -> int:
    """Pairs of boxes overlapping by ``iou`` at least, taken greedily best first."""
    ranked = sorted(
        ((box_iou(t, p), i, j) for i, t in enumerate(true) for j, p in enumerate(predicted)),
        reverse=True,
    )
    used_t: set[int] = set()
    used_p: set[int] = set()
    for overlap, i, j in ranked:
        if overlap < iou:
            break
        if i not in used_t and j not in used_p:
            used_t.add(i)
            used_p.add(j)
    return len(used_t)


class ObjectCounter:
    """Counts objects frame by frame, in the order of the frames (for the alarms)."""

    def __init__(self, rule: ObjectRule | None = None) -> None:
        self.rule = rule or ObjectRule()
        self._true = self._found = self._predicted = self._correct = 0
        self._alarms = self._empty = 0
        self._run = 0  # frames in a row with a predicted object, on an empty stretch

    def update(self, pred: np.ndarray, gt: np.ndarray, roi: np.ndarray | None = None) -> None:
        """Count one scored frame: its mask ``pred`` (>= 128 foreground), its ground truth
        ``gt`` (CDnet's values) and the sequence's ``ROI.bmp`` (nonzero: scored)."""
        h, w = gt.shape
        smallest = min_area_pixels(self.rule.min_area, w, h)
        scored = gt != GT_OUTSIDE
        if roi is not None:
            scored &= roi > 0
        truth_labels, truth_stats, truth_kept = _components(
            ((gt == GT_MOTION) & scored).view(np.uint8), smallest
        )
        del truth_labels
        labels, stats, kept = _components(((pred >= 128) & scored).view(np.uint8), smallest)
        if kept:
            # A blob mostly on pixels CDnet does not score is neither right nor wrong.
            unknown = np.bincount(
                labels.ravel(), weights=(gt == GT_UNKNOWN).ravel(), minlength=len(stats)
            )
            kept = [i for i in kept if unknown[i] * 2 < stats[i, 4]]
        true = [_box(truth_stats, i) for i in truth_kept]
        predicted = [_box(stats, i) for i in kept]
        matched = _match(true, predicted, self.rule.iou)
        self._true += len(true)
        self._found += matched
        self._predicted += len(predicted)
        self._correct += matched
        if true:
            self._run = 0
            return
        self._empty += 1
        self._run = self._run + 1 if predicted else 0
        if self._run == self.rule.alarm_frames:
            self._alarms += 1

    def compute(self) -> ObjectScores:
        """The scores so far."""
        return ObjectScores(
            self._true,
            self._found,
            self._predicted,
            self._correct,
            self._alarms,
            self._empty,
            self.rule.fps,
        )
