"""Many cameras: one segmenter per stream, each in its own Ray actor, supervised.

A site with dozens of cameras outgrows one process. Each stream of a
``streams:`` configuration runs as a Ray actor that owns its source, its
methods (the online model included) and its sinks; the actor declares its
resources (CPUs, and a GPU fraction where GPUs exist) so Ray places it on a node
that has them. Locally, ``Cluster`` starts a Ray instance on loopback; with an
address it joins an existing cluster, and the same configuration spreads over
its machines.

Supervision: the driver polls every actor's status once a second (one wait for
all, with a timeout). An actor that died, stopped answering, or whose stream
failed past its reconnect budget is killed and started again after a back-off
(``restart_delay``, doubled per failure in a row up to a minute), until
``max_restarts`` restarts in a row have failed; an online model resumes from the
checkpoint its actor writes every ``checkpoint_every`` seconds. The other
streams keep running throughout.

Example (a sketch; needs the ``[ray]`` extra)::

    from streamseg.serve import Cluster, load_serve_config

    with Cluster(load_serve_config("configs/cameras.yaml", out="out")) as cluster:
        cluster.wait(on_status=print)
"""

from __future__ import annotations

import copy
import dataclasses
import ipaddress
import logging
import os
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from streamseg.config import (
    RUN_KEYS,
    RunConfig,
    build,
    check,
    read_yaml_file,
    run_config_from_dict,
)
from streamseg.errors import ConfigError, StreamsegError

__all__ = [
    "StreamConfig",
    "ServeConfig",
    "StreamWorker",
    "Cluster",
    "load_serve_config",
    "serve_config_from_dict",
]

log = logging.getLogger(__name__)

_STREAM_KEYS = ("name", "cpus", "gpus", "max_restarts", "restart_delay", "checkpoint_every")
#: What a stream's status counts over all its attempts (``attempt_<key>``: the current one's).
_COUNTS = ("frames", "dropped", "reconnects")
#: Longest wait between two restarts of a failing stream (the delay doubles up to it).
MAX_RESTART_DELAY = 60.0


@dataclass(frozen=True)
class StreamConfig:
    """One stream of a many-camera deployment.

    Attributes:
        name: unique name (its outputs go to ``<out>/<name>/`` by default).
        run: source, methods and outputs, as for ``streamseg run``.
        cpus: CPUs Ray reserves for the actor.
        gpus: GPU share Ray reserves (0 on machines without GPUs).
        max_restarts: restarts in a row that may fail before the stream is given up
            (0: none; -1: never give up, a camera down for maintenance comes back by
            itself). An attempt that segmented frames before failing starts the count
            over, so a stream that fails once a day is not given up after a few days.
        restart_delay: seconds before the first restart of a failure; each failed start
            in a row doubles it, up to a minute (a rebooting camera gets time to come back).
        checkpoint_every: seconds between checkpoints of an online model (0: never).
    """

    name: str
    run: RunConfig
    cpus: float = 1.0
    gpus: float = 0.0
    max_restarts: int = 5
    restart_delay: float = 1.0
    checkpoint_every: float = 30.0

    def __post_init__(self) -> None:
        check(bool(self.name) and "/" not in self.name, f"stream name {self.name!r} is invalid")
        check(self.cpus > 0, f"stream {self.name}: cpus must be > 0")
        check(self.gpus >= 0, f"stream {self.name}: gpus must be >= 0")
        check(self.max_restarts >= -1, f"stream {self.name}: max_restarts must be >= 0 (-1: never)")
        check(self.restart_delay >= 0, f"stream {self.name}: restart_delay must be >= 0")
        check(self.checkpoint_every >= 0, f"stream {self.name}: checkpoint_every must be >= 0")

    def checkpoint(self, method: str) -> Path | None:
        """Where this stream's online ``method`` is checkpointed (None without an output dir).

        One file per method: deepls and slnet in one stream are models of two families,
        and each must resume its own.
        """
        o = self.run.outputs
        # The masks' folder, or the folder of the first video.
        folders = [Path(o.masks)] if o.masks else []
        folders += [
            Path(v.replace("{method}", method)).parent  # a per-method name's own folder
            for v in (o.video, o.overlay, o.mask_video)
            if v
        ]
        return folders[0] / f".{self.name}.{method}.model.pt" if folders else None


@dataclass(frozen=True)
class ServeConfig:
    """All streams of a deployment."""

    streams: tuple[StreamConfig, ...]


def serve_config_from_dict(
    data: Mapping[str, Any],
    *,
    out: str | Path | None = None,
    max_frames: int | None = None,
    overwrite: bool = False,
) -> ServeConfig:
    """Build a :class:`ServeConfig` from YAML-shaped data (a top-level ``streams:`` list).

    With ``out``, a stream without outputs writes its masks to ``out/<name>/masks`` and a
    mosaic video to ``out/<name>/mosaic.mp4``. Each stream's outputs are checked as
    ``streamseg run`` checks them (``overwrite``: replace masks an earlier serve left).
    """
    from streamseg.outputs import check_run_outputs
    from streamseg.sources import check_scheme

    entries = data.get("streams") if isinstance(data, Mapping) else None
    if not isinstance(entries, list):
        raise ConfigError("serve config: expected a top-level 'streams:' list")
    if not entries:
        raise ConfigError("serve config: 'streams:' is empty; list one entry per camera")
    unknown = [k for k in data if k != "streams"]
    if unknown:
        raise ConfigError(f"serve config: unknown key {unknown[0]!r} (valid: streams)")
    streams = []
    views: dict[str, str] = {}  # live views' addresses, and their stream
    for i, entry in enumerate(entries):
        if not isinstance(entry, Mapping):
            raise ConfigError(f"serve config: stream {i} must be a mapping")
        entry = copy.deepcopy(dict(entry))
        name = str(entry.get("name") or f"stream{i}")
        extra = {k: entry.pop(k) for k in list(entry) if k in _STREAM_KEYS}
        extra["name"] = name
        unknown = [k for k in entry if k not in RUN_KEYS]
        if unknown:
            raise ConfigError(
                f"stream {name}: unknown key {unknown[0]!r} "
                f"(valid: {', '.join((*_STREAM_KEYS, *RUN_KEYS))})"
            )
        if not entry.get("source"):
            # A run without a source reads the synthetic scene; a camera list must not.
            raise ConfigError(f"stream {name}: no source (source: {{uri: rtsp://...}})")
        if out is not None and not entry.get("outputs"):
            entry["outputs"] = {
                "masks": str(Path(out) / name / "masks"),
                "video": str(Path(out) / name / "mosaic.mp4"),
            }
        if max_frames is not None:
            entry["max_frames"] = max_frames
        if overwrite:
            entry["outputs"] = {**(entry.get("outputs") or {}), "overwrite": True}
        try:
            run = run_config_from_dict(entry)
            check_scheme(run.source.uri)  # a mistyped rtsp:// would fail every restart
            # Before any actor starts: a stream that failed on its outputs would be
            # restarted, and a restart goes on writing into what is there.
            check_run_outputs(run)
        except StreamsegError as err:
            raise ConfigError(f"stream {name}: {err}") from None
        if not run.methods:
            raise ConfigError(f"stream {name}: no methods")
        o = run.outputs
        if o.web:
            from streamseg.sinks.web import conflicts, parse_address

            if parse_address(o.web)[1] == 0:
                raise ConfigError(
                    f"stream {name}: outputs.web {o.web} picks a free port nobody would be "
                    "told of (the stream runs in a Ray actor): give it a port, e.g. 8081"
                )

            # One port, one stream: the second would fail to listen on every restart.
            for address, other in views.items():
                if conflicts(o.web, address):
                    raise ConfigError(
                        f"stream {name}: outputs.web {o.web} takes stream {other}'s port"
                    )
            views[o.web] = name
        if not (o.masks or o.video or o.overlay or o.mask_video or o.web):
            log.warning(
                "stream %s writes nothing and keeps no checkpoint: give it outputs or serve --out",
                name,
            )
        streams.append(build(StreamConfig, {**extra, "run": run}))
    names = [s.name for s in streams]
    if len(set(names)) != len(names):
        raise ConfigError(f"serve config: stream names must be unique ({', '.join(names)})")
    return ServeConfig(tuple(streams))


def load_serve_config(
    path: str | Path,
    *,
    out: str | Path | None = None,
    max_frames: int | None = None,
    overwrite: bool = False,
) -> ServeConfig:
    """Read a ``streams:`` YAML file (see ``configs/cameras.yaml``)."""
    return serve_config_from_dict(
        read_yaml_file(path), out=out, max_frames=max_frames, overwrite=overwrite
    )


class StreamWorker:
    """Runs one stream on a thread and answers status calls (the body of a Ray actor).

    Usable without Ray too (the tests of the supervision logic do).

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
        self._state = "created"
        self._error: str | None = None
        self._frames = 0
        self._started = 0.0
        self._stats: dict[str, Any] = {}
        self._segs: dict[str, Any] = {}
        self._source: Any = None

    def _config(self) -> RunConfig:
        """The run config, resuming an online model from its checkpoint when there is one."""
        from streamseg.registry import method_class

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
        from streamseg.sources import is_live

        if run.max_frames is not None and self.frames_done and is_live(run.source.uri):
            # A camera goes on where it was; a file is segmented again from its start.
            run = dataclasses.replace(run, max_frames=max(0, run.max_frames - self.frames_done))
        return run

    def start(self) -> None:
        """Start the stream on a background thread (returns at once)."""
        if self._thread is not None:
            return
        self._state = "running"
        self._started = time.monotonic()
        self._thread = threading.Thread(
            target=self._run, name=f"stream-{self.stream.name}", daemon=True
        )
        self._thread.start()

    def _run(self) -> None:
        from streamseg.pipeline import run_config

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

        try:
            stats = run_config(
                self._config(),
                stop=self._stop,
                on_frame=on_frame,
                on_open=on_open,
                segmenters_out=segs,
                resume_outputs=self.frames_done > 0,  # a restart goes on where it was
            )
            self._stats = stats.as_dict()
            self._state = "stopped" if stats.interrupted else "done"
        except StreamsegError as err:
            self._error, self._state = str(err), "failed"
        except Exception as err:  # reported to the supervisor, which restarts the stream
            self._error, self._state = f"{type(err).__name__}: {err}", "failed"

    def status(self) -> dict[str, Any]:
        """Name, state, frames, fps, dropped, reconnects, model version, restarts, error."""
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
            "state": self._state,
            "frames": self._frames,
            "fps": self._frames / elapsed if elapsed else 0.0,
            "dropped": self._stats.get("dropped", getattr(source, "dropped", 0)),
            "reconnects": self._stats.get("reconnects", getattr(source, "reconnects", 0)),
            "latency_ms_p99": self._stats.get("latency_ms_p99"),
            "model_version": version,
            "restarts": self.attempt,
            "error": self._error,
        }

    def stop(self, timeout: float = 10.0) -> dict[str, Any]:
        """Stop between frames (outputs finalised) and return the last status."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
        return self.status()


def _init_on_loopback(ray: Any, **kwargs: Any) -> None:
    """Start a new local Ray instance whose every server listens on 127.0.0.1 only.

    Ray turns a loopback node address into the machine's own (its servers then listen
    on every interface) unless clusters are disabled, as Ray does by default on macOS and
    Windows: disabled here while the instance starts, and for the processes it spawns.
    ``address="local"``: never join a cluster that ``RAY_ADDRESS`` or an earlier
    ``ray start`` points at.

    Raises:
        ConfigError: the installed Ray put the node elsewhere (it was shut down).
    """
    from ray._private import ray_constants

    env = getattr(ray_constants, "ENABLE_RAY_CLUSTERS_ENV_VAR", "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER")
    saved_env = os.environ.get(env)
    saved = getattr(ray_constants, "ENABLE_RAY_CLUSTER", None)
    os.environ[env] = "0"  # for the processes the instance spawns
    ray_constants.ENABLE_RAY_CLUSTER = False  # read when ray.init resolves the address
    try:
        ray.init(address="local", _node_ip_address="127.0.0.1", **kwargs)
    finally:
        if saved_env is None:
            os.environ.pop(env, None)
        else:
            os.environ[env] = saved_env
        if saved is None:
            del ray_constants.ENABLE_RAY_CLUSTER
        else:
            ray_constants.ENABLE_RAY_CLUSTER = saved
    node = ray.util.get_node_ip_address()
    if not ipaddress.ip_address(node).is_loopback:
        ray.shutdown()
        raise ConfigError(
            f"Ray {ray.__version__} put its local instance on {node}, not on loopback: "
            "start a cluster with `ray start --head` and serve with --address"
        )


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
        self._actors: dict[str, Any] = {}
        self._attempts: dict[str, int] = {}
        self._failures: dict[str, int] = {}  # failed attempts in a row
        self._before: dict[str, dict[str, int]] = {}  # _COUNTS of the earlier attempts
        self._due: dict[str, float] = {}  # when a failed stream is started again
        self._last: dict[str, dict[str, Any]] = {}
        self._started_ray = False
        self._stop = threading.Event()

    @staticmethod
    def _ray() -> Any:
        try:
            import ray
        except ImportError:
            raise ConfigError("streamseg serve needs Ray: pip install 'streamseg[ray]'") from None
        return ray

    def start(self) -> None:
        """Start (or join) Ray and one actor per stream."""
        self._check_files()
        ray = self._ray()
        if not ray.is_initialized():
            kwargs: dict[str, Any] = {
                "include_dashboard": False,
                "log_to_driver": False,
                "configure_logging": False,
            }
            if self.address:
                ray.init(address=self.address, **kwargs)
            else:
                _init_on_loopback(ray, num_cpus=self.num_cpus, **kwargs)
            # Shut down on stop: a local Ray stops, a joined cluster only loses this driver.
            # Not left to Ray's atexit hook: the CLI leaves with os._exit after a signal.
            self._started_ray = True
        try:
            self._check_resources(ray.cluster_resources())
        except ConfigError:
            self.stop()  # the Ray instance started above must not outlive the refusal
            raise
        for stream in self.config.streams:
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

    def _launch(self, stream: StreamConfig, attempt: int) -> None:
        ray = self._ray()
        actor_cls = ray.remote(StreamWorker).options(
            num_cpus=stream.cpus, num_gpus=stream.gpus, max_concurrency=4, name=None, max_restarts=0
        )
        # Resume only what an earlier attempt of this serve wrote: one that failed before
        # its outputs opened (a camera down at start) left --overwrite still to do.
        actor = actor_cls.remote(stream, attempt, self._total(stream.name, "frames"))
        actor.start.remote()
        self._actors[stream.name] = actor
        self._attempts[stream.name] = attempt
        if not attempt:  # a restart is logged where it is decided
            log.info("stream %s started", stream.name)

    def kill(self, name: str) -> None:
        """Kill a stream's actor (as a crash would); supervision restarts it."""
        self._ray().kill(self._actors[name], no_restart=True)

    def status(self) -> list[dict[str, Any]]:
        """Poll every actor once; restart the dead, hung or failed ones (within budget)."""
        ray = self._ray()
        refs = {
            name: actor.status.remote()
            for name, actor in self._actors.items()
            if name not in self._due and self._last.get(name, {}).get("state") != "gave up"
        }
        # One wait for all: a hung actor costs call_timeout once per poll, not once each.
        answered, _ = (
            ray.wait(list(refs.values()), num_returns=len(refs), timeout=self.call_timeout)
            if refs
            else ([], [])
        )
        done = set(answered)
        out = []
        for stream in self.config.streams:
            name = stream.name
            if name in self._due:
                self._last[name] = self._waiting(stream)
            if name not in refs:  # waiting for its restart, or given up
                out.append(self._last[name])
                continue
            try:
                if refs[name] not in done:
                    raise ray.exceptions.GetTimeoutError(f"no status in {self.call_timeout:g} s")
                st = ray.get(refs[name], timeout=0)
                for k in _COUNTS:  # this attempt's; the plain keys: all attempts
                    st[f"attempt_{k}"] = st.get(k, 0)
            except (
                ray.exceptions.RayActorError,
                ray.exceptions.GetTimeoutError,
                ray.exceptions.RayTaskError,  # the status call itself failed in the actor
            ) as err:
                st = {
                    **self._last.get(name, {"name": name}),
                    "state": "died",
                    "error": type(err).__name__,
                }
            st["restarts"] = self._attempts[name]
            self._add_totals(name, st)
            if st["state"] in ("died", "failed") and not self._stop.is_set():
                st = self._failed(stream, st)
            self._last[name] = st
            out.append(st)
        return out

    def _failed(self, stream: StreamConfig, st: dict[str, Any]) -> dict[str, Any]:
        """Schedule the restart of a failed stream after its back-off, or give it up."""
        name = stream.name
        frames = int(st.get("attempt_frames", 0))
        self._failures[name] = 1 if frames else self._failures.get(name, 0) + 1
        self._before[name] = {k: int(st.get(k, 0)) for k in _COUNTS}
        if 0 <= stream.max_restarts < self._failures[name]:
            # Said as it happens: the table shows it too, but only to whoever watches it.
            log.warning(
                "stream %s %s (%s) and is given up: %d failed attempt%s in a row (max_restarts %d)",
                name,
                st["state"],
                st.get("error"),
                self._failures[name],
                "" if self._failures[name] == 1 else "s",
                stream.max_restarts,
            )
            self._kill(name)  # a hung actor may still hold the camera and its CPUs
            return {**st, "state": "gave up"}
        delay = min(MAX_RESTART_DELAY, stream.restart_delay * 2 ** (self._failures[name] - 1))
        log.warning(
            "stream %s %s (%s); restarting in %.3g s", name, st["state"], st.get("error"), delay
        )
        self._kill(name)
        self._due[name] = time.monotonic() + delay
        self._last[name] = st  # what failed stays in the status while it waits
        return self._waiting(stream)

    def _total(self, name: str, key: str) -> int:
        """``key`` (one of _COUNTS) summed over the earlier attempts of stream ``name``."""
        return self._before.get(name, {}).get(key, 0)

    def _add_totals(self, name: str, st: dict[str, Any]) -> None:
        """Frames, dropped frames and reconnects of ``st`` over every attempt so far."""
        for k in _COUNTS:
            st[k] = self._total(name, k) + int(st.get(f"attempt_{k}", 0))

    def _kill(self, name: str) -> None:
        try:
            self._ray().kill(self._actors[name], no_restart=True)
        except Exception:  # already gone
            log.debug("stream %s: kill of a dead actor failed", name)

    def _waiting(self, stream: StreamConfig) -> dict[str, Any]:
        """The status of a stream waiting for its restart; starts it once the time has come."""
        name = stream.name
        if time.monotonic() >= self._due[name]:
            del self._due[name]
            log.info("stream %s: restart %d", name, self._attempts[name] + 1)
            self._launch(stream, self._attempts[name] + 1)
        return {
            **self._last.get(name, {"name": name}),
            "state": "restarting",
            "restarts": self._attempts[name],
            **{k: self._total(name, k) for k in _COUNTS},
            **{f"attempt_{k}": 0 for k in _COUNTS},
        }

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
            if all(s["state"] in ("done", "gave up", "stopped") for s in statuses):
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
        refs = {}
        for name in list(self._due):  # waiting for a restart that will not come now
            del self._due[name]
            self._last[name] = {**self._last.get(name, {"name": name}), "state": "stopped"}
        for name, actor in self._actors.items():
            if self._last.get(name, {}).get("state") in ("gave up", "stopped"):
                continue  # nothing runs there
            try:
                refs[name] = actor.stop.remote(timeout)
            except Exception:  # a dead actor cannot be asked
                log.debug("could not ask an actor to stop", exc_info=True)
        if refs:
            done, _ = ray.wait(list(refs.values()), num_returns=len(refs), timeout=timeout + 5)
            for name, ref in refs.items():
                if ref in done:
                    self._final_status(name, ref)
        for actor in self._actors.values():
            try:
                ray.kill(actor, no_restart=True)
            except Exception:
                log.debug("kill after stop failed", exc_info=True)
        self._actors.clear()
        if self._started_ray:
            ray.shutdown()
            self._started_ray = False

    def _final_status(self, name: str, ref: Any) -> None:
        """Keep the status an actor answered to stop() (its frames and state as it ended)."""
        try:
            st = self._ray().get(ref, timeout=0)
        except Exception:  # it died meanwhile: the last poll's status stays
            log.debug("stream %s: no final status", name, exc_info=True)
            return
        for k in _COUNTS:
            st[f"attempt_{k}"] = st.get(k, 0)
        self._add_totals(name, st)
        st["restarts"] = self._attempts.get(name, 0)
        self._last[name] = st

    @property
    def statuses(self) -> list[dict[str, Any]]:
        """The latest status of every stream (after :meth:`stop`: as each ended)."""
        return [self._last[s.name] for s in self.config.streams if s.name in self._last]

    def __enter__(self) -> Cluster:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
