"""The simulated microscopy stacks: seeded, 16-bit, and their truth is the truth."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from streamseg.errors import ConfigError
from streamseg.sources.simulated import (
    SMLMConfig,
    TimelapseConfig,
    psf_photons,
    simulate_smlm,
    simulate_timelapse,
)

SMALL = SMLMConfig(frames=60, size=(48, 56), sites=400, blobs=2)


def test_smlm_is_seeded_and_sixteen_bit():
    a, b = simulate_smlm(SMALL, seed=3), simulate_smlm(SMALL, seed=3)
    np.testing.assert_array_equal(a.raw, b.raw)
    np.testing.assert_array_equal(a.emitters, b.emitters)
    assert a.raw.dtype == np.uint16 and a.raw.shape == (60, 48, 56)
    assert not np.array_equal(a.raw, simulate_smlm(SMALL, seed=4).raw)


def test_smlm_background_truth_is_the_raw_frames_without_emitters():
    sim = simulate_smlm(SMALL, seed=0)
    far = np.ones(sim.raw.shape, bool)  # pixels 4 px or more from every on emitter
    for t, y, x, _ in sim.emitters:
        far[int(t), max(0, int(y) - 4) : int(y) + 5, max(0, int(x) - 4) : int(x) + 5] = False
    residual = sim.raw.astype(np.float64)[far] - sim.background[far]
    c = SMALL
    photons = (sim.background[far] - c.offset) / c.gain
    noise = c.gain * np.sqrt(photons + c.read_noise**2)  # in ADU
    assert abs(residual.mean()) < 0.05 * noise.mean()  # unbiased
    assert np.std(residual / noise) == pytest.approx(1.0, abs=0.05)  # Poisson + read noise


def test_smlm_emitters_are_where_the_table_says_with_the_photons_of_the_sbr():
    sim = simulate_smlm(SMALL, seed=1)
    assert len(sim.emitters) > 60  # several per frame
    t, y, x, n = sim.emitters.T
    assert ((0 <= y) & (y < 48) & (0 <= x) & (x < 56)).all()
    assert np.mean(n) == pytest.approx(SMALL.photons, rel=0.15)
    assert SMALL.photons == pytest.approx(psf_photons(1.3, 0.5, 100.0))
    excess = sim.raw[t.astype(int), np.rint(y).astype(int), np.rint(x).astype(int)].astype(float)
    excess -= sim.background[t.astype(int), np.rint(y).astype(int), np.rint(x).astype(int)]
    # The peak pixel holds about sbr x background photons (x gain), less for off-centre ones.
    peak = SMALL.sbr * SMALL.background * SMALL.gain
    assert 0.5 * peak < np.median(excess) < 1.1 * peak


def test_smlm_emitters_blink():
    sim = simulate_smlm(SMALL, seed=2)
    per_frame = np.bincount(sim.emitters[:, 0].astype(int), minlength=60)
    expected = SMALL.sites * SMALL.on_fraction
    assert per_frame.mean() == pytest.approx(expected, rel=0.3)
    sites = {(round(float(y), 3), round(float(x), 3)) for _, y, x, _ in sim.emitters}
    assert len(sites) > 3 * expected  # different fluorophores over time, not the same ones


def test_timelapse_masks_are_exact_and_cells_divide():
    c = TimelapseConfig(frames=40, size=(64, 64), cells=4, radius=7, divisions=1.0)
    sim = simulate_timelapse(c, seed=0)
    again = simulate_timelapse(c, seed=0)
    np.testing.assert_array_equal(sim.raw, again.raw)
    assert sim.raw.dtype == np.uint16 and sim.masks.dtype == bool
    raw = sim.raw.astype(np.float64)
    # Outside the masks the frames are the background plus zero-mean noise; inside, brighter.
    outside = raw[~sim.masks] - sim.background[~sim.masks]
    inside = raw[sim.masks] / sim.background[sim.masks]
    assert abs(outside.mean()) < 0.5
    assert inside.mean() > 1.2
    # Right at the mask's rim the truth flips: the ring just outside is background.
    ring = cv2.dilate(sim.masks[10].astype(np.uint8), np.ones((3, 3), np.uint8)) > 0
    ring &= ~sim.masks[10]
    assert abs((raw[10][ring] - sim.background[10][ring]).mean()) < 3 * c.gain
    counts = [cv2.connectedComponents(m.astype(np.uint8))[0] - 1 for m in sim.masks]
    assert counts[-1] > counts[0]  # cells divided
    moved = np.logical_xor(sim.masks[0], sim.masks[-1]).sum()
    assert moved > sim.masks[0].sum()  # cells drifted off where they started


def test_bad_configurations_are_refused():
    with pytest.raises(ConfigError, match="sbr"):
        SMLMConfig(sbr=0)
    with pytest.raises(ConfigError, match="size"):
        TimelapseConfig(size=(8, 8))
