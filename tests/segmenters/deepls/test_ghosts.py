from __future__ import annotations

import numpy as np

from streamseg.segmenters.deepls.ghosts import ghost_blobs


def scene() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    background = (0.5 + 0.02 * rng.standard_normal((40, 60))).astype(np.float32)
    frame = background.copy()
    background[5:20, 5:20] = 0.9  # learned by the model, gone from the scene: a ghost
    frame[20:35, 35:50] = 0.1  # here now: an object
    mask = np.zeros((40, 60), np.uint8)
    mask[5:20, 5:20] = mask[20:35, 35:50] = 255
    return mask, frame, background


def test_ghosts_are_told_from_objects_by_their_outline():
    mask, frame, background = scene()
    ghost = ghost_blobs(mask, frame, background, ratio=2.0)
    assert ghost[5:20, 5:20].all() and not ghost[20:35, 35:50].any()
    assert not ghost[mask == 0].any()


def test_colour_tiny_blobs_and_empty_masks():
    mask, frame, background = scene()
    colour = ghost_blobs(mask, np.dstack([frame] * 3), np.dstack([background] * 3), 2.0)
    np.testing.assert_array_equal(colour, ghost_blobs(mask, frame, background, 2.0))
    tiny = np.zeros_like(mask)
    tiny[10, 10] = 255  # a speck of the ghost: too small to judge
    assert not ghost_blobs(tiny, frame, background).any()
    assert not ghost_blobs(np.zeros_like(mask), frame, background).any()
