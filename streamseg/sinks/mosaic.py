"""A labelled mosaic: the input and every method's result side by side, in one video.

Example:
    >>> import numpy as np
    >>> from streamseg.sinks.mosaic import mosaic
    >>> img = np.zeros((40, 60, 3), np.uint8)
    >>> empty = np.zeros((40, 60), np.uint8)
    >>> tiles = mosaic(img, {"mog2": empty, "knn": empty})
    >>> tiles.shape
    (40, 180, 3)
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from pathlib import Path

import numpy as np

from streamseg.frame import Frame
from streamseg.sinks.base import Sink
from streamseg.sinks.video import VideoWriter, overlay, prepare_video_path

__all__ = ["MosaicSink", "mosaic"]


def _label(tile: np.ndarray, text: str) -> np.ndarray:
    import cv2

    scale = max(0.35, tile.shape[1] / 640)
    (tw, th), base = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, scale, 1)
    cv2.rectangle(tile, (0, 0), (tw + 6, th + base + 6), (0, 0, 0), -1)
    cv2.putText(
        tile, text, (3, th + 3), cv2.FONT_HERSHEY_SIMPLEX, scale, (255, 255, 255), 1, cv2.LINE_AA
    )
    return tile


def mosaic(
    image: np.ndarray,
    masks: Mapping[str, np.ndarray],
    *,
    columns: int | None = None,
    show_overlay: bool = True,
    max_width: int | None = None,
    annotated: np.ndarray | None = None,
    truth: np.ndarray | None = None,
) -> np.ndarray:
    """Tile the input and one labelled tile per method (overlay or plain mask) in a grid.

    ``max_width``: the grid is at most this wide; the frame and masks are scaled down
    *before* tiling, so a large frame costs what its small tiles cost. ``annotated``: the
    input tile shows it instead of ``image`` (the frame with the events' boxes drawn), the
    methods' tiles still overlay ``image``. ``truth``: the exact mask, when the source knows
    it, as a tile of its own after the input's.
    """
    import cv2

    base = image if image.ndim == 3 else cv2.cvtColor(image, cv2.COLOR_GRAY2BGR)
    shown = base if annotated is None else annotated
    if truth is not None:
        masks = {"ground truth": truth, **masks}
    n = len(masks) + 1
    cols = columns or (n if n <= 3 else math.ceil(math.sqrt(n)))
    h, w = base.shape[:2]
    if max_width is not None and cols * w > max_width:
        w = max(1, max_width // cols)
        h = max(2, round(h * w / base.shape[1]))  # a very wide, thin frame keeps two rows
        base = cv2.resize(base, (w, h), interpolation=cv2.INTER_AREA)
        if annotated is not None:
            shown = cv2.resize(shown, (w, h), interpolation=cv2.INTER_AREA)
        else:
            shown = base
        # A mask keeps every pixel that covers foreground: a thin object must not vanish.
        masks = {k: cv2.resize(m, (w, h), interpolation=cv2.INTER_AREA) for k, m in masks.items()}
    tiles = [_label(shown.copy(), "input")]
    for name, mask in masks.items():
        tile = overlay(base, mask) if show_overlay else cv2.cvtColor(mask, cv2.COLOR_GRAY2BGR)
        tiles.append(_label(tile, name))
    rows = math.ceil(n / cols)
    grid = np.zeros((rows * h, cols * w, 3), np.uint8)
    for i, tile in enumerate(tiles):
        r, c = divmod(i, cols)
        grid[r * h : (r + 1) * h, c * w : (c + 1) * w] = tile
    return grid


class MosaicSink(Sink):
    """Writes :func:`mosaic` frames to a video: input | method 1 | method 2 | ...

    Args:
        path: the video file.
        fps: frame rate.
        max_width: tiles are scaled down so the mosaic is at most this wide.
    """

    def __init__(self, path: str | Path, fps: float = 25.0, max_width: int = 1920) -> None:
        super().__init__(None)
        self.path = Path(path).absolute()  # BGSLibrary chdirs for a moment (_bgslibrary)
        self.fps = fps
        self.max_width = max_width
        self._writer: VideoWriter | None = None

    def _open(self) -> None:
        prepare_video_path(self.path)
        self._writer = VideoWriter(self.path, self.fps)

    def _write(self, frame: Frame, masks: Mapping[str, np.ndarray]) -> None:
        assert self._writer is not None
        grid = mosaic(frame.image, masks, max_width=self.max_width, truth=frame.truth)
        self._writer.write(grid, frame.timestamp)

    def _close(self) -> None:
        if self._writer is not None:
            self._writer.close()

    def __repr__(self) -> str:
        return f"MosaicSink({str(self.path)!r})"
