"""A conservative, per-pixel memory of the background, over minutes rather than seconds.

DeepLS's window spans a few seconds: whatever stays still for half of it becomes
background. Surveillance footage (and CDnet's labels) expects more: a person who sits
down stays foreground for minutes, while the place an object *left* (a ghost) heals.
This memory holds that long view. It follows the principles of sample-based background
models (ViBe, Barnich & Van Droogenbroeck 2011; SuBSENSE, St-Charles et al. 2015),
written here from their papers:

* **Samples**: each pixel keeps ``samples`` past background values (colour or grey).
  A pixel is background when at least ``matches`` of them lie within its radius
  (L∞ over the channels). Several samples keep several modes: leaves and water that
  return to the values they had match them again.
* **Conservative update**: only pixels decided background write into their samples
  (one at random, with probability 1/T), so an object that stops is never learned and
  stays foreground as long as it stays. A background pixel also writes into a random
  neighbour's samples (spatial diffusion): the inside of a ghost, whose pixels *are*
  background, fills from its rim, while a stopped object, whose pixels differ from the
  background around it, does not.
* **Feedback** per pixel: a running mean ``D`` of the distance to the nearest sample and
  a blink count ``V`` (decisions that flip from frame to frame, away from objects' rims)
  raise the radius where the background itself moves and lower it to ``radius_min``
  of the nominal where it is still; the update period ``T`` shortens where the pixel is
  background and steady, lengthens where it is foreground.
* **Ghosts** are healed at once: a blob whose outline is an edge of the memory's
  background image rather than of the frame is where an object *was*
  (:mod:`~streamseg.segmenters.deepls.ghosts`); its still pixels are written into the samples.
* **Exposure**: a global brightness change (auto-exposure, lights) is taken off before
  comparing: the per-channel median of ``frame − background`` over the pixels last
  decided background.
* **Clean-up**: a 3×3 closing, holes filled (CDnet's masks have none), a median filter.

Frames larger than ``area`` pixels are compared at a reduced size (aspect kept) and the
mask is scaled back. The per-pixel work runs in compiled loops (numba, compiled once and
cached on disk; the first frame of a new install waits for the compilation).

Example:
    >>> import numpy as np
    >>> from streamseg.segmenters.deepls.memory import MemoryConfig, PixelMemory
    >>> memory = PixelMemory(MemoryConfig(), seed=0)
    >>> scene = np.random.default_rng(0).integers(60, 200, (48, 64, 3), dtype=np.uint8)
    >>> for _ in range(5):
    ...     memory.learn(scene, memory.apply(scene))
    >>> frame = scene.copy()
    >>> frame[10:30, 20:40] = 250                   # an object
    >>> mask = memory.apply(frame)
    >>> int(mask[20, 30]), int(mask[40, 5])
    (255, 0)
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np

from streamseg.params import check

__all__ = ["MemoryConfig", "PixelMemory", "fill_holes"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class MemoryConfig:
    """Parameters of the background memory.

    Attributes:
        samples: background values kept per pixel.
        matches: samples a pixel must be close to for the pixel to be background.
        radius: nominal match radius in grey levels (largest channel difference).
        radius_min: smallest per-pixel radius, as a share of ``radius`` (where the
            background is still; also the radius every pixel starts with).
        radius_max: largest per-pixel radius, as a multiple of ``radius`` (where the
            background itself moves: water, leaves).
        feedback: adapt each pixel's radius and update period to how it behaves.
        period: starting update period T (a background pixel updates one sample with
            probability 1/T per frame); ``period_min``/``period_max`` bound it.
        period_min: shortest update period.
        period_max: longest update period.
        ghosts: a blob whose outline carries this many times more gradient in the
            memory's background than in the frame is a ghost and is healed (0: off).
        exposure: take a global brightness change off before comparing.
        area: largest number of pixels compared (bigger frames are scaled down).
    """

    samples: int = 20
    matches: int = 2
    radius: float = 25.0
    radius_min: float = 0.6
    radius_max: float = 5.0
    feedback: bool = True
    period: float = 16.0
    period_min: float = 2.0
    period_max: float = 256.0
    ghosts: float = 2.0
    exposure: bool = True
    area: int = 76_800

    def __post_init__(self) -> None:
        check(2 <= self.samples <= 255, f"memory.samples must be in 2..255, got {self.samples}")
        check(1 <= self.matches <= self.samples, "memory.matches must be in 1..samples")
        check(0 < self.radius < 255, f"memory.radius must be in (0, 255), got {self.radius}")
        check(0 < self.radius_min <= 1 <= self.radius_max, "need 0 < radius_min <= 1 <= radius_max")
        check(
            1 <= self.period_min <= self.period <= self.period_max,
            "need 1 <= period_min <= period <= period_max",
        )
        check(self.ghosts >= 0, "memory.ghosts must be >= 0 (0: off)")
        check(self.area >= 64, f"memory.area must be >= 64 pixels, got {self.area}")


# Feedback constants (SuBSENSE's structure; values of this implementation): a running mean
# over ~100 frames, blink count +1 per flip and -0.1 per steady frame, radius steps of 1 %.
_ALPHA = 0.01
_BLINK_DECAY = 0.1
_RADIUS_STEP = 0.01
_DISTANCE_GAIN = 8.0

_kernels: Any = None


def _compiled() -> Any:
    """The numba kernels, compiled (or loaded from numba's cache) on first use."""
    global _kernels
    if _kernels is None:
        import streamseg.segmenters.deepls._memory_kernels as kernels

        _kernels = kernels
    return _kernels


def fill_holes(mask: np.ndarray) -> np.ndarray:
    """``mask`` (0/255) with every background region that does not touch the border filled."""
    h, w = mask.shape
    pad = np.zeros((h + 2, w + 2), np.uint8)
    pad[1:-1, 1:-1] = mask
    cv2.floodFill(pad, np.zeros((h + 4, w + 4), np.uint8), (0, 0), 128)
    return np.where(pad[1:-1, 1:-1] == 128, np.uint8(0), np.uint8(255))


def _edges(image: np.ndarray) -> np.ndarray:
    """Gradient magnitude (L1 of the Sobel pair, quartered, ``uint8``) of a frame's grey level."""
    gray = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY) if image.shape[2] == 3 else image[..., 0]
    gx = cv2.convertScaleAbs(cv2.Sobel(gray, cv2.CV_16S, 1, 0), alpha=0.25)
    gy = cv2.convertScaleAbs(cv2.Sobel(gray, cv2.CV_16S, 0, 1), alpha=0.25)
    return cv2.add(gx, gy)


def ghost_blobs(
    mask: np.ndarray, frame: np.ndarray, background: np.ndarray, ratio: float
) -> np.ndarray:
    """Pixels of the blobs of ``mask`` whose outline is an edge of ``background``, not of ``frame``.

    The edge-matching test of :mod:`~streamseg.segmenters.deepls.ghosts` on ``uint8 h×w×C``
    images, with integer gradients (it runs on every frame that has foreground). The
    outline is a band two pixels wide across the blob's border: a ghost's blob lies a
    pixel inside the edge it left (the samples of its rim came from its neighbours too).
    """
    fg = (mask > 0).astype(np.uint8)
    n, labels, stats, _ = cv2.connectedComponentsWithStats(fg, connectivity=8)
    if n <= 1:
        return np.zeros(fg.shape, bool)
    kernel = np.ones((3, 3), np.uint8)
    band = cv2.subtract(cv2.dilate(fg, kernel), cv2.erode(fg, kernel)) > 0
    # Outside the blob, the band belongs to the nearest blob (the largest label next to it).
    near = cv2.dilate(labels.astype(np.float32), kernel).astype(np.int32)
    lab = np.where(fg > 0, labels, near)[band]
    in_frame = np.bincount(lab, weights=_edges(frame)[band], minlength=n)
    in_background = np.bincount(lab, weights=_edges(background)[band], minlength=n)
    ghost = (in_background > ratio * in_frame) & (stats[:, cv2.CC_STAT_AREA] >= 4)
    ghost[0] = False
    if not ghost.any():
        return np.zeros(fg.shape, bool)
    return ghost[labels]


def _channel_medians(diff: np.ndarray) -> np.ndarray:
    """Per-channel median of a signed ``int16`` difference in [−255, 255], ``n×C``, by histogram."""
    half = (diff.shape[0] + 1) // 2
    return np.array(
        [np.searchsorted(np.bincount(diff[:, c] + 255, minlength=511).cumsum(), half) - 255
         for c in range(diff.shape[1])],
        np.int16,
    )  # fmt: skip


def _median_size(h: int, w: int) -> int:
    """Median filter side: 9 px from 120 px up, 5 px below (masks of small frames)."""
    return 9 if min(h, w) >= 120 else 5


class PixelMemory:
    """The memory of one stream: :meth:`apply` gives a mask, :meth:`learn` updates.

    Deciding and learning are separate so that the caller may learn with a mask of its
    own (DeepLS gives back the memory's own mask, whatever the fusion shows), and so
    that :meth:`apply` changes nothing: a frame may be judged twice. Frames must keep
    one size; :meth:`reset` forgets everything.

    Args:
        config: the parameters.
        seed: seed of the random sampling (two memories with one seed agree bit for bit).
    """

    def __init__(self, config: MemoryConfig | None = None, seed: int = 0) -> None:
        check(0 <= seed < 2**32, f"memory seed must be in 0..2**32-1, got {seed}")
        self.config = config or MemoryConfig()
        self.seed = seed
        self._samples: np.ndarray | None = None
        self._frame_shape: tuple[int, ...] = ()
        self._healed: np.ndarray | None = None
        self._pending: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None

    # -- state ------------------------------------------------------------------------------

    @property
    def started(self) -> bool:
        """``True`` once a frame was seen."""
        return self._samples is not None

    def reset(self) -> None:
        """Forget the scene."""
        self._samples = None
        self._pending = None
        self._healed = None
        self._frame_shape = ()

    def _work_size(self, h: int, w: int) -> tuple[int, int]:
        scale = min(1.0, (self.config.area / float(h * w)) ** 0.5)
        return max(1, round(h * scale)), max(1, round(w * scale))

    @property
    def frame_shape(self) -> tuple[int, ...]:
        """The shape of the frames given (``(h, w)`` or ``(h, w, C)``); ``()`` before the first."""
        return self._frame_shape

    def _plane(self, frame: np.ndarray) -> np.ndarray:
        """``frame`` at the working size as ``uint8 h×w×C`` (C = 3, or 1 for grey frames)."""
        if frame.ndim == 3 and frame.shape[2] == 4:
            frame = frame[..., :3]
        h, w = frame.shape[:2]
        size = self._work_size(h, w)
        if size != (h, w):
            frame = cv2.resize(frame, (size[1], size[0]), interpolation=cv2.INTER_AREA)
        if frame.ndim == 2:
            frame = frame[..., None]
        return np.ascontiguousarray(frame, dtype=np.uint8)

    def _start(self, x: np.ndarray) -> None:
        c = self.config
        h, w, ch = x.shape
        k = _compiled()
        self._rng = np.array(
            [np.uint64(self.seed) * np.uint64(2654435761) + np.uint64(1)], np.uint64
        )
        self._samples = np.empty((c.samples, h, w, ch), np.uint8)
        k.seed_samples(x, self._samples, self._rng)
        self._radius = np.full((h, w), c.radius_min, np.float32)
        self._period = np.full((h, w), c.period, np.float32)
        self._distance = np.zeros((h, w), np.float32)
        self._blinks = np.zeros((h, w), np.float32)
        self._last_raw = np.zeros((h, w), np.uint8)
        self._last_mask = np.zeros((h, w), np.uint8)
        self._background = x.copy()
        self._previous = x.copy()

    # -- deciding ---------------------------------------------------------------------------

    def _exposure(self, x: np.ndarray) -> np.ndarray:
        """``x`` with the global brightness change against the background taken off."""
        bg = self._last_mask[::4, ::4] == 0  # a sixteenth of the pixels tells a global change
        if bg.mean() < 0.2:
            return x  # too few background pixels to tell a global change from objects
        d = x[::4, ::4].astype(np.int16) - self._background[::4, ::4].astype(np.int16)
        offset = _channel_medians(d[bg])
        if not offset.any():
            return x
        return np.clip(x.astype(np.int16) - offset, 0, 255).astype(np.uint8)

    def apply(self, frame: np.ndarray) -> np.ndarray:
        """The mask (``uint8``, 0/255) of ``frame`` at its size; all 0 on the first frame."""
        h, w = frame.shape[:2]
        self._frame_shape = frame.shape
        x = self._plane(frame)
        if self._samples is None or self._samples.shape[1:] != x.shape:
            # The first frame (or a new size) is learned, not judged; learn() starts on it.
            self._healed = None
            self._pending = (x, np.zeros(x.shape[:2], np.uint8), np.zeros(x.shape[:2], np.float32))
            return np.zeros((h, w), np.uint8)
        c = self.config
        if c.exposure:
            x = self._exposure(x)
        raw = np.empty(x.shape[:2], np.uint8)
        distance = np.empty(x.shape[:2], np.float32)
        _compiled().classify(
            x, self._samples, self._radius, float(c.radius), c.matches, raw, distance
        )
        mask = self._clean(raw)
        self._healed = None
        if c.ghosts > 0:
            mask = self._heal_ghosts(x, mask)
        self._pending = (x, raw, distance)
        if mask.shape != (h, w):
            mask = cv2.resize(mask, (w, h), interpolation=cv2.INTER_LINEAR)
            mask = np.where(mask > 127, np.uint8(255), np.uint8(0))
        return mask

    def _judged(self) -> np.ndarray | None:
        """The last frame's distances if it was compared with the samples (None: not)."""
        if self._pending is None or self._samples is None:
            return None
        distance = self._pending[2]
        return distance if distance.shape == self._samples.shape[1:3] else None

    def score(self, size: tuple[int, int] | None = None) -> np.ndarray | None:
        """The last frame's evidence ``clip(distance / (2 · radius), 0, 1)``: 0.5 is the radius.

        At ``size`` ``(h, w)`` (default: the working size); None before a frame was compared.
        """
        distance = self._judged()
        if distance is None:
            return None
        limit = np.maximum(self._radius * np.float32(self.config.radius), 1e-3)
        out = np.clip(distance / (2.0 * limit), 0.0, 1.0).astype(np.float32)
        if size is not None and out.shape != tuple(size):
            out = cv2.resize(out, (size[1], size[0]), interpolation=cv2.INTER_LINEAR)
        return out

    def ratio(self) -> np.ndarray | None:
        """The last frame's ``distance / radius`` per pixel at the working size (1: the radius)."""
        distance = self._judged()
        if distance is None:
            return None
        limit = np.maximum(self._radius * np.float32(self.config.radius), 1e-3)
        ratio = (distance / limit).astype(np.float32)
        if self._healed is not None:
            ratio[self._healed] = 0.0  # ghosts healed this frame are background
        return ratio

    def clean(self, raw: np.ndarray, size: tuple[int, int] | None = None) -> np.ndarray:
        """A raw decision (0/255, working size) cleaned up as the memory's own, at ``size``."""
        mask = self._clean(raw)
        if size is not None and mask.shape != tuple(size):
            mask = cv2.resize(mask, (size[1], size[0]), interpolation=cv2.INTER_LINEAR)
            mask = np.where(mask > 127, np.uint8(255), np.uint8(0))
        return mask

    def _clean(self, raw: np.ndarray) -> np.ndarray:
        closed = cv2.morphologyEx(raw, cv2.MORPH_CLOSE, np.ones((3, 3), np.uint8))
        mask = cv2.bitwise_or(raw, fill_holes(closed))
        return cv2.medianBlur(mask, _median_size(*raw.shape))

    def _heal_ghosts(self, x: np.ndarray, mask: np.ndarray) -> np.ndarray:
        """``mask`` without the still pixels of ghost blobs, which the samples learn at once."""
        assert self._samples is not None
        self._healed = None
        if not mask.any():
            return mask
        ghost = ghost_blobs(mask, x, self._background, self.config.ghosts)
        if not ghost.any():
            return mask
        change = cv2.absdiff(x, self._previous)
        still = (change.max(axis=2) if change.ndim == 3 else change) <= self.config.radius / 2
        heal = ghost & still
        # learn() writes the healed pixels into the samples: apply() changes no state, so a
        # score taken before it (or a frame only predicted) leaves the model as it was.
        self._healed = heal
        if heal.any():
            mask = mask.copy()
            mask[heal] = 0
        return mask

    # -- learning ---------------------------------------------------------------------------

    def learn(self, frame: np.ndarray, mask: np.ndarray) -> None:
        """Update with the frame last given to :meth:`apply` and a ``mask`` of it.

        Pixels of ``mask`` (at the frame's size, nonzero = foreground) are not learned.
        ``frame`` names the frame meant; what is learned is the working-size copy
        :meth:`apply` made of it.
        """
        if self._pending is None:
            return
        x, raw, distance = self._pending
        self._pending = None
        if self._samples is None or self._samples.shape[1:] != x.shape:
            self._start(x)
        if self._healed is not None and self._healed.any():
            heal = self._healed.astype(np.uint8)
            _compiled().heal(x, self._samples, self._background, heal, self._rng)
        h, w = x.shape[:2]
        if mask.shape != (h, w):
            mask = cv2.resize(mask, (w, h), interpolation=cv2.INTER_NEAREST)
        mask = np.ascontiguousarray(mask, np.uint8)
        if mask.any():
            # The raw decision next to the mask too: the clean-up rounds an object's corners
            # off, and a corner learned as background would erode a stopped object a little
            # every frame. (Raw specks away from any blob are learned: they are noise.)
            near = cv2.dilate(mask, np.ones((3, 3), np.uint8), iterations=2)
            mask = cv2.bitwise_or(mask, cv2.bitwise_and(raw, near))
        if self._background is not None and self._last_raw.shape == raw.shape:
            # Flips next to an object are its rim moving, not the background blinking.
            near = cv2.dilate(self._last_mask, np.ones((3, 3), np.uint8), iterations=3)
            c = self.config
            _compiled().update(
                x, self._samples, mask, near, raw, self._last_raw, distance,
                self._radius, self._period, self._distance, self._blinks, self._background,
                self._rng, c.feedback, _ALPHA, _BLINK_DECAY, _RADIUS_STEP, _DISTANCE_GAIN,
                float(c.radius_min), float(c.radius_max), float(c.period_min),
                float(c.period_max),
            )  # fmt: skip
        self._last_raw = raw
        self._last_mask = np.array(mask, np.uint8)  # a copy: the caller may reuse its mask
        self._previous = x

    # -- what it holds ----------------------------------------------------------------------

    def background(self) -> np.ndarray | None:
        """The memory's background image (``uint8``, working size, frame channels): a copy."""
        reference = self.reference()
        return None if reference is None else reference.copy()

    def reference(self) -> np.ndarray | None:
        """The background image itself, read-only (no copy: the stabiliser reads it per frame)."""
        if self._samples is None:
            return None
        bg = self._background[..., 0] if self._background.shape[2] == 1 else self._background
        view = bg.view()
        view.flags.writeable = False  # exposure and ghosts read the same array
        return view

    def nbytes(self) -> int:
        """Bytes of state (bounded: the samples dominate)."""
        if self._samples is None:
            return 0
        return int(
            self._samples.nbytes + self._radius.nbytes * 4 + self._background.nbytes * 2
            + self._last_raw.nbytes * 2
        )  # fmt: skip
