"""Video files and network streams decoded by PyAV (FFmpeg).

Files are decoded on the caller's thread, frame by frame, so nothing is ever
dropped and runs reproduce. Network streams (``rtsp://``, ``http(s)://``, ...)
are read by a :class:`~streamseg.sources.live.LiveReader`: TCP transport for
RTSP, PyAV's open and read timeouts on every blocking call, reconnect with
backoff.

Gray output is taken straight from the luma (Y) plane of planar YUV frames,
which is several times faster than asking FFmpeg to convert to ``gray``; the
values keep the stream's range (16–235 for limited-range video).
"""

from __future__ import annotations

import logging
import os
import select
import stat
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np

from streamseg.errors import SourceError, SourceNotFoundError, StreamLostError
from streamseg.frame import Frame, SourceInfo
from streamseg.sources.base import SourceConfig
from streamseg.sources.live import LiveCapableSource

__all__ = ["NotVideoError", "PyAVSource", "is_stream_url"]

log = logging.getLogger(__name__)

STREAM_SCHEMES = (
    "rtsp://",
    "rtsps://",
    "rtmp://",
    "http://",
    "https://",
    "udp://",
    "tcp://",
    "srt://",
)
_LUMA_FIRST = {
    "yuv420p",
    "yuvj420p",
    "yuv422p",
    "yuvj422p",
    "yuv444p",
    "yuvj444p",
    "nv12",
    "nv21",
    "yuv410p",
    "yuv411p",
    "yuv440p",
    "gray",
}


class NotVideoError(SourceError):
    """A file FFmpeg recognises as something other than video: no other decoder should try."""


def is_stream_url(uri: str) -> bool:
    """``True`` for network URLs PyAV should treat as live streams."""
    return uri.lower().startswith(STREAM_SCHEMES)


def frame_to_array(frame: Any, gray: bool) -> np.ndarray:
    """A decoded ``av.VideoFrame`` as BGR ``H×W×3`` or gray ``H×W`` (from the Y plane)."""
    if not gray:
        return frame.to_ndarray(format="bgr24")
    if frame.format.name in _LUMA_FIRST:
        plane = frame.planes[0]
        rows = np.frombuffer(plane, np.uint8).reshape(-1, plane.line_size)
        return np.ascontiguousarray(rows[: frame.height, : frame.width])
    return frame.to_ndarray(format="gray")


def _open_container(uri: str, config: SourceConfig, live: bool, target: Any = None) -> Any:
    """``av.open`` with timeouts, translating FFmpeg's errors into one-line SourceErrors.

    ``target`` is what FFmpeg opens when it is not ``uri`` itself (a file-like reader).
    """
    import av

    options = {"rtsp_transport": "tcp"} if uri.lower().startswith(("rtsp://", "rtsps://")) else {}
    started = time.monotonic()
    try:
        container = av.open(
            uri if target is None else target,
            mode="r",
            options=options,
            timeout=(config.open_timeout, config.read_timeout),
        )
    except av.error.FileNotFoundError:
        raise SourceNotFoundError(f"{uri}: no such file") from None
    except av.error.EOFError:
        raise SourceError(
            f"{uri}: the file ends before its first frame (empty or truncated video)"
        ) from None
    except av.error.ExitError:
        raise SourceError(
            f"{uri}: no answer within {config.open_timeout:g} s (source.open_timeout)"
        ) from None
    except (av.error.FFmpegError, OSError) as err:
        if live and time.monotonic() - started >= 0.9 * config.open_timeout:
            # FFmpeg's RTSP reader ends a silent connection with "invalid data", which
            # would send an operator looking for a codec problem.
            raise SourceError(
                f"{uri}: no answer within {config.open_timeout:g} s (source.open_timeout)"
            ) from None
        what = "cannot connect to the stream" if live else "not a video file PyAV can read"
        detail = getattr(err, "strerror", None) or str(err)
        raise SourceError(f"{uri}: {what} ({detail})") from None
    if container.format.name == "tty":
        # FFmpeg's tty demuxer renders any text (.txt, .nfo, .asc...) as ANSI art: a text
        # file would "decode" into a few frames of rendered characters.
        container.close()
        raise NotVideoError(f"{uri}: a text file, not a video")
    if not container.streams.video:
        container.close()
        raise SourceError(f"{uri}: has no video stream")
    stream = container.streams.video[0]
    if stream.codec_context is None:
        container.close()
        raise SourceError(f"{uri}: unsupported video codec")
    return container


class _PipeReader:
    """A named pipe read for FFmpeg in Python slices, so that waits end.

    Opening a FIFO for reading blocks in C until a writer opens it, and a blocking read
    of a stalled writer blocks in C for ever: no timeout, no signal handler, no
    ``cancel()`` reaches either. So the pipe is opened non-blocking and FFmpeg reads it
    through this object (PyAV's file-like input): each ``read`` polls in 0.1 s slices.

    Args:
        path: the pipe.
        read_timeout: seconds without data before the stream counts as lost.
        cancelled: tells that the source was cancelled (the read then ends the input).
    """

    def __init__(self, path: str, read_timeout: float, cancelled: Callable[[], bool]) -> None:
        self.path = path
        self.read_timeout = read_timeout
        self._cancelled = cancelled
        self._fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
        self._poller = select.poll()
        self._poller.register(self._fd, select.POLLIN)

    def wait(self, timeout: float) -> bool:
        """``True`` once data (or the writer's end) is ready within ``timeout`` seconds."""
        deadline = time.monotonic() + timeout
        while not self._cancelled():
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            if self._poller.poll(min(left, 0.1) * 1000):
                return True
        return False

    def read(self, size: int) -> bytes:
        """Up to ``size`` bytes; ``b""`` at the writer's end or after a cancel.

        Raises:
            StreamLostError: no data for ``read_timeout`` seconds.
        """
        while not self._cancelled():
            if not self.wait(self.read_timeout):
                break
            try:
                return os.read(self._fd, size)
            except BlockingIOError:  # woken without data (a writer came and went): wait again
                continue
        if self._cancelled():
            return b""
        raise StreamLostError(
            f"{self.path}: no data from the pipe's writer for {self.read_timeout:g} s "
            "(source.read_timeout)"
        )

    def close(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1


def _is_remote_file(uri: str, container: Any) -> bool:
    """``True`` for a video file served over HTTP: it has a duration, so it ends.

    A live HTTP stream (MJPEG, a live HLS playlist) has none. Read as a stream, a file's
    end would look like a disconnect, and each reconnect would start it over: for ever.
    """
    # Live HTTP-FLV announces a duration of 0: only a positive one marks a file.
    return uri.lower().startswith(("http://", "https://")) and bool(container.duration)


class _Connection:
    """One PyAV connection to a live stream (a :class:`~streamseg.sources.live.Connection`)."""

    def __init__(self, uri: str, config: SourceConfig, container: Any = None) -> None:
        if container is None:
            container = _open_container(uri, config, live=True)
        self.container = container
        self.stream = self.container.streams.video[0]
        self.gray = config.gray
        self.read_timeout = config.read_timeout

    def frames(self) -> Iterator[np.ndarray]:
        import av

        try:
            for frame in self.container.decode(self.stream):
                yield frame_to_array(frame, self.gray)
        except av.error.ExitError:
            # PyAV's read timeout, which FFmpeg words as "Immediate exit requested".
            raise TimeoutError(
                f"no data for {self.read_timeout:g} s (source.read_timeout)"
            ) from None

    def close(self) -> None:
        self.container.close()


class PyAVSource(LiveCapableSource):
    """A video file or network stream decoded by PyAV.

    Args:
        uri: a path or a stream URL.
        config: timeouts, reconnect policy, gray/BGR; see :class:`SourceConfig`.

    Example:
        >>> from streamseg.sources.pyav import PyAVSource
        >>> PyAVSource("rtsp://127.0.0.1:8554/cam").live
        True
    """

    def __init__(self, uri: str | Path, config: SourceConfig | None = None) -> None:
        super().__init__()
        self.uri = str(uri)
        self.config = config or SourceConfig(uri=self.uri)
        self.live = is_stream_url(self.uri)
        if self.live:
            # FFmpeg knows its protocols in lower case only ("RTSP://" is "not found").
            scheme, rest = self.uri.split("://", 1)
            self.uri = f"{scheme.lower()}://{rest}"
        self._container: Any = None
        self._decoder: Iterator[Any] | None = None
        self._count = 0
        self._fps: float | None = None
        self._expected: int | None = None  # frames the container's header announces
        self._first_time: float | None = None  # of the first frame decoded, in seconds
        self._last: tuple[float, Any, Any] | None = None  # time, duration, time base
        self._remote = False  # a video file read over the network
        self._pipe: _PipeReader | None = None  # a named pipe FFmpeg reads through

    def _open(self) -> SourceInfo:
        stream_url = is_stream_url(self.uri)
        if not stream_url and not Path(self.uri).exists():
            raise SourceNotFoundError(f"{self.uri}: no such file")
        if not stream_url and stat.S_ISFIFO(os.stat(self.uri).st_mode):
            pipe = _PipeReader(self.uri, self.config.read_timeout, lambda: self._cancelled)
            try:
                if not pipe.wait(self.config.open_timeout):
                    raise SourceError(
                        f"{self.uri}: a named pipe with no data within "
                        f"{self.config.open_timeout:g} s (source.open_timeout); "
                        "start its writer first"
                    )
                container = _open_container(self.uri, self.config, False, pipe)
            except BaseException:
                pipe.close()
                raise
            self._pipe = pipe
        else:
            container = _open_container(self.uri, self.config, live=stream_url)
        self.live = stream_url and not _is_remote_file(self.uri, container)
        self._remote = stream_url and not self.live
        if stream_url and not self.live:
            log.info("%s: a video file (it has a duration): read to its end, every frame", self.uri)
        if self.live:
            return self._open_live(container)
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"  # frame + slice threads: decoding is the file path's bottleneck
        self._container = container
        self._decoder = self._decode(container, stream)
        rate = stream.average_rate or stream.guessed_rate
        self._fps = float(rate) if rate else None
        cc = stream.codec_context
        self._expected = stream.frames or None
        return SourceInfo(cc.width, cc.height, self._fps, self._expected, is_live=False)

    def _open_live(self, container: Any) -> SourceInfo:
        conn = _Connection(self.uri, self.config, container)
        cc = conn.stream.codec_context
        rate = conn.stream.average_rate or conn.stream.guessed_rate
        self._start_reader(conn, lambda: _Connection(self.uri, self.config), self.uri)
        return SourceInfo(cc.width, cc.height, float(rate) if rate else None, None, is_live=True)

    def _read(self) -> Frame | None:
        if self._reader is not None:
            return self._read_live()
        return self._read_file()

    def _decode(self, container: Any, stream: Any) -> Iterator[Any]:
        """Frames of ``stream``; a damaged packet is reported, not fatal."""
        import av

        bad = 0

        def damaged(why: Any) -> None:
            nonlocal bad
            bad += 1
            self.warning = (
                f"{self.uri}: {bad} damaged packet(s), the last after frame {self._count} ({why})"
            )
            log.warning("%s", self.warning)

        try:
            for packet in container.demux(stream):
                corrupt = packet.is_corrupt
                if corrupt:
                    # The demuxer's own flag, e.g. the last packet of a file cut inside a
                    # fragment: the decoder's error about it is lost with frame threading.
                    damaged("cut or corrupt data")
                try:
                    yield from packet.decode()
                except av.error.FFmpegError as err:
                    if not corrupt:
                        damaged(err)
        except av.error.FFmpegError as err:
            if self._remote and not self._cancelled:
                # A file over HTTP whose connection broke or stalled: not a damaged file
                # but a failed read, so the run fails (exit 1) rather than passing for a
                # complete one. A stall ends in PyAV's read timeout (ExitError).
                if isinstance(err, OSError):
                    why = f"the connection broke ({err})"
                elif isinstance(err, av.error.ExitError):
                    why = f"no data for {self.config.read_timeout:g} s (source.read_timeout)"
                else:
                    why = None
                if why is not None:
                    raise StreamLostError(
                        f"{self.uri}: {why} after {self._count} frames; "
                        "the file was not read to its end"
                    ) from None
            # The container itself is cut or broken: keep what decoded, say where it stopped.
            self.warning = f"{self.uri}: decoding stopped after {self._count} frames ({err})"
            log.warning("%s", self.warning)

    def _read_file(self) -> Frame | None:
        assert self._decoder is not None
        frame = next(self._decoder, None)
        if frame is None:
            if self._count == 0:
                # Nothing to segment: an error, not an empty run that looks like success.
                detail = f" ({self.warning})" if self.warning else ""
                raise SourceError(
                    f"{self.uri}: no frame could be decoded (an empty or truncated video){detail}"
                )
            if self.warning is None:
                self.warning = self._shortfall()
                if self.warning is not None:
                    log.warning("%s", self.warning)
            return None
        image = frame_to_array(frame, self.config.gray)
        t = float(frame.time) if frame.time is not None else self._count / (self._fps or 25.0)
        if self._first_time is None:
            self._first_time = t
        self._last = (t, frame.duration, frame.time_base)  # read only at the end of the file
        out = Frame(image, self._count, t)
        self._count += 1
        return out

    def _shortfall(self) -> str | None:
        """What the header announced that the file did not deliver (a cut file), or None.

        Containers that count frames (MP4, AVI) are checked by the count; those that only
        state a duration (Matroska, WebM, MPEG-TS) by where the last frame ends, with a
        tolerance of 5 % or 0.5 s for the gap between the header's rounding and frame
        timestamps.
        """
        if self._expected:
            if self._count < self._expected:
                return (
                    f"{self.uri}: the video ended after {self._count} of the "
                    f"{self._expected} frames its header announces (truncated?)"
                )
            return None
        announced = self._announced_seconds()
        if announced is None or self._first_time is None or self._last is None:
            return None
        # Where the last frame ends: its own duration where the container keeps one (a
        # still held for seconds at the end of a recording), else one frame period.
        t, duration, time_base = self._last
        held = duration * time_base if duration and time_base else 1.0 / (self._fps or 25.0)
        end = t + float(held)
        # Headers state either the span or the end time (Matroska's duration is the last
        # timestamp when the first is not 0): short of both is short.
        reached = max(end, end - self._first_time)
        if announced - reached > max(0.5, 0.05 * announced):
            return (
                f"{self.uri}: the video ended at {reached:.1f} s of the {announced:.1f} s "
                "its header announces (truncated?)"
            )
        return None

    def _announced_seconds(self) -> float | None:
        """How long the header says the *video* lasts (a longer audio track does not count)."""
        assert self._container is not None
        stream = self._container.streams.video[0]
        if stream.duration and stream.time_base:
            return float(((stream.start_time or 0) + stream.duration) * stream.time_base)
        tag = stream.metadata.get("DURATION")  # Matroska and WebM: each track's own
        if tag:
            hours, minutes, seconds = tag.split(":")
            return int(hours) * 3600 + int(minutes) * 60 + float(seconds)
        if len(self._container.streams) == 1 and self._container.duration:
            return self._container.duration / 1e6  # microseconds (AV_TIME_BASE)
        return None

    def _close(self) -> None:
        self._stop_reader()
        if self._container is not None:
            self._container.close()
            self._container = None
        if self._pipe is not None:
            self._pipe.close()
            self._pipe = None

    def __repr__(self) -> str:
        return f"PyAVSource({self.uri!r})"
