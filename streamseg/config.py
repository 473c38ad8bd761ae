"""The run's configuration: its source, methods and outputs, read from YAML.

:class:`RunConfig` is a whole run: a :class:`SourceConfig`, the methods (each a
:class:`MethodSpec` of a registered name and its method's complete ``Config``) and an
:class:`OutputConfig`. :func:`load_config` reads a run's YAML, applies ``--set``
overrides and resolves every method's defaults through the registry, so
:func:`dump_config` writes the complete configuration beside a run's outputs. The
machinery that builds and checks each dataclass is :mod:`streamseg.params`.

Example:
    >>> config = run_config_from_dict({"source": "synthetic", "methods": ["mog2"]})
    >>> config.methods[0].name, config.methods[0].config.history
    ('mog2', 500)
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from streamseg.errors import ConfigError
from streamseg.params import build, check, coerce, parse_override, set_parameter
from streamseg.registry import method_config, method_key
from streamseg.sources.base import SourceConfig

__all__ = [
    "SourceConfig",
    "OutputConfig",
    "MethodSpec",
    "RunConfig",
    "load_config",
    "read_yaml_file",
    "find_config",
    "shipped_configs",
    "RUN_KEYS",
    "run_config_from_dict",
    "run_sections",
    "dump_config",
]


@dataclass(frozen=True)
class OutputConfig:
    """Where a run writes its results (all optional).

    Attributes:
        masks: folder for CDnet masks ``binNNNNNN.png``; with several methods one
            sub-folder per method.
        video: labelled mosaic video (input and every method side by side).
        overlay: overlay video (mask tinted over the frame); ``{method}`` in the
            name is replaced, else the method name is appended for several methods.
        mask_video: mask video, named like ``overlay``.
        web: serve the mosaic live to browsers at ``[HOST:]PORT`` (MJPEG over HTTP; host
            ``127.0.0.1`` unless given, ``0.0.0.0`` for the network; see
            :mod:`streamseg.sinks.web`).
        fps: frame rate of written videos (``None``: the source's, else 25).
        overwrite: replace the masks (``bin*.png``) an earlier run left in the masks
            folder; without it such a folder is refused, so two runs' masks never mix.
        events: the event log: one JSON line per event, appended to (see
            :mod:`streamseg.events`; snapshots and clips go to ``event_media``).
        zones: a zones file (YAML: ``zones:`` polygons and the detector's ``events:``
            parameters); without it the whole frame is one zone.
        webhook: POST each event as JSON to this ``http(s)://`` URL.
        mqtt: publish events and motion to this MQTT broker, ``HOST[:PORT]`` or
            ``mqtt://USER:PASSWORD@HOST[:PORT]``.
        camera: the camera's name in events and MQTT topics (``None``: ``streamseg``;
            ``serve``: the stream's name).
        event_media: the folder of the events' snapshots and clips (``None``: beside the
            event log, ``<log name>-media/``; without a log, none are written).
        event_method: the method whose masks raise events (``None``: the first).
    """

    masks: str | None = None
    video: str | None = None
    overlay: str | None = None
    mask_video: str | None = None
    web: str | None = None
    fps: float | None = None
    overwrite: bool = False
    events: str | None = None
    zones: str | None = None
    webhook: str | None = None
    mqtt: str | None = None
    camera: str | None = None
    event_media: str | None = None
    event_method: str | None = None

    def __post_init__(self) -> None:
        check(self.fps is None or self.fps > 0, f"outputs.fps must be > 0, got {self.fps}")
        if self.web is not None:
            from streamseg.sinks.web import parse_address

            parse_address(self.web)
        if self.webhook is not None:
            from streamseg.sinks.webhook import check_url

            check_url(self.webhook)
        if self.mqtt is not None:
            from streamseg.sinks.mqtt import parse_broker

            parse_broker(self.mqtt)
        check(self.camera is None or bool(self.camera.strip()), "outputs.camera is empty")

    @property
    def raises_events(self) -> bool:
        """Whether the run raises events (a log, zones, a webhook or MQTT is given)."""
        return any((self.events, self.zones, self.webhook, self.mqtt))


@dataclass(frozen=True)
class MethodSpec:
    """A segmenter chosen by registry name, with its resolved parameters."""

    name: str
    config: Any


@dataclass(frozen=True)
class RunConfig:
    """A whole run: one source, one or more methods, outputs.

    Attributes:
        source: the input.
        methods: the segmenters, each with its complete parameters.
        outputs: what to write.
        max_frames: stop after this many frames (``None``: the whole source).
        seed: seed for methods that use randomness (passed where a method has ``seed``).
    """

    source: SourceConfig = field(default_factory=SourceConfig)
    methods: tuple[MethodSpec, ...] = ()
    outputs: OutputConfig = field(default_factory=OutputConfig)
    max_frames: int | None = None
    seed: int | None = 0


#: The top-level keys of a run's configuration.
RUN_KEYS = ("source", "methods", "outputs", "max_frames", "seed")


#: The forms of a run's ``--set`` items besides a method's ``METHOD.KEY=VALUE``.
_RUN_FORMS = ", source.KEY=VALUE, outputs.KEY=VALUE, max_frames=N or seed=N"


def _apply_override(data: dict[str, Any], item: str) -> None:
    """Lay ``--set`` item ``item`` over the YAML-shaped ``data`` of a run.

    ``source.KEY``, ``outputs.KEY``, ``max_frames`` and ``seed`` set the run's own
    values (``seed`` the run's, even where a method has one); every other key is a
    method's parameter in a form of :func:`~streamseg.registry.method_key`.
    """
    path, value = parse_override(item)
    head = path[0]
    if head in ("max_frames", "seed") and len(path) == 1:
        data[head] = value
        return
    if head in ("source", "outputs"):
        if len(path) != 2:
            raise ConfigError(f"--set {item}: use {head}.KEY=VALUE (one of its fields)")
        section = data.get(head) or {}
        data[head] = section
        section[path[1]] = value
        return
    methods = [m for m in data.setdefault("methods", []) if isinstance(m, dict)]
    name, keys = method_key(item, path, [str(m.get("name")) for m in methods], forms=_RUN_FORMS)
    target = next(m for m in methods if str(m.get("name")) == name)
    set_parameter(target, keys, value, item)


def _max_frames(value: Any) -> int | None:
    frames = coerce(value, int | None, "max_frames")
    if frames is not None and frames < 1:
        raise ConfigError(f"max_frames must be >= 1 (omit it for the whole source), got {frames}")
    return frames


def run_config_from_dict(raw: Mapping[str, Any], overrides: Sequence[str] = ()) -> RunConfig:
    """Build a resolved :class:`RunConfig` from a YAML-shaped mapping and ``--set`` overrides.

    Every method's parameters are validated against its registered ``Config``
    and completed with defaults, so the result can be dumped and re-run as is.
    """
    data: dict[str, Any] = run_sections(_plain(raw))
    methods_raw = data.get("methods") or []
    if not isinstance(methods_raw, list):
        raise ConfigError("config: methods must be a list of {name: ..., <param>: ...}")
    data["methods"] = [{"name": e} if isinstance(e, str) else e for e in methods_raw]
    for item in overrides:
        _apply_override(data, item)
    seed = data.get("seed", 0)
    methods = []
    for entry in data["methods"]:
        if not isinstance(entry, Mapping) or "name" not in entry:
            raise ConfigError(f"config: each method needs a name, got {entry!r}")
        params = {k: v for k, v in entry.items() if k != "name"}
        methods.append(
            MethodSpec(str(entry["name"]), method_config(str(entry["name"]), params, seed=seed))
        )
    names = [m.name for m in methods]
    if len(set(names)) != len(names):
        raise ConfigError(f"config: a method is listed twice ({', '.join(names)})")
    return RunConfig(
        source=build(SourceConfig, data.get("source") or {}),
        methods=tuple(methods),
        outputs=build(OutputConfig, data.get("outputs") or {}),
        max_frames=_max_frames(data.get("max_frames")),
        seed=coerce(seed, int | None, "seed"),
    )


def read_yaml_file(path: str | Path) -> dict[str, Any]:
    """The mapping at the top of a YAML configuration file (the one place files are parsed).

    Raises:
        ConfigError: a missing, unreadable or non-UTF-8 file, invalid YAML (with its line),
            or a top level that is not a mapping.
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"config file {path} does not exist") from None
    except IsADirectoryError:
        raise ConfigError(f"config file {path} is a folder: give the YAML file in it") from None
    except OSError as err:
        raise ConfigError(f"cannot read config file {path}: {err.strerror}") from None
    except UnicodeDecodeError:
        raise ConfigError(f"config file {path} is not UTF-8 text: give a YAML file") from None
    try:
        data = yaml.safe_load(text) or {}
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        raise ConfigError(f"config file {path} is not valid YAML{where}") from None
    if not isinstance(data, Mapping):
        raise ConfigError(f"config file {path} must hold a mapping at top level")
    return dict(data)


def shipped_configs() -> dict[str, Path]:
    """The example configurations shipped in the package, by name (``cdnet``: ``cdnet.yaml``).

    Example:
        >>> sorted(shipped_configs())
        ['cameras', 'cdnet', 'cpu-small', 'default', 'rtsp', 'zones']
    """
    return {p.stem: p for p in sorted((Path(__file__).parent / "configs").glob("*.yaml"))}


def find_config(given: str | Path) -> Path:
    """The configuration file ``given`` names.

    The file itself when it exists; otherwise, for a bare name (``cdnet``, ``cdnet.yaml``)
    or the repository's path of one (``configs/cdnet.yaml``, as the README writes it), the
    configuration shipped in the package under that name.

    Raises:
        ConfigError: neither; the message lists the shipped names.
    """
    path = Path(given).expanduser()
    if path.exists():
        return path
    shipped = shipped_configs()
    bare = path.parent in (Path("."), Path("configs")) and path.suffix in ("", ".yaml")
    if bare and path.stem in shipped:
        return shipped[path.stem]
    raise ConfigError(
        f"config file {path} does not exist (shipped configurations, usable by name: "
        f"{', '.join(shipped)}; see streamseg config list)"
    )


def load_config(path: str | Path, overrides: Sequence[str] = ()) -> RunConfig:
    """Read a run configuration from YAML and apply ``--set`` style overrides.

    Raises:
        ConfigError: missing file, invalid YAML, or any invalid value.
    """
    return run_config_from_dict(read_yaml_file(path), overrides)


def _check_run_keys(data: Mapping[str, Any]) -> None:
    unknown = [k for k in data if k not in RUN_KEYS]
    if unknown:
        raise ConfigError(f"config: unknown key {unknown[0]!r} (valid: {', '.join(RUN_KEYS)})")


def run_sections(raw: Mapping[str, Any]) -> dict[str, Any]:
    """A run's YAML-shaped mapping with ``source`` and ``outputs`` as mappings.

    ``source: video.mp4`` (or a webcam index) is the short form of
    ``source: {uri: video.mp4}``.

    Raises:
        ConfigError: a section that is neither, or an unknown key (before anything is
            missed because of it: ``sourc:`` would otherwise read as "no source").
    """
    data = dict(raw)
    _check_run_keys(data)
    if isinstance(data.get("source"), (str, int)) and not isinstance(data.get("source"), bool):
        data["source"] = {"uri": str(data["source"])}  # a webcam index too: `source: 0`
    for key in ("source", "outputs"):
        section = data.get(key)
        if section is not None and not isinstance(section, Mapping):
            raise ConfigError(
                f"config: {key} must be a mapping of its fields ({key}: {{...}}), got {section!r}"
            )
    return data


def _plain(value: Any) -> Any:
    """Deep-copy YAML-ish data into plain dicts/lists (so overrides never alias the input)."""
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


def _to_yaml_data(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _to_yaml_data(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, (list, tuple)):
        return [_to_yaml_data(v) for v in value]
    if isinstance(value, Mapping):
        return {k: _to_yaml_data(v) for k, v in value.items()}
    return value


def dump_config(config: RunConfig) -> str:
    """The resolved run configuration as YAML, loadable by :func:`load_config`."""
    data = {
        "source": _to_yaml_data(config.source),
        "methods": [{"name": m.name, **_to_yaml_data(m.config)} for m in config.methods],
        "outputs": _to_yaml_data(config.outputs),
        "max_frames": config.max_frames,
        "seed": config.seed,
    }
    return yaml.safe_dump(data, sort_keys=False)
