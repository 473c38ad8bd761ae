"""A segmenter's background thread, and what it failed with.

RPCA solves its window on a thread, online DeepLS trains on one; both need the same
things: start the thread on the segmenter's :class:`~streamseg.segmenters.base.Lifeline`
(so it is joined at interpreter exit), tell it to stop, wake it, join it within a
timeout, and keep what it raised for the caller's thread, where a failure must surface
(a background thread's exception is otherwise only printed). :class:`Worker` is that.

Example:
    >>> worker = Worker("streamseg-demo", "demo: the work failed")
    >>> worker.start(lambda: 1 / 0)
    >>> worker.join(5.0)
    True
    >>> worker.check()
    Traceback (most recent call last):
    ...
    streamseg.errors.TrainerError: demo: the work failed: ZeroDivisionError: division by zero
    >>> worker.check()  # reported once
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

from streamseg.errors import TrainerError

__all__ = ["Worker"]

log = logging.getLogger(__name__)


class Worker:
    """One background thread of a segmenter, started as often as needed (one at a time).

    Args:
        name: the thread's name (``streamseg-trainer``).
        failure: how the message of a failure begins (``deepls: the online trainer failed``).
        spawn: starts the thread as :meth:`~streamseg.segmenters.base.Lifeline.start`
            does (the segmenter's lifeline: joined at interpreter exit); ``None``: a plain
            daemon thread.
        stop: the event that tells the work to stop (``None``: the worker's own).
        sticky: a failure is raised by every :meth:`check` until :meth:`clear` (a
            trainer that failed learns no more: carrying on would hide it), not once.
    """

    def __init__(
        self,
        name: str,
        failure: str,
        *,
        spawn: Callable[..., threading.Thread] | None = None,
        stop: threading.Event | None = None,
        sticky: bool = False,
    ) -> None:
        self.name = name
        self.failure = failure
        #: Set to tell the work to stop (it checks between its steps).
        self.stop = stop if stop is not None else threading.Event()
        self._spawn = spawn
        self._sticky = sticky
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None
        #: What the work raised, until it is reported (or, sticky, cleared).
        self.error: BaseException | None = None
        self._reported = False

    def start(self, target: Callable[..., None], *args: Any) -> None:
        """Run ``target(*args)`` on a new thread; what it raises is kept for :meth:`check`."""

        def guarded(*values: Any) -> None:
            try:
                target(*values)
            except BaseException as err:  # raised again on the caller's thread by check()
                self.fail(err)

        if self._spawn is not None:
            self._thread = self._spawn(guarded, *args, name=self.name)
        else:
            self._thread = threading.Thread(target=guarded, args=args, name=self.name, daemon=True)
            self._thread.start()

    @property
    def started(self) -> bool:
        """A thread was started (it may have ended since)."""
        return self._thread is not None

    @property
    def alive(self) -> bool:
        """The thread runs."""
        return self._thread is not None and self._thread.is_alive()

    def wake(self) -> None:
        """Wake the work from :meth:`sleep` (there is something to do, or it must stop)."""
        self._wake.set()

    def sleep(self, seconds: float) -> None:
        """Wait for :meth:`wake` at most ``seconds`` (on the worker's thread)."""
        self._wake.wait(seconds)
        self._wake.clear()

    def fail(self, err: BaseException) -> None:
        """Keep ``err`` as the work's failure (the same work run inline failed too)."""
        self.error = err
        self._reported = False

    def check(self, *, unreported_only: bool = False) -> None:
        """Raise the work's failure on the caller's thread.

        Args:
            unreported_only: raise only if no call has raised it yet (closing: a failure
                after the last frame must not end a run as a success, one already
                reported need not be raised twice).

        Raises:
            TrainerError: the work failed (``failure``, then what it raised).
        """
        err = self.error
        if err is None or (unreported_only and self._reported):
            return
        self._reported = True
        if not self._sticky:
            self.error = None
        raise TrainerError(f"{self.failure}: {type(err).__name__}: {err}") from err

    def clear(self) -> None:
        """Forget the failure (the segmenter starts over)."""
        self.error = None
        self._reported = False

    def join(self, timeout: float) -> bool:
        """Wait at most ``timeout`` seconds for the thread to end; whether it did.

        A thread still running is left to end alone (it is a daemon, joined at exit by
        the lifeline); the log says so.
        """
        thread = self._thread
        if thread is None or thread is threading.current_thread():
            return True
        thread.join(timeout)
        if thread.is_alive():
            log.warning("%s still runs after %.0f s; left to finish alone", self.name, timeout)
            return False
        return True

    def close(self, timeout: float) -> None:
        """Tell the work to stop, wake it, and join it within ``timeout`` seconds."""
        self.stop.set()
        self._wake.set()
        self.join(timeout)
