"""TIFF stacks out: the sparse part, the background or the mask of a stack, frame by frame.

:class:`TiffStackWriter` writes a ``(T, H, W)`` stack one frame at a time, in the pixel
type it is given (uint16 stays uint16, float32 stays float32), with the input's pixel
size, unit and frame interval:

* an ImageJ hyperstack (``T`` frames, the calibration Fiji shows under *Image ▸
  Properties*) for uint8, uint16 and float32, the types ImageJ reads;
* an OME-TIFF when the name ends in ``.ome.tif``/``.ome.tiff``, for any other pixel type,
  and for stacks of 4 GiB or more (BigTIFF: ImageJ's TIFF has 32-bit offsets).

The file is created at its full size, uncompressed and contiguous (so the result can be
memory-mapped in turn) and filled through a memory map; written pages are flushed and
handed back to the kernel every :data:`~streamseg.sources.tiffstack.RELEASE_BYTES`, so a
long stack is written in bounded memory. It is written under a temporary name beside
the target and renamed when :meth:`TiffStackWriter.close` completes it: an interrupted
run leaves no truncated stack under the target's name.

Example:
    >>> import numpy as np, tempfile, os
    >>> from streamseg.sources.tiffstack import StackInfo, open_stack
    >>> path = os.path.join(tempfile.mkdtemp(), "bg.tif")
    >>> with TiffStackWriter(path, StackInfo(2, 3, 4, "float32", interval=0.05)) as out:
    ...     for t in range(2):
    ...         out.write(t, np.full((3, 4), t + 0.25))
    >>> with open_stack(path) as stack:
    ...     print(stack.info.dtype, stack.info.interval, float(stack[1][0, 0]))
    float32 0.05 1.25
"""

from __future__ import annotations

import dataclasses
import mmap
import os
from pathlib import Path
from typing import Any

import numpy as np

from streamseg.errors import ClosedError, SinkError
from streamseg.sources.tiffstack import RELEASE_BYTES, StackInfo, check_stack_dtype

__all__ = ["TiffStackWriter", "to_dtype", "write_stack"]

#: Pixel types ImageJ reads from a hyperstack.
IMAGEJ_TYPES = ("uint8", "uint16", "float32")
#: Stacks from this size on are written as BigTIFF (OME).
BIG = 2**32 - 2**25


def to_dtype(frame: np.ndarray, dtype: Any) -> np.ndarray:
    """``frame`` in pixel type ``dtype``: integers rounded and clipped to its range.

    Example:
        >>> to_dtype(np.array([-3.0, 2.6, 70000.0]), "uint16")
        array([    0,     3, 65535], dtype=uint16)
    """
    dt = np.dtype(dtype)
    if dt.kind in "ui" and frame.dtype.kind == "f":
        info = np.iinfo(dt)
        return np.clip(np.rint(frame), info.min, info.max).astype(dt)
    if dt.kind in "ui" and frame.dtype.kind in "ui" and frame.dtype != dt:
        info = np.iinfo(dt)
        return np.clip(frame, info.min, info.max).astype(dt)
    return frame.astype(dt, copy=False)


def _is_ome_name(path: Path) -> bool:
    return path.name.lower().endswith((".ome.tif", ".ome.tiff"))


class TiffStackWriter:
    """Writes a ``(T, H, W)`` stack frame by frame (see the module's description).

    Args:
        path: the TIFF to write (replaced if it exists, once the stack is complete).
        info: the stack's shape, pixel type and calibration (e.g. the input's
            :class:`~streamseg.sources.tiffstack.StackInfo`, ``with_dtype`` for another type).
        description: a line stored in the file (ImageJ's *Info*, OME's description).
        release_bytes: bytes written between flushes and hand-backs of the map's pages.

    Raises:
        SinkError: the folder does not exist or cannot be written, the disk is full.
    """

    def __init__(
        self,
        path: str | Path,
        info: StackInfo,
        *,
        description: str | None = None,
        release_bytes: int = RELEASE_BYTES,
    ) -> None:
        import tifffile

        self.path = Path(path)
        self.info = info
        self.dtype = check_stack_dtype(info.dtype, str(self.path))
        self.ome = (
            _is_ome_name(self.path) or self.dtype.name not in IMAGEJ_TYPES or info.nbytes >= BIG
        )
        if not self.path.parent.is_dir():
            raise SinkError(f"{self.path}: folder {self.path.parent} does not exist")
        self._partial = self.path.with_name(f".{self.path.name}.partial")
        kwargs = self._format(description)
        try:
            self._map = tifffile.memmap(self._partial, shape=info.shape, dtype=self.dtype, **kwargs)
        except OSError as err:
            self._partial.unlink(missing_ok=True)
            raise SinkError(f"{self.path}: cannot write ({err.strerror or err})") from None
        self._release_bytes = max(1, release_bytes)
        self._written_since_release = 0
        self._written = np.zeros(info.frames, bool)
        self._closed = False

    def _format(self, description: str | None) -> dict[str, Any]:
        info = self.info
        if self.ome:
            meta: dict[str, Any] = {"axes": "TYX"}
            if info.pixel_size is not None:
                meta.update(
                    PhysicalSizeY=info.pixel_size[0],
                    PhysicalSizeX=info.pixel_size[1],
                    PhysicalSizeYUnit=info.unit,
                    PhysicalSizeXUnit=info.unit,
                )
            if info.interval is not None:
                meta.update(TimeIncrement=info.interval, TimeIncrementUnit="s")
            if description:
                meta["Description"] = description
            return {"ome": True, "bigtiff": info.nbytes >= BIG, "metadata": meta}
        ij: dict[str, Any] = {"axes": "TYX"}
        kwargs: dict[str, Any] = {"imagej": True}
        if info.pixel_size is not None:
            ij["unit"] = "um" if info.unit == "µm" else info.unit
            kwargs["resolution"] = (1 / info.pixel_size[1], 1 / info.pixel_size[0])
        if info.interval is not None:
            ij["finterval"] = info.interval
        if description:
            ij["Info"] = description
        kwargs["metadata"] = ij
        return kwargs

    def write(self, index: int, frame: np.ndarray) -> None:
        """Write frame ``index`` (``(H, W)``, converted to the stack's pixel type)."""
        if self._closed:
            raise ClosedError(f"{self.path}: the writer is closed")
        if frame.shape != self.info.shape[1:]:
            raise SinkError(
                f"{self.path}: frame of shape {frame.shape}, the stack's are {self.info.shape[1:]}"
            )
        self._map[index] = to_dtype(frame, self.dtype)
        self._written[index] = True
        self._written_since_release += self._map[index].nbytes
        if self._written_since_release >= self._release_bytes:
            self._release()

    def _release(self) -> None:
        self._written_since_release = 0
        try:
            self._map.flush()
        except OSError as err:
            raise SinkError(f"{self.path}: cannot write ({err.strerror or err})") from None
        raw = getattr(self._map, "_mmap", None)
        if raw is not None and hasattr(raw, "madvise") and hasattr(mmap, "MADV_DONTNEED"):
            raw.madvise(mmap.MADV_DONTNEED)

    @property
    def complete(self) -> bool:
        """Whether every frame has been written."""
        return bool(self._written.all())

    def close(self) -> None:
        """Finish the file and give it its name; a stack with frames missing is discarded.

        Raises:
            SinkError: frames were never written (the partial file is removed).
        """
        if self._closed:
            return
        self._closed = True
        self._release()
        del self._map
        if not self.complete:
            missing = int((~self._written).sum())
            self._partial.unlink(missing_ok=True)
            raise SinkError(f"{self.path}: {missing} of {self.info.frames} frames never written")
        os.replace(self._partial, self.path)

    def abort(self) -> None:
        """Stop without a result: the partial file is removed (idempotent)."""
        if self._closed:
            return
        self._closed = True
        del self._map
        self._partial.unlink(missing_ok=True)

    def __enter__(self) -> TiffStackWriter:
        return self

    def __exit__(self, exc_type: object, *exc: object) -> None:
        if exc_type is None:
            self.close()
        else:
            self.abort()


def write_stack(
    path: str | Path,
    frames: np.ndarray,
    info: StackInfo | None = None,
    *,
    description: str | None = None,
) -> None:
    """Write a whole ``(T, H, W)`` array as a stack in its own pixel type.

    ``info`` gives the calibration (pixel size, unit, interval); the shape and the
    pixel type are the array's.
    """
    frames = np.asarray(frames)
    if frames.ndim == 2:
        frames = frames[None]
    t, h, w = frames.shape
    base = info or StackInfo(t, h, w, frames.dtype.name)
    out_info = dataclasses.replace(base, frames=t, height=h, width=w, dtype=frames.dtype.name)
    with TiffStackWriter(path, out_info, description=description) as out:
        for i, frame in enumerate(frames):
            out.write(i, frame)
