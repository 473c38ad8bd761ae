"""Videos written with PyAV: mask video, overlay video, and the writer they share.

MP4 and MOV files are written *fragmented* (``movflags=frag_keyframe+empty_moov``):
the index lives at the start and each fragment is self-contained, so a file
stays playable up to its last complete fragment even if the process is killed
before :meth:`VideoWriter.close` (a plain MP4 needs its ``moov`` atom, written
only at the end). Fragments and Matroska clusters close every
:data:`FLUSH_SECONDS` of video, the encoder keeps no frame back and every
container flushes each packet, so a killed MKV, TS or AVI file plays too, all
but its last :data:`FLUSH_SECONDS` at most. Timestamps count from the first
frame written, so a video starts at 0. H.264
with yuv420p plays everywhere; odd sizes are padded by one pixel because 4:2:0
chroma needs even dimensions.

Example:
    >>> import tempfile, numpy as np, av
    >>> from pathlib import Path
    >>> from streamseg.sinks.video import VideoWriter
    >>> path = Path(tempfile.mkdtemp()) / "a.mp4"
    >>> with VideoWriter(path, fps=25) as vw:
    ...     for _ in range(5):
    ...         vw.write(np.zeros((24, 33, 3), np.uint8))
    >>> with av.open(str(path)) as c:
    ...     sum(1 for _ in c.decode(video=0))
    5
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from fractions import Fraction
from pathlib import Path
from typing import Any, TypeVar

import numpy as np

from streamseg.errors import SinkError
from streamseg.fileio import ensure_writable_dir
from streamseg.frame import Frame
from streamseg.sinks.base import Sink

__all__ = ["VideoWriter", "MaskVideoSink", "OverlayVideoSink", "overlay"]

log = logging.getLogger(__name__)

_V = TypeVar("_V", bound="VideoWriter")

#: Seconds of video an MP4/MOV fragment or a Matroska cluster holds at most: what a
#: hard kill can cost (``tools/killtest.py`` measures it).
FLUSH_SECONDS = 0.25


class VideoWriter:
    """Encode BGR frames to a video file with PyAV (H.264, fragmented MP4).

    The stream is created on the first frame, whose size fixes the video's.

    Args:
        path: output file; ``.mp4``, ``.mov``, ``.m4v``, ``.mkv``, ``.ts`` or ``.avi``.
        fps: frame rate.
        crf: H.264 quality (lower is better; 23 is x264's default).
    """

    def __init__(self, path: str | Path, fps: float = 25.0, crf: int = 23) -> None:
        self.path = Path(path).absolute()  # BGSLibrary chdirs for a moment (_bgslibrary)
        self.fps = fps
        self.crf = crf
        self._container: Any = None
        self._stream: Any = None
        self._size: tuple[int, int] | None = None
        self.frames = 0
        self._closed = False
        self._failed = False  # a write failed: close() must not report it twice
        self._first_stamp: float | None = None
        self._rate = Fraction(1)
        self._pts = -1  # of the last frame, in frames of ``fps``

    def _start(self, width: int, height: int) -> None:
        import av

        ensure_writable_dir(self.path.parent)
        # Every packet reaches the disk when the muxer lets it go, so a hard kill loses
        # at most the container's own unit: an MP4 fragment, a Matroska cluster, each
        # held in memory until it closes. Both close every FLUSH_SECONDS of video
        # (fragments and clusters need not start on a keyframe).
        options = {"flush_packets": "1"}
        suffix = self.path.suffix.lower()
        if suffix in (".mp4", ".mov", ".m4v"):
            options["movflags"] = "frag_keyframe+empty_moov+default_base_moof"
            options["frag_duration"] = str(round(FLUSH_SECONDS * 1_000_000))
        elif suffix == ".mkv":
            options["cluster_time_limit"] = str(round(FLUSH_SECONDS * 1000))
        try:
            self._container = av.open(str(self.path), mode="w", options=options)
        except (av.error.FFmpegError, OSError, ValueError) as err:  # ValueError: unknown format
            raise SinkError(f"cannot write video {self.path}: {_reason(err)}") from None
        rate = Fraction(self.fps).limit_denominator(1001)
        self._rate = rate
        codec = "libx264" if "libx264" in av.codecs_available else "mpeg4"
        stream = self._container.add_stream(codec, rate=rate)
        stream.width, stream.height = width + width % 2, height + height % 2
        stream.pix_fmt = "yuv420p"
        if codec == "libx264":
            # zerolatency: x264 hands each frame's packet back at once (no lookahead,
            # no B-frames, sliced threads), so a hard kill finds no frame in the encoder,
            # and every packet's time is its frame's (B-frames made x264 shift the
            # first packet's by the first frames' gaps: a video starting seconds late).
            stream.options = {
                "crf": str(self.crf),
                "preset": "veryfast",
                "tune": "zerolatency",
                "g": str(max(1, round(self.fps))),
            }
        self._stream = stream
        self._size = (height, width)

    def write(self, image: np.ndarray, timestamp: float | None = None) -> None:
        """Append one BGR ``uint8`` frame (gray is converted).

        Args:
            image: the frame.
            timestamp: its time in seconds. With timestamps the video keeps real time:
                a frame shows until the next one's time (a live source that dropped
                frames makes a video as long as the stream was, not shorter); without
                (and in AVI, which has no timestamps), frames follow each other at ``fps``.
        """
        import av

        if self._closed:
            raise SinkError(f"video {self.path} is already closed")
        if image.ndim == 2:
            image = np.repeat(image[:, :, None], 3, axis=2)
        if self._stream is None:
            self._start(image.shape[1], image.shape[0])
        if image.shape[:2] != self._size:
            import cv2

            assert self._size is not None
            image = cv2.resize(image, (self._size[1], self._size[0]))
        h, w = image.shape[:2]
        if h % 2 or w % 2:
            image = np.pad(image, ((0, h % 2), (0, w % 2), (0, 0)), mode="edge")
        frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(image), format="bgr24")
        pts = self._pts + 1
        # AVI has no timestamps, only a frame per tick: its frames follow each other.
        if timestamp is not None and self.path.suffix.lower() != ".avi":
            if self._first_stamp is None:
                self._first_stamp = timestamp
            # In the stream's time base, 1/fps; never before the previous frame.
            pts = max(pts, round((timestamp - self._first_stamp) * float(self._rate)))
        frame.pts = self._pts = pts
        frame.time_base = 1 / self._rate
        try:
            for packet in self._stream.encode(frame):
                self._container.mux(packet)
        except (av.error.FFmpegError, OSError) as err:
            self._failed = True
            raise SinkError(f"cannot write video {self.path}: {_reason(err)}") from None
        self.frames += 1

    def close(self) -> None:
        """Flush the encoder and finish the file. Idempotent.

        Raises:
            SinkError: the end of the video cannot be written (a full disk); what was
                written before stays playable. A writer whose :meth:`write` failed closes
                without raising again: that error was the one to report.
        """
        import av

        if self._closed:
            return
        self._closed = True
        if self._container is None:
            return
        error: Exception | None = None
        try:
            if not self._failed:
                for packet in self._stream.encode(None):
                    self._container.mux(packet)
        except (av.error.FFmpegError, OSError) as err:
            error = err
        try:
            self._container.close()  # releases the file even when the trailer fails
        except (av.error.FFmpegError, OSError) as err:
            error = error or err
        finally:
            self._container = None
        if error is not None:
            if self._failed:
                log.debug("video %s: closing after a failed write: %s", self.path, error)
            else:
                self._failed = True
                raise SinkError(f"cannot finish video {self.path}: {_reason(error)}") from None

    def __enter__(self: _V) -> _V:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _reason(err: Exception) -> str:
    """An FFmpeg or OS error's reason without the path it repeats."""
    return getattr(err, "strerror", None) or str(err)


def overlay(
    image: np.ndarray,
    mask: np.ndarray,
    colour: tuple[int, int, int] = (0, 0, 255),
    alpha: float = 0.55,
) -> np.ndarray:
    """``image`` with the foreground tinted by ``colour`` (BGR) and outlined.

    A mask value below 255 (a mask scaled down, whose pixel covers some foreground) tints
    in proportion, so scattered specks stay faint and a thin object stays visible; the
    outline is drawn around pixels at least half covered.
    """
    import cv2

    out = image if image.ndim == 3 else cv2.cvtColor(image, cv2.COLOR_GRAY2BGR)
    out = out.copy()
    fg = mask > 0
    weight = (alpha / 255.0) * mask[fg].astype(np.float32)[:, None]
    tint = np.asarray(colour, np.float32)
    out[fg] = ((1 - weight) * out[fg] + weight * tint).astype(np.uint8)
    half = (mask >= 128).astype(np.uint8)
    contours, _ = cv2.findContours(half, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    cv2.drawContours(out, contours, -1, colour, 1)
    return out


#: Container formats FFmpeg picks from a file name, as a video sink's name must end.
VIDEO_SUFFIXES = (".mp4", ".mkv", ".mov", ".m4v", ".avi", ".ts")


def prepare_video_path(path: Path) -> None:
    """Check a video output's name and make its folder, before the first frame.

    A :class:`VideoWriter` starts only when the first frame comes (it needs its size), so
    without this a bad name would fail the run after its first frame instead of before.

    Raises:
        SinkError: a folder, a name without a known video suffix, an unwritable folder.
    """
    if path.is_dir():
        raise SinkError(f"{path} is a folder: give a video file, e.g. {path}/out.mp4")
    if path.suffix.lower() not in VIDEO_SUFFIXES:
        raise SinkError(
            f"{path}: the name does not say the video format; end it in {', '.join(VIDEO_SUFFIXES)}"
        )
    ensure_writable_dir(path.parent)


class _VideoSink(Sink):
    def __init__(self, path: str | Path, method: str | None = None, fps: float = 25.0) -> None:
        super().__init__(method)
        self.path = Path(path).absolute()  # BGSLibrary chdirs for a moment (_bgslibrary)
        self.fps = fps
        self._writer: VideoWriter | None = None

    def _open(self) -> None:
        prepare_video_path(self.path)
        self._writer = VideoWriter(self.path, self.fps)

    def _close(self) -> None:
        if self._writer is not None:
            self._writer.close()

    def __repr__(self) -> str:
        return f"{type(self).__name__}({str(self.path)!r}, method={self.method!r})"


class MaskVideoSink(_VideoSink):
    """The mask as a black-and-white video."""

    def _write(self, frame: Frame, masks: Mapping[str, np.ndarray]) -> None:
        assert self._writer is not None
        self._writer.write(self.pick(masks), frame.timestamp)


class OverlayVideoSink(_VideoSink):
    """The frame with its foreground tinted red and outlined."""

    def _write(self, frame: Frame, masks: Mapping[str, np.ndarray]) -> None:
        assert self._writer is not None
        self._writer.write(overlay(frame.image, self.pick(masks)), frame.timestamp)
