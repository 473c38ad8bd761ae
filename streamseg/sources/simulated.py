"""Simulated microscopy stacks with exact ground truth: SMLM blinking and cell time-lapse.

Both simulators are seeded (the same configuration and seed give the same stack, bit for
bit) and return the raw 16-bit stack with what a method should recover.

* :func:`simulate_smlm`, single-molecule localisation microscopy (STORM/PALM): fluorophores
  sit on a few filaments and blink (a two-state Markov chain: a short *on* burst, long
  *off*); an *on* fluorophore images as a pixel-integrated Gaussian PSF. The background
  is what makes SMLM hard: a camera offset, autofluorescence with spatial structure that
  bleaches slowly, and out-of-focus cells (broad blobs) that drift and brighten or fade
  slowly. Photons are Poisson, the camera adds Gaussian read noise, gain and offset. The
  signal-to-background ratio ``sbr`` is the peak photons of a mean emitter over the mean
  background photons per pixel. Truth: the noise-free background in ADU, and every *on*
  emitter (frame, y, x, photons).
* :func:`simulate_timelapse`, fluorescent cells over time: textured cells that drift,
  deform (their outline is a circle with slowly varying 2nd and 3rd harmonics) and divide
  (a cell pinches into two daughters that move apart), under uneven illumination (a
  gradient and smooth structure) that slowly changes, on an autofluorescent background,
  with Poisson and read noise. Truth: the exact cell masks and the noise-free background.

Example:
    >>> from streamseg.sources.simulated import SMLMConfig, simulate_smlm
    >>> sim = simulate_smlm(SMLMConfig(frames=20, size=(32, 40), sites=200), seed=1)
    >>> sim.raw.shape, sim.raw.dtype, sim.background.dtype
    ((20, 32, 40), dtype('uint16'), dtype('float32'))
    >>> bool((sim.emitters[:, 0] < 20).all())  # (frame, y, x, photons) of each on emitter
    True
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np

from streamseg.params import check

__all__ = [
    "SMLMConfig",
    "SMLMStack",
    "TimelapseConfig",
    "TimelapseStack",
    "psf_photons",
    "simulate_smlm",
    "simulate_timelapse",
]


def _smooth_field(rng: np.random.Generator, h: int, w: int, scale: float) -> np.ndarray:
    """Smooth random structure at about ``scale`` pixels, in [0, 1]."""
    gh, gw = max(2, round(h / scale) + 2), max(2, round(w / scale) + 2)
    coarse = rng.random((gh, gw)).astype(np.float32)
    field = cv2.resize(coarse, (w, h), interpolation=cv2.INTER_CUBIC)
    field = cv2.GaussianBlur(field, (0, 0), scale / 4)
    lo, hi = float(field.min()), float(field.max())
    return (field - lo) / max(hi - lo, 1e-6)


def _camera(
    rng: np.random.Generator, photons: np.ndarray, gain: float, offset: float, read: float
) -> np.ndarray:
    """Photons → a 16-bit camera frame: Poisson shot noise, gain, read noise, offset."""
    electrons = rng.poisson(np.maximum(photons, 0)).astype(np.float32)
    adu = offset + gain * (electrons + rng.normal(0.0, read, photons.shape))
    return np.clip(np.rint(adu), 0, 65535).astype(np.uint16)


def psf_photons(sigma: float, sbr: float, background: float) -> float:
    """Photons of an emitter whose peak pixel is ``sbr`` times the background per pixel."""
    return sbr * background * 2 * math.pi * sigma**2


@dataclass(frozen=True)
class SMLMConfig:
    """An SMLM acquisition to simulate.

    Attributes:
        frames: frames of the stack.
        size: ``(height, width)`` in pixels.
        sbr: signal-to-background ratio: a mean emitter's peak photons over the mean
            background photons per pixel.
        background: mean background photons per pixel (autofluorescence and
            out-of-focus light) in the first frame.
        psf_sigma: the PSF's standard deviation in pixels.
        sites: fluorophores, on ``filaments`` random smooth curves.
        filaments: curves the fluorophores sit on.
        on_fraction: the share of fluorophores on in a frame (the chain's steady state).
        on_frames: mean frames of an *on* burst.
        bleach: fraction of the autofluorescence gone by the last frame.
        blobs: out-of-focus cells: broad blobs that drift and fade or brighten slowly.
        offset: the camera's offset in ADU.
        gain: ADU per photo-electron.
        read_noise: the camera's read noise in electrons (standard deviation).
    """

    frames: int = 500
    size: tuple[int, int] = (128, 128)
    sbr: float = 0.5
    background: float = 100.0
    psf_sigma: float = 1.3
    sites: int = 1500
    filaments: int = 6
    on_fraction: float = 0.015
    on_frames: float = 2.5
    bleach: float = 0.3
    blobs: int = 3
    offset: float = 100.0
    gain: float = 2.0
    read_noise: float = 1.5

    def __post_init__(self) -> None:
        check(self.frames >= 1, "frames must be >= 1")
        check(min(self.size) >= 8, f"size must be at least 8x8, got {self.size}")
        check(self.sbr > 0 and self.background > 0, "sbr and background must be > 0")
        check(self.psf_sigma > 0, "psf_sigma must be > 0")
        check(self.sites >= 1 and self.filaments >= 1, "sites and filaments must be >= 1")
        check(0 < self.on_fraction < 1, "on_fraction must be in (0, 1)")
        check(self.on_frames >= 1, "on_frames must be >= 1")
        check(0 <= self.bleach < 1, "bleach must be in [0, 1)")
        check(self.gain > 0 and self.read_noise >= 0, "gain must be > 0, read_noise >= 0")

    @property
    def photons(self) -> float:
        """Mean photons of an emitter in one frame."""
        return psf_photons(self.psf_sigma, self.sbr, self.background)


@dataclass(frozen=True)
class SMLMStack:
    """A simulated SMLM stack and its truth.

    Attributes:
        raw: ``(T, H, W)`` uint16, what the camera recorded.
        background: ``(T, H, W)`` float32, the noise-free background in ADU (offset included).
        emitters: ``(n, 4)`` float32: frame, y, x (pixel centres at integers), photons of
            every emitter that is on.
        config: what was simulated.
    """

    raw: np.ndarray
    background: np.ndarray
    emitters: np.ndarray
    config: SMLMConfig

    def emitters_in(self, frame: int) -> np.ndarray:
        """``(k, 2)`` positions (y, x) of the emitters on in ``frame``."""
        return self.emitters[self.emitters[:, 0] == frame, 1:3]


def _filament_sites(rng: np.random.Generator, c: SMLMConfig) -> np.ndarray:
    """``(sites, 2)`` positions along ``filaments`` smooth random curves across the field."""
    h, w = c.size
    per = np.full(c.filaments, c.sites // c.filaments)
    per[: c.sites - per.sum()] += 1
    out = []
    for n in per:
        start = rng.uniform((0.1 * h, 0.1 * w), (0.9 * h, 0.9 * w))
        heading = rng.uniform(0, 2 * math.pi)
        length = max(h, w) * rng.uniform(0.6, 1.2)
        steps = 200
        turn = np.cumsum(rng.normal(0, 0.06, steps))
        ds = length / steps
        ys = start[0] + np.cumsum(ds * np.sin(heading + turn))
        xs = start[1] + np.cumsum(ds * np.cos(heading + turn))
        pick = rng.uniform(0, steps - 1, int(n))
        i = pick.astype(int)
        frac = pick - i
        y = ys[i] * (1 - frac) + ys[i + 1] * frac + rng.normal(0, 0.3, int(n))
        x = xs[i] * (1 - frac) + xs[i + 1] * frac + rng.normal(0, 0.3, int(n))
        out.append(np.stack([y, x], 1))
    sites = np.concatenate(out)
    # Curves that leave the field wrap back in: every site stays on the sensor.
    sites[:, 0] = np.mod(sites[:, 0], h - 1)
    sites[:, 1] = np.mod(sites[:, 1], w - 1)
    return sites


def _add_psf(image: np.ndarray, y: float, x: float, photons: float, sigma: float) -> None:
    """Add a pixel-integrated Gaussian PSF (the photons it puts on each pixel) in place."""
    from math import erf, sqrt

    h, w = image.shape
    r = int(math.ceil(4 * sigma))
    cy, cx = int(round(y)), int(round(x))
    y0, y1, x0, x1 = max(0, cy - r), min(h, cy + r + 1), max(0, cx - r), min(w, cx + r + 1)
    if y0 >= y1 or x0 >= x1:
        return
    s = sqrt(2) * sigma

    def mass(lo: int, hi: int, centre: float) -> np.ndarray:
        edges = np.arange(lo, hi + 1) - 0.5 - centre
        cdf = np.array([0.5 * (1 + erf(e / s)) for e in edges])
        return np.diff(cdf)

    image[y0:y1, x0:x1] += photons * np.outer(mass(y0, y1, y), mass(x0, x1, x))


_Blob = tuple[np.ndarray, np.ndarray, float, float, float]  # centre, drift, width, phase, period


def _smlm_background(
    rng: np.random.Generator, c: SMLMConfig
) -> tuple[np.ndarray, np.ndarray, np.ndarray, list[_Blob]]:
    """The background's parts: the autofluorescence pattern, the pixel grid, the blobs."""
    h, w = c.size
    auto = _smooth_field(rng, h, w, max(h, w) / 8) * 0.8 + _smooth_field(rng, h, w, 6) * 0.2
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    blobs: list[_Blob] = []
    for _ in range(c.blobs):
        centre = rng.uniform((0, 0), (h, w))
        drift = rng.normal(0, 3, 2)  # pixels over the whole stack
        width = rng.uniform(0.08, 0.16) * max(h, w)
        phase, period = rng.uniform(0, 2 * math.pi), rng.uniform(0.8, 2.0) * c.frames
        blobs.append((centre, drift, width, phase, period))
    return auto.astype(np.float32), yy, xx, blobs


def simulate_smlm(config: SMLMConfig | None = None, *, seed: int = 0) -> SMLMStack:
    """Simulate an SMLM stack (see the module's description).

    Args:
        config: what to simulate (defaults: 500 frames of 128×128, SBR 0.5).
        seed: the random seed; the same seed gives the same stack.
    """
    c = config or SMLMConfig()
    rng = np.random.default_rng(seed)
    h, w = c.size
    auto, yy, xx, blobs = _smlm_background(rng, c)
    sites = _filament_sites(rng, c)
    p_stay = 1 - 1 / c.on_frames
    p_on = c.on_fraction * (1 - p_stay) / (1 - c.on_fraction)
    on = rng.random(len(sites)) < c.on_fraction
    brightness = rng.lognormal(0, 0.3, len(sites))
    brightness /= brightness.mean()
    decay = -math.log(1 - c.bleach) / max(1, c.frames - 1)

    def pattern(t: int) -> np.ndarray:
        """The background's shape at frame ``t`` (floor, bleaching autofluorescence, blobs)."""
        bg = np.full((h, w), 0.3, np.float32) + 0.9 * auto * math.exp(-decay * t)
        for centre, drift, width, phase, period in blobs:
            cy, cx = centre + drift * t / max(1, c.frames - 1)
            level = 0.5 * (1 + 0.3 * math.sin(2 * math.pi * t / period + phase))
            bg += level * np.exp(-((yy - cy) ** 2 + (xx - cx) ** 2) / (2 * width**2))
        return bg

    norm = c.background / float(pattern(0).mean())
    raw = np.empty((c.frames, h, w), np.uint16)
    background = np.empty((c.frames, h, w), np.float32)
    emitters = []
    for t in range(c.frames):
        bg = pattern(t) * norm
        photons = bg.copy()
        if t:
            on = np.where(on, rng.random(len(sites)) < p_stay, rng.random(len(sites)) < p_on)
        for k in np.flatnonzero(on):
            n = c.photons * brightness[k] * rng.lognormal(0, 0.2)
            y, x = sites[k]
            _add_psf(photons, y, x, n, c.psf_sigma)
            emitters.append((t, y, x, n))
        background[t] = c.offset + c.gain * bg
        raw[t] = _camera(rng, photons, c.gain, c.offset, c.read_noise)
    table = np.array(emitters, np.float32).reshape(-1, 4)
    return SMLMStack(raw, background, table, c)


@dataclass(frozen=True)
class TimelapseConfig:
    """A fluorescence time-lapse of cells to simulate.

    Attributes:
        frames: frames of the stack.
        size: ``(height, width)`` in pixels.
        cells: cells in the first frame.
        radius: a cell's mean radius in pixels.
        speed: pixels a cell drifts per frame.
        divisions: the share of cells that divide during the stack.
        contrast: a cell's mean brightness over the background's.
        background: background photons per pixel (autofluorescence) before illumination.
        unevenness: the illumination's relative variation across the field.
        flicker: the illumination's relative change over the stack.
        offset: the camera's offset in ADU.
        gain: ADU per photo-electron.
        read_noise: the camera's read noise in electrons.
    """

    frames: int = 60
    size: tuple[int, int] = (128, 128)
    cells: int = 6
    radius: float = 9.0
    speed: float = 0.6
    divisions: float = 0.5
    contrast: float = 0.5
    background: float = 200.0
    unevenness: float = 0.4
    flicker: float = 0.15
    offset: float = 100.0
    gain: float = 2.0
    read_noise: float = 1.5

    def __post_init__(self) -> None:
        check(self.frames >= 1, "frames must be >= 1")
        check(min(self.size) >= 16, f"size must be at least 16x16, got {self.size}")
        check(self.cells >= 1 and self.radius >= 2, "cells must be >= 1, radius >= 2")
        check(0 <= self.divisions <= 1, "divisions must be in [0, 1]")
        check(self.contrast > 0 and self.background > 0, "contrast and background must be > 0")
        check(0 <= self.unevenness < 1 and 0 <= self.flicker < 1, "unevenness, flicker < 1")


@dataclass(frozen=True)
class TimelapseStack:
    """A simulated time-lapse and its truth.

    Attributes:
        raw: ``(T, H, W)`` uint16, what the camera recorded.
        masks: ``(T, H, W)`` bool, exactly where a cell is.
        background: ``(T, H, W)`` float32, the noise-free frames without cells, in ADU.
        config: what was simulated.
    """

    raw: np.ndarray
    masks: np.ndarray
    background: np.ndarray
    config: TimelapseConfig


@dataclass
class _Cell:
    y: float
    x: float
    vy: float
    vx: float
    radius: float
    texture: np.ndarray  # brightness pattern in the cell's own coordinates
    harmonics: np.ndarray  # (a2, a3, rate2, rate3, phase2, phase3)
    divide_at: int | None  # frame the division starts (None: never)


def _new_cell(
    rng: np.random.Generator, c: TimelapseConfig, y: float, x: float, radius: float, t: int
) -> _Cell:
    angle = rng.uniform(0, 2 * math.pi)
    speed = c.speed * rng.uniform(0.6, 1.4)
    size = int(4 * radius) + 4
    texture = 0.7 + 0.6 * _smooth_field(rng, size, size, radius / 2)
    harmonics = np.array(
        [
            rng.uniform(0.05, 0.18),
            rng.uniform(0.02, 0.08),
            rng.uniform(0.02, 0.06),
            rng.uniform(0.02, 0.06),
            rng.uniform(0, 2 * math.pi),
            rng.uniform(0, 2 * math.pi),
        ]
    )
    divide_at = None
    if t == 0 and rng.random() < c.divisions:
        divide_at = int(rng.uniform(0.2, 0.6) * c.frames)
    return _Cell(
        y,
        x,
        speed * math.sin(angle),
        speed * math.cos(angle),
        radius,
        texture,
        harmonics,
        divide_at,
    )


#: Frames a division takes, from pinching to two separate cells.
DIVISION_FRAMES = 8


def _paint(
    cell: _Cell, t: int, yy: np.ndarray, xx: np.ndarray, signal: np.ndarray, mask: np.ndarray
) -> None:
    """Add ``cell``'s signal at frame ``t`` and mark its pixels (in place)."""
    a2, a3, r2, r3, p2, p3 = cell.harmonics
    dy, dx = yy - cell.y, xx - cell.x
    rho = np.hypot(dy, dx)
    theta = np.arctan2(dy, dx)
    outline = cell.radius * (
        1
        + a2 * math.sin(r2 * t + p2) * np.cos(2 * (theta - p3))
        + a3 * np.cos(3 * theta + r3 * t + p2)
    )
    inside = rho < outline
    if not inside.any():
        return
    th, tw = cell.texture.shape
    ty = np.clip(np.rint(dy[inside] + th / 2), 0, th - 1).astype(int)
    tx = np.clip(np.rint(dx[inside] + tw / 2), 0, tw - 1).astype(int)
    signal[inside] = np.maximum(signal[inside], cell.texture[ty, tx])
    mask |= inside


def simulate_timelapse(config: TimelapseConfig | None = None, *, seed: int = 0) -> TimelapseStack:
    """Simulate a time-lapse of dividing, drifting, deforming cells (see the module doc).

    Args:
        config: what to simulate (defaults: 60 frames of 128×128, 6 cells).
        seed: the random seed; the same seed gives the same stack.
    """
    c = config or TimelapseConfig()
    rng = np.random.default_rng(seed)
    h, w = c.size
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    margin = c.radius * 1.5
    cells = [
        _new_cell(
            rng,
            c,
            rng.uniform(margin, h - margin),
            rng.uniform(margin, w - margin),
            c.radius * rng.uniform(0.85, 1.15),
            0,
        )
        for _ in range(c.cells)
    ]
    direction = rng.uniform(0, 2 * math.pi)
    ramp = (yy - h / 2) * math.sin(direction) + (xx - w / 2) * math.cos(direction)
    ramp /= float(np.abs(ramp).max())
    structure = _smooth_field(rng, h, w, max(h, w) / 3) - 0.5
    auto = 0.8 + 0.4 * _smooth_field(rng, h, w, max(h, w) / 5)
    raw = np.empty((c.frames, h, w), np.uint16)
    masks = np.zeros((c.frames, h, w), bool)
    background = np.empty((c.frames, h, w), np.float32)
    for t in range(c.frames):
        drift = math.sin(math.pi * t / max(1, c.frames - 1))  # 0 → 1 → 0 across the stack
        illumination = (1 + c.unevenness * (ramp * (1 - 0.5 * drift) + 0.5 * structure)) * (
            1 + c.flicker * (drift - 0.5)
        )
        signal = np.zeros((h, w), np.float32)
        born: list[_Cell] = []
        for cell in cells:
            if cell.divide_at is not None and t >= cell.divide_at:
                # Pinch into two daughters along a random axis that move apart.
                progress = min(1.0, (t - cell.divide_at) / DIVISION_FRAMES)
                axis = cell.harmonics[4]
                off = 0.75 * cell.radius * progress
                for sign in (-1, 1):
                    daughter = _Cell(
                        cell.y + sign * off * math.sin(axis),
                        cell.x + sign * off * math.cos(axis),
                        cell.vy,
                        cell.vx,
                        cell.radius * (0.95 - 0.2 * progress),
                        cell.texture,
                        cell.harmonics * 0.5,
                        None,
                    )
                    if progress >= 1:
                        kick = 0.5 * c.speed
                        daughter.vy += sign * kick * math.sin(axis)
                        daughter.vx += sign * kick * math.cos(axis)
                        born.append(daughter)
                    _paint(daughter, t, yy, xx, signal, masks[t])
            else:
                _paint(cell, t, yy, xx, signal, masks[t])
        divided = [
            cell
            for cell in cells
            if cell.divide_at is not None and t - cell.divide_at >= DIVISION_FRAMES
        ]
        cells = [cell for cell in cells if cell not in divided] + born
        for cell in cells:  # drift, bouncing off the borders
            cell.y += cell.vy
            cell.x += cell.vx
            if not margin <= cell.y <= h - margin:
                cell.vy = -cell.vy
            if not margin <= cell.x <= w - margin:
                cell.vx = -cell.vx
        bg = c.background * auto * illumination
        photons = bg * (1 + c.contrast * signal)
        background[t] = c.offset + c.gain * bg
        raw[t] = _camera(rng, photons, c.gain, c.offset, c.read_noise)
    return TimelapseStack(raw, masks, background, c)
