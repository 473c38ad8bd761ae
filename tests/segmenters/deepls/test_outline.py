from __future__ import annotations

import numpy as np
import pytest

from streamseg.errors import ConfigError
from streamseg.segmenters.deepls.outline import Outline


def test_the_background_moves_one_grey_level_per_kept_frame():
    outline = Outline()
    assert outline.changed(np.zeros((4, 6), np.uint8)) is None  # nothing seen yet
    outline.update(np.full((4, 6), 100, np.uint8))
    for _ in range(5):
        outline.update(np.full((4, 6), 110, np.uint8))
        outline.update(np.full((4, 6), 110, np.uint8))
        outline.update(np.full((4, 6), 50, np.uint8))
    # +1, +1, −1 per round: a Σ-Δ median tracker follows the majority, slowly.
    assert outline._background is not None and int(outline._background[0, 0]) == 105
    keep = np.zeros((4, 6), bool)
    keep[:2] = True
    outline.update(np.full((4, 6), 255, np.uint8), keep)
    assert outline._background[:2].tolist() == [[105] * 6] * 2  # held pixels do not learn
    assert outline._background[2:].tolist() == [[106] * 6] * 2
    outline.update(np.zeros((4, 6), np.uint8))
    outline.update(np.full((4, 6), 255, np.uint8))  # no uint8 wrap either way
    assert outline._background[2:].tolist() == [[106] * 6] * 2


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
    assert not outline(np.zeros_like(coarse), frame).any()


def test_the_inside_of_an_object_that_matches_the_background_stays():
    scene = np.full((60, 80), 120, np.uint8)
    outline = Outline(k=3.0, floor=0.07)
    outline.update(scene)
    frame = scene.copy()
    frame[20:40, 30:50] = 30  # a dark coat...
    frame[26:34, 36:44] = 120  # ...with a patch the colour of the floor
    frame[0:10, 0:10] = 30  # an object cut by the border: its notch is not a hole
    frame[0:4, 0:4] = 120
    coarse = np.zeros(scene.shape, np.uint8)
    coarse[18:42, 28:52] = 255
    coarse[0:12, 0:12] = 255
    mask = outline(coarse, frame)
    assert mask[26:34, 36:44].all()
    assert not mask[0:3, 0:3].any()


def test_a_change_of_the_whole_scene_does_not_hide_the_objects():
    rng = np.random.default_rng(2)
    scene = rng.integers(60, 160, (60, 80)).astype(np.uint8)
    outline = Outline()
    outline.update(scene)
    frame = scene + np.uint8(30)  # lights on: everything 30 grey levels brighter
    frame[20:40, 30:50] = 250  # and an object
    coarse = np.zeros(scene.shape, np.uint8)
    coarse[20:40, 30:50] = 255
    assert outline(coarse, frame)[22:38, 32:48].all()
    assert outline.changed(scene + np.uint8(30)).mean() < 0.01  # the shift alone is no change


def test_colour_models_see_a_change_of_colour_only():
    blue, red = np.array([200, 100, 142], np.uint8), np.array([60, 100, 200], np.uint8)
    scene = np.broadcast_to(blue, (30, 40, 3)).copy()
    frame = scene.copy()
    frame[5:15, 5:15] = red  # nearly the same grey level, another colour
    grey, colour = Outline(), Outline(colour=True)
    for outline in (grey, colour):
        outline.update(scene)
    assert not grey.changed(frame)[8:12, 8:12].any()
    assert colour.changed(frame)[8:12, 8:12].all()
    gray_frame = np.full((30, 40), 90, np.uint8)
    colour.update(gray_frame)  # a gray frame restarts a colour background at its new shape
    assert colour.changed(gray_frame) is not None and not colour.changed(gray_frame).any()
    assert grey.changed(np.zeros((10, 10), np.uint8)) is None  # another size: nothing learned


@pytest.mark.parametrize("k, floor", [(0.0, 0.1), (3.0, -0.1)])
def test_bad_parameters(k, floor):
    with pytest.raises(ConfigError):
        Outline(k, floor)
