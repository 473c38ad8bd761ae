"""Online DeepLS: fine-tuning on a sliding window while a frozen copy segments every frame.

::

    caller's thread (the hot path)                  trainer thread (owns torch)
    ──────────────────────────────                  ───────────────────────────
    x = frame at processing size  ── push ──►  FrameWindow  ── snapshot ──►  batch
    S = runner.run(x)             ◄── current ─ OnnxRunner  ◄──── swap ─────  gradient step
    mask = rule(|S|)                                                         every K steps or
                                                                             T seconds: export,
                                                                             new session, swap

Exactly two objects are shared: the :class:`~streamseg.window.FrameWindow` (a lock
around push/snapshot) and the :class:`~streamseg.segmenters.deepls.onnx.OnnxRunner`
(a lock around one session reference). The :class:`OnlineLearner` owns the
:class:`~streamseg.segmenters.deepls.train.Trainer`; inference never touches torch
and training never touches the live session.

``mode="async"`` (live sources) trains as fast as the thread can: the frame path never
waits for training. ``mode="paced"`` (files, the library's loops) starts a round on the
thread every ``train_every`` frames and swaps its model in when the next round is due,
at the same frame every run: the frame path waits only if a round is not done by then,
and the masks depend on the frames and the seed alone. ``mode="sync"`` runs the very
same rounds inline, in step with the frames and seeded: reproducible bit for bit, for
tests.

Failures in the trainer thread are kept and re-raised on the caller's thread at
the next frame as :class:`~streamseg.errors.TrainerError`; :meth:`OnlineLearner.close`
sets a stop event and joins within a timeout (the thread is a
:class:`~streamseg.segmenters.worker.Worker`).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from streamseg.segmenters.deepls.augment import paste_objects
from streamseg.segmenters.deepls.context import window_context
from streamseg.segmenters.worker import Worker
from streamseg.window import FrameWindow

if TYPE_CHECKING:  # for the annotation only
    from streamseg.segmenters.deepls.train import Trainer

__all__ = ["OnlineLearner", "OnlineStats"]

log = logging.getLogger(__name__)


@dataclass
class OnlineStats:
    """Counters of the online learner (read by the pipeline's statistics)."""

    steps: int = 0
    rollbacks: int = 0
    swaps: int = 0
    version: int = 0
    loss: float = float("nan")
    first_swap_s: float | None = None
    publish_ms: float = 0.0
    started: float = 0.0
    steps_at_start: int = 0

    def as_dict(self) -> dict[str, Any]:
        elapsed = max(1e-9, time.monotonic() - self.started)
        return {
            "train_steps": self.steps,
            "train_steps_per_s": (self.steps - self.steps_at_start) / elapsed,
            "rollbacks": self.rollbacks,
            "swaps": self.swaps,
            "model_version": self.version,
            "loss": self.loss,
            "first_swap_s": self.first_swap_s,
            "publish_ms": self.publish_ms,
        }


class OnlineLearner:
    """The training side of online DeepLS.

    Args:
        trainer: the :class:`~streamseg.segmenters.deepls.train.Trainer` (owned from now on).
        window: the shared frame window (the caller pushes into it).
        build: builds a new session from the trainer's frozen model (given the new
            version), on the trainer's thread.
        install: swaps a built session in (given it and its version).
        mode: ``async`` (a background thread, rounds one after the other, paced by the
            clock), ``paced`` (a background thread, a round every ``train_every`` frames:
            what is learned by a frame depends on the frames alone) or ``sync`` (inline in
            :meth:`after_frame`).
        min_frames: frames the window needs before training starts.
        steps_per_round: gradient steps per round (a round in sync mode runs every
            ``train_every`` frames; in async mode rounds follow each other).
        train_every: frames between rounds in sync and paced modes.
        publish_every: steps between two publishes.
        publish_seconds: in async mode, publish at least this often while training.
        threads: torch threads for training (0: leave torch's setting).
        max_steps_per_s: async mode: at most this many steps per second (0: as many as the
            core allows), so many cameras can share a machine.
        batch: frames of the window each step trains on, drawn at random (0: all).
        paste: probability that a frame of each step's batch gets a synthetic object
            (:mod:`~streamseg.segmenters.deepls.augment`: a still scene must not make the
            net blind); 0: the window as it is.
        spawn: starts the trainer thread, as :meth:`~streamseg.segmenters.base.Lifeline.start`
            (the segmenter's lifeline: joined at interpreter exit); None: a plain daemon thread.
    """

    def __init__(
        self,
        trainer: Trainer,
        window: FrameWindow,
        build: Callable[[int], Any],
        install: Callable[[Any, int], None],
        *,
        mode: str = "async",
        min_frames: int = 4,
        steps_per_round: int = 1,
        train_every: int = 1,
        publish_every: int = 20,
        publish_seconds: float = 2.0,
        threads: int = 0,
        max_steps_per_s: float = 0.0,
        paste: float = 0.0,
        batch: int = 0,
        name: str = "deepls",
        spawn: Callable[..., threading.Thread] | None = None,
    ) -> None:
        self.trainer = trainer
        self.name = name
        self.window = window
        self._build = build
        self._install = install
        self.mode = mode
        self.min_frames = min_frames
        self.steps_per_round = steps_per_round
        self.train_every = train_every
        self.publish_every = publish_every
        self.publish_seconds = publish_seconds
        self.threads = threads
        self.max_steps_per_s = max_steps_per_s
        self.paste = paste
        self.batch = batch
        self.stats = OnlineStats(
            steps=trainer.steps, started=time.monotonic(), steps_at_start=trainer.steps
        )
        self._frames = 0
        self._since_publish = 0
        self._last_publish = time.monotonic()
        self._paused = threading.Event()
        # Paced mode: the round in flight (a window snapshot handed to the trainer's thread),
        # its end, and the session it built, which the caller swaps in at the next round.
        self._job: np.ndarray | None = None
        self._in_flight = False
        self._round_done = threading.Event()
        self._built: tuple[Any, int, float] | None = None  # session, version, build seconds
        self._worker = Worker(
            "streamseg-trainer", f"{name}: the online trainer failed", spawn=spawn, sticky=True
        )

    # -- the caller's side ------------------------------------------------------------------

    def after_frame(self) -> None:
        """Called after each frame was pushed: trains inline (sync), hands the thread its
        next round and swaps the last one's model in (paced), or starts the thread (async)."""
        self.check()
        self._frames += 1
        if self._frames == 1:
            self._set_threads()
        if self.mode == "sync":
            if not self._paused.is_set() and self._frames % self.train_every == 0:
                try:
                    self._round(self.window.snapshot() if self._ready() else None)
                except Exception as err:  # reported as the thread's failures are
                    self._worker.fail(err)
                    self.check()
            return
        if self.mode == "paced":
            if not self._paused.is_set() and self._frames % self.train_every == 0:
                self._next_round()
            return
        if not self._worker.started:
            self._worker.start(self._run)
        self._worker.wake()

    def _ready(self) -> bool:
        return len(self.window) >= self.min_frames

    def _next_round(self) -> None:
        """Paced mode: finish the round in flight, swap in what it built, hand over the next."""
        if self._in_flight:
            while not self._round_done.wait(0.1):
                if self._worker.error is not None or not self._worker.alive:
                    break
            self.check()
            self._in_flight = False
            if self._built is not None:
                built, version, seconds = self._built
                self._built = None
                self._install(built, version)
                self._published(version)
                self.stats.publish_ms = 1000 * seconds  # the build's time, on the trainer
        if not self._ready():
            return
        if not self._worker.started:
            self._worker.start(self._run_paced)
        self._round_done.clear()
        self._job = self.window.snapshot()
        self._in_flight = True
        self._worker.wake()

    def check(self, unreported_only: bool = False) -> None:
        """Re-raise a failure of the trainer on the caller's thread.

        A failed trainer stays failed: every call raises again (the model no longer
        learns, so carrying on would hide that), until the segmenter is reset.

        Args:
            unreported_only: raise only if no call has raised it yet (closing: a failure
                after the last frame must not end a run as a success, one already
                reported need not be raised twice).
        """
        self._worker.check(unreported_only=unreported_only)

    def pause(self, paused: bool) -> None:
        """Freeze (``True``) or resume training; inference goes on with the current model."""
        if paused:
            self._paused.set()
        else:
            self._paused.clear()

    def close(self, timeout: float = 10.0) -> None:
        """Stop the thread (between steps) and join it within ``timeout``. Idempotent."""
        self._worker.close(timeout)

    @property
    def alive(self) -> bool:
        return self._worker.alive

    # -- the trainer's side -----------------------------------------------------------------

    def _round(self, batch: np.ndarray | None, install: bool = True) -> None:
        """Train ``steps_per_round`` steps on the window snapshot ``batch``; publish when due.

        Args:
            batch: the window's frames (None: the window is not full enough yet).
            install: swap a new model in now (``False``, paced mode: keep it for the
                caller, who swaps it in at the next round, in step with the frames).
        """
        if batch is None:
            return
        context = window_context(batch, self.trainer.model_config.context)
        for _ in range(self.steps_per_round):
            if self._worker.stop.is_set():
                return
            # A step sees ``batch`` of the window's frames (the context stays the whole
            # window's): the cost of a step grows with its batch, the context's quality with
            # the window. New objects every step (see augment).
            frames = batch
            n = self.batch
            if 0 < n < len(frames):
                frames = frames[np.sort(self.trainer.rng.choice(len(frames), n, replace=False))]
            if self.paste:
                frames = paste_objects(frames, self.trainer.rng, self.paste)
            loss = self.trainer.step(frames, context)
            self.stats.steps = self.trainer.steps
            self.stats.rollbacks = self.trainer.rollbacks
            if np.isfinite(loss):
                self.stats.loss = loss
            self._since_publish += 1
        due = self._since_publish >= self.publish_every or (
            self.mode == "async"
            and time.monotonic() - self._last_publish > self.publish_seconds
            and self._since_publish > 0
        )
        if due:
            if install:
                self.publish_now()
            else:
                version = self.stats.version + 1
                t0 = time.perf_counter()
                session = self._build(version)
                self._built = (session, version, time.perf_counter() - t0)
                self._since_publish = 0

    def publish_now(self) -> None:
        """Export the trainer's model and swap it in (version + 1)."""
        t0 = time.perf_counter()
        version = self.stats.version + 1
        self._install(self._build(version), version)
        self._published(version, t0)

    def _published(self, version: int, t0: float | None = None) -> None:
        self.stats.version = version
        self.stats.swaps += 1
        if t0 is not None:
            self.stats.publish_ms = 1000 * (time.perf_counter() - t0)
        if self.stats.first_swap_s is None:
            self.stats.first_swap_s = time.monotonic() - self.stats.started
        self._since_publish = 0
        self._last_publish = time.monotonic()

    def _set_threads(self) -> None:
        # torch's intra-op pool is process-wide; inference runs in ONNX Runtime, so the
        # setting only budgets the trainer (oversubscribed OpenMP threads spin and crawl).
        if self.threads:
            import torch

            torch.set_num_threads(self.threads)

    def _run(self) -> None:
        stop = self._worker.stop
        try:
            while not stop.is_set():
                if self._paused.is_set() or len(self.window) < self.min_frames:
                    self._worker.sleep(0.05)
                    continue
                started = time.monotonic()
                self._round(self.window.snapshot() if self._ready() else None)
                if self.max_steps_per_s > 0:
                    budget = self.steps_per_round / self.max_steps_per_s
                    stop.wait(max(0.0, budget - (time.monotonic() - started)))
        except BaseException as err:  # the worker keeps it; check() raises it on the caller's
            log.error("%s: online trainer stopped: %s", self.name, err)
            raise

    def _run_paced(self) -> None:
        stop = self._worker.stop
        try:
            while not stop.is_set():
                job, self._job = self._job, None
                if job is None:
                    self._worker.sleep(0.05)
                    continue
                try:
                    self._round(job, install=False)
                finally:
                    self._round_done.set()
        except BaseException as err:  # the worker keeps it; check() raises it on the caller's
            log.error("%s: online trainer stopped: %s", self.name, err)
            raise
