"""The cameras file: a top-level ``streams:`` list, one ``streamseg run`` configuration each.

Everything no restart could fix is refused here, before any actor starts: a stream
without a source or methods, a mistyped scheme, outputs ``run`` would refuse, two live
views on one port. Needs no Ray.
"""

from __future__ import annotations

import copy
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from streamseg.config import RUN_KEYS, RunConfig, read_yaml_file, run_config_from_dict
from streamseg.errors import ConfigError, StreamsegError
from streamseg.params import build, check

__all__ = ["StreamConfig", "ServeConfig", "serve_config_from_dict", "load_serve_config"]

log = logging.getLogger(__name__)

#: A stream's own keys, beside those of a run configuration.
STREAM_KEYS = ("name", "cpus", "gpus", "max_restarts", "restart_delay", "checkpoint_every")


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

    Raises:
        ConfigError: the file's shape, or a stream no restart could run (named).
    """
    entries = data.get("streams") if isinstance(data, Mapping) else None
    if not isinstance(entries, list):
        raise ConfigError("serve config: expected a top-level 'streams:' list")
    if not entries:
        raise ConfigError("serve config: 'streams:' is empty; list one entry per camera")
    unknown = [k for k in data if k != "streams"]
    if unknown:
        raise ConfigError(f"serve config: unknown key {unknown[0]!r} (valid: streams)")
    streams: list[StreamConfig] = []
    views: dict[str, str] = {}  # live views' addresses, and their stream
    logs: dict[Path, str] = {}  # event logs, and their stream
    for i, entry in enumerate(entries):
        if not isinstance(entry, Mapping):
            raise ConfigError(f"serve config: stream {i} must be a mapping")
        streams.append(
            _stream(i, entry, views, logs, out=out, max_frames=max_frames, overwrite=overwrite)
        )
    names = [s.name for s in streams]
    if len(set(names)) != len(names):
        raise ConfigError(f"serve config: stream names must be unique ({', '.join(names)})")
    return ServeConfig(tuple(streams))


def _stream(
    i: int,
    entry: Mapping[str, Any],
    views: dict[str, str],
    logs: dict[Path, str],
    *,
    out: str | Path | None,
    max_frames: int | None,
    overwrite: bool,
) -> StreamConfig:
    """Stream ``i`` of the file: its own keys, and a run configuration checked as ``run``'s.

    ``views`` and ``logs`` map the live views and event logs of the streams before this
    one to their names; this stream's are added.
    """
    from streamseg.outputs import check_run_outputs
    from streamseg.sources import check_scheme

    run_data = copy.deepcopy(dict(entry))
    name = str(run_data.get("name") or f"stream{i}")
    own = {k: run_data.pop(k) for k in list(run_data) if k in STREAM_KEYS}
    own["name"] = name
    unknown = [k for k in run_data if k not in RUN_KEYS]
    if unknown:
        raise ConfigError(
            f"stream {name}: unknown key {unknown[0]!r} "
            f"(valid: {', '.join((*STREAM_KEYS, *RUN_KEYS))})"
        )
    if not run_data.get("source"):
        # A run without a source reads the synthetic scene; a camera list must not.
        raise ConfigError(f"stream {name}: no source (source: {{uri: rtsp://...}})")
    if out is not None and not run_data.get("outputs"):
        run_data["outputs"] = {
            "masks": str(Path(out) / name / "masks"),
            "video": str(Path(out) / name / "mosaic.mp4"),
        }
    if max_frames is not None:
        run_data["max_frames"] = max_frames
    if overwrite:
        run_data["outputs"] = {**(run_data.get("outputs") or {}), "overwrite": True}
    if isinstance(run_data.get("outputs"), Mapping) and not run_data["outputs"].get("camera"):
        run_data["outputs"] = {**run_data["outputs"], "camera": name}  # events and topics
    try:
        run = run_config_from_dict(run_data)
        check_scheme(run.source.uri)  # a mistyped rtsp:// would fail every restart
        # Before any actor starts: a stream that failed on its outputs would be
        # restarted, and a restart goes on writing into what is there.
        check_run_outputs(run)
    except StreamsegError as err:
        raise ConfigError(f"stream {name}: {err}") from None
    if not run.methods:
        raise ConfigError(f"stream {name}: no methods")
    _check_view(name, run.outputs.web, views)
    o = run.outputs
    if o.events:
        # Two streams appending to one log would interleave: each has its own.
        log_path = Path(o.events).resolve()
        if log_path in logs:
            raise ConfigError(
                f"stream {name}: outputs.events {o.events} is stream {logs[log_path]}'s"
            )
        logs[log_path] = name
    if not (o.masks or o.video or o.overlay or o.mask_video or o.web or o.raises_events):
        log.warning(
            "stream %s writes nothing and keeps no checkpoint: give it outputs or serve --out",
            name,
        )
    return build(StreamConfig, {**own, "run": run})


def _check_view(name: str, web: str | None, views: dict[str, str]) -> None:
    """Refuse a live view nobody could find, or one on another stream's port (``views``)."""
    if not web:
        return
    from streamseg.sinks.web import conflicts, parse_address

    if parse_address(web)[1] == 0:
        raise ConfigError(
            f"stream {name}: outputs.web {web} picks a free port nobody would be "
            "told of (the stream runs in a Ray actor): give it a port, e.g. 8081"
        )
    # One port, one stream: the second would fail to listen on every restart.
    for address, other in views.items():
        if conflicts(web, address):
            raise ConfigError(f"stream {name}: outputs.web {web} takes stream {other}'s port")
    views[web] = name


def load_serve_config(
    path: str | Path,
    *,
    out: str | Path | None = None,
    max_frames: int | None = None,
    overwrite: bool = False,
) -> ServeConfig:
    """Read a ``streams:`` YAML file (see ``configs/cameras.yaml``).

    Raises:
        ConfigError: as :func:`serve_config_from_dict`, or an unreadable file.
    """
    return serve_config_from_dict(
        read_yaml_file(path), out=out, max_frames=max_frames, overwrite=overwrite
    )
