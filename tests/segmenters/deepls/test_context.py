from __future__ import annotations

import numpy as np
import pytest

from streamseg.segmenters.deepls.context import window_context


@pytest.mark.parametrize("n", [2, 3, 16, 31, 32])
@pytest.mark.parametrize("shape", [(12, 16), (12, 16, 3)])
def test_context_equals_numpy_median_and_mad(n, shape):
    frames = np.random.default_rng(n).random((n, *shape), dtype=np.float32)
    med = np.median(frames, axis=0)
    mad = 1.4826 * np.median(np.abs(frames - med), axis=0)
    chw = [p[None] if p.ndim == 2 else p.transpose(2, 0, 1) for p in (med, mad)]
    np.testing.assert_array_equal(window_context(frames, "median_mad"), np.concatenate(chw))
    np.testing.assert_array_equal(window_context(frames, "median"), chw[0])
    assert window_context(frames, "none").shape == (0, 12, 16)


def test_integer_frames_do_not_wrap():
    frames = np.array([[[10]], [[250]], [[20]]], np.uint8)
    med, mad = window_context(frames, "median_mad")[:, 0, 0]
    assert med == 20 and abs(mad - 1.4826 * 10) < 1e-4
