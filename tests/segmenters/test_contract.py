"""The contract every registered method keeps (river's check suite, run on all of available())."""

from __future__ import annotations

import numpy as np
import pytest

import streamseg as ss
from streamseg.errors import ClosedError, ConfigError, FrameError
from streamseg.sources.synthetic import SyntheticScene

METHODS = ss.available()
SCENE = SyntheticScene(width=48, height=32, frames=40, seed=2)


def frames(n: int = 12, gray: bool = False) -> list[np.ndarray]:
    out = [SCENE.render(t)[0] for t in range(n)]
    return [f.mean(axis=2).astype(np.uint8) for f in out] if gray else out


def make(name: str) -> ss.Segmenter:
    cls = ss.registry.method_class(name)
    return ss.create(name, **cls._unit_test_params())


@pytest.fixture(params=METHODS)
def name(request) -> str:
    return request.param


@pytest.mark.parametrize("gray", [False, True])
def test_mask_shape_dtype_values(name, gray):
    with make(name) as seg:
        for image in frames(gray=gray):
            mask = seg.apply(image)
            assert mask.shape == image.shape[:2] and mask.dtype == np.uint8
            assert set(np.unique(mask)) <= {0, 255}


def test_score_is_float_in_unit_range(name):
    with make(name) as seg:
        for image in frames(8):
            seg.apply(image)
        score = seg.score_one(frames(9)[-1])
    assert score.shape == (32, 48) and score.dtype == np.float32
    assert 0.0 <= score.min() and score.max() <= 1.0


def test_predict_one_does_not_change_the_model(name):
    cls = ss.registry.method_class(name)
    if not (cls.stateless_predict and cls.deterministic):
        pytest.skip(f"{name}: predict_one cannot be side-effect free (see its docs)")
    data = frames(12)
    with make(name) as a, make(name) as b:
        for image in data[:8]:
            a.apply(image)
            b.apply(image)
        b.predict_one(data[10])
        b.predict_one(data[11])
        for image in data[8:]:
            assert np.array_equal(a.apply(image), b.apply(image))


def test_a_score_taken_before_each_frame_does_not_change_the_masks(name):
    """What ``streamseg eval`` does for its precision-recall curves must not move the masks."""
    cls = ss.registry.method_class(name)
    if not (cls.continuous_score and cls.stateless_predict and cls.deterministic):
        pytest.skip(f"{name}: no side-effect-free score (see its docs)")
    with make(name) as a, make(name) as b:
        for image in frames(12):
            b.score_one(image)
            assert np.array_equal(a.apply(image), b.apply(image))


def test_learning_rate_zero_does_not_learn(name):
    cls = ss.registry.method_class(name)
    if cls.cannot_freeze:
        with make(name) as seg:
            seg.apply(frames(1)[0])
            with pytest.raises(ConfigError, match=f"{name} cannot segment without learning"):
                seg.apply(frames(2)[1], learning_rate=0)
        return
    if not (cls.stateless_predict and cls.deterministic):
        pytest.skip(f"{name}: learning_rate=0 still touches the model (see its docs)")
    data = frames(12)
    with make(name) as a, make(name) as b:
        for image in data[:8]:
            a.apply(image)
            b.apply(image)
        b.apply(data[11], learning_rate=0)
        for image in data[8:11]:
            assert np.array_equal(a.apply(image), b.apply(image))


def test_reset_equals_a_fresh_instance(name):
    cls = ss.registry.method_class(name)
    if not cls.deterministic:
        pytest.skip(f"{name} is not deterministic")
    data = frames(10)
    with make(name) as used, make(name) as fresh:
        for image in data[5:]:
            used.apply(image)
        used.reset()
        for image in data:
            assert np.array_equal(used.apply(image), fresh.apply(image))


def test_learning_rate_one_restarts(name):
    with make(name) as seg:
        for image in frames(6):
            seg.apply(image)
        mask = seg.apply(frames(7)[-1], learning_rate=1)
        assert mask.shape == (32, 48)


def test_frame_size_change_restarts_cleanly(name):
    with make(name) as seg:
        for image in frames(4):
            seg.apply(image)
        bigger = SyntheticScene(width=64, height=48, seed=2).render(0)[0]
        assert seg.apply(bigger).shape == (48, 64)
        assert seg.apply(frames(1, gray=True)[0]).shape == (32, 48)


@pytest.mark.parametrize(
    "bad",
    [
        np.zeros((32, 48, 3), np.float32),
        np.zeros((32, 48, 2), np.uint8),
        np.zeros(10, np.uint8),
        "frame",
    ],
)
def test_bad_input_is_a_frame_error(name, bad):
    with make(name) as seg, pytest.raises(FrameError, match="expected a uint8 image"):
        seg.apply(bad)


def test_bgra_is_accepted(name):
    with make(name) as seg:
        assert seg.apply(np.zeros((32, 48, 4), np.uint8)).shape == (32, 48)


def test_close_is_idempotent_and_repr_shows_config(name):
    seg = make(name)
    seg.apply(frames(1)[0])
    seg.close()
    seg.close()
    # A closed method has lost its threads and sessions: it says so rather than answer.
    for call in (seg.apply, seg.predict_one, seg.score_one, seg.learn_one):
        with pytest.raises(ClosedError, match="after close"):
            call(frames(1)[0])
    text = repr(seg)
    fields = list(seg.config.__dataclass_fields__)
    assert text.startswith(type(seg).__name__ + "(") and text.endswith(")")
    assert all(f"{name}=" in text for name in fields)


def test_background_matches_the_frame(name):
    with make(name) as seg:
        for image in frames(6):
            seg.apply(image)
        bg = seg.background()
    assert bg is None or bg.shape[:2] == (32, 48)


def test_ready_and_stats(name):
    with make(name) as seg:
        for image in frames(4):
            seg.apply(image)
        assert isinstance(seg.ready, bool)
        assert isinstance(seg.stats(), dict)


def test_results_do_not_depend_on_the_callers_buffer(name):
    # A host application decodes into one buffer and reuses it: nothing a method
    # returns later may change when that buffer is overwritten.
    buffer = np.empty((32, 48, 3), np.uint8)
    with make(name) as seg:
        for image in frames(10):
            buffer[:] = image
            mask = seg.apply(buffer)
        background = seg.background()
        kept = (mask.copy(), None if background is None else background.copy())
        buffer[:] = 0
        assert np.array_equal(mask, kept[0])
        after = seg.background()
        assert (after is None) == (kept[1] is None)
        assert after is None or np.array_equal(after, kept[1])


@pytest.mark.parametrize("rate", ["fast", "0.5", None, True, float("nan"), float("inf"), 2.0])
def test_a_learning_rate_that_is_no_rate_is_refused(name, rate):
    with make(name) as seg, pytest.raises(ConfigError, match="learning_rate must be a number"):
        seg.apply(frames(1)[0], learning_rate=rate)


def test_warm_up_masks_are_zeros_and_not_ready(name):
    # While a method is not ready its masks are all zeros (never a frame-wide alarm),
    # and every mask it calls ready comes from a model that has seen the scene.
    still = frames(1)[0]
    with make(name) as seg:
        for _ in range(12):
            ready = seg.ready  # said before the frame, as the pipeline counts warm-up
            mask = seg.apply(still)
            assert ready or not mask.any()
            assert not (mask == 255).all()  # a still scene is never one big alarm
        assert seg.ready


def test_frames_below_the_minimum_size_are_refused(name):
    cls = ss.registry.method_class(name)
    h, w = cls.min_size
    message = f"at least {w}x{h}" if h > 2 else "degenerate shape"  # 2x2: check_image's own
    with make(name) as seg, pytest.raises(FrameError, match=message):
        seg.apply(np.zeros((h - 1, w, 3), np.uint8))


def test_a_timestamp_must_be_a_finite_number(name):
    with make(name) as seg:
        for bad in ("soon", float("nan"), True):
            with pytest.raises(ConfigError, match="timestamp must be"):
                seg.apply(frames(1)[0], timestamp=bad)


@pytest.mark.parametrize("method", [m for m in METHODS if m in ("deepls", "slnet", "rpca")])
def test_a_window_sampled_by_time_keeps_one_frame_per_interval(method):
    params = {**ss.registry.method_class(method)._unit_test_params(), "window": 20}
    with ss.create(method, **params, interval=0.5) as seg:
        for t, image in enumerate(frames(24)):
            seg.apply(image, timestamp=t * 0.125)  # 8 frames a second: every 4th is kept
        assert len(seg._window) == 6


def test_the_capabilities_match_the_config(name):
    """What a method declares (the layers above read it instead of its name) its Config has."""
    from streamseg.params import config_fields

    cls = ss.registry.method_class(name)
    fields = config_fields(cls.Config)
    if cls.checkpointable:
        assert {"weights", "start", "save"} <= set(fields)
        assert cls.save is not ss.Segmenter.save
    else:
        with make(name) as seg, pytest.raises(NotImplementedError, match="no checkpoint"):
            seg.save("never-written.pt")
    if cls.wants_source_fps:
        assert fields["fps"][1] == 0
    if cls.trains_on_clip:
        assert {"net", "train", "area", "mask", "seed"} <= set(fields)
    assert set(cls.reproducible) <= set(fields)
    ss.create(name, **{**cls._unit_test_params(), **cls.reproducible}).close()
