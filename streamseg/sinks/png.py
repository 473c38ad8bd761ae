"""CDnet result masks: ``binNNNNNN.png``, 0 background and 255 foreground.

``NNNNNN`` is the frame's CDnet number (:attr:`~streamseg.frame.Frame.number`): an
image folder's frames keep their files' numbers, a video's are counted from 1, so
results line up with the ground truth ``gtNNNNNN.png`` of the same sequence. Each
file is written to a temporary name and renamed, so an interrupted run never leaves
a half-written mask.

Example:
    >>> import tempfile, numpy as np
    >>> from streamseg.frame import Frame
    >>> from streamseg.sinks.png import PngMaskSink
    >>> out = tempfile.mkdtemp()
    >>> image, mask = np.zeros((4, 4, 3), np.uint8), {"mog2": np.zeros((4, 4), np.uint8)}
    >>> with PngMaskSink(out) as sink:
    ...     sink.write(Frame(image, 470, 0.0, numbered=True), mask)  # in000470.jpg
    ...     sink.write(Frame(image, 0, 0.0), mask)  # a video's first frame
    >>> import os; sorted(os.listdir(out))
    ['bin000001.png', 'bin000470.png']
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import numpy as np

from streamseg.errors import SinkError
from streamseg.fileio import atomic_write, ensure_writable_dir
from streamseg.frame import Frame
from streamseg.sinks.base import Sink

__all__ = ["PngMaskSink"]


class PngMaskSink(Sink):
    """One ``binNNNNNN.png`` per frame in ``folder``, named by :attr:`Frame.number`.

    Args:
        folder: the output folder (created).
        method: which method's mask (``None``: the only one).
        offset: added to every frame's number (a restarted live stream numbers its masks
            after those written before the restart).
    """

    def __init__(self, folder: str | Path, method: str | None = None, offset: int = 0) -> None:
        super().__init__(method)
        self.folder = Path(folder).absolute()  # BGSLibrary chdirs for a moment (_bgslibrary)
        self.offset = offset
        self.written = 0

    def _open(self) -> None:
        ensure_writable_dir(self.folder)

    def _write(self, frame: Frame, masks: Mapping[str, np.ndarray]) -> None:
        import cv2

        mask = self.pick(masks)
        ok, buf = cv2.imencode(".png", mask, [cv2.IMWRITE_PNG_COMPRESSION, 1])
        if not ok:
            raise SinkError(f"cannot encode the mask of frame {frame.index} as PNG")
        atomic_write(self.folder / f"bin{frame.number + self.offset:06d}.png", buf.tobytes())
        self.written += 1

    def __repr__(self) -> str:
        return f"PngMaskSink({str(self.folder)!r}, method={self.method!r})"
