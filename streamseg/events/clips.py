"""Clips: the seconds around an event, from a bounded ring buffer of encoded frames.

Every frame is kept as a JPEG in a :class:`FrameRing` for ``pre`` seconds (and never more
than ``buffer_mb`` megabytes: the oldest frames go first), so a clip can start before the
event did. When an event starts, a :class:`ClipRecorder` takes the ring's frames since
``pre`` seconds before the event's first frame and every frame after, until ``post``
seconds after its end (or ``max_length`` seconds in all), and writes them to an H.264 MP4
on a thread of its own: the frame loop only encodes a JPEG per frame and hands it over.
The hand-over queue is bounded too; a frame the writer cannot take in time is left out of
the clip and counted.

Example:
    >>> import numpy as np
    >>> ring = FrameRing(ClipConfig(enabled=True, pre=1.0))
    >>> for i in range(50):                              # 2 s at 25 fps
    ...     jpeg = ring.add(i / 25, np.zeros((48, 64, 3), np.uint8))
    >>> len(ring), ring.seconds <= 1.0
    (26, True)
"""

from __future__ import annotations

import logging
import queue
import threading
from collections import deque
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from streamseg.params import check

__all__ = ["ClipConfig", "ClipRecorder", "FrameRing"]

log = logging.getLogger(__name__)

#: Frames a clip's writer may lag behind the frame loop before frames are left out.
_QUEUE_FRAMES = 256


@dataclass(frozen=True)
class ClipConfig:
    """The video clip of each event.

    Attributes:
        enabled: write a clip of each event (MP4, beside its snapshot).
        pre: seconds of video before the event's first frame.
        post: seconds of video after its last frame.
        max_length: longest clip in seconds (a scene that never calms down).
        quality: JPEG quality of the frames held in memory, 1..100.
        buffer_mb: most memory the ring of the ``pre`` seconds may hold.
    """

    enabled: bool = False
    pre: float = 5.0
    post: float = 5.0
    max_length: float = 120.0
    quality: int = 75
    buffer_mb: float = 64.0

    def __post_init__(self) -> None:
        check(self.pre >= 0, f"clip.pre must be >= 0 seconds, got {self.pre}")
        check(self.post >= 0, f"clip.post must be >= 0 seconds, got {self.post}")
        check(self.max_length > 0, f"clip.max_length must be > 0, got {self.max_length}")
        check(1 <= self.quality <= 100, f"clip.quality must be in 1..100, got {self.quality}")
        check(self.buffer_mb > 0, f"clip.buffer_mb must be > 0, got {self.buffer_mb}")


def encode_jpeg(image: np.ndarray, quality: int) -> bytes:
    """``image`` (BGR or gray ``uint8``) as JPEG bytes."""
    import cv2

    ok, buf = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, quality])
    if not ok:
        raise ValueError(f"JPEG encoding of a {image.shape[1]}x{image.shape[0]} frame failed")
    return buf.tobytes()


class FrameRing:
    """The last ``pre`` seconds of frames as JPEGs, within ``buffer_mb``.

    Args:
        config: ``pre``, ``quality`` and ``buffer_mb``.
    """

    def __init__(self, config: ClipConfig) -> None:
        self.config = config
        self._frames: deque[tuple[float, bytes]] = deque()
        self.bytes = 0
        self._limit = int(config.buffer_mb * 1e6)

    def add(self, t: float, image: np.ndarray, since: float | None = None) -> bytes:
        """Encode and keep the frame of time ``t``; returns its JPEG.

        ``since``: the frames from ``pre`` seconds before this time on are kept (``None``:
        ``t``); an event about to start reaches back from its first frame, not from now.
        """
        jpeg = encode_jpeg(image, self.config.quality)
        self._frames.append((t, jpeg))
        self.bytes += len(jpeg)
        oldest = (t if since is None else min(t, since)) - self.config.pre
        # One frame more than `pre` covers: the ring reaches back a whole `pre`.
        while len(self._frames) > 1 and (self._frames[1][0] <= oldest or self.bytes > self._limit):
            self.bytes -= len(self._frames.popleft()[1])
        return jpeg

    def since(self, t: float) -> list[tuple[float, bytes]]:
        """The frames kept from time ``t`` on."""
        return [(ft, jpeg) for ft, jpeg in self._frames if ft >= t]

    @property
    def seconds(self) -> float:
        """The time the ring covers."""
        return self._frames[-1][0] - self._frames[0][0] if self._frames else 0.0

    def __len__(self) -> int:
        return len(self._frames)


class ClipRecorder:
    """Writes one event's clip on a thread of its own.

    Args:
        path: the MP4 file.
        first: the frames before the event, from the ring.
        start: the event's first frame's time (``max_length`` counts from it).
        config: ``post`` and ``max_length``.
    """

    def __init__(
        self, path: Path, first: list[tuple[float, bytes]], start: float, config: ClipConfig
    ) -> None:
        self.path = path
        self.config = config
        self.dropped = 0
        self.frames = 0
        self.error: str | None = None
        self._start = start
        self._until: float | None = None  # the event ended: the clip goes on to here
        self._queue: queue.Queue[tuple[float, bytes]] = queue.Queue(_QUEUE_FRAMES)
        self._closing = threading.Event()
        self._thread = threading.Thread(target=self._write, name="streamseg-clip", daemon=True)
        self._thread.start()
        self.done = False
        for item in first:
            self._put(item)

    def _put(self, item: tuple[float, bytes]) -> None:
        try:
            self._queue.put_nowait(item)
        except queue.Full:
            self.dropped += 1

    def end_at(self, t: float) -> None:
        """The event ended at ``t``: the clip goes on ``post`` seconds more."""
        self._until = t + self.config.post

    def add(self, t: float, jpeg: bytes) -> bool:
        """Hand over the frame of time ``t``; ``True`` once the clip is complete."""
        if self.done:
            return True
        over = (self._until is not None and t > self._until) or (
            t - self._start > self.config.max_length
        )
        if over:
            self.finish()
            return True
        self._put((t, jpeg))
        return False

    def finish(self) -> None:
        """No more frames: the writer finishes the file."""
        self.done = True
        self._closing.set()

    def join(self, timeout: float | None = None) -> bool:
        """Wait for the file to be written; whether it was within ``timeout``."""
        self._thread.join(timeout)
        return not self._thread.is_alive()

    def _next(self) -> tuple[float, bytes] | None:
        """The next frame to write; ``None`` once finished and every frame is written."""
        while True:
            try:
                return self._queue.get(timeout=0.1)
            except queue.Empty:
                if self._closing.is_set() and self._queue.empty():
                    return None

    def _write(self) -> None:
        import cv2

        from streamseg.sinks.video import VideoWriter

        writer: VideoWriter | None = None
        try:
            while (item := self._next()) is not None:
                t, jpeg = item
                image = cv2.imdecode(np.frombuffer(jpeg, np.uint8), cv2.IMREAD_COLOR)
                if image is None:
                    raise ValueError("a frame of the clip could not be decoded")
                if writer is None:
                    writer = VideoWriter(self.path, fps=25.0)
                writer.write(image, t)
                self.frames += 1
        except Exception as err:  # a full disk: the event goes on without its clip
            self.error = str(err)
            log.warning("clip %s: %s", self.path, err)
            while self._next() is not None:
                pass  # the frame loop's hand-overs never wait on a dead writer
        finally:
            if writer is not None:
                try:
                    writer.close()
                except Exception as err:
                    self.error = self.error or str(err)
