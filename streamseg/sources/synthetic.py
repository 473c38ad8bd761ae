"""The built-in synthetic scene: real-looking trouble, exact ground truth.

A textured background under slow illumination drift, sensor noise, a patch of
rippling "water" (dynamic texture that is background), and several textured
objects of different sizes and speeds; one of them stops for a while and moves
on, the case where a low-rank model tends to absorb the object. An optional
sudden global illumination change tests adaptation.

Every frame is a pure function of ``(seed, t)``, so any frame can be rendered on
its own and two renders agree bit for bit.

Example:
    >>> from streamseg.sources.synthetic import SyntheticScene
    >>> scene = SyntheticScene(width=64, height=48, frames=10, seed=1)
    >>> image, truth = scene.render(3)
    >>> image.shape, truth.shape, sorted(set(truth.ravel().tolist())) == [0, 255]
    ((48, 64, 3), (48, 64), True)
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from streamseg.frame import Frame, SourceInfo
from streamseg.params import check
from streamseg.sources.base import FrameSource

__all__ = ["SyntheticScene", "SyntheticSource", "write_sequence"]


def _smooth_noise(rng: np.random.Generator, h: int, w: int, scales: tuple[int, ...]) -> np.ndarray:
    """Sum of bilinearly upsampled random grids: a cheap, seedable cloud texture in [-1, 1]."""
    import cv2

    out = np.zeros((h, w), np.float32)
    for i, cell in enumerate(scales):
        gh, gw = max(2, h // cell + 2), max(2, w // cell + 2)
        grid = rng.standard_normal((gh, gw)).astype(np.float32)
        out += cv2.resize(grid, (w, h), interpolation=cv2.INTER_CUBIC) / (i + 1)
    return out / (np.abs(out).max() + 1e-6)


@dataclass(frozen=True)
class _Object:
    texture: np.ndarray  # h×w×3 float32
    shape: np.ndarray  # h×w bool
    start: tuple[float, float]
    velocity: tuple[float, float]
    stop: tuple[int, int] | None  # frames [a, b) during which the object stands still

    def position(self, t: int) -> tuple[float, float]:
        moving = float(t)
        if self.stop is not None:
            a, b = self.stop
            moving = t if t < a else a if t < b else t - (b - a)
        return (
            self.start[0] + self.velocity[0] * moving,
            self.start[1] + self.velocity[1] * moving,
        )


@dataclass(frozen=True)
class SyntheticScene:
    """Parameters and renderer of the synthetic scene.

    Attributes:
        width: frame width in pixels.
        height: frame height in pixels.
        frames: number of frames.
        seed: seed of everything random (textures, paths, noise).
        noise: standard deviation of the Gaussian sensor noise, in gray levels.
        illumination_jump_at: frame at which the global brightness jumps (``None``: never).
        illumination_jump: relative size of that jump (0.3 → 30 % brighter).
        fps: nominal frame rate (timestamps are ``t / fps``).
        stop_seconds: the stopping object stands still this long (from 35 % of the clip);
            0: for a quarter of the clip. (A person who sits down for minutes.)
        shake: the camera shakes: each frame (and its truth) is shifted by up to this many
            pixels in x and y, at random (0: a still camera).
        sway: foliage in the wind: a leafy patch at the top right sways by up to this many
            pixels, background that moves (0: none).
        large: an object this share of the frame's width crosses slowly near the camera
            (foreground larger than the background it leaves visible; 0: none).
    """

    width: int = 320
    height: int = 240
    frames: int = 300
    seed: int = 0
    noise: float = 3.0
    illumination_jump_at: int | None = None
    illumination_jump: float = 0.3
    fps: float = 25.0
    stop_seconds: float = 0.0
    shake: float = 0.0
    sway: float = 0.0
    large: float = 0.0

    def __post_init__(self) -> None:
        check(self.width >= 16 and self.height >= 16, "synthetic scene must be at least 16×16")
        check(self.frames >= 1, "synthetic scene needs at least one frame")
        check(self.noise >= 0, "noise must be >= 0")
        check(self.fps > 0, "fps must be > 0")
        check(self.stop_seconds >= 0, "stop_seconds must be >= 0")
        check(self.shake >= 0 and self.sway >= 0, "shake and sway must be >= 0 pixels")
        check(0 <= self.large < 1, "large must be a share of the width in [0, 1)")

    # The object that stops: it stands still for this share of the clip, starting here.
    STOP_START = 0.35
    STOP_LENGTH = 0.25

    @property
    def stop_interval(self) -> tuple[int, int]:
        """Frames ``[a, b)`` during which the stopping object stands still."""
        a = int(self.frames * self.STOP_START)
        if self.stop_seconds > 0:
            return a, a + max(1, round(self.stop_seconds * self.fps))
        return a, a + max(1, int(self.frames * self.STOP_LENGTH))

    @property
    def water(self) -> tuple[slice, slice]:
        """Rows and columns of the rippling-water patch (background with dynamic texture)."""
        h, w = self.height, self.width
        return slice(int(0.72 * h), h), slice(0, int(0.38 * w))

    @property
    def foliage(self) -> tuple[slice, slice]:
        """Rows and columns of the swaying foliage (background that moves; ``sway`` > 0)."""
        h, w = self.height, self.width
        return slice(0, int(0.4 * h)), slice(int(0.62 * w), w)

    @functools.cached_property
    def _leaves(self) -> np.ndarray:
        """The foliage's texture, wider than its patch by ``sway`` on each side."""
        rng = np.random.default_rng((self.seed, 7))
        rows, cols = self.foliage
        pad = int(math.ceil(self.sway))
        h, w = rows.stop - rows.start, cols.stop - cols.start + 2 * pad
        leaves = np.stack([_smooth_noise(rng, h, w, (6, 3)) for _ in range(3)], axis=-1)
        return (80.0 + 60.0 * leaves + np.array([-20.0, 30.0, -20.0], np.float32)).astype(
            np.float32
        )

    @functools.cached_property
    def _model(self) -> tuple[np.ndarray, np.ndarray, list[_Object]]:
        rng = np.random.default_rng(self.seed)
        h, w = self.height, self.width
        base = np.stack([_smooth_noise(rng, h, w, (48, 16, 5)) for _ in range(3)], axis=-1)
        background = 115.0 + 55.0 * base + np.array([6.0, 0.0, -6.0], np.float32)
        rows, cols = self.water
        wh, ww = rows.stop - rows.start, cols.stop - cols.start
        phase = 6.0 * _smooth_noise(rng, wh, ww, (12, 4))
        scale = w / 320.0
        objects = []
        # (size as a share of the width, speed in pixels/frame at 320 wide, shape)
        specs = [
            (0.05, 2.6, "rect"),
            (0.09, 1.6, "ellipse"),
            (0.15, 1.1, "rect"),
            (0.11, 0.9, "ellipse"),
        ]
        for i, (size, speed, kind) in enumerate(specs):
            ow = max(3, int(size * w))
            oh = max(3, int(ow * rng.uniform(0.6, 1.1)))
            tex = _smooth_noise(rng, oh, ow, (max(2, ow // 4), 2))
            colour = rng.uniform(30, 225, size=3).astype(np.float32)
            texture = np.clip(colour + 35.0 * tex[..., None], 0, 255).astype(np.float32)
            if kind == "ellipse":
                yy, xx = np.mgrid[0:oh, 0:ow]
                dy, dx = (yy - (oh - 1) / 2) / (oh / 2), (xx - (ow - 1) / 2) / (ow / 2)
                shape = dy**2 + dx**2 <= 1
            else:
                shape = np.ones((oh, ow), bool)
            angle = rng.uniform(-0.5, 0.5) + (math.pi if i % 2 else 0.0)
            v = speed * scale
            velocity = (v * math.sin(angle) * 0.4, v * math.cos(angle))
            start = (rng.uniform(0.15, 0.7) * h, rng.uniform(0, w))
            stop = self.stop_interval if i == 2 else None
            objects.append(_Object(texture, shape, start, velocity, stop))
        if self.large > 0:
            # Close to the camera: a tall, wide object enters from the left at walking pace.
            ow, oh = max(3, int(self.large * w)), max(3, int(0.9 * h))
            tex = _smooth_noise(rng, oh, ow, (max(2, ow // 6), 3))
            colour = rng.uniform(30, 225, size=3).astype(np.float32)
            texture = np.clip(colour + 40.0 * tex[..., None], 0, 255).astype(np.float32)
            start = (0.05 * h + oh, 0.0)  # positions wrap: this is off screen, left
            objects.append(
                _Object(texture, np.ones((oh, ow), bool), start, (0.0, 0.8 * scale), None)
            )
        return background.astype(np.float32), phase.astype(np.float32), objects

    def _placements(self, t: int) -> list[tuple[_Object, tuple[slice, slice], tuple[slice, slice]]]:
        """Each object on screen at frame ``t``: (object, its frame slices, its own slices)."""
        h, w = self.height, self.width
        out = []
        for obj in self._model[2]:
            y, x = obj.position(t)
            oh, ow = obj.shape.shape
            # Objects wrap around: they leave on one side and come back in on the other.
            y0 = int(round(y)) % (h + oh) - oh
            x0 = int(round(x)) % (w + ow) - ow
            ys, xs = slice(max(0, y0), min(h, y0 + oh)), slice(max(0, x0), min(w, x0 + ow))
            if ys.start >= ys.stop or xs.start >= xs.stop:
                out.append((obj, (ys, xs), (slice(0, 0), slice(0, 0))))
                continue
            out.append(
                (
                    obj,
                    (ys, xs),
                    (slice(ys.start - y0, ys.stop - y0), slice(xs.start - x0, xs.stop - x0)),
                )
            )
        return out

    def boxes(self, t: int) -> list[tuple[int, int, int, int] | None]:
        """Each object's box ``(x, y, w, h)`` in frame ``t`` (``None``: off screen), in the
        order of the objects; the stopping one is the third (index 2).

        Example:
            >>> scene = SyntheticScene(width=64, height=48, frames=10, seed=1)
            >>> truth = scene.render(3)[1]
            >>> x, y, w, h = next(b for b in scene.boxes(3) if b is not None)
            >>> bool(truth[y : y + h, x : x + w].any())
            True
        """
        if not 0 <= t < self.frames:
            raise IndexError(f"frame {t} outside 0..{self.frames - 1}")
        out: list[tuple[int, int, int, int] | None] = []
        for obj, (ys, xs), sub in self._placements(t):
            shape = obj.shape[sub]
            if not shape.any():
                out.append(None)
                continue
            rows, cols = np.flatnonzero(shape.any(axis=1)), np.flatnonzero(shape.any(axis=0))
            y0, x0 = ys.start + int(rows[0]), xs.start + int(cols[0])
            out.append((x0, y0, int(cols[-1] - cols[0]) + 1, int(rows[-1] - rows[0]) + 1))
        return out

    def render(self, t: int) -> tuple[np.ndarray, np.ndarray]:
        """Frame ``t`` as ``(BGR uint8 H×W×3, ground truth uint8 H×W with 0/255)``."""
        if not 0 <= t < self.frames:
            raise IndexError(f"frame {t} outside 0..{self.frames - 1}")
        background, phase, _ = self._model
        h, w = self.height, self.width
        # Slow drift of illumination: a few percent over ~10 s, as clouds or auto-exposure do.
        gain = 1.0 + 0.06 * math.sin(2 * math.pi * t / 250.0)
        if self.illumination_jump_at is not None and t >= self.illumination_jump_at:
            gain *= 1.0 + self.illumination_jump
        image = background * gain
        rows, cols = self.water
        yy, xx = np.mgrid[rows, cols]
        ripple = 14.0 * np.sin(0.45 * xx + 0.25 * yy - 0.5 * t + phase)
        image[rows, cols] += ripple[..., None]
        if self.sway > 0:
            rows, cols = self.foliage
            pad = int(math.ceil(self.sway))
            offset = pad + int(round(self.sway * math.sin(2 * math.pi * t / 37.0)))
            image[rows, cols] = self._leaves[:, offset : offset + cols.stop - cols.start] * gain
        truth = np.zeros((h, w), np.uint8)
        for obj, (ys, xs), sub in self._placements(t):
            shape = obj.shape[sub]
            if not shape.size:
                continue
            image[ys, xs][shape] = obj.texture[sub][shape] * gain
            truth[ys, xs][shape] = 255
        if self.noise > 0:
            rng = np.random.default_rng((self.seed, t))
            image = image + rng.normal(0.0, self.noise, image.shape).astype(np.float32)
        image = np.clip(image, 0, 255).astype(np.uint8)
        if self.shake > 0:
            image, truth = self._shaken(t, image, truth)
        return image, truth

    def _shaken(
        self, t: int, image: np.ndarray, truth: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """``image`` and ``truth`` shifted by frame ``t``'s camera shake."""
        import cv2

        dx, dy = np.random.default_rng((self.seed, t, 1)).uniform(-self.shake, self.shake, 2)
        h, w = truth.shape
        move = np.array([[1, 0, dx], [0, 1, dy]], np.float32)
        image = cv2.warpAffine(image, move, (w, h), borderMode=cv2.BORDER_REPLICATE)
        truth = cv2.warpAffine(truth, move, (w, h), flags=cv2.INTER_NEAREST)
        return image, truth


class SyntheticSource(FrameSource):
    """The synthetic scene as a frame source (not live; never drops a frame).

    Example:
        >>> from streamseg.sources.synthetic import SyntheticSource
        >>> with SyntheticSource(width=32, height=24, frames=3) as src:
        ...     [f.index for f in src]
        [0, 1, 2]
    """

    def __init__(
        self, scene: SyntheticScene | None = None, *, gray: bool = False, **params: object
    ) -> None:
        super().__init__()
        self.scene = scene if scene is not None else SyntheticScene(**params)  # type: ignore[arg-type]
        self.gray = gray
        self._t = 0
        self._truth: tuple[int, np.ndarray] | None = None

    def _open(self) -> SourceInfo:
        self._t = 0
        s = self.scene
        return SourceInfo(s.width, s.height, s.fps, s.frames, is_live=False)

    def _read(self) -> Frame | None:
        if self._t >= self.scene.frames:
            return None
        image, truth = self.scene.render(self._t)
        self._truth = (self._t, truth)
        if self.gray:
            import cv2

            image = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
        frame = Frame(image, self._t, self._t / self.scene.fps, truth=truth)
        self._t += 1
        return frame

    def ground_truth(self, index: int) -> np.ndarray:
        """The exact mask of frame ``index`` (0 background, 255 foreground)."""
        if self._truth is not None and self._truth[0] == index:
            return self._truth[1]
        return self.scene.render(index)[1]

    def __repr__(self) -> str:
        return f"SyntheticSource({self.scene!r})"


def write_sequence(
    scene: SyntheticScene, out: Path, *, warm_up: int = 50, video: bool = True
) -> None:
    """Write ``scene`` as a CDnet-layout sequence in ``out`` (and ``out/synthetic.mp4``).

    Inputs are lossless PNGs (``input/inNNNNNN.png``), the ground truth is exact
    (``groundtruth/gtNNNNNN.png``), both numbered from 1 as in CDnet (frame ``t`` of
    the scene is ``in{t+1}``); ``ROI.bmp`` covers the frame and ``temporalROI.txt``
    scores every frame after the first ``warm_up``.
    """
    import cv2

    from streamseg.fileio import atomic_write, ensure_writable_dir
    from streamseg.sinks.video import VideoWriter

    for sub in ("input", "groundtruth"):
        ensure_writable_dir(out / sub)
    writer = VideoWriter(out / "synthetic.mp4", fps=scene.fps) if video else None
    try:
        for t in range(scene.frames):
            image, truth = scene.render(t)
            # CDnet numbers frames from 1; so do the masks of synthetic.mp4 (Frame.number).
            n = t + 1
            atomic_write(out / "input" / f"in{n:06d}.png", cv2.imencode(".png", image)[1].tobytes())
            atomic_write(
                out / "groundtruth" / f"gt{n:06d}.png", cv2.imencode(".png", truth)[1].tobytes()
            )
            if writer is not None:
                writer.write(image)
    finally:
        if writer is not None:
            writer.close()
    roi = np.full((scene.height, scene.width), 255, np.uint8)
    atomic_write(out / "ROI.bmp", cv2.imencode(".bmp", roi)[1].tobytes())
    atomic_write(out / "temporalROI.txt", f"{warm_up + 1} {scene.frames}\n".encode())
