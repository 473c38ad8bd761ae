"""Delivery to a receiver that may be slow or gone, without ever holding up the frames.

:class:`DeliveryQueue` hands items to a ``send`` function on a thread of its own. The
frame loop only puts items in a bounded queue; when it is full the *oldest* item is
dropped (a receiver that comes back gets the latest state first) and counted. A ``send``
that raises is retried after a back-off that doubles from ``backoff`` up to
``max_backoff`` seconds, ``retries`` times, then counted as failed; items keep their
order. :meth:`DeliveryQueue.close` gives the sender ``close_timeout`` seconds to deliver
what is queued and counts the rest as dropped, so a dead receiver delays the end of a run
by that much at most.

Example:
    >>> got = []
    >>> queue = DeliveryQueue("demo", got.append)
    >>> for i in range(3):
    ...     queue.put(i)
    >>> queue.close()
    >>> got, queue.stats()["sent"], queue.stats()["dropped"]
    ([0, 1, 2], 3, 0)
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from typing import Generic, TypeVar

from streamseg.params import check

__all__ = ["DeliveryQueue", "PermanentError"]

log = logging.getLogger(__name__)

T = TypeVar("T")


class PermanentError(Exception):
    """Raised by a ``send`` for an item that no retry would deliver (an HTTP 400)."""


class DeliveryQueue(Generic[T]):
    """A bounded queue drained by a sender thread, with retries and counted losses.

    Args:
        name: for the thread and the log.
        send: delivers one item or raises (:class:`PermanentError`: do not retry it).
        size: items queued at most; beyond, the oldest is dropped.
        retries: attempts after the first for an item that failed.
        backoff: seconds before the first retry; doubled per retry.
        max_backoff: the longest wait between two attempts.
        close_timeout: seconds :meth:`close` waits for the queue to drain.
    """

    def __init__(
        self,
        name: str,
        send: Callable[[T], None],
        *,
        size: int = 256,
        retries: int = 3,
        backoff: float = 0.5,
        max_backoff: float = 30.0,
        close_timeout: float = 5.0,
    ) -> None:
        check(size >= 1, f"{name}: queue size must be >= 1, got {size}")
        check(retries >= 0, f"{name}: retries must be >= 0, got {retries}")
        check(backoff >= 0 and max_backoff >= backoff, f"{name}: bad back-off")
        check(close_timeout >= 0, f"{name}: close_timeout must be >= 0")
        self.name = name
        self._send = send
        self.size = size
        self.retries = retries
        self.backoff = backoff
        self.max_backoff = max_backoff
        self.close_timeout = close_timeout
        self._items: deque[T] = deque()
        self._cond = threading.Condition()
        self._closing = threading.Event()
        self._deadline = float("inf")
        self.sent = 0
        self.failed = 0
        self.dropped = 0
        self.retried = 0
        self.last_error: str | None = None
        self._thread = threading.Thread(target=self._run, name=f"streamseg-{name}", daemon=True)
        self._thread.start()

    def put(self, item: T) -> None:
        """Queue ``item``; never waits (when full, the oldest queued item is dropped)."""
        with self._cond:
            if self._closing.is_set():
                self.dropped += 1
                return
            if len(self._items) >= self.size:
                self._items.popleft()
                self.dropped += 1
            self._items.append(item)
            self._cond.notify()

    def stats(self) -> dict[str, int]:
        """``sent``, ``failed`` (gave up after the retries), ``dropped`` (queue full, or
        undelivered at close), ``retried`` and ``queued``."""
        with self._cond:
            queued = len(self._items)
        return {
            "sent": self.sent,
            "failed": self.failed,
            "dropped": self.dropped,
            "retried": self.retried,
            "queued": queued,
        }

    def _next(self) -> T | None:
        with self._cond:
            while not self._items:
                if self._closing.is_set():
                    return None
                self._cond.wait(0.5)
            return self._items.popleft()

    def _wait(self, seconds: float) -> bool:
        """Sleep before a retry; ``False`` if the close's deadline comes first."""
        if self._closing.is_set():
            if self._deadline - time.monotonic() <= seconds:
                return False
            time.sleep(seconds)
            return True
        self._closing.wait(seconds)  # a close cuts the back-off short: it flushes now
        return time.monotonic() < self._deadline

    def _run(self) -> None:
        while (item := self._next()) is not None:
            if time.monotonic() >= self._deadline:
                with self._cond:
                    self.dropped += 1 + len(self._items)
                    self._items.clear()
                return
            self._deliver(item)

    def _deliver(self, item: T) -> None:
        delay = self.backoff
        for attempt in range(self.retries + 1):
            try:
                self._send(item)
            except PermanentError as err:
                self.last_error = str(err)
                break
            except Exception as err:  # the receiver's trouble: retried, then counted
                self.last_error = f"{type(err).__name__}: {err}"
                if attempt == self.retries or not self._wait(delay):
                    break
                self.retried += 1
                delay = min(self.max_backoff, delay * 2)
                continue
            self.sent += 1
            return
        self.failed += 1
        log.debug("%s: gave up on an item: %s", self.name, self.last_error)

    def close(self) -> None:
        """Deliver what is queued within ``close_timeout`` seconds; count the rest as dropped."""
        with self._cond:
            if self._closing.is_set():
                return
            self._deadline = time.monotonic() + self.close_timeout
            self._closing.set()
            self._cond.notify_all()
        # A send in progress may hold the thread past the deadline by its own timeout.
        self._thread.join(self.close_timeout + 30.0)
        with self._cond:
            if self._items:
                self.dropped += len(self._items)
                self._items.clear()
        if self.failed or self.dropped:
            log.warning(
                "%s: %d delivered, %d failed, %d dropped (last error: %s)",
                self.name,
                self.sent,
                self.failed,
                self.dropped,
                self.last_error,
            )
