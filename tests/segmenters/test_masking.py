from __future__ import annotations

import numpy as np
import pytest

from streamseg.errors import ConfigError
from streamseg.segmenters.masking import MaskRule, residual_score


def noisy(sigma: float, shape=(60, 80), seed=0) -> np.ndarray:
    return np.abs(np.random.default_rng(seed).normal(0, sigma, shape)).astype(np.float32)


@pytest.mark.parametrize("sigma", [0.01, 0.03, 0.08])
def test_threshold_follows_the_noise(sigma):
    rule = MaskRule(k=4.0, floor=0.0)
    score = noisy(sigma)
    assert rule.noise_scale(score) == pytest.approx(sigma, rel=0.05)
    mask = rule(score)
    assert (mask > 0).mean() < 0.001  # 4σ: almost no false alarm, whatever σ is


def test_floor_for_clean_frames():
    score = noisy(1e-5)
    assert MaskRule(floor=0.03).threshold(score) == 0.03
    assert not MaskRule(floor=0.03)(score).any()


def test_object_found_and_upsampled():
    score = noisy(0.01)
    score[10:20, 10:30] = 0.5
    mask = MaskRule()(score, (120, 160))
    assert mask.shape == (120, 160)
    assert (mask[22:38, 22:58] == 255).all()
    assert (mask[60:, 80:] == 0).all()


def test_min_area_open_close():
    score = np.zeros((40, 40), np.float32) + 0.001
    score[5, 5] = 1.0  # a speck
    score[20:30, 20:30] = 1.0
    score[24, 24] = 0.0  # a hole
    mask = MaskRule(floor=0.1, min_area=4, close=3)(score)
    assert mask[5, 5] == 0 and mask[24, 24] == 255 and mask[21, 21] == 255
    assert MaskRule(floor=0.1, open=3)(score)[5, 5] == 0


def test_normalised_score_puts_the_threshold_at_one_half():
    rule = MaskRule(k=4, floor=0.0)
    score = noisy(0.02)
    tau = rule.threshold(score)
    score[0, 0] = tau
    norm = rule.normalised(score)
    assert norm[0, 0] == pytest.approx(0.5, abs=1e-3) and norm.dtype == np.float32
    assert norm.min() >= 0 and norm.max() <= 1


def test_residual_score_of_colour():
    r = np.zeros((3, 4, 5), np.float32)
    r[1, 2, 3] = -0.7
    assert residual_score(r)[2, 3] == pytest.approx(0.7)
    assert residual_score(np.moveaxis(r, 0, -1))[2, 3] == pytest.approx(0.7)


@pytest.mark.parametrize(
    "kwargs", [{"k": 0}, {"floor": -1}, {"blur": -1}, {"open": -1}, {"min_area": -2}]
)
def test_bad_values(kwargs):
    with pytest.raises(ConfigError):
        MaskRule(**kwargs)
