"""Webcams, and video files through OpenCV's ``VideoCapture`` (the fallback decoder).

Webcams are live: a :class:`~streamseg.sources.live.LiveReader` thread keeps the
newest frame. On Linux a webcam is ``/dev/videoN``; a missing device is reported
before OpenCV is asked, so the message says what is wrong.
"""

from __future__ import annotations

import logging
import os
import re
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from streamseg.errors import SourceError, SourceNotFoundError
from streamseg.frame import Frame, SourceInfo
from streamseg.sources.base import SourceConfig
from streamseg.sources.live import LiveCapableSource

__all__ = ["CaptureSource", "webcam_index"]

log = logging.getLogger(__name__)


def webcam_index(uri: str | int) -> int | None:
    """The device index of a webcam URI (``0``, ``"0"``, ``"/dev/video2"``), else ``None``."""
    if isinstance(uri, int):
        return uri
    if uri.isdigit():
        return int(uri)
    match = re.fullmatch(r"/dev/video(\d+)", uri)
    return int(match.group(1)) if match else None


def _quiet_capture(path: str) -> Any:
    """``cv2.VideoCapture(path)`` without OpenCV's own error lines on stderr.

    OpenCV is the fallback decoder: when it cannot open a file either, the caller
    raises one clear message, and OpenCV's log lines would only add noise.
    """
    import cv2
    import cv2.utils.logging as cv_log

    # OpenCV's FFmpeg backend logs through its own callback ("moov atom not found"), at
    # the level this variable gives; it is read once, when that backend first starts, so
    # it is set here, before, unless the user chose a level.
    os.environ.setdefault("OPENCV_FFMPEG_LOGLEVEL", "-8")
    previous = cv_log.getLogLevel()
    cv_log.setLogLevel(cv_log.LOG_LEVEL_SILENT)
    try:
        return cv2.VideoCapture(path)
    finally:
        cv_log.setLogLevel(previous)


def _gray(image: np.ndarray) -> np.ndarray:
    import cv2

    return cv2.cvtColor(image, cv2.COLOR_BGR2GRAY) if image.ndim == 3 else image


class _Webcam:
    """One open webcam (a :class:`~streamseg.sources.live.Connection`)."""

    def __init__(self, index: int, config: SourceConfig) -> None:
        import cv2

        if sys.platform.startswith("linux") and not os.path.exists(f"/dev/video{index}"):
            raise SourceNotFoundError(
                f"no webcam at /dev/video{index} (no such device); connect a camera, pick "
                "another index, or pass a video file or stream URL as the source"
            )
        backend = cv2.CAP_V4L2 if sys.platform.startswith("linux") else cv2.CAP_ANY
        params = [
            cv2.CAP_PROP_OPEN_TIMEOUT_MSEC,
            int(config.open_timeout * 1000),
            cv2.CAP_PROP_READ_TIMEOUT_MSEC,
            int(config.read_timeout * 1000),
        ]
        self.cap = cv2.VideoCapture(index, backend, params)
        if not self.cap.isOpened():
            self.cap.release()
            raise SourceError(
                f"webcam {index}: the device exists but cannot be opened (busy, or no permission?)"
            )
        self.gray = config.gray
        self.index = index

    def frames(self) -> Iterator[np.ndarray]:
        while True:
            ok, image = self.cap.read()
            if not ok:
                return
            yield _gray(image) if self.gray else image

    def close(self) -> None:
        self.cap.release()


class CaptureSource(LiveCapableSource):
    """A webcam (live) or a video file read through ``cv2.VideoCapture``.

    Args:
        uri: webcam index / ``/dev/videoN``, or a file path.
        config: timeouts and reconnect policy; see :class:`SourceConfig`.

    Example:
        >>> from streamseg.sources.capture import CaptureSource
        >>> CaptureSource(0).live
        True
    """

    def __init__(self, uri: str | int | Path, config: SourceConfig | None = None) -> None:
        super().__init__()
        self.uri = uri if isinstance(uri, int) else str(uri)
        self.config = config or SourceConfig(uri=str(uri))
        self.index = webcam_index(self.uri)
        self.live = self.index is not None
        self._cap: Any = None
        self._count = 0
        self._fps: float | None = None

    def _open(self) -> SourceInfo:
        import cv2

        if self.index is not None:
            index = self.index
            cam = _Webcam(index, self.config)
            width = int(cam.cap.get(cv2.CAP_PROP_FRAME_WIDTH))
            height = int(cam.cap.get(cv2.CAP_PROP_FRAME_HEIGHT))
            fps = cam.cap.get(cv2.CAP_PROP_FPS) or None
            self._start_reader(cam, lambda: _Webcam(index, self.config), f"webcam {index}")
            return SourceInfo(width, height, fps, None, is_live=True)
        path = str(self.uri)
        if not Path(path).exists():
            raise SourceNotFoundError(f"{path}: no such file")
        cap = _quiet_capture(path)
        if not cap.isOpened():
            cap.release()
            raise SourceError(f"{path}: not a video file OpenCV can read")
        self._cap = cap
        self._fps = cap.get(cv2.CAP_PROP_FPS) or None
        count = int(cap.get(cv2.CAP_PROP_FRAME_COUNT))
        return SourceInfo(
            int(cap.get(cv2.CAP_PROP_FRAME_WIDTH)),
            int(cap.get(cv2.CAP_PROP_FRAME_HEIGHT)),
            self._fps,
            count if count > 0 else None,
            is_live=False,
        )

    def _read(self) -> Frame | None:
        if self._reader is not None:
            return self._read_live()
        ok, image = self._cap.read()
        if not ok:
            if self._count == 0:
                # Nothing to segment: an error, not an empty run that looks like success.
                raise SourceError(
                    f"{self.uri}: no frame could be decoded (an empty or truncated video)"
                )
            return None
        frame = Frame(
            _gray(image) if self.config.gray else image,
            self._count,
            self._count / (self._fps or self.config.fps),
        )
        self._count += 1
        return frame

    def _close(self) -> None:
        self._stop_reader()
        if self._cap is not None:
            self._cap.release()
            self._cap = None

    def __repr__(self) -> str:
        return f"CaptureSource({self.uri!r})"
