"""Scores of background removal on simulated stacks: emitter detection, background error, masks.

* :class:`EmitterDetector`, the fixed detector every SMLM method is scored with: the
  background-removed frame ``frame − background`` (signed: the sparse output's ReLU would
  give the smoothed noise a positive mean, and false detections) is smoothed by a
  Gaussian of the PSF's width (a matched filter), and its local maxima (over
  ``size × size`` pixels, so that the noisy flank of a bright spot is not a second
  emitter) above ``k·σ`` are emitters. ``σ`` is the noise of
  the smoothed frames, per pixel, estimated once per stack from the *raw* stack
  (the median absolute difference of consecutive smoothed frames, which blinking
  emitters barely move): every method is thresholded at the same level, whatever it
  did to the noise.
* :func:`match`: detections and true emitters paired one to one within ``radius``
  pixels (closest pairs first); :class:`DetectionScores` counts them.
* :func:`rmse`: the background's root-mean-square error against the truth.
* :class:`MaskScores`: F-measure and IoU of masks against exact masks.

Example:
    >>> import numpy as np
    >>> from streamseg.evaluation.stacks import match
    >>> found = np.array([[10.0, 10.0], [30.0, 5.0]])
    >>> truth = np.array([[10.5, 11.0], [50.0, 50.0]])
    >>> match(found, truth, radius=1.5)
    (1, 1, 1)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np

__all__ = ["DetectionScores", "EmitterDetector", "MaskScores", "match", "rmse"]


def _smooth(frame: np.ndarray, sigma: float) -> np.ndarray:
    return cv2.GaussianBlur(np.asarray(frame, np.float32), (0, 0), sigma)


class EmitterDetector:
    """Local maxima above ``k·σ`` of the smoothed background-removed frame.

    Args:
        raw: frames of the raw stack (``(n, H, W)``, a few hundred are plenty) whose
            consecutive differences give the noise.
        psf_sigma: the PSF's σ in pixels (the smoothing's).
        k: the threshold in noise standard deviations.
        size: the side of the neighbourhood a maximum is the largest value of.
    """

    def __init__(
        self, raw: np.ndarray, psf_sigma: float = 1.3, k: float = 4.0, size: int = 5
    ) -> None:
        self.psf_sigma = psf_sigma
        self.k = k
        self.size = size
        smoothed = np.stack([_smooth(f, psf_sigma) for f in raw])
        diffs = np.abs(np.diff(smoothed, axis=0))
        # |a − b| of two independent N(0, σ²): median σ·√2·0.6745.
        sigma = np.median(diffs, axis=0) / (np.sqrt(2) * 0.6745)
        self.sigma = cv2.GaussianBlur(sigma.astype(np.float32), (0, 0), 4)

    def detect(self, residual: np.ndarray) -> np.ndarray:
        """``(n, 2)`` positions (y, x) of the emitters in one ``frame − background``."""
        s = _smooth(residual, self.psf_sigma)
        top = cv2.dilate(s, np.ones((self.size, self.size), np.uint8))
        peaks = (s == top) & (s > self.k * self.sigma)
        return np.argwhere(peaks).astype(np.float32)


def match(found: np.ndarray, truth: np.ndarray, radius: float = 1.5) -> tuple[int, int, int]:
    """``(true positives, false positives, false negatives)``: one-to-one pairs within ``radius``.

    Pairs are taken closest first, each detection and each emitter in one pair at most.
    """
    if len(found) == 0 or len(truth) == 0:
        return 0, len(found), len(truth)
    d = np.hypot(found[:, None, 0] - truth[None, :, 0], found[:, None, 1] - truth[None, :, 1])
    fi, ti = np.nonzero(d <= radius)
    order = np.argsort(d[fi, ti], kind="stable")
    used_f, used_t, tp = set(), set(), 0
    for k in order:
        f, t = int(fi[k]), int(ti[k])
        if f not in used_f and t not in used_t:
            used_f.add(f)
            used_t.add(t)
            tp += 1
    return tp, len(found) - tp, len(truth) - tp


@dataclass
class DetectionScores:
    """Detection counts summed over frames, and the scores derived from them."""

    tp: int = 0
    fp: int = 0
    fn: int = 0

    def add(self, counts: tuple[int, int, int]) -> None:
        self.tp += counts[0]
        self.fp += counts[1]
        self.fn += counts[2]

    @property
    def recall(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else float("nan")

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else float("nan")

    @property
    def f1(self) -> float:
        den = 2 * self.tp + self.fp + self.fn
        return 2 * self.tp / den if den else float("nan")


def rmse(estimate: np.ndarray | Sequence[np.ndarray], truth: np.ndarray) -> float:
    """Root-mean-square difference of two stacks (or frames)."""
    diff = np.asarray(estimate, np.float64) - np.asarray(truth, np.float64)
    return float(np.sqrt(np.mean(diff**2)))


@dataclass
class MaskScores:
    """Pixel counts of masks against exact masks, summed over frames."""

    tp: int = 0
    fp: int = 0
    fn: int = 0

    def add(self, mask: np.ndarray, truth: np.ndarray) -> None:
        m, t = np.asarray(mask, bool), np.asarray(truth, bool)
        self.tp += int((m & t).sum())
        self.fp += int((m & ~t).sum())
        self.fn += int((~m & t).sum())

    @property
    def f_measure(self) -> float:
        den = 2 * self.tp + self.fp + self.fn
        return 2 * self.tp / den if den else float("nan")

    @property
    def iou(self) -> float:
        den = self.tp + self.fp + self.fn
        return self.tp / den if den else float("nan")
