from __future__ import annotations

import numpy as np
import pytest

from streamseg.errors import ConfigError
from streamseg.segmenters.deepls.memory import MemoryConfig, PixelMemory


def _scene(
    seed: int = 0, size: tuple[int, int] = (60, 80), colour: bool = True, span: tuple = (40, 210)
) -> np.ndarray:
    rng = np.random.default_rng(seed)
    import cv2

    small = rng.uniform(*span, (size[0] // 8, size[1] // 8, 3)).astype(np.float32)
    scene = cv2.resize(small, (size[1], size[0]), interpolation=cv2.INTER_CUBIC)
    scene = np.clip(scene, 0, 255).astype(np.uint8)
    return scene if colour else cv2.cvtColor(scene, cv2.COLOR_BGR2GRAY)


def _noisy(image: np.ndarray, rng: np.random.Generator, sigma: float = 2.0) -> np.ndarray:
    return np.clip(image + rng.normal(0, sigma, image.shape), 0, 255).astype(np.uint8)


def _run(memory: PixelMemory, frames: list[np.ndarray]) -> list[np.ndarray]:
    masks = []
    for frame in frames:
        mask = memory.apply(frame)
        memory.learn(frame, mask)
        masks.append(mask)
    return masks


def test_an_object_is_found_and_the_still_background_is_not():
    rng = np.random.default_rng(1)
    scene = _scene()
    frames = [_noisy(scene, rng) for _ in range(30)]
    for t in range(10, 30):
        frames[t][20:40, 2 * t : 2 * t + 12] = (250, 30, 30)
    masks = _run(PixelMemory(), frames)
    box = np.zeros(scene.shape[:2], bool)
    box[20:40, 58:70] = True
    assert (masks[-1][box] > 0).mean() > 0.9
    assert (masks[-1][~box] > 0).mean() < 0.02
    assert all(not m.any() for m in masks[1:10])  # noise alone is background


def test_a_stopped_object_stays_foreground_for_as_long_as_it_stays():
    """The memory learns only background: an object that stops is never absorbed."""
    rng = np.random.default_rng(2)
    scene = _scene()
    frames = [_noisy(scene, rng) for _ in range(600)]
    for t in range(5, 600):
        x = min(2 * t, 40)  # walks in, then stands still from frame 20 on
        frames[t][15:45, x : x + 14] = (20, 200, 90)
    masks = _run(PixelMemory(), frames)
    box = np.zeros(scene.shape[:2], bool)
    box[15:45, 40:54] = True
    recall = [(m[box] > 0).mean() for m in masks[100::100]]
    assert min(recall) > 0.9  # still found 580 frames (23 s at 25 fps) after it stopped


def _leaving(scene: np.ndarray, rng: np.random.Generator, n: int) -> list[np.ndarray]:
    """A box stands in the first 20 frames, then walks off to the right."""
    frames = []
    for t in range(n):
        frame = _noisy(scene, rng)
        x = 10 if t < 20 else 10 + 3 * (t - 20)
        if x < 80:
            frame[15:45, x : x + 12] = (30, 30, 240)
        frames.append(frame)
    return frames


def test_a_ghost_is_healed_at_once_where_its_outline_is_no_edge_of_the_frame():
    """Where the box stood is a ghost: its outline is an edge of the memory, not of the frame."""
    rng = np.random.default_rng(3)
    scene = _scene(span=(110, 150))  # a plain wall: the box's outline is the only edge
    old = np.zeros(scene.shape[:2], bool)
    old[15:45, 10:22] = True
    masks = _run(PixelMemory(), _leaving(scene, rng, 60))
    assert (masks[35][old] > 0).mean() < 0.05  # 15 frames after it left
    masks = _run(PixelMemory(MemoryConfig(ghosts=0)), _leaving(scene, rng, 60))
    assert (masks[35][old] > 0).mean() > 0.5  # without the test: still there


def test_apply_changes_nothing_until_learn():
    """A frame judged twice (a score, then the mask) leaves the memory as judging it once.

    The box leaves its ghost, which is healed: the healing is learning, done by learn().
    """
    frames = _leaving(_scene(span=(110, 150)), np.random.default_rng(3), 40)
    once, twice = PixelMemory(), PixelMemory()
    for frame in frames:
        twice.apply(frame)
        a, b = once.apply(frame), twice.apply(frame)
        assert np.array_equal(a, b)
        once.learn(frame, a)
        twice.learn(frame, b)
    assert np.array_equal(once.background(), twice.background())
    assert np.array_equal(once._samples, twice._samples)  # the healing drew samples once


def test_a_ghost_on_a_textured_background_fills_in_from_its_rim():
    """Texture hides the outline from the edge test; the spatial diffusion still heals it.

    (Slowly where neighbouring pixels differ by more than the match radius: on the
    strongest texture of ``_scene`` half the ghost is left after 1,500 frames.)
    """
    rng = np.random.default_rng(3)
    scene = _scene(span=(70, 180))
    old = np.zeros(scene.shape[:2], bool)
    old[15:45, 10:22] = True
    masks = _run(PixelMemory(), _leaving(scene, rng, 250))
    ghost = [(m[old] > 0).mean() for m in masks[50::50]]
    assert ghost[0] > 0.3 and ghost[-1] < 0.05


def test_a_global_brightness_change_is_not_foreground():
    rng = np.random.default_rng(4)
    scene = _scene()
    frames = [_noisy(scene, rng) for _ in range(20)]
    brighter = np.clip(scene.astype(int) + 35, 0, 255).astype(np.uint8)
    frames += [_noisy(brighter, rng) for _ in range(5)]
    masks = _run(PixelMemory(), frames)
    assert (masks[-1] > 0).mean() < 0.05
    off = _run(PixelMemory(MemoryConfig(exposure=False)), frames)
    assert (off[-1] > 0).mean() > 0.5  # without the compensation the whole frame changed


def test_a_sparkling_background_is_learned():
    """Pixels that jump between two values at random (sparkle on water) become background."""
    rng = np.random.default_rng(5)
    scene = _scene()
    frames = []
    for _ in range(150):
        frame = _noisy(scene, rng)
        patch = frame[5:25, 5:25].astype(int)
        sparkle = rng.random((20, 20, 1)) < 0.2
        frame[5:25, 5:25] = np.clip(patch + 60 * sparkle, 0, 255)
        frames.append(frame)
    masks = _run(PixelMemory(), frames)
    assert np.mean([(m[5:25, 5:25] > 0).mean() for m in masks[-20:]]) < 0.1


def test_one_seed_reproduces_bit_for_bit_and_memories_do_not_share_randomness():
    rng = np.random.default_rng(6)
    scene = _scene()
    frames = [_noisy(scene, rng) for _ in range(40)]
    for t in range(5, 40):
        frames[t][10:30, t : t + 10] = 255
    a = _run(PixelMemory(seed=3), frames)
    # Interleaved with another memory on one thread: the same masks as alone.
    b, other = PixelMemory(seed=3), PixelMemory(seed=4)
    masks_b = []
    for frame in frames:
        other.learn(frame, other.apply(frame))
        mask = b.apply(frame)
        b.learn(frame, mask)
        masks_b.append(mask)
    assert all(np.array_equal(x, y) for x, y in zip(a, masks_b, strict=True))


@pytest.mark.parametrize("colour", [True, False])
def test_large_frames_are_compared_at_the_working_size(colour: bool):
    rng = np.random.default_rng(7)
    scene = _scene(size=(240, 320), colour=colour)
    memory = PixelMemory(MemoryConfig(area=4800))
    frames = [_noisy(scene, rng) for _ in range(10)]
    frames[-1][100:160, 100:180] = 0 if colour else 0
    masks = _run(memory, frames)
    assert masks[-1].shape == (240, 320)
    assert (masks[-1][110:150, 110:170] > 0).mean() > 0.9
    background = memory.background()
    assert background is not None and background.shape[:2] == (60, 80)
    assert memory.nbytes() < 20 * 4800 * 3 * 2


def test_learn_does_not_learn_the_given_foreground():
    rng = np.random.default_rng(8)
    scene = _scene()
    memory = PixelMemory()
    first = _noisy(scene, rng)
    memory.learn(first, memory.apply(first))
    frame = _noisy(scene, rng)
    frame[10:30, 10:30] = 255
    hide = np.zeros(scene.shape[:2], np.uint8)
    for _ in range(200):  # the caller says it is foreground, whatever the memory decides
        memory.apply(frame)
        hide[10:30, 10:30] = 255
        memory.learn(frame, hide)
    assert (memory.apply(frame)[12:28, 12:28] > 0).mean() > 0.9


@pytest.mark.parametrize(
    ("field", "value"),
    [("samples", 1), ("matches", 0), ("radius", 0), ("radius_min", 2.0), ("period", 0.5),
     ("ghosts", -1), ("area", 10)],
)  # fmt: skip
def test_bad_parameters_are_refused(field: str, value: float):
    with pytest.raises(ConfigError, match=field.split("_")[0]):
        MemoryConfig(**{field: value})


def test_what_it_hands_out_is_the_callers_to_change():
    """A background drawn on, or a mask buffer reused, must not change what it decides."""
    rng = np.random.default_rng(0)
    scene = _scene()
    frames = [_noisy(scene, rng) for _ in range(6)]
    brighter = np.clip(scene.astype(int) + 30, 0, 255).astype(np.uint8)  # a light goes on
    kept, meddled = PixelMemory(), PixelMemory()
    for frame in frames:
        for memory in (kept, meddled):
            mask = memory.apply(frame)
            memory.learn(frame, mask)
        mask[:] = 255  # the caller reuses its buffer (meddled's, the last one learned)
    meddled.background()[:] = 0  # and draws on the background it was given
    assert np.array_equal(kept.background(), meddled.background())
    assert np.array_equal(kept.apply(brighter), meddled.apply(brighter))


def test_a_new_frame_size_is_learned_before_it_is_scored():
    memory = PixelMemory()
    _run(memory, [_scene(size=(48, 64))] * 3)
    memory.apply(_scene(size=(40, 64)))
    assert memory.score() is None and memory.ratio() is None
    memory.reset()
    assert memory.frame_shape == () and not memory.started


def test_a_bad_seed_is_refused_at_once():
    with pytest.raises(ConfigError, match="seed"):
        PixelMemory(seed=-1)
