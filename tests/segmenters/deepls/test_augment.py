from __future__ import annotations

import numpy as np
import pytest

from streamseg.segmenters.deepls.augment import paste_objects


@pytest.mark.parametrize("shape", [(6, 60, 80), (6, 60, 80, 3)])
def test_one_object_per_frame_inside_the_range(shape):
    frames = np.random.default_rng(0).uniform(0.3, 0.7, shape).astype(np.float32)
    before = frames.copy()
    out = paste_objects(frames, np.random.default_rng(1), rate=1.0)
    assert np.array_equal(frames, before)  # the window's own frames are left alone
    assert out.shape == frames.shape and out.dtype == np.float32
    assert 0.0 <= out.min() and out.max() <= 1.0
    changed = (out != frames).reshape(shape[0], -1).any(axis=1)
    assert changed.all()
    # an object covers between (a tenth)² and (a third)² of the frame, as an ellipse
    share = (out != frames).reshape(shape[0], 60, 80, -1).any(axis=3).mean(axis=(1, 2))
    assert (share > 0.005).all() and (share < 0.12).all()


def test_seeded_and_rate_zero_changes_nothing():
    frames = np.random.default_rng(0).uniform(0, 1, (8, 30, 40)).astype(np.float32)
    a = paste_objects(frames, np.random.default_rng(5), rate=0.5)
    b = paste_objects(frames, np.random.default_rng(5), rate=0.5)
    assert np.array_equal(a, b)
    assert np.array_equal(paste_objects(frames, np.random.default_rng(5), rate=0.0), frames)
