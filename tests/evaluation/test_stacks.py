"""Scores on simulated stacks: the fixed emitter detector, matching, RMSE, mask scores."""

from __future__ import annotations

import numpy as np
import pytest

from streamseg.evaluation.stacks import (
    DetectionScores,
    EmitterDetector,
    MaskScores,
    match,
    rmse,
)


def test_matching_is_one_to_one_within_the_radius_closest_first():
    found = np.array([[10.0, 10.0], [10.0, 11.0], [40.0, 40.0]])
    truth = np.array([[10.0, 10.8], [20.0, 20.0]])
    assert match(found, truth, 1.5) == (1, 2, 1)  # the closer detection takes the emitter
    assert match(np.zeros((0, 2)), truth) == (0, 0, 2)
    assert match(found, np.zeros((0, 2))) == (0, 3, 0)
    assert match(np.array([[0.0, 0.0]]), np.array([[1.0, 1.2]]), 1.5) == (0, 1, 1)


def test_detection_scores_sum_over_frames():
    s = DetectionScores()
    s.add((3, 1, 2))
    s.add((1, 0, 0))
    assert (s.recall, s.precision) == (4 / 6, 4 / 5)
    assert s.f1 == pytest.approx(2 * 4 / (2 * 4 + 1 + 2))
    assert np.isnan(DetectionScores().f1)


def test_the_detector_finds_spots_above_the_noise_and_little_else():
    rng = np.random.default_rng(0)
    raw = 100 + rng.normal(0, 5, (60, 64, 64)).astype(np.float32)
    detector = EmitterDetector(raw, psf_sigma=1.3, k=4.0)
    assert np.median(detector.sigma) == pytest.approx(5 / (2 * np.sqrt(np.pi) * 1.3), rel=0.1)
    yy, xx = np.mgrid[0:64, 0:64]
    spots = [(20.0, 30.0), (45.0, 12.0)]
    frame = raw[7] - 100
    for y, x in spots:
        frame = frame + 60 * np.exp(-((yy - y) ** 2 + (xx - x) ** 2) / (2 * 1.3**2))
    found = detector.detect(frame)
    assert match(found, np.array(spots), 1.5) == (2, 0, 0)
    noise_only = sum(len(detector.detect(f - 100)) for f in raw[:20])
    assert noise_only <= 3


def test_rmse_and_mask_scores():
    assert rmse(np.zeros((2, 2)), np.full((2, 2), 3.0)) == 3.0
    m = MaskScores()
    m.add(np.array([[1, 1, 0, 0]], bool), np.array([[1, 0, 1, 0]], bool))
    assert (m.tp, m.fp, m.fn) == (1, 1, 1)
    assert m.f_measure == 0.5 and m.iou == pytest.approx(1 / 3)
