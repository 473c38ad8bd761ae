"""One stream's run, on a thread of its own, answering status calls: the body of a Ray actor.

The worker checkpoints its online models every ``checkpoint_every`` seconds and, when
restarted, resumes them and goes on writing into the outputs its earlier attempts left.
Usable without Ray too (the tests of a stream's run do).
"""

from __future__ import annotations

import dataclasses
import enum
import threading
import time
from collections.abc import Mapping
from typing import Any

from streamseg.config import RunConfig
from streamseg.errors import StreamsegError
from streamseg.serve.config import StreamConfig

__all__ = ["StreamState", "StreamWorker"]


class StreamState(enum.Enum):
    """Where a stream is; the value is what its status says (``"gave up"``).

    A worker reports the first five; the supervisor decides the last three.
    """

    CREATED = "created"
    RUNNING = "running"
    DONE = "done"  #: its source ended, or its frame limit was reached
    STOPPED = "stopped"  #: stopped from outside (Ctrl-C)
    FAILED = "failed"  #: its run raised (a camera past its reconnect budget...)
    DIED = "died"  #: its actor died, or did not answer a status call in time
    RESTARTING = "restarting"  #: waiting for its restart's back-off
    GAVE_UP = "gave up"  #: too many failed attempts in a row

    @property
    def ended(self) -> bool:
        """Nothing runs and nothing will: the supervisor is done with the stream."""
        return self in (StreamState.DONE, StreamState.STOPPED, StreamState.GAVE_UP)

    @property
    def failed(self) -> bool:
        """The attempt ended by a failure: one for the supervisor to restart or give up."""
        return self in (StreamState.FAILED, StreamState.DIED)


class StreamWorker:
    """Runs one stream on a thread and answers status calls (the body of a Ray actor).

    Args:
        stream: the stream.
        attempt: 0 for the first start, then the restart's number.
        frames_done: frames the earlier attempts of this serve segmented. With any, this
            attempt goes on writing into their outputs; without, the outputs are this
            serve's to start, as ``run`` starts them (``--overwrite`` replaces an earlier
            serve's). A live stream's ``max_frames`` counts them too.
    """

    def __init__(self, stream: StreamConfig, attempt: int = 0, frames_done: int = 0) -> None:
        self.stream = stream
        self.attempt = attempt
        self.frames_done = frames_done
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._state = StreamState.CREATED
        self._error: str | None = None
        self._frames = 0
        self._started = 0.0
        self._stats: dict[str, Any] = {}
        self._segs: dict[str, Any] = {}
        self._source: Any = None
        self._run_stats: Any = None  # the run's RunStats, filled as it goes

    def _config(self) -> RunConfig:
        """The run config, resuming an online model from its checkpoint when there is one."""
        from streamseg.registry import method_class
        from streamseg.sources import is_live

        run = self.stream.run
        methods = []
        for m in run.methods:
            cfg = m.config
            ckpt = self.stream.checkpoint(m.name)
            online = method_class(m.name).checkpointable and cfg.weights is None
            if online and ckpt is not None:
                cfg = dataclasses.replace(
                    cfg, save=str(ckpt), start=str(ckpt) if ckpt.exists() else cfg.start
                )
            methods.append(dataclasses.replace(m, config=cfg))
        run = dataclasses.replace(run, methods=tuple(methods))
        if run.max_frames is not None and self.frames_done and is_live(run.source.uri):
            # A camera goes on where it was; a file is segmented again from its start.
            run = dataclasses.replace(run, max_frames=max(0, run.max_frames - self.frames_done))
        return run

    def start(self) -> None:
        """Start the stream on a background thread (returns at once)."""
        if self._thread is not None:
            return
        self._state = StreamState.RUNNING
        self._started = time.monotonic()
        self._thread = threading.Thread(
            target=self._run, name=f"stream-{self.stream.name}", daemon=True
        )
        self._thread.start()

    def _run(self) -> None:
        from streamseg.pipeline import RunStats, run_config

        last_ckpt = [time.monotonic()]
        segs = self._segs

        def on_frame(frame: Any, masks: Mapping[str, Any]) -> None:
            self._frames += 1
            now = time.monotonic()
            every = self.stream.checkpoint_every
            if every and now - last_ckpt[0] > every:
                for name, seg in segs.items():
                    ckpt = self.stream.checkpoint(name)
                    if ckpt is not None and seg.checkpointable:
                        seg.save(str(ckpt))
                last_ckpt[0] = now

        def on_open(source: Any) -> None:
            self._source = source  # its dropped and reconnect counts, while it runs

        self._run_stats = RunStats()
        try:
            stats = run_config(
                self._config(),
                stop=self._stop,
                on_frame=on_frame,
                on_open=on_open,
                segmenters_out=segs,
                resume_outputs=self.frames_done > 0,  # a restart goes on where it was
                stats=self._run_stats,
            )
            self._stats = stats.as_dict()
            self._state = StreamState.STOPPED if stats.interrupted else StreamState.DONE
        except StreamsegError as err:
            self._error, self._state = str(err), StreamState.FAILED
        except Exception as err:  # reported to the supervisor, which restarts the stream
            self._error, self._state = f"{type(err).__name__}: {err}", StreamState.FAILED

    def status(self) -> dict[str, Any]:
        """Name, state, frames, fps, dropped, reconnects, model version, restarts, error;
        and as :class:`~streamseg.sinks.metrics.Metrics` reads them, ``latency_ms``,
        ``methods`` and ``events`` (once the run has opened).

        Plain values (the state is its :class:`StreamState` value), as they cross Ray.
        """
        elapsed = max(1e-9, time.monotonic() - self._started) if self._started else 0.0
        live = {name: seg.stats() for name, seg in list(self._segs.items())}
        methods = self._stats.get("methods") or live
        version = next(
            (
                m.get("model_version")
                for m in methods.values()
                if m.get("model_version") is not None
            ),
            None,
        )
        source = self._source
        return {
            "name": self.stream.name,
            "state": self._state.value,
            "frames": self._frames,
            "fps": self._frames / elapsed if elapsed else 0.0,
            "dropped": self._stats.get("dropped", getattr(source, "dropped", 0)),
            "reconnects": self._stats.get("reconnects", getattr(source, "reconnects", 0)),
            "latency_ms_p99": self._stats.get("latency_ms_p99"),
            "model_version": version,
            "restarts": self.attempt,
            "error": self._error,
            **self._live(),
        }

    def _live(self) -> dict[str, Any]:
        """The run's latency, methods' times and events, read while it goes on."""
        from streamseg.pipeline import run_status

        stats, source = self._run_stats, self._source
        if stats is None or source is None:
            return {}
        live = run_status(stats, source, dict(self._segs), self._started)
        return {k: live[k] for k in ("latency_ms", "methods", "events")}

    def stop(self, timeout: float = 10.0) -> dict[str, Any]:
        """Stop between frames (outputs finalised) and return the last status."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
        return self.status()
