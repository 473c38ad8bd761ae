"""Reading live sources on a background thread: newest frame only, reconnects, timeouts.

A live source (camera, network stream) produces frames at its own pace. If the
consumer is slower, old frames are worth nothing: :class:`LiveReader` keeps a
bounded buffer (one slot by default) and drops the oldest frame, counting it,
so latency stays bounded (the DROP_OLDEST policy of roboflow/inference).

When the stream ends or fails, PyAV reports it like an end of file (or raises
after its read timeout), so on a live source *every* end is a disconnect: the
reader reconnects with exponential backoff, up to a budget, and only then
reports :class:`~streamseg.errors.StreamLostError` on the consumer's thread.
Every wait here has a timeout; :meth:`LiveReader.stop` joins with one.
"""

from __future__ import annotations

import collections
import logging
import threading
import time
from collections.abc import Callable, Iterator
from typing import Protocol

import numpy as np

from streamseg.errors import StreamLostError
from streamseg.frame import Frame
from streamseg.sources.base import FrameSource, SourceConfig

__all__ = ["Connection", "LiveReader", "LiveCapableSource"]

log = logging.getLogger(__name__)

_POLL = 0.1  # seconds between checks of the stop flag while waiting


class Connection(Protocol):
    """One open connection to a live source."""

    def frames(self) -> Iterator[np.ndarray]:
        """Decoded frames until the connection ends (or raises)."""
        ...

    def close(self) -> None:
        """Release the connection."""
        ...


class LiveReader:
    """Owns the reader thread of one live source.

    Args:
        connect: opens a new :class:`Connection`; raises on failure (within its own timeout).
        name: the source, for log messages and errors.
        capacity: frames buffered; 1 keeps only the newest (older ones are dropped).
        read_timeout: seconds without a frame, while connected, after which the
            consumer gives up (a guard for backends without their own read timeout).
        max_reconnects: reconnect attempts per outage (-1: forever).
        backoff: first wait before reconnecting, doubled up to ``backoff_max``.
        backoff_max: longest wait between attempts.
    """

    def __init__(
        self,
        connect: Callable[[], Connection],
        *,
        name: str,
        capacity: int = 1,
        read_timeout: float = 5.0,
        max_reconnects: int = 10,
        backoff: float = 0.5,
        backoff_max: float = 8.0,
    ) -> None:
        self._connect = connect
        self._name = name
        self._capacity = max(1, capacity)
        self._read_timeout = read_timeout
        self._max_reconnects = max_reconnects
        self._backoff = backoff
        self._backoff_max = backoff_max
        self._buffer: collections.deque[tuple[np.ndarray, int, float]] = collections.deque()
        self._cond = threading.Condition()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._error: BaseException | None = None
        self._connected = False
        self._last_frame_at = time.monotonic()
        self.received = 0
        self.dropped = 0
        self.reconnects = 0

    def start(self, first: Connection) -> None:
        """Start reading from an already opened first connection."""
        self._connected = True
        self._last_frame_at = time.monotonic()
        self._thread = threading.Thread(
            target=self._run, args=(first,), name=f"streamseg-reader[{self._name}]", daemon=True
        )
        self._thread.start()

    def get(self) -> tuple[np.ndarray, int, float] | None:
        """The next frame as ``(image, index, timestamp)``; ``None`` once stopped.

        Waits while the reader reconnects (bounded by the reconnect budget).

        Raises:
            StreamLostError: the stream is gone for good, or stalled while connected.
        """
        with self._cond:
            while True:
                if self._buffer:
                    return self._buffer.popleft()
                if self._error is not None:
                    raise self._error
                if self._stop.is_set() or self._thread is None:
                    return None
                if not self._thread.is_alive():
                    return None
                stalled = time.monotonic() - self._last_frame_at
                if self._connected and stalled > 2 * self._read_timeout:
                    raise StreamLostError(
                        f"{self._name}: no frame for {stalled:.1f} s although connected; "
                        "check the camera or raise source.read_timeout"
                    )
                self._cond.wait(_POLL)

    def cancel(self) -> None:
        """Make :meth:`get` return ``None`` within a poll interval; safe from a signal handler."""
        self._stop.set()

    def stop(self, timeout: float = 5.0) -> None:
        """Ask the thread to end and join it within ``timeout`` seconds. Idempotent."""
        self._stop.set()
        with self._cond:
            self._cond.notify_all()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout)
            if self._thread.is_alive():
                log.warning(
                    "%s: reader thread still blocked after %.1f s; leaving it "
                    "(daemon) to end with its own timeout",
                    self._name,
                    timeout,
                )

    # -- the thread -----------------------------------------------------------------------

    def _offer(self, image: np.ndarray) -> None:
        with self._cond:
            if self._capacity == 1:
                if self._buffer:
                    self._buffer.clear()
                    self.dropped += 1
            else:
                # Bounded buffer without dropping: wait for room, but never forever.
                while len(self._buffer) >= self._capacity and not self._stop.is_set():
                    self._cond.wait(_POLL)
            self._buffer.append((image, self.received, time.monotonic()))
            self.received += 1
            self._last_frame_at = time.monotonic()
            self._cond.notify_all()

    def _pump(self, conn: Connection) -> str:
        try:
            for image in conn.frames():
                if self._stop.is_set():
                    return "stopped"
                self._offer(image)
            return "the stream ended"
        except Exception as err:  # any decoder or network failure is a disconnect here
            return f"{type(err).__name__}: {err}"
        finally:
            try:
                conn.close()
            except Exception:  # closing a dead connection may fail; nothing to keep
                log.debug("%s: error while closing a dead connection", self._name, exc_info=True)

    def _run(self, conn: Connection) -> None:
        try:
            while not self._stop.is_set():
                reason = self._pump(conn)
                self._connected = False
                if self._stop.is_set():
                    return
                log.warning("%s: disconnected (%s); reconnecting", self._name, reason)
                new = self._reconnect()
                if new is None:
                    return
                conn = new
        except BaseException as err:  # surfaced on the consumer's thread by get()
            with self._cond:
                self._error = err
                self._cond.notify_all()

    def _reconnect(self) -> Connection | None:
        delay = self._backoff
        attempt = 0
        started = time.monotonic()
        last = "no attempt"
        while not self._stop.is_set():
            if 0 <= self._max_reconnects <= attempt:
                with self._cond:
                    self._error = StreamLostError(
                        f"{self._name}: stream lost; {attempt} reconnect attempts over "
                        f"{time.monotonic() - started:.0f} s failed (last: {last}); check that "
                        "the camera is up or raise source.max_reconnects"
                    )
                    self._cond.notify_all()
                return None
            attempt += 1
            if self._stop.wait(delay):
                return None
            delay = min(delay * 2, self._backoff_max)
            try:
                conn = self._connect()
            except Exception as err:
                last = str(err)
                log.info("%s: reconnect attempt %d failed: %s", self._name, attempt, err)
                continue
            with self._cond:
                self.reconnects += 1
                self._connected = True
                self._last_frame_at = time.monotonic()
            log.warning("%s: reconnected after %d attempt(s)", self._name, attempt)
            return conn
        return None


class LiveCapableSource(FrameSource):
    """A source that may be live: it owns the :class:`LiveReader` of its live mode.

    Subclasses call :meth:`_start_reader` from ``_open`` when live, read with
    :meth:`_read_live` and stop it with :meth:`_stop_reader` from ``_close``.
    """

    config: SourceConfig

    def __init__(self) -> None:
        super().__init__()
        self._reader: LiveReader | None = None

    def _start_reader(
        self, first: Connection, connect: Callable[[], Connection], name: str
    ) -> None:
        c = self.config
        self._reader = LiveReader(
            connect,
            name=name,
            capacity=1 if c.drop_frames is not False else 256,
            read_timeout=c.read_timeout,
            max_reconnects=c.max_reconnects,
            backoff=c.backoff,
            backoff_max=c.backoff_max,
        )
        self._reader.start(first)

    def _read_live(self) -> Frame | None:
        assert self._reader is not None
        item = self._reader.get()
        self.dropped, self.reconnects = self._reader.dropped, self._reader.reconnects
        return None if item is None else Frame(item[0], item[1], item[2])

    def cancel(self) -> None:
        super().cancel()
        if self._reader is not None:
            self._reader.cancel()

    def _stop_reader(self) -> None:
        if self._reader is not None:
            self._reader.stop(timeout=self.config.read_timeout + 1.0)
