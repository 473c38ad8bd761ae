"""Supervision: one Ray actor per stream, polled, restarted with a back-off, or given up.

The driver polls every actor's status once a second (one wait for all, with a
timeout). An actor that died, stopped answering, or whose stream failed past its
reconnect budget is killed and started again after a back-off (``restart_delay``,
doubled per failure in a row up to a minute), until ``max_restarts`` restarts in a
row have failed; an online model resumes from the checkpoint its actor writes every
``checkpoint_every`` seconds. The other streams keep running throughout.

What the supervisor knows of a stream is one :class:`SupervisedStream`; its status
(the table's row, ``--status-json``'s entry) is built from it.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from streamseg.errors import ConfigError
from streamseg.serve.config import ServeConfig, StreamConfig
from streamseg.serve.connect import connect, import_ray
from streamseg.serve.worker import StreamState, StreamWorker

__all__ = ["Cluster", "SupervisedStream", "MAX_RESTART_DELAY"]

log = logging.getLogger(__name__)

#: What a stream's status counts over all its attempts (``attempt_<key>``: the current one's).
COUNTS = ("frames", "dropped", "reconnects")
#: Longest wait between two restarts of a failing stream (the delay doubles up to it).
MAX_RESTART_DELAY = 60.0


@dataclass
class SupervisedStream:
    """What the supervisor knows of one stream: its actor, its attempts, its latest status.

    Attributes:
        config: the stream.
        actor: the Ray actor of the current attempt (None before the first start and
            after stop).
        attempt: 0 for the first start, then the restart's number.
        failures: failed attempts in a row (what ``max_restarts`` bounds).
        earlier: the :data:`COUNTS` of the earlier attempts, summed.
        due: when the stream, failed, is started again (``time.monotonic()``; None: it
            does not wait for a restart).
        state: where the stream is.
        last: its latest status but the name and state (empty until it has one).
    """

    config: StreamConfig
    actor: Any = None
    attempt: int = 0
    failures: int = 0
    earlier: dict[str, int] = field(default_factory=lambda: dict.fromkeys(COUNTS, 0))
    due: float | None = None
    state: StreamState = StreamState.CREATED
    last: dict[str, Any] = field(default_factory=dict)

    @property
    def name(self) -> str:
        """The stream's name."""
        return self.config.name

    @property
    def reported(self) -> bool:
        """Whether the stream has a status yet (a poll or a stop gave it one)."""
        return bool(self.last)

    def status(self) -> dict[str, Any]:
        """Name, state (its string), frames, fps, ..., restarts, error: one row of the table."""
        return {"name": self.name, "state": self.state.value, **self.last}

    def answered(self, status: Mapping[str, Any]) -> None:
        """Take the status the worker answered (its counts are this attempt's)."""
        last = {k: v for k, v in status.items() if k not in ("name", "state")}
        for k in COUNTS:
            last[f"attempt_{k}"] = last.get(k, 0)
        self._update(StreamState(status["state"]), last)

    def died(self, error: str) -> None:
        """Its actor died, or did not answer in time: its latest status stays, with why."""
        self._update(StreamState.DIED, {**self.last, "error": error})

    def restarting(self) -> None:
        """Waiting for its restart: its counts are the earlier attempts', the error stays."""
        self.state = StreamState.RESTARTING
        self.last = {
            **self.last,
            "restarts": self.attempt,
            **self.earlier,
            **{f"attempt_{k}": 0 for k in COUNTS},
        }

    def _update(self, state: StreamState, last: dict[str, Any]) -> None:
        last["restarts"] = self.attempt
        for k in COUNTS:  # over every attempt so far
            last[k] = self.earlier[k] + int(last.get(f"attempt_{k}", 0))
        self.state, self.last = state, last


class Cluster:
    """Runs a :class:`ServeConfig` on Ray: one supervised actor per stream.

    Args:
        config: the streams.
        address: an existing Ray cluster to join (``None``: start a local instance on
            loopback).
        num_cpus: CPUs of the local instance (default: what the machine has).
        poll: seconds between status polls.
        call_timeout: seconds a status call may take before the actor counts as hung.
    """

    def __init__(
        self,
        config: ServeConfig,
        *,
        address: str | None = None,
        num_cpus: int | None = None,
        poll: float = 1.0,
        call_timeout: float = 10.0,
    ) -> None:
        self.config = config
        self.address = address
        self.num_cpus = num_cpus
        self.poll = poll
        self.call_timeout = call_timeout
        self._streams = {s.name: SupervisedStream(s) for s in config.streams}
        self._started_ray = False
        self._stop = threading.Event()

    @staticmethod
    def _ray() -> Any:
        return import_ray()

    def start(self) -> None:
        """Start (or join) Ray and one actor per stream.

        Raises:
            ConfigError: no Ray, or a stream no restart could run (a missing file, more
                CPUs or GPUs than the cluster has); no actor started.
        """
        self._check_files()
        # Shut down on stop: a local Ray stops, a joined cluster only loses this driver.
        # Not left to Ray's atexit hook: the CLI leaves with os._exit after a signal.
        if connect(self.address, num_cpus=self.num_cpus):
            self._started_ray = True
        try:
            self._check_resources(self._ray().cluster_resources())
        except ConfigError:
            self.stop()  # the Ray instance started above must not outlive the refusal
            raise
        for stream in self._streams.values():
            self._launch(stream, 0)

    def _check_files(self) -> None:
        """Refuse a stream whose local file or folder does not exist (each restart would fail).

        Files are read where the actors run: checked here only when Ray runs on this machine.

        Raises:
            ConfigError: before Ray starts.
        """
        from streamseg.sources import local_path

        if self.address:
            return
        for stream in self.config.streams:
            path = local_path(stream.run.source.uri)
            if path is not None and not path.exists():
                raise ConfigError(
                    f"stream {stream.name}: {stream.run.source.uri}: no such file or folder"
                )

    def _check_resources(self, resources: Mapping[str, float]) -> None:
        """Refuse a stream asking for more CPUs or GPUs than the cluster has (never scheduled).

        Raises:
            ConfigError: before any actor starts.
        """
        for stream in self.config.streams:
            for what, asked in (("CPU", stream.cpus), ("GPU", stream.gpus)):
                have = resources.get(what, 0.0)
                if asked > have:
                    raise ConfigError(
                        f"stream {stream.name}: asks for {asked:g} {what}s, the cluster has "
                        f"{have:g}; lower its {what.lower()}s: or add nodes"
                    )

    def _launch(self, stream: SupervisedStream, attempt: int) -> None:
        """Start attempt ``attempt`` of ``stream`` in a new actor."""
        cfg = stream.config
        actor_cls = (
            self._ray()
            .remote(StreamWorker)
            .options(
                num_cpus=cfg.cpus, num_gpus=cfg.gpus, max_concurrency=4, name=None, max_restarts=0
            )
        )
        # Resume only what an earlier attempt of this serve wrote: one that failed before
        # its outputs opened (a camera down at start) left --overwrite still to do.
        stream.actor = actor_cls.remote(cfg, attempt, stream.earlier["frames"])
        stream.actor.start.remote()
        stream.attempt = attempt
        if not attempt:  # a restart is logged where it is decided
            log.info("stream %s started", stream.name)

    def kill(self, name: str) -> None:
        """Kill a stream's actor (as a crash would); supervision restarts it."""
        self._ray().kill(self._streams[name].actor, no_restart=True)

    def status(self) -> list[dict[str, Any]]:
        """Poll every actor once; restart the dead, hung or failed ones (within budget)."""
        ray = self._ray()
        refs = {
            s.name: s.actor.status.remote()
            for s in self._streams.values()
            if s.actor is not None and s.due is None and s.state is not StreamState.GAVE_UP
        }
        # One wait for all: a hung actor costs call_timeout once per poll, not once each.
        answered, _ = (
            ray.wait(list(refs.values()), num_returns=len(refs), timeout=self.call_timeout)
            if refs
            else ([], [])
        )
        done = set(answered)
        for stream in self._streams.values():
            if stream.due is not None:
                self._waiting(stream)
            if stream.name in refs:  # not when waiting for its restart, or given up
                self._take(stream, refs[stream.name], refs[stream.name] in done)
        return [s.status() for s in self._streams.values()]

    def _take(self, stream: SupervisedStream, ref: Any, answered: bool) -> None:
        """Take a status call's answer (or its absence); a failed stream is restarted."""
        ray = self._ray()
        try:
            if not answered:
                raise ray.exceptions.GetTimeoutError(f"no status in {self.call_timeout:g} s")
            stream.answered(ray.get(ref, timeout=0))
        except (
            ray.exceptions.RayActorError,
            ray.exceptions.GetTimeoutError,
            ray.exceptions.RayTaskError,  # the status call itself failed in the actor
        ) as err:
            stream.died(type(err).__name__)
        if stream.state.failed and not self._stop.is_set():
            self._failed(stream)

    def _failed(self, stream: SupervisedStream) -> None:
        """Schedule the restart of a failed stream after its back-off, or give it up."""
        cfg, last = stream.config, stream.last
        stream.failures = 1 if int(last.get("attempt_frames", 0)) else stream.failures + 1
        stream.earlier = {k: int(last.get(k, 0)) for k in COUNTS}
        if 0 <= cfg.max_restarts < stream.failures:
            # Said as it happens: the table shows it too, but only to whoever watches it.
            log.warning(
                "stream %s %s (%s) and is given up: %d failed attempt%s in a row (max_restarts %d)",
                stream.name,
                stream.state.value,
                last.get("error"),
                stream.failures,
                "" if stream.failures == 1 else "s",
                cfg.max_restarts,
            )
            self._kill(stream)  # a hung actor may still hold the camera and its CPUs
            stream.state = StreamState.GAVE_UP
            return
        delay = min(MAX_RESTART_DELAY, cfg.restart_delay * 2 ** (stream.failures - 1))
        log.warning(
            "stream %s %s (%s); restarting in %.3g s",
            stream.name,
            stream.state.value,
            last.get("error"),
            delay,
        )
        self._kill(stream)
        stream.due = time.monotonic() + delay
        self._waiting(stream)

    def _kill(self, stream: SupervisedStream) -> None:
        try:
            self._ray().kill(stream.actor, no_restart=True)
        except Exception:  # already gone
            log.debug("stream %s: kill of a dead actor failed", stream.name)

    def _waiting(self, stream: SupervisedStream) -> None:
        """A stream waiting for its restart: started once its time has come."""
        if stream.due is not None and time.monotonic() >= stream.due:
            stream.due = None
            log.info("stream %s: restart %d", stream.name, stream.attempt + 1)
            self._launch(stream, stream.attempt + 1)
        stream.restarting()

    def wait(
        self,
        *,
        on_status: Callable[[list[dict[str, Any]]], None] | None = None,
        stop: threading.Event | None = None,
    ) -> list[dict[str, Any]]:
        """Supervise until every stream is done (or gave up), or ``stop`` is set."""
        while True:
            statuses = self.status()
            if on_status is not None:
                on_status(statuses)
            if all(s.state.ended for s in self._streams.values()):
                return statuses
            if stop is not None and stop.wait(self.poll):
                return statuses
            if stop is None:
                time.sleep(self.poll)

    def stop(self, timeout: float = 15.0) -> None:
        """Stop every stream (outputs finalised), then the actors, then the Ray this started
        (a local one stops; from a joined cluster the driver disconnects)."""
        self._stop.set()
        ray = self._ray()
        for stream in self._streams.values():
            if stream.due is not None:  # waiting for a restart that will not come now
                stream.due, stream.state = None, StreamState.STOPPED
        refs = {}
        for stream in self._streams.values():
            if stream.actor is None or stream.state in (StreamState.GAVE_UP, StreamState.STOPPED):
                continue  # nothing runs there
            try:
                refs[stream.name] = stream.actor.stop.remote(timeout)
            except Exception:  # a dead actor cannot be asked
                log.debug("could not ask an actor to stop", exc_info=True)
        if refs:
            done, _ = ray.wait(list(refs.values()), num_returns=len(refs), timeout=timeout + 5)
            for name, ref in refs.items():
                if ref in done:
                    self._final_status(self._streams[name], ref)
        for stream in self._streams.values():
            if stream.actor is None:
                continue
            try:
                ray.kill(stream.actor, no_restart=True)
            except Exception:
                log.debug("kill after stop failed", exc_info=True)
            stream.actor = None
        if self._started_ray:
            ray.shutdown()
            self._started_ray = False

    def _final_status(self, stream: SupervisedStream, ref: Any) -> None:
        """Keep the status an actor answered to stop() (its frames and state as it ended)."""
        try:
            status = self._ray().get(ref, timeout=0)
        except Exception:  # it died meanwhile: the last poll's status stays
            log.debug("stream %s: no final status", stream.name, exc_info=True)
            return
        stream.answered(status)

    @property
    def statuses(self) -> list[dict[str, Any]]:
        """The latest status of every stream (after :meth:`stop`: as each ended)."""
        return [s.status() for s in self._streams.values() if s.reported]

    def __enter__(self) -> Cluster:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
