"""Microscopy stacks: multi-page TIFF and OME-TIFF files read frame by frame, in their own dtype.

A stack is ``T`` frames of ``H × W`` pixels, uint8/uint16/int/float as the camera wrote
them: nothing here converts to 8-bit (the video sources do, for the video methods).
:class:`TiffStack` reads them with tifffile. Where the file allows (uncompressed,
contiguous pixel data, as cameras, ImageJ and OME writers usually store it) the frames
are read from a read-only memory map; otherwise page by page. Either way one frame is
in memory at a time, so a stack larger than the machine's memory streams.

Pages of a memory map that were read stay in the process's resident set until the
kernel reclaims them, which on a machine with free memory is never: a pass over a
2.6 GB stack would show 2.6 GB resident. The reader hands them back
(``madvise(MADV_DONTNEED)``) after every :data:`RELEASE_BYTES` read; the data stays in
the page cache, so reading them again costs no disk access.

The pixel size, its unit and the frame interval come from ImageJ's or OME's metadata
(:class:`StackInfo`); the writers (:mod:`streamseg.sinks.tiffstack`) carry them on.

Example:
    >>> import numpy as np, tempfile, os
    >>> from streamseg.sinks.tiffstack import write_stack
    >>> from streamseg.sources.tiffstack import StackInfo, open_stack
    >>> path = os.path.join(tempfile.mkdtemp(), "stack.tif")
    >>> frames = np.arange(3 * 4 * 5, dtype=np.uint16).reshape(3, 4, 5)
    >>> write_stack(path, frames, StackInfo(3, 4, 5, "uint16", pixel_size=(0.1, 0.1)))
    >>> with open_stack(path) as stack:
    ...     print(len(stack), stack.info.dtype, stack.info.pixel_size, stack[2][0, :3])
    3 uint16 (0.1, 0.1) [40 41 42]
"""

from __future__ import annotations

import dataclasses
import logging
import mmap
import re
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from streamseg.errors import SourceError, SourceNotFoundError

__all__ = [
    "RELEASE_BYTES",
    "TIFF_NAME",
    "StackInfo",
    "TiffStack",
    "check_stack_dtype",
    "open_stack",
]

log = logging.getLogger(__name__)

RELEASE_BYTES = 64 * 2**20
"""Bytes read from a memory map after which its pages are handed back to the kernel."""

#: Pixel types a stack may have: unsigned and signed integers, floats (not bool, complex).
_KINDS = "uif"

#: A TIFF file name: ``.tif``, ``.tiff``, ``.ome.tif``, ``.ome.tiff`` (any case).
TIFF_NAME = re.compile(r"\.(ome\.)?tiff?$", re.IGNORECASE)

_MICRO = ("um", "µm", "\u00b5m", "micron", "microns", "micrometer", "micrometre")


def check_stack_dtype(dtype: Any, origin: str) -> np.dtype:
    """``dtype`` as a numpy dtype, if a stack may hold it.

    Raises:
        SourceError: a bool, complex or structured pixel type.
    """
    dt = np.dtype(dtype)
    if dt.kind not in _KINDS or dt.itemsize > 8:
        raise SourceError(f"{origin}: pixel type {dt} is not supported (integers and floats are)")
    return dt


def _unit(text: Any) -> str:
    """A length unit as written in metadata → ``µm`` for the micrometre's spellings."""
    unit = str(text or "").strip()
    return "µm" if unit.lower().replace("\\u00b5", "µ") in _MICRO else unit


@dataclass(frozen=True)
class StackInfo:
    """What a stack is: its shape, pixel type and physical calibration.

    Attributes:
        frames: ``T``, the frames (time points, or planes of a z stack).
        height: ``H``.
        width: ``W``.
        dtype: the pixel type's name (``uint16``, ``float32``...), kept end to end.
        pixel_size: ``(y, x)`` size of a pixel in ``unit`` (None: not recorded).
        unit: the unit of ``pixel_size`` (``µm`` however the file spelled it).
        interval: seconds between frames (None: not recorded).
        axes: the file's axes after dropping those of length 1 (``TYX``, ``ZYX``, ``IYX``).
        memory_mapped: whether frames are read from a memory map (else page by page).
    """

    frames: int
    height: int
    width: int
    dtype: str
    pixel_size: tuple[float, float] | None = None
    unit: str = "µm"
    interval: float | None = None
    axes: str = "TYX"
    memory_mapped: bool = False

    @property
    def shape(self) -> tuple[int, int, int]:
        """``(T, H, W)``."""
        return (self.frames, self.height, self.width)

    @property
    def nbytes(self) -> int:
        """Bytes of the whole stack's pixels."""
        return self.frames * self.height * self.width * np.dtype(self.dtype).itemsize

    def with_dtype(self, dtype: Any) -> StackInfo:
        """The same stack's calibration for frames of another pixel type."""
        return dataclasses.replace(self, dtype=np.dtype(dtype).name)


def _ome_calibration(xml: str) -> tuple[tuple[float, float] | None, str, float | None]:
    """Pixel size, unit and frame interval from OME-XML (the first image's ``Pixels``)."""
    try:
        root = ET.fromstring(xml)
    except ET.ParseError:
        return None, "µm", None
    pixels = next((e for e in root.iter() if e.tag.rsplit("}", 1)[-1] == "Pixels"), None)
    if pixels is None:
        return None, "µm", None
    size: tuple[float, float] | None = None
    try:
        sx = float(pixels.attrib["PhysicalSizeX"])
        size = (float(pixels.attrib.get("PhysicalSizeY", sx)), sx)
    except (KeyError, ValueError):
        size = None
    unit = _unit(pixels.attrib.get("PhysicalSizeXUnit", "µm"))
    interval = None
    if "TimeIncrement" in pixels.attrib:
        try:
            interval = float(pixels.attrib["TimeIncrement"])
            if pixels.attrib.get("TimeIncrementUnit", "s") == "ms":
                interval /= 1000
        except ValueError:
            interval = None
    return size, unit, interval


def _imagej_calibration(
    tif: Any, page: Any
) -> tuple[tuple[float, float] | None, str, float | None]:
    """Pixel size, unit and frame interval from ImageJ's description and resolution tags.

    ImageJ stores pixels per unit in the TIFF resolution tags and the unit in its
    description (the TIFF resolution unit is NONE).
    """
    meta = tif.imagej_metadata or {}
    size = None
    try:
        xres = page.tags["XResolution"].value
        yres = page.tags["YResolution"].value
        px, py = xres[1] / xres[0], yres[1] / yres[0]
        if meta.get("unit") and px > 0 and py > 0:
            size = (float(py), float(px))
    except (KeyError, ZeroDivisionError, TypeError, IndexError):
        size = None
    interval = meta.get("finterval")
    return size, _unit(meta.get("unit", "µm")), float(interval) if interval else None


class TiffStack:
    """A multi-page TIFF or OME-TIFF stack, read one frame at a time in its own dtype.

    ``len(stack)``, ``stack[i]`` (a copy of frame ``i``, ``(H, W)``), iteration in order
    and :meth:`read` (a range of frames) are the whole interface; any ``(T, H, W)``
    numpy array offers the same, so the stack methods take either.

    Args:
        path: the file.
        release_bytes: bytes read from the memory map between hand-backs of its pages.

    Raises:
        SourceNotFoundError: no such file.
        SourceError: not a TIFF, or not one plane per frame (several channels, RGB).
    """

    def __init__(self, path: str | Path, *, release_bytes: int = RELEASE_BYTES) -> None:
        import tifffile

        self.path = Path(path)
        if not self.path.is_file():
            raise SourceNotFoundError(f"{self.path}: no such file")
        try:
            self._tif = tifffile.TiffFile(self.path)
        except (tifffile.TiffFileError, ValueError, OSError) as err:
            raise SourceError(f"{self.path}: not a TIFF file ({err})") from None
        try:
            self._open(release_bytes)
        except BaseException:
            self._tif.close()
            raise

    def _open(self, release_bytes: int) -> None:
        import tifffile

        if not self._tif.series:
            raise SourceError(f"{self.path}: the TIFF holds no image")
        series = self._tif.series[0]
        dtype = check_stack_dtype(series.dtype, str(self.path))
        kept = [(n, a) for n, a in zip(series.shape, series.axes, strict=True) if n != 1]
        if len(kept) < 2:
            kept = [(1, "Y"), (1, "X")][len(kept) :] + kept  # a 1×N image still has two sides
        if len(kept) > 3 or "S" in series.axes and series.shape[series.axes.index("S")] > 1:
            raise SourceError(
                f"{self.path}: axes {series.axes} of shape {tuple(series.shape)}: a stack is "
                "one plane per frame; split its channels (or z and time) into files first"
            )
        if len(kept) == 2:
            kept = [(1, "T"), *kept]
        (t, axis), (h, _), (w, _) = kept
        self._shape = (int(t), int(h), int(w))
        self._memmap: np.ndarray | None = None
        self._mapped: np.memmap | None = None
        try:
            mapped = tifffile.memmap(self.path, series=0, mode="r")
            self._memmap = mapped.reshape(self._shape)  # a view: the same map
            self._mapped = mapped
        except (ValueError, OSError) as err:
            log.info("%s: not memory-mappable (%s); reading page by page", self.path, err)
        page = series.pages[0] if series.pages else self._tif.pages[0]
        if self._tif.is_ome and self._tif.ome_metadata:
            size, unit, interval = _ome_calibration(self._tif.ome_metadata)
        elif self._tif.is_imagej:
            size, unit, interval = _imagej_calibration(self._tif, page)
        else:
            size, unit, interval = None, "µm", None
        self.info = StackInfo(
            frames=self._shape[0],
            height=self._shape[1],
            width=self._shape[2],
            dtype=dtype.name,
            pixel_size=size,
            unit=unit,
            interval=interval,
            axes=axis + "YX",
            memory_mapped=self._memmap is not None,
        )
        self._release_bytes = max(1, release_bytes)
        self._read_since_release = 0
        self._closed = False

    @property
    def shape(self) -> tuple[int, int, int]:
        """``(T, H, W)``."""
        return self._shape

    @property
    def dtype(self) -> np.dtype:
        return np.dtype(self.info.dtype)

    def __len__(self) -> int:
        return self._shape[0]

    def __repr__(self) -> str:
        return f"TiffStack({str(self.path)!r}, shape={self._shape}, dtype={self.info.dtype})"

    def _check_open(self) -> None:
        if self._closed:
            raise SourceError(f"{self.path}: the stack is closed")

    def _index(self, index: int) -> int:
        i = int(index)
        if i < 0:
            i += len(self)
        if not 0 <= i < len(self):
            raise IndexError(f"frame {index} of a {len(self)}-frame stack")
        return i

    def __getitem__(self, index: int) -> np.ndarray:
        """A copy of frame ``index``, ``(H, W)`` in the stack's dtype."""
        self._check_open()
        i = self._index(index)
        if self._memmap is None:
            frame = self._tif.asarray(key=i, series=0)
            return np.asarray(frame, dtype=self.dtype).reshape(self._shape[1:])
        frame = np.array(self._memmap[i])
        self._count(frame.nbytes)
        return frame

    def read(self, start: int, stop: int) -> np.ndarray:
        """Frames ``start`` to ``stop - 1`` as one ``(n, H, W)`` array (a copy)."""
        stop = min(stop, len(self))
        if self._memmap is not None and 0 <= start <= stop:
            self._check_open()
            block = np.array(self._memmap[start:stop])
            self._count(block.nbytes)
            return block
        return np.stack([self[i] for i in range(start, stop)])

    def __iter__(self) -> Iterator[np.ndarray]:
        for i in range(len(self)):
            yield self[i]

    def _count(self, nbytes: int) -> None:
        self._read_since_release += nbytes
        if self._read_since_release >= self._release_bytes:
            self.release()

    def release(self) -> None:
        """Hand the memory map's resident pages back to the kernel (the data stays cached)."""
        self._read_since_release = 0
        raw = getattr(self._mapped, "_mmap", None) if self._memmap is not None else None
        if raw is not None and hasattr(raw, "madvise") and hasattr(mmap, "MADV_DONTNEED"):
            raw.madvise(mmap.MADV_DONTNEED)

    def close(self) -> None:
        """Close the file (idempotent)."""
        if self._closed:
            return
        self._closed = True
        self._memmap = None
        self._mapped = None
        self._tif.close()

    def __enter__(self) -> TiffStack:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def open_stack(path: str | Path, **kwargs: Any) -> TiffStack:
    """Open a TIFF stack (see :class:`TiffStack`); use it as a context manager."""
    return TiffStack(path, **kwargs)
