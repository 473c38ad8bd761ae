"""Image folders, CDnet layout included.

The frame index is the number in the file name (``in000470.jpg`` → 470), so the
masks written for it (``bin000470.png``) line up with CDnet ground truth
(``gt000470.png``). Given a CDnet sequence root (a folder with ``input/``), the
source reads ``input/``.

Example:
    >>> import tempfile, cv2, numpy as np
    >>> from pathlib import Path
    >>> from streamseg.sources.folder import FolderSource
    >>> d = Path(tempfile.mkdtemp())
    >>> for i in (470, 471):
    ...     _ = cv2.imwrite(str(d / f"in{i:06d}.png"), np.zeros((8, 8, 3), np.uint8))
    >>> with FolderSource(d) as src:
    ...     [f.index for f in src]
    [470, 471]
"""

from __future__ import annotations

import logging
import re
from pathlib import Path

import numpy as np

from streamseg.errors import SourceError, SourceNotFoundError
from streamseg.frame import Frame, SourceInfo
from streamseg.sources.base import FrameSource, SourceConfig

__all__ = ["FolderSource", "IMAGE_SUFFIXES", "jpeg_is_complete", "list_images"]

log = logging.getLogger(__name__)

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp", ".ppm", ".pgm")


def list_images(folder: Path) -> list[tuple[int, Path]]:
    """``(index, path)`` of the images in ``folder``, ordered by the number in their names.

    Files whose names hold no number are numbered after the others, in name order.
    """
    numbered: list[tuple[int, Path]] = []
    plain: list[Path] = []
    for path in folder.iterdir():
        if path.suffix.lower() not in IMAGE_SUFFIXES or not path.is_file():
            continue
        digits = re.findall(r"\d+", path.stem)
        if digits:
            numbered.append((int(digits[-1]), path))
        else:
            plain.append(path)
    numbered.sort()
    start = numbered[-1][0] + 1 if numbered else 0
    return numbered + [(start + i, p) for i, p in enumerate(sorted(plain))]


def jpeg_is_complete(data: bytes) -> bool:
    """Whether JPEG ``data`` reach their end-of-image marker (``FFD9``); ``True`` if not a JPEG.

    libjpeg decodes a truncated file without an error (the missing rows come out flat
    grey, its only sign a line on stderr), so a cut copy would be segmented as a frame.
    The markers are walked from the start: segments by their length (an EXIF thumbnail's
    own end marker is inside one), entropy-coded data up to the next marker (``FF00``
    is a data byte, ``FFD0``-``FFD7`` restart markers), so bytes after the end marker
    (some cameras append data) do not matter.
    """
    if not data.startswith(b"\xff\xd8\xff"):
        return True
    end = len(data)
    pos = 2
    while True:
        pos = data.find(b"\xff", pos)
        if pos < 0 or pos + 1 >= end:
            return False
        marker = data[pos + 1]
        if marker == 0xD9:
            return True
        if marker == 0xFF:  # fill byte before a marker
            pos += 1
        elif marker in (0x00, 0x01, 0xD8) or 0xD0 <= marker <= 0xD7:  # no length
            pos += 2
        else:
            if pos + 4 > end:
                return False
            pos += 2 + int.from_bytes(data[pos + 2 : pos + 4], "big")


class FolderSource(FrameSource):
    """Images of a folder, read in frame-number order; never drops a frame.

    An unreadable image (a truncated JPEG or PNG included) is skipped with a warning and
    counted in :attr:`dropped`.

    Args:
        folder: the image folder, or a CDnet sequence root holding ``input/``.
        config: ``gray`` and the frame rate to assume (``fps``); see :class:`SourceConfig`.
    """

    def __init__(self, folder: str | Path, config: SourceConfig | None = None) -> None:
        super().__init__()
        self.folder = Path(folder)
        self.config = config or SourceConfig(uri=str(folder))
        self._files: list[tuple[int, Path]] = []
        self._pos = 0

    def _open(self) -> SourceInfo:
        import cv2

        folder = self.folder
        if not folder.exists():
            raise SourceNotFoundError(f"{folder}: no such folder")
        if (folder / "input").is_dir():
            folder = folder / "input"
        self._files = list_images(folder)
        if not self._files:
            raise SourceError(f"{folder}: no images ({', '.join(IMAGE_SUFFIXES)}) in this folder")
        for (a, one), (b, other) in zip(self._files, self._files[1:], strict=False):
            if a == b:
                # Masks are named by the number: the second would overwrite the first's.
                raise SourceError(
                    f"{folder}: {one.name} and {other.name} both carry frame number {a}; "
                    "give each image its own number (one camera per folder)"
                )
        first = None
        for _, path in self._files[:10]:
            first = _decode(path, cv2.IMREAD_UNCHANGED)
            if first is not None:
                break
        if first is None:
            raise SourceError(f"{folder}: the first images cannot be decoded")
        return SourceInfo(
            first.shape[1], first.shape[0], self.config.fps, len(self._files), is_live=False
        )

    def _read(self) -> Frame | None:
        import cv2

        flag = cv2.IMREAD_GRAYSCALE if self.config.gray else cv2.IMREAD_COLOR
        while self._pos < len(self._files):
            index, path = self._files[self._pos]
            self._pos += 1
            image = _decode(path, flag)
            if image is None:
                self.dropped += 1
                self.warning = f"{self.dropped} unreadable image(s) skipped, last {path.name}"
                log.warning("%s: cannot decode %s; skipped", self.folder, path.name)
                continue
            return Frame(np.ascontiguousarray(image), index, index / self.config.fps, True)
        return None

    def __repr__(self) -> str:
        return f"FolderSource({str(self.folder)!r})"


def _decode(path: Path, flag: int) -> np.ndarray | None:
    """The image in ``path``, or ``None``: unreadable, undecodable or a truncated JPEG."""
    import cv2

    try:
        data = path.read_bytes()
    except OSError as err:
        log.debug("%s: %s", path, err.strerror)
        return None
    if not jpeg_is_complete(data):
        log.debug("%s: the JPEG ends before its end marker (a truncated file)", path)
        return None
    return cv2.imdecode(np.frombuffer(data, np.uint8), flag)
