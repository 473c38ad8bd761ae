"""The stack methods' registry and the classic backgrounds: temporal median, rolling ball."""

from __future__ import annotations

import numpy as np
import pytest

from streamseg.errors import ConfigError
from streamseg.segmenters.stack import (
    Decomposition,
    create_stack_method,
    stack_method_class,
    stack_methods,
)


def test_methods_are_listed_and_created_by_name():
    assert stack_methods() == ["deepls", "median", "rolling-ball", "slnet"]
    assert stack_method_class("median").name == "median"
    with pytest.raises(ConfigError, match="unknown stack method 'mean'.*available: deepls"):
        create_stack_method("mean")
    with pytest.raises(ConfigError, match="window"):
        create_stack_method("median", window=0)
    with pytest.raises(ConfigError, match="unknown parameter"):
        create_stack_method("median", windw=3)


def test_a_decomposition_splits_a_frame_into_background_and_a_non_negative_rest():
    d = Decomposition(0, np.array([[5.0, 1.0]], np.float32), np.array([[2.0, 3.0]], np.float32))
    assert d.residual.tolist() == [[3.0, -2.0]]
    assert d.sparse.tolist() == [[3.0, 0.0]]


@pytest.mark.parametrize("mode", ["centred", "causal"])
@pytest.mark.parametrize("window", [1, 4, 7, 30, 99])
def test_the_temporal_median_is_numpys_median_over_its_window(mode, window):
    stack = (np.random.default_rng(1).random((30, 5, 6)) * 60000).astype(np.uint16)
    method = create_stack_method("median", window=window, mode=mode)
    parts = list(method.decompose(stack))
    assert [p.index for p in parts] == list(range(30))
    w = min(window, 30)
    for p in parts:
        t = p.index
        lo = max(0, t - w + 1) if mode == "causal" else min(max(0, t - w // 2), 30 - w)
        hi = t + 1 if mode == "causal" else lo + w
        np.testing.assert_allclose(p.background, np.median(stack[lo:hi], axis=0))
        np.testing.assert_array_equal(p.frame, stack[t])
        assert p.background.dtype == np.float32
    later = list(method.decompose(stack, start=12))
    assert later[0].index == 12
    np.testing.assert_array_equal(later[0].background, parts[12].background)


def test_the_median_ignores_a_blink_and_keeps_what_stays():
    stack = np.full((21, 8, 8), 100.0, np.float32)
    stack[10, 2, 2] = 1000  # one frame: a blink
    stack[:, 5, 5] = 700  # always there: background
    part = list(create_stack_method("median", window=9).decompose(stack))[10]
    assert part.background[2, 2] == 100 and part.sparse[2, 2] == 900
    assert part.background[5, 5] == 700 and part.sparse[5, 5] == 0


@pytest.mark.parametrize("params", [{}, {"smooth": 0}, {"shrink": 2, "radius": 12}])
def test_the_rolling_ball_keeps_a_spot_over_a_slope_as_foreground(params):
    pytest.importorskip("skimage")
    yy, xx = np.mgrid[0:64, 0:64].astype(np.float32)
    frame = 200 + 0.5 * xx + 900 * np.exp(-((yy - 30) ** 2 + (xx - 30) ** 2) / (2 * 1.5**2))
    part = next(create_stack_method("rolling-ball", **params).decompose(frame[None]))
    away = np.hypot(yy - 30, xx - 30) > 8
    assert part.sparse[30, 30] > 700
    assert np.abs(part.residual[away]).mean() < 15
    assert (part.background <= frame.max()).all()
