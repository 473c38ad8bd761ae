from __future__ import annotations

import numpy as np
import pytest

from streamseg.errors import ConfigError
from streamseg.segmenters.outline import Outline


def test_the_background_moves_one_grey_level_per_kept_frame():
    outline = Outline()
    assert not outline.ready and outline.changed(np.zeros((4, 6), np.uint8)) is None
    outline.update(np.full((4, 6), 100, np.uint8))
    for _ in range(5):
        outline.update(np.full((4, 6), 110, np.uint8))
        outline.update(np.full((4, 6), 110, np.uint8))
        outline.update(np.full((4, 6), 50, np.uint8))
    # +1, +1, −1 per round: a Σ-Δ median tracker follows the majority, slowly.
    assert outline._background is not None and int(outline._background[0, 0]) == 105


def test_a_passing_object_does_not_enter_the_background():
    rng = np.random.default_rng(0)
    scene = rng.integers(60, 200, (48, 64), dtype=np.uint8)
    outline = Outline()
    for t in range(100):
        frame = scene.copy()
        if 40 <= t < 46:
            frame[10:30, 10:30] = 255  # an object passes
        outline.update(frame)
    assert outline._background is not None
    assert np.abs(outline._background.astype(int) - scene).max() <= 6


def test_noise_is_not_a_change_and_the_rim_is_trimmed():
    rng = np.random.default_rng(1)
    scene = np.full((60, 80), 120, np.uint8)
    outline = Outline(k=3.0, floor=0.0)
    outline.update(scene)
    noisy = np.clip(scene + rng.normal(0, 3, scene.shape), 0, 255).astype(np.uint8)
    changed = outline.changed(noisy)
    assert changed is not None and changed.mean() < 0.01
    frame = noisy.copy()
    frame[20:40, 30:50] = 30  # an object
    coarse = np.zeros(scene.shape, np.uint8)
    coarse[14:46, 24:56] = 255  # the coarse mask overshoots it by 6 px
    mask = outline(coarse, frame)
    assert mask[21:39, 31:49].all()  # the object stays
    assert (mask > 0).sum() < 0.6 * (coarse > 0).sum()  # most of the rim goes
    assert not mask[coarse == 0].any()  # nothing is added


def test_colour_frames_and_a_new_frame_size():
    grey = np.full((30, 40), 90, np.uint8)
    outline = Outline()
    outline.update(np.dstack([grey] * 3))
    frame = grey.copy()
    frame[5:15, 5:15] = 200
    bgr = np.dstack([frame] * 3)
    bgra = np.dstack([frame] * 4)
    np.testing.assert_array_equal(outline.changed(bgr), outline.changed(frame))
    np.testing.assert_array_equal(outline.changed(bgra), outline.changed(frame))
    assert outline.changed(np.zeros((10, 10), np.uint8)) is None  # another size: not ready
    outline.update(np.zeros((10, 10), np.uint8))  # ... until it has seen one
    assert outline.changed(np.zeros((10, 10), np.uint8)) is not None
    outline.reset()
    assert not outline.ready


@pytest.mark.parametrize("k, floor", [(0.0, 0.1), (3.0, -0.1)])
def test_bad_parameters(k, floor):
    with pytest.raises(ConfigError):
        Outline(k, floor)
