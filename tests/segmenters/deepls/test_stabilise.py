from __future__ import annotations

import cv2
import numpy as np
import pytest

from streamseg.errors import ConfigError
from streamseg.segmenters.deepls.stabilise import Stabiliser


def _texture(size=(120, 160), seed=0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return cv2.GaussianBlur(rng.integers(0, 255, size, dtype=np.uint8), (0, 0), 2)


@pytest.mark.parametrize("shift", [(3, -2), (-5, 4), (0, 7)])
def test_a_shaken_frame_is_shifted_back(shift):
    scene = _texture()
    dx, dy = shift
    moved = np.roll(scene, (dy, dx), axis=(0, 1))
    stab = Stabiliser()
    est = stab.estimate(moved, scene)
    assert abs(est[0] - dx) < 0.5 and abs(est[1] - dy) < 0.5
    aligned = stab.align(moved, scene)
    inner = (slice(10, -10), slice(10, -10))
    assert np.abs(aligned[inner].astype(int) - scene[inner]).mean() < 3


def test_a_still_camera_with_a_moving_object_is_left_alone():
    scene = _texture()
    frame = scene.copy()
    frame[30:90, 40:100] = np.roll(scene[30:90, 40:100], 6, axis=1)  # a big patch moves
    stab = Stabiliser()
    assert stab.estimate(frame, scene) == (0.0, 0.0)
    assert stab.align(frame, scene) is frame


def test_restore_puts_the_mask_back_where_the_frame_was():
    scene = _texture()
    moved = np.roll(scene, (4, 6), axis=(0, 1))
    stab = Stabiliser()
    stab.align(moved, scene)
    mask = np.zeros(scene.shape, np.uint8)
    mask[40:60, 50:80] = 255  # found in the aligned frame
    back = stab.restore(mask)
    assert back[44:64, 56:86].all() and not back[40:43, 50:55].any()


def test_colour_frames_and_no_reference():
    frame = cv2.cvtColor(_texture(), cv2.COLOR_GRAY2BGR)
    stab = Stabiliser()
    assert stab.align(frame, None) is frame and stab.shift == (0.0, 0.0)
    assert stab.estimate(frame, frame) == (0.0, 0.0)


def test_bad_parameters():
    with pytest.raises(ConfigError):
        Stabiliser(gain=1.5)
