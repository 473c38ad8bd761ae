from __future__ import annotations

import math

import numpy as np
import pytest

from streamseg.errors import EvaluationError
from streamseg.evaluation.metrics import Confusion


def test_hand_computed_case_with_every_gt_value():
    gt = np.array([[255, 255, 255], [0, 0, 50], [85, 170, 0]], np.uint8)
    pred = np.array([[255, 255, 0], [255, 0, 255], [255, 255, 0]], np.uint8)
    c = Confusion()
    s = c.update(pred, gt)
    # 85 and 170 ignored; shadow (50) predicted foreground is a false positive.
    assert (s.tp, s.fn, s.fp, s.tn) == (2, 1, 2, 2)
    assert s.recall == pytest.approx(2 / 3)
    assert s.precision == pytest.approx(0.5)
    assert s.f_measure == pytest.approx(2 * 0.5 * (2 / 3) / (0.5 + 2 / 3))
    assert s.specificity == pytest.approx(0.5)
    assert s.fpr == pytest.approx(0.5) and s.fnr == pytest.approx(1 / 3)
    assert s.pwc == pytest.approx(100 * 3 / 7)


def test_roi_excludes_pixels():
    gt = np.array([[255, 0], [255, 0]], np.uint8)
    pred = np.array([[0, 255], [255, 0]], np.uint8)
    roi = np.array([[0, 0], [255, 255]], np.uint8)
    s = Confusion().update(pred, gt, roi)
    assert (s.tp, s.fp, s.fn, s.tn) == (1, 0, 0, 1)


def test_threshold_is_128_so_shadow_value_127_is_background():
    gt = np.array([[0, 255]], np.uint8)
    s = Confusion().update(np.array([[127, 128]], np.uint8), gt)
    assert (s.tp, s.fp) == (1, 0)


def test_accumulates_over_frames_and_resets():
    c = Confusion()
    gt = np.array([[255, 0]], np.uint8)
    c.update(np.array([[255, 0]], np.uint8), gt)
    c.update(np.array([[0, 255]], np.uint8), gt)
    s = c.compute()
    assert (s.tp, s.fp, s.fn, s.tn) == (1, 1, 1, 1)
    c.reset()
    assert c.compute().tp == 0


def test_undefined_ratios_are_nan():
    s = Confusion().update(np.zeros((2, 2), np.uint8), np.zeros((2, 2), np.uint8))
    assert math.isnan(s.recall) and math.isnan(s.precision) and math.isnan(s.f_measure)
    assert s.specificity == 1.0 and s.pwc == 0.0


def test_size_mismatch():
    with pytest.raises(EvaluationError, match="must match"):
        Confusion().update(np.zeros((2, 3), np.uint8), np.zeros((3, 2), np.uint8))
