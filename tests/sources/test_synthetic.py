from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import streamseg as ss
from streamseg.errors import ConfigError
from streamseg.evaluation.cdnet import CDnetSequence
from streamseg.sources import parse_synthetic
from streamseg.sources.synthetic import SyntheticScene


def test_deterministic_and_random_access():
    a, b = SyntheticScene(width=64, height=48, seed=5), SyntheticScene(width=64, height=48, seed=5)
    img_a, gt_a = a.render(17)
    for t in range(3):
        b.render(t)
    img_b, gt_b = b.render(17)
    assert np.array_equal(img_a, img_b) and np.array_equal(gt_a, gt_b)
    assert not np.array_equal(img_a, SyntheticScene(width=64, height=48, seed=6).render(17)[0])


def test_ground_truth_is_exact_objects():
    scene = SyntheticScene(width=160, height=120, frames=100, seed=0, noise=0.0)
    covered = [np.count_nonzero(scene.render(t)[1]) for t in range(0, 100, 10)]
    assert all(c > 0 for c in covered)
    assert set(np.unique(scene.render(5)[1])) <= {0, 255}
    # Where the truth says background, the frame equals the background model (noise off).
    img, gt = scene.render(3)
    background = scene._model[0]
    drift = 1.0 + 0.06 * np.sin(2 * np.pi * 3 / 250.0)
    rows, cols = scene.water
    outside_water = np.ones(gt.shape, bool)
    outside_water[rows, cols] = False
    sel = (gt == 0) & outside_water
    expected = np.clip(background * drift, 0, 255).astype(np.uint8)
    assert np.abs(img[sel].astype(int) - expected[sel].astype(int)).max() <= 1


def test_one_object_stops_then_moves_on():
    scene = SyntheticScene(width=160, height=120, frames=200, seed=0)
    a, b = scene.stop_interval
    obj = scene._model[2][2]
    assert obj.position(a) == obj.position(b - 1)
    assert obj.position(a - 5) != obj.position(a)
    assert obj.position(b + 5) != obj.position(b - 1)


def test_water_is_dynamic_background():
    scene = SyntheticScene(width=160, height=120, frames=50, seed=0, noise=0.0)
    rows, cols = scene.water
    f0, g0 = scene.render(0)
    f1, g1 = scene.render(1)
    still = (g0[rows, cols] == 0) & (g1[rows, cols] == 0)
    assert np.abs(f0[rows, cols].astype(int) - f1[rows, cols].astype(int))[still].mean() > 3


def test_illumination_jump():
    scene = SyntheticScene(
        width=64,
        height=48,
        frames=40,
        seed=0,
        noise=0,
        illumination_jump_at=20,
        illumination_jump=0.3,
    )
    before, after = scene.render(19)[0].mean(), scene.render(20)[0].mean()
    assert after > before * 1.2


def test_parse_synthetic_uri():
    scene = parse_synthetic("synthetic:frames=12,size=80x64,seed=4,noise=0")
    assert (scene.frames, scene.width, scene.height, scene.seed, scene.noise) == (12, 80, 64, 4, 0)
    with pytest.raises(ConfigError, match="unknown parameter 'fames'"):
        parse_synthetic("synthetic:fames=3")
    with pytest.raises(ConfigError, match="key=value"):
        parse_synthetic("synthetic:12")


def test_source_and_written_sequence(synthetic_sequence: Path, small_scene: SyntheticScene):
    seq = CDnetSequence(synthetic_sequence)
    # numbered from 1 as in CDnet: scene frame t is in/gt{t + 1}
    assert seq.temporal_roi == (11, 60) and seq.roi is not None
    img, gt = small_scene.render(12)
    assert np.array_equal(seq.ground_truth(13), gt)
    with ss.open_source(synthetic_sequence) as src:
        frames = list(src)
    assert np.array_equal(frames[12].image, img) and frames[12].number == 13
    with ss.open_source(synthetic_sequence / "synthetic.mp4") as src:
        assert sum(1 for _ in src) == 60


def test_stress_options_render_what_they_say():
    """Each stress option of the scene changes what it names and keeps the truth exact."""
    base = SyntheticScene(width=80, height=60, frames=60, seed=1)
    shaken = SyntheticScene(width=80, height=60, frames=60, seed=1, shake=3.0)
    moved = [
        not np.array_equal(shaken.render(t)[0][10:-10, 10:-10], base.render(t)[0][10:-10, 10:-10])
        for t in range(5)
    ]
    assert all(moved)
    sway = SyntheticScene(width=80, height=60, frames=60, seed=1, sway=3.0)
    rows, cols = sway.foliage
    a, b = sway.render(0), sway.render(9)
    assert not np.array_equal(a[0][rows, cols], b[0][rows, cols])  # the leaves move
    stop = SyntheticScene(width=80, height=60, frames=2000, seed=1, stop_seconds=40.0)
    start, end = stop.stop_interval
    assert end - start == 40 * 25
    large = SyntheticScene(width=80, height=60, frames=400, seed=1, large=0.6)
    assert max((large.render(t)[1] > 0).mean() for t in range(0, 400, 20)) > 0.4


@pytest.mark.parametrize(("field", "value"), [("shake", -1), ("sway", -1), ("large", 1.0)])
def test_stress_options_are_checked(field, value):
    with pytest.raises(ConfigError, match=field):
        SyntheticScene(**{field: value})
