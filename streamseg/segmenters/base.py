"""The segmenter interface: OpenCV's words for callers, river's for the inside.

Callers use :meth:`Segmenter.apply` exactly like ``cv2.BackgroundSubtractor.apply``:
one frame in, a ``uint8`` mask out (0 background, 255 foreground), and a
``learning_rate`` with OpenCV's meaning: negative for automatic, 0 to leave the
model untouched, 1 to start again from this frame. Inside, a method implements
``_learn_one`` (update the model) and ``_predict_one`` (segment, no state change);
:meth:`Segmenter.apply` composes them. Methods that can do both in one call
(OpenCV's subtractors) override :meth:`Segmenter._apply` instead.

All public entry points validate the frame with :func:`streamseg.frame.check_image`
and reset the model when the frame size changes mid-stream (logged).

Lifecycle: the constructor loads nothing; :meth:`Segmenter.open` (or the first frame)
loads what a method needs; :meth:`Segmenter.close` (or the end of a ``with`` block)
releases it. Whatever a method starts in the background (a trainer, a solver, a
start-up) is held by the segmenter's :class:`Lifeline`, which is also released when the
segmenter is garbage-collected and at interpreter exit: OpenCV's users never call
``close()``, and a torch thread still running when the interpreter finalises aborts the
process (``terminate called without an active exception``).
"""

from __future__ import annotations

import abc
import atexit
import contextlib
import dataclasses
import logging
import math
import os
import threading
import time
import weakref
from collections.abc import Callable, Iterator, Mapping
from types import MappingProxyType
from typing import Any, ClassVar, TypeVar

import numpy as np

from streamseg.errors import ClosedError, ConcurrentUseError, ConfigError, FrameError
from streamseg.frame import check_image

__all__ = ["Segmenter", "Lifeline", "MAX_THREADS"]

log = logging.getLogger(__name__)

_S = TypeVar("_S", bound="Segmenter")


def _cores() -> int:
    """Cores this process may run on (its affinity: a container's share, not the host's)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


#: Upper bound of every thread-count parameter (torch, ONNX Runtime, BLAS): four per core
#: this process may use. More only makes OpenMP's workers spin against each other:
#: measured on 2 cores, a training step took about 20 s with 256 torch threads instead of
#: well under one with 1 to 8, too long to stop at exit (the interpreter then aborted).
MAX_THREADS = 4 * _cores()

#: Seconds the interpreter-exit hook waits for each background thread to stop.
_EXIT_JOIN_S = 30.0


class Lifeline:
    """What a segmenter started in the background, released with it.

    A segmenter registers here each thread it starts (:meth:`start`) and each object
    that must be told to stop (:meth:`hold`, a closer taking no argument). The lifeline
    never refers to its segmenter, so the ``weakref.finalize`` that releases it when the
    segmenter is collected does not keep the segmenter alive. :meth:`release` sets
    :attr:`stop` and calls the closers; threads are joined only at interpreter exit
    (a collection or a ``close()`` from another thread must not block on them: each
    thread checks :attr:`stop` and ends alone).

    Args:
        name: the method's name, for the log.
    """

    def __init__(self, name: str) -> None:
        self.name = name
        #: Set once the segmenter is closed, collected, or the interpreter exits.
        self.stop = threading.Event()
        self._lock = threading.Lock()
        self._closers: list[Callable[[], None]] = []
        self._threads: list[threading.Thread] = []

    def hold(self, closer: Callable[[], None]) -> None:
        """Call ``closer`` when the segmenter is released (it must hold no reference to it)."""
        with self._lock:
            self._closers.append(closer)
        _live(self)

    def let_go(self, closer: Callable[[], None]) -> None:
        """Forget a closer the segmenter already called itself (a learner it closed)."""
        with self._lock, contextlib.suppress(ValueError):
            self._closers.remove(closer)

    def start(self, target: Callable[..., None], *args: Any, name: str) -> threading.Thread:
        """Start a daemon thread, joined at interpreter exit (``target`` checks :attr:`stop`)."""
        thread = threading.Thread(target=target, args=args, name=name, daemon=True)
        with self._lock:
            self._threads = [t for t in self._threads if t.is_alive()]
            self._threads.append(thread)
        _live(self)
        thread.start()
        return thread

    def release(self, join: float = 0.0) -> None:
        """Set :attr:`stop`, call the closers (last held first), and join threads for ``join`` s."""
        self.stop.set()
        with self._lock:
            closers, self._closers = self._closers[::-1], []
            threads, self._threads = self._threads, []
        with _LIVE_LOCK:
            _LIVE.discard(self)
        for closer in closers:
            try:
                closer()
            except Exception:  # a release must reach every closer; the failure is logged
                log.warning("%s: releasing %r failed", self.name, closer, exc_info=True)
        current = threading.current_thread()
        for thread in threads:
            if join and thread is not current:
                thread.join(join)
                if thread.is_alive():
                    log.warning("%s: %s did not stop within %.0f s", self.name, thread.name, join)


_LIVE: set[Lifeline] = set()
_LIVE_LOCK = threading.Lock()


def _live(lifeline: Lifeline) -> None:
    """Keep ``lifeline`` for the exit hook, and move the hook to run first at exit.

    ``atexit`` calls its handlers last registered first, and torch registers its own
    when it is imported (at a segmenter's start-up, after the first registration here):
    registering again puts the release of the threads ahead of torch's teardown. The
    hook runs after the interpreter has joined the program's own non-daemon threads, so
    a segmenter they still use is not released under them.
    """
    with _LIVE_LOCK:
        _LIVE.add(lifeline)
        atexit.unregister(_release_all)
        atexit.register(_release_all)


def _release_all() -> None:
    with _LIVE_LOCK:
        lifelines = list(_LIVE)
    for lifeline in lifelines:
        lifeline.release(join=_EXIT_JOIN_S)


def _learning_rate(value: object) -> float:
    """``value`` as OpenCV's learning rate: a finite number ≤ 1 (negative: automatic).

    A string or a bool is refused, not converted: ``True`` would silently mean 1, a reset.
    """
    rate = math.nan
    if isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool):
        rate = float(value)
    if not rate <= 1.0 or math.isinf(rate):
        raise ConfigError(
            f"learning_rate must be a number <= 1 (negative: automatic, 0: no learning, "
            f"1: start again from this frame); got {value!r}"
        )
    return rate


class Segmenter(abc.ABC):
    """Foreground segmenter for one stream.

    Subclasses set ``Config`` (a frozen dataclass of their parameters) and are
    registered with :func:`streamseg.registry.register`, which sets ``name``.

    Masks are ``uint8 H×W`` of the frame's size, 0 background, 255 foreground.
    A segmenter is not thread-safe: one stream, one thread at a time. Two threads inside
    its entry points at once raise :class:`~streamseg.errors.ConcurrentUseError` (one
    after the other, from any thread, is fine); :meth:`close` may come from any thread.

    Lifecycle: the constructor loads nothing; :meth:`open` loads what the method needs
    (models, sessions) up front, or the first frame does; :meth:`close` releases it, as
    does the garbage collector or the interpreter's exit for a segmenter never closed.

    Subclasses release their own resources in :meth:`_close`, load in :meth:`_open`,
    and register their background work with the :class:`Lifeline` ``self._lifeline``.

    Example:
        >>> import numpy as np, streamseg as ss
        >>> with ss.create("mog2") as seg:
        ...     for _ in range(3):
        ...         mask = seg.apply(np.zeros((48, 64, 3), np.uint8))
        >>> mask.shape, mask.dtype, int(mask.max())
        ((48, 64), dtype('uint8'), 0)
    """

    name: ClassVar[str] = "?"
    Config: ClassVar[type[Any]]
    #: Same frames and seed give the same masks.
    deterministic: ClassVar[bool] = True
    #: ``predict_one`` leaves the model exactly as it was.
    stateless_predict: ClassVar[bool] = True
    #: ``score_one`` is a real continuous score (not the mask scaled to {0, 1}).
    continuous_score: ClassVar[bool] = False
    #: Not ready for a user's defaults: ``streamseg demo`` runs it only when named.
    experimental: ClassVar[bool] = False
    #: ``apply(frame, learning_rate=0)`` leaves the model untouched. Methods whose model
    #: changes anyway say why here, and refuse that call rather than pretend.
    cannot_freeze: ClassVar[str | None] = None
    #: Smallest frame (height, width) the method can segment.
    min_size: ClassVar[tuple[int, int]] = (2, 2)

    # -- capabilities: what the layers above may ask of a method without naming it ------

    #: It learns a model it writes with :meth:`save` and can go on from. Its ``Config``
    #: then has ``weights`` (a trained model, run frozen; ``None``: learn online),
    #: ``start`` (a checkpoint to go on learning from) and ``save`` (where :meth:`close`
    #: writes the model). The CLI's ``--model``, ``--resume`` and ``--save-checkpoint``
    #: set them; a run checks ``save`` as one of its outputs; ``serve`` checkpoints an
    #: online model and resumes it when its stream restarts.
    checkpointable: ClassVar[bool] = False
    #: Its ``Config`` has an ``fps`` where 0 means "the source's frame rate", which a run
    #: fills in from the source it opened.
    wants_source_fps: ClassVar[bool] = False
    #: Its ``Config`` has a ``mode`` where ``auto`` means "in step with the frames", which a
    #: run sets to ``async`` (paced by the clock) when the source it opened is live.
    wants_source_liveness: ClassVar[bool] = False
    #: ``streamseg train`` trains its model on a clip first (the two-pass mode; its
    #: ``Config`` is DeepLS's, with ``net`` and ``train``).
    trains_on_clip: ClassVar[bool] = False
    #: Parameters that make its masks depend on the frames and the seed alone, where its
    #: defaults do not (``eval`` runs it with them; a user's ``--set`` still wins).
    reproducible: ClassVar[Mapping[str, Any]] = MappingProxyType({})

    def __init__(self, config: Any | None = None) -> None:
        self.config = config if config is not None else self.Config()
        self._shape: tuple[int, ...] | None = None
        self._closed = False
        #: The current frame's time in seconds (methods whose window samples by time read it).
        self._timestamp = 0.0
        self._lifeline = Lifeline(self.name)
        # Released at collection; at interpreter exit the lifeline's own hook does it,
        # earlier than weakref's (which runs after torch's teardown).
        self._finalizer = weakref.finalize(self, self._lifeline.release)
        self._finalizer.atexit = False
        # Which entry point runs, on which thread (None: none); guarded by _state_lock.
        self._state_lock = threading.Lock()
        self._in_call: tuple[str, threading.Thread] | None = None
        self._shut = False

    @contextlib.contextmanager
    def _entered(self, what: str) -> Iterator[None]:
        """One entry point at a time; a ``close()`` that came meanwhile is carried out after."""
        with self._state_lock:
            if self._in_call is not None:
                other, thread = self._in_call
                raise ConcurrentUseError(
                    f"{self.name}: {what}() called while thread {thread.name!r} is inside "
                    f"{other}(); one segmenter per stream and thread (create one per thread)"
                )
            self._in_call = (what, threading.current_thread())
        try:
            yield
        finally:
            with self._state_lock:
                self._in_call = None
                shut = self._closed and not self._shut
                self._shut = self._shut or shut
            if shut:
                self._shut_down()

    # -- the public, validated entry points ---------------------------------------------

    def apply(
        self, image: np.ndarray, learning_rate: float = -1.0, *, timestamp: float | None = None
    ) -> np.ndarray:
        """Segment ``image`` and update the model, like ``cv2.BackgroundSubtractor.apply``.

        Args:
            image: ``uint8`` BGR ``H×W×3`` or gray ``H×W`` (BGRA is accepted).
            learning_rate: negative for the method's automatic rate, 0 to segment
                without learning, 1 to reset the model to this frame first.
                Methods with a native rate (mog2, knn) use values in between as
                given; the others treat them as automatic.
            timestamp: the frame's time in seconds (a run passes each frame's: a file's
                presentation time, a live frame's arrival); ``None``: the time of the
                call (``time.monotonic()``), which is the arrival of a live frame. Only
                windows sampled by time (``interval``) read it.

        Returns:
            The mask, ``uint8 H×W``, 0 or 255.

        Raises:
            FrameError: for a frame that is not a ``uint8`` gray/BGR image.
            ConfigError: ``learning_rate`` is not a number ≤ 1, or 0 for a method that
                cannot segment without learning (:attr:`cannot_freeze`).
            ClosedError: after :meth:`close`.
        """
        rate = _learning_rate(learning_rate)
        if rate == 0.0 and self.cannot_freeze:
            raise ConfigError(
                f"{self.name} cannot segment without learning ({self.cannot_freeze}); "
                "learning_rate=0 needs mog2, rpca or deepls"
            )
        with self._entered("apply"):
            image = self._admit(image)
            self._stamp(timestamp)
            return self._apply(image, rate)

    def learn_one(self, image: np.ndarray, *, timestamp: float | None = None) -> None:
        """Update the model with one frame, without a mask (``timestamp``: as in ``apply``)."""
        with self._entered("learn_one"):
            image = self._admit(image)
            self._stamp(timestamp)
            self._learn_one(image)

    def _stamp(self, timestamp: float | None) -> None:
        if timestamp is None:
            self._timestamp = time.monotonic()
            return
        number = (int, float, np.integer, np.floating)  # as _learning_rate takes them
        if isinstance(timestamp, bool) or not isinstance(timestamp, number):
            raise ConfigError(f"timestamp must be a number of seconds, got {timestamp!r}")
        if not math.isfinite(timestamp):
            raise ConfigError(f"timestamp must be finite, got {timestamp}")
        self._timestamp = float(timestamp)

    def predict_one(self, image: np.ndarray) -> np.ndarray:
        """Segment one frame without changing the model (all zeros while not :attr:`ready`)."""
        with self._entered("predict_one"):
            return self._predict_one(self._admit(image))

    def score_one(self, image: np.ndarray) -> np.ndarray:
        """A continuous foreground score, ``float32 H×W`` in ``[0, 1]``, without learning.

        Methods without a native score return the mask scaled to ``{0, 1}``.
        """
        with self._entered("score_one"):
            return self._score_one(self._admit(image))

    def open(self: _S, *, width: int | None = None, height: int | None = None) -> _S:
        """Load what the method needs now rather than at the first frame; returns ``self``.

        DeepLS imports torch and ONNX Runtime, exports its model and builds the session
        here (seconds); methods that need nothing do nothing. Optional: the first frame
        loads whatever ``open`` did not. Frames of another size than the one given load
        again for theirs.

        Args:
            width: the frames' width in pixels (methods whose model depends on the
                frame size need it: online DeepLS).
            height: the frames' height, with ``width``.

        Raises:
            ConfigError: a size that is not two positive integers, or none where the
                method needs one.
            ClosedError: after :meth:`close` (also when closed from another thread
                while it loads).
        """
        given = (width, height)
        if given != (None, None) and not all(
            isinstance(v, (int, np.integer)) and not isinstance(v, bool) and v > 0 for v in given
        ):
            raise ConfigError(
                f"{self.name}: open(width=W, height=H) takes two positive integers "
                f"(pixels), or neither; got width={width!r}, height={height!r}"
            )
        with self._entered("open"):
            if self._closed:
                raise ClosedError(f"{self.name}: used after close(); create a new one")
            size = None if height is None or width is None else (int(height), int(width))
            self._open(size)
        return self

    # -- what a method implements --------------------------------------------------------

    @abc.abstractmethod
    def _learn_one(self, image: np.ndarray) -> None:
        """Update the model with a validated frame."""

    @abc.abstractmethod
    def _predict_one(self, image: np.ndarray) -> np.ndarray:
        """Mask for a validated frame; must not change the model."""

    def _score_one(self, image: np.ndarray) -> np.ndarray:
        return self._predict_one(image).astype(np.float32) / 255.0

    def _open(self, size: tuple[int, int] | None) -> None:
        """Load what the method needs for frames of ``size`` ``(h, w)`` (None: not known)."""

    def _close(self) -> None:
        """Release the method's own resources (called once, on the closing thread)."""

    def _apply(self, image: np.ndarray, learning_rate: float) -> np.ndarray:
        if learning_rate == 1.0:
            self.reset()
        mask = self._predict_one(image)
        if learning_rate != 0.0:
            self._learn_one(image)
        return mask

    @abc.abstractmethod
    def reset(self) -> None:
        """Forget everything learned; the next frame starts a new model."""

    # -- the rest of the contract ----------------------------------------------------------

    def background(self) -> np.ndarray | None:
        """The current background image (like ``getBackgroundImage``), ``None`` if none."""
        return None

    @classmethod
    def _unit_test_params(cls) -> dict[str, Any]:
        """Cheap parameters for the contract suite (river's convention); defaults by default."""
        return {}

    def stats(self) -> dict[str, Any]:
        """Method-specific counters for the run statistics (model version, train steps, ...)."""
        return {}

    def save(self, path: str) -> None:
        """Write the learned model to ``path`` as a checkpoint (a :attr:`checkpointable` method).

        Raises:
            NotImplementedError: the method keeps no checkpoint.
        """
        raise NotImplementedError(f"{self.name} keeps no checkpoint")

    @property
    def ready(self) -> bool:
        """``False`` during warm-up, when masks are all zeros."""
        return True

    def close(self) -> None:
        """Release threads and native resources. Idempotent; callable from any thread.

        While another thread is inside an entry point (a host stopping a stream while
        DeepLS starts), ``close`` does not wait for it: the segmenter's background work
        is told to stop at once, that call ends (a start-up in progress raises
        :class:`~streamseg.errors.ClosedError`) and the release completes as it returns.
        """
        with self._state_lock:
            if self._closed:
                return
            self._closed = True
            shut = self._in_call is None
            self._shut = shut
        if shut:
            self._shut_down()
        else:
            self._lifeline.release()

    def _shut_down(self) -> None:
        self._lifeline.stop.set()  # background work in flight is abandoned, not waited for
        try:
            self._close()
        finally:
            self._finalizer()  # the lifeline's release, once

    def __enter__(self: _S) -> _S:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        fields = ", ".join(
            f"{f.name}={getattr(self.config, f.name)!r}" for f in dataclasses.fields(self.config)
        )
        return f"{type(self).__name__}({fields})"

    def _admit(self, image: np.ndarray) -> np.ndarray:
        if self._closed:
            # Its threads and sessions are gone: a mask now would be a silent wrong answer.
            raise ClosedError(f"{self.name}: used after close(); create a new one")
        image = check_image(image)
        if image.shape[0] < self.min_size[0] or image.shape[1] < self.min_size[1]:
            raise FrameError(
                f"{self.name} needs frames of at least {self.min_size[1]}x{self.min_size[0]} "
                f"pixels; got {image.shape[1]}x{image.shape[0]}"
            )
        if self._shape is not None and image.shape != self._shape:
            log.info(
                "%s: frame shape changed from %s to %s; resetting the model",
                self.name,
                self._shape,
                image.shape,
            )
            self.reset()
        self._shape = image.shape
        return image
