"""Background removal on a microscopy stack, end to end: TIFF in, TIFF stacks out.

:func:`process_stack` is to stacks what :func:`streamseg.pipeline.run` is to video: it
opens the stack (:mod:`streamseg.sources.tiffstack`, memory-mapped where it can), lets
the method learn from it if it does (:mod:`streamseg.segmenters.stack`), then splits
every frame in order and writes what was asked for as TIFF stacks with the input's
calibration (:mod:`streamseg.sinks.tiffstack`):

* ``sparse``: ``ReLU(frame − background)``, the frame with its background removed;
* ``background``: the background;
* ``mask``: 255 where ``frame − background > k·σ`` (``σ``: the frame's residual noise,
  1.4826 × its median absolute deviation), connected parts smaller than ``min_area``
  pixels dropped; uint8.

The sparse part and the background keep the input's pixel type (rounded and clipped for
integers) unless ``dtype="float32"`` is asked for. One frame of each is in memory at a
time (plus what the method keeps: a median's window, a net's training pool), so the
length of the stack does not matter.

Example:
    >>> import numpy as np, tempfile, os
    >>> from streamseg.sinks.tiffstack import write_stack
    >>> from streamseg.stacks import StackOutputs, process_stack
    >>> folder = tempfile.mkdtemp()
    >>> stack = np.full((20, 16, 16), 500, np.uint16); stack[7, 8, 8] = 4000
    >>> write_stack(os.path.join(folder, "in.tif"), stack)
    >>> out = StackOutputs(sparse=os.path.join(folder, "sparse.tif"))
    >>> stats = process_stack(os.path.join(folder, "in.tif"), "median", {"window": 9}, out)
    >>> stats.frames
    20
"""

from __future__ import annotations

import dataclasses
import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import cv2
import numpy as np

from streamseg.errors import ConfigError, SinkError
from streamseg.params import check
from streamseg.segmenters.stack import StackLike, StackMethod, create_stack_method
from streamseg.sinks.tiffstack import TiffStackWriter
from streamseg.sources.tiffstack import TIFF_NAME, StackInfo, TiffStack

__all__ = ["MaskRule", "StackOutputs", "StackStats", "check_stack_outputs", "process_stack"]

log = logging.getLogger(__name__)

#: Called with ``(stage, done, total)``: stage ``train`` (steps) or ``frames``.
OnProgress = Callable[[str, int, int], None]


@dataclass(frozen=True)
class StackOutputs:
    """The TIFF stacks a run writes (None: not written).

    Attributes:
        sparse: the background-removed frames.
        background: the backgrounds.
        mask: the masks (uint8, 0/255).
        dtype: pixel type of ``sparse`` and ``background``: ``input`` (the stack's) or
            ``float32``.
    """

    sparse: str | Path | None = None
    background: str | Path | None = None
    mask: str | Path | None = None
    dtype: Literal["input", "float32"] = "input"

    def named(self) -> dict[str, Path]:
        """The outputs asked for, by name."""
        paths = {"sparse": self.sparse, "background": self.background, "mask": self.mask}
        return {k: Path(v) for k, v in paths.items() if v is not None}


@dataclass(frozen=True)
class MaskRule:
    """How the mask is drawn from ``frame − background``.

    Attributes:
        k: a pixel is foreground above ``k`` noise standard deviations.
        min_area: connected foreground parts smaller than this (pixels) are dropped.
    """

    k: float = 4.0
    min_area: int = 0

    def __post_init__(self) -> None:
        check(self.k > 0, f"mask k must be > 0, got {self.k}")
        check(self.min_area >= 0, "mask min_area must be >= 0")

    def apply(self, residual: np.ndarray) -> np.ndarray:
        """The uint8 mask (0/255) of one frame's signed residual."""
        mad = float(np.median(np.abs(residual - np.median(residual))))
        sigma = max(1.4826 * mad, 1e-6)
        mask = (residual > self.k * sigma).astype(np.uint8)
        if self.min_area > 1:
            n, labels, stats, _ = cv2.connectedComponentsWithStats(mask, connectivity=8)
            keep = np.flatnonzero(stats[:, cv2.CC_STAT_AREA] >= self.min_area)
            keep = keep[keep > 0]
            mask = np.isin(labels, keep).astype(np.uint8)
        return mask * 255


@dataclass
class StackStats:
    """What a run over a stack did."""

    frames: int
    info: StackInfo
    train_seconds: float = 0.0
    seconds: float = 0.0
    train_steps: int = 0
    stopped: bool = False
    outputs: dict[str, Path] = dataclasses.field(default_factory=dict)


def check_stack_outputs(source: Path | None, outputs: StackOutputs) -> dict[str, Path]:
    """Refuse, before anything runs, outputs that are no TIFF, overwrite the input or each
    other, or whose folder is missing.

    Raises:
        ConfigError: a name that is not a TIFF's, the input's, or given twice.
        SinkError: a folder that does not exist.
    """
    named = outputs.named()
    seen: dict[Path, str] = {}
    for key, path in named.items():
        if not TIFF_NAME.search(path.name):
            raise ConfigError(f"outputs.{key}: {path} is not a TIFF name (.tif, .ome.tif)")
        resolved = path.resolve()
        if source is not None and resolved == source.resolve():
            raise ConfigError(f"outputs.{key}: {path} is the input stack")
        if resolved in seen:
            raise ConfigError(f"outputs.{key} and outputs.{seen[resolved]} are both {path}")
        seen[resolved] = key
        if not path.parent.is_dir():
            raise SinkError(f"outputs.{key}: folder {path.parent} does not exist")
    return named


def _open_writers(
    named: dict[str, Path], info: StackInfo, outputs: StackOutputs, method: str
) -> dict[str, TiffStackWriter]:
    out_type = info.dtype if outputs.dtype == "input" else "float32"
    what = {
        "sparse": ("the sparse part (background removed)", out_type),
        "background": ("the background", out_type),
        "mask": ("the mask (255: foreground)", "uint8"),
    }
    writers: dict[str, TiffStackWriter] = {}
    try:
        for key, path in named.items():
            text, dtype = what[key]
            writers[key] = TiffStackWriter(
                path, info.with_dtype(dtype), description=f"streamseg {method}: {text}"
            )
    except BaseException:
        for w in writers.values():
            w.abort()
        raise
    return writers


def process_stack(
    source: str | Path | StackLike,
    method: str | StackMethod,
    params: Mapping[str, Any] | None = None,
    outputs: StackOutputs | None = None,
    *,
    mask: MaskRule | None = None,
    on_progress: OnProgress | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> StackStats:
    """Remove the background of every frame of a stack and write the parts asked for.

    Args:
        source: a TIFF/OME-TIFF path, or a stack already open (a ``(T, H, W)`` array).
        method: a stack method's name (:func:`~streamseg.segmenters.stack.stack_methods`)
            or an instance (then ``params`` must be empty).
        params: the method's parameters.
        outputs: the TIFF stacks to write (none: the run only computes, e.g. to time it).
        mask: how ``outputs.mask`` is drawn.
        on_progress: progress, ``(stage, done, total)``.
        should_stop: polled between steps and frames: the run stops early, its outputs
            removed (a partial stack is no result).

    Returns:
        What the run did.

    Raises:
        SourceError: the stack cannot be read.
        ConfigError: a bad method, parameter or output.
        SinkError: an output cannot be written.
    """
    outputs = outputs or StackOutputs()
    mask = mask or MaskRule()
    path = None if not isinstance(source, (str, Path)) else Path(source)
    named = check_stack_outputs(path, outputs)
    if isinstance(method, StackMethod):
        if params:
            raise ConfigError("give parameters with a method's name, not with an instance")
        m = method
    else:
        m = create_stack_method(method, **dict(params or {}))
    if path is not None:
        with TiffStack(path) as stack:
            return _run(stack, stack.info, m, named, outputs, mask, on_progress, should_stop)
    array: Any = source
    t, h, w = array.shape
    info = StackInfo(t, h, w, np.dtype(array.dtype).name)
    return _run(array, info, m, named, outputs, mask, on_progress, should_stop)


def _run(
    stack: StackLike,
    info: StackInfo,
    method: StackMethod,
    named: dict[str, Path],
    outputs: StackOutputs,
    mask: MaskRule,
    on_progress: OnProgress | None,
    should_stop: Callable[[], bool] | None,
) -> StackStats:
    stats = StackStats(frames=0, info=info, outputs=named)
    stopping = should_stop or (lambda: False)
    t0 = time.perf_counter()
    if method.learns:
        steps = [0]

        def on_step(step: int, total: int, loss: float) -> None:
            steps[0] = step + 1
            if on_progress is not None:
                on_progress("train", step + 1, total)

        method.fit(stack, on_step=on_step, should_stop=stopping)
        stats.train_steps = steps[0]
    stats.train_seconds = time.perf_counter() - t0
    if stopping():
        stats.stopped = True
        return stats
    writers = _open_writers(named, info, outputs, method.name)
    try:
        for part in method.decompose(stack):
            if stopping():
                stats.stopped = True
                break
            if "sparse" in writers:
                writers["sparse"].write(part.index, part.sparse)
            if "background" in writers:
                writers["background"].write(part.index, part.background)
            if "mask" in writers:
                writers["mask"].write(part.index, mask.apply(part.residual))
            stats.frames += 1
            if on_progress is not None:
                on_progress("frames", stats.frames, info.frames)
    except BaseException:
        for w in writers.values():
            w.abort()
        raise
    for w in writers.values():
        if stats.stopped:
            w.abort()
        else:
            w.close()
    stats.seconds = time.perf_counter() - t0
    log.info(
        "%s: %d frames in %.1f s (training %.1f s)",
        method.name,
        stats.frames,
        stats.seconds,
        stats.train_seconds,
    )
    return stats
