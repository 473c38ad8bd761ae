"""Configuration: frozen dataclasses, built from YAML or keyword arguments in one place.

Every component (each segmenter, the source, the outputs) has one frozen
dataclass of its parameters. :func:`build` is the only place that turns loose
values (YAML, ``--set key=value`` strings, keyword arguments) into such a
dataclass: it coerces types from the annotations, and turns unknown keys and bad
values into a one-line :class:`~streamseg.errors.ConfigError` that names the
valid fields. :func:`load_config` reads a run's YAML, applies overrides and
resolves every method's defaults, so :func:`dump_config` writes the complete
configuration beside a run's outputs.

Example:
    >>> from dataclasses import dataclass
    >>> @dataclass(frozen=True)
    ... class Demo:
    ...     window: int = 32
    ...     size: tuple[int, int] = (80, 60)
    >>> build(Demo, {"window": "16", "size": [160, 120]})
    Demo(window=16, size=(160, 120))
    >>> build(Demo, {"windw": 3})
    Traceback (most recent call last):
    ...
    streamseg.errors.ConfigError: Demo: unknown parameter 'windw' (valid: window, size)
"""

from __future__ import annotations

import dataclasses
import inspect
import re
import types
import typing
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, TypeVar

import yaml

from streamseg.errors import ConfigError

__all__ = [
    "build",
    "parse_override",
    "params_from_overrides",
    "SourceConfig",
    "OutputConfig",
    "MethodSpec",
    "RunConfig",
    "load_config",
    "read_yaml_file",
    "find_config",
    "shipped_configs",
    "RUN_KEYS",
    "at_path",
    "run_config_from_dict",
    "dump_config",
    "config_fields",
    "describe_config",
]

C = TypeVar("C")


def config_fields(cls: type) -> dict[str, tuple[Any, Any]]:
    """Map each field of a config dataclass to ``(type, default)``."""
    hints = typing.get_type_hints(cls)
    out: dict[str, tuple[Any, Any]] = {}
    for f in dataclasses.fields(cls):
        if f.default is not dataclasses.MISSING:
            default = f.default
        elif f.default_factory is not dataclasses.MISSING:
            default = f.default_factory()
        else:
            default = dataclasses.MISSING
        out[f.name] = (hints[f.name], default)
    return out


def _type_name(tp: Any) -> str:
    return getattr(tp, "__name__", None) or str(tp).replace("typing.", "")


def _type_label(tp: Any) -> str:
    """An annotation as a user reads it: ``int``, ``str | None``, ``async | sync``."""
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if origin is Literal:
        return " | ".join(str(a) for a in args)
    if origin in (typing.Union, types.UnionType):
        return " | ".join("None" if a is type(None) else _type_label(a) for a in args)
    if origin is not None:
        inner = ", ".join("..." if a is Ellipsis else _type_label(a) for a in args)
        return f"{origin.__name__}[{inner}]"
    return _type_name(tp)


def _attribute_docs(cls: type) -> dict[str, str]:
    """The ``Attributes:`` section of the docstrings of ``cls`` and its bases, by name."""
    docs: dict[str, str] = {}
    for klass in reversed(cls.__mro__):  # a subclass's own text wins
        lines = inspect.cleandoc(klass.__dict__.get("__doc__") or "").splitlines()
        if "Attributes:" not in lines:
            continue
        name, indent = "", None
        for line in lines[lines.index("Attributes:") + 1 :]:
            depth = len(line) - len(line.lstrip())
            if line.strip() and depth == 0:
                break  # the section ended
            entry = re.fullmatch(r"(\w+)(?: \(.*?\))?: (.*)", line.strip())
            if entry and (indent is None or depth == indent):
                indent, name = depth, entry[1]
                docs[name] = entry[2]
            elif name and line.strip():
                docs[name] += " " + line.strip()
    # Sphinx mark-up reads poorly on a terminal: ``x`` → x, :mod:`~a.b.c` → c.
    for name, text in docs.items():
        text = re.sub(r":\w+:`~?(?:[\w.]*\.)?([^`]+)`", r"\1", text)
        docs[name] = text.replace("``", "")
    return docs


def describe_config(cls: type, prefix: str = "") -> list[tuple[str, str, str, str]]:
    """``(name, type, default, description)`` of each field of config dataclass ``cls``.

    A field that is itself a config dataclass (DeepLS's ``net``) is described field by
    field, as ``net.width`` (how ``--set`` reaches it); descriptions come from the
    ``Attributes:`` sections of the docstrings.

    Example:
        >>> from streamseg.config import SourceConfig
        >>> describe_config(SourceConfig)[2]
        ('gray', 'bool', 'False', 'decode to gray H×W (the Y plane) instead of BGR.')
    """
    docs = _attribute_docs(cls)
    rows: list[tuple[str, str, str, str]] = []
    for name, (tp, default) in config_fields(cls).items():
        if dataclasses.is_dataclass(default) and not isinstance(default, type):
            for sub, label, value, doc in describe_config(type(default), f"{prefix}{name}."):
                # The field's own default (DeepLS's mask rule), not its class's.
                value = repr(getattr(default, sub.removeprefix(f"{prefix}{name}.")))
                rows.append((sub, label, value, doc))
            continue
        shown = "(required)" if default is dataclasses.MISSING else repr(default)
        rows.append((f"{prefix}{name}", _type_label(tp), shown, docs.get(name, "")))
    return rows


def at_path(err: ConfigError, cls: type, path: str) -> ConfigError:
    """``err`` from building ``cls``, naming its field by the path the user typed.

    ``build`` names a field by its class (``TrainConfig.steps``, ``Config.window``); the
    user wrote ``train.steps`` or ``deepls.window``.
    """
    text, head = str(err), f"{cls.__name__}."
    if text.startswith(head):
        return ConfigError(f"{path}.{text[len(head) :]}")
    return ConfigError(f"{path}: {text.removeprefix(f'{cls.__name__}: ')}")


def _coerce(value: Any, tp: Any, where: str) -> Any:
    """Convert ``value`` to annotation ``tp`` or raise ConfigError naming ``where``."""
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if tp is Any:
        return value
    if dataclasses.is_dataclass(tp) and isinstance(tp, type):
        if isinstance(value, tp):
            return value
        if isinstance(value, Mapping):
            try:
                return build(tp, value)
            except ConfigError as err:
                raise at_path(err, tp, where) from None
        raise ConfigError(f"{where}: expected a mapping of {tp.__name__} fields, got {value!r}")
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        if isinstance(value, str) and value.lower() in ("none", "null") and type(None) in args:
            return None
        for arg in args:
            if arg is type(None):
                continue
            try:
                return _coerce(value, arg, where)
            except ConfigError:
                continue
        raise ConfigError(f"{where}: cannot use {value!r} as {_type_name(tp)}")
    if origin is Literal:
        if value in args:
            return value
        raise ConfigError(f"{where}: {value!r} is not one of {', '.join(map(repr, args))}")
    if origin in (tuple, list):
        if isinstance(value, str):
            # "320x240" is how people write a size on a command line.
            if re.fullmatch(r"\s*\d+\s*x\s*\d+\s*", value):
                value = [int(v) for v in value.split("x")]
            else:
                value = yaml.safe_load(value)
            if not isinstance(value, list):
                value = [value]
        if not isinstance(value, (list, tuple)):
            raise ConfigError(f"{where}: expected a list, got {value!r}")
        if origin is tuple and args and args[-1] is not Ellipsis:
            if len(value) != len(args):
                raise ConfigError(f"{where}: expected {len(args)} values, got {list(value)!r}")
            return tuple(_coerce(v, a, where) for v, a in zip(value, args, strict=True))
        inner = args[0] if args else Any
        items = [_coerce(v, inner, where) for v in value]
        return tuple(items) if origin is tuple else items
    if origin is dict or tp is dict:
        if not isinstance(value, Mapping):
            raise ConfigError(f"{where}: expected a mapping, got {value!r}")
        return dict(value)
    if tp is bool:
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in (
            "true",
            "yes",
            "on",
            "1",
            "false",
            "no",
            "off",
            "0",
        ):
            return value.lower() in ("true", "yes", "on", "1")
        if isinstance(value, int) and value in (0, 1):
            return bool(value)
        raise ConfigError(f"{where}: expected true or false, got {value!r}")
    if tp is int:
        if isinstance(value, bool):
            raise ConfigError(f"{where}: expected an integer, got {value!r}")
        if isinstance(value, int):
            return value
        if isinstance(value, float) and value.is_integer():
            return int(value)
        if isinstance(value, str):
            try:
                return int(value)
            except ValueError:
                pass
        raise ConfigError(f"{where}: expected an integer, got {value!r}")
    if tp is float:
        if isinstance(value, bool):
            raise ConfigError(f"{where}: expected a number, got {value!r}")
        if isinstance(value, (int, float)):
            return float(value)
        if isinstance(value, str):
            try:
                return float(value)
            except ValueError:
                pass
        raise ConfigError(f"{where}: expected a number, got {value!r}")
    if tp is str:
        if isinstance(value, (str, int, float)) and not isinstance(value, bool):
            return str(value)
        raise ConfigError(f"{where}: expected a string, got {value!r}")
    return value


def _over_default(default: Any, values: Mapping[str, Any]) -> dict[str, Any]:
    """``values`` laid over the fields of dataclass instance ``default``, recursively."""
    out = {f.name: getattr(default, f.name) for f in dataclasses.fields(default)}
    for key, value in values.items():
        inner = out.get(key)
        if isinstance(value, Mapping) and dataclasses.is_dataclass(inner):
            value = _over_default(inner, value)
        out[key] = value
    return out


def build(cls: type[C], values: Mapping[str, Any] | None = None, /, **kwargs: Any) -> C:
    """Build config dataclass ``cls`` from loose values, coercing and validating them.

    Args:
        cls: a dataclass whose fields all have defaults or are given.
        values: a mapping of field names to values (YAML, CLI strings, ...).
        **kwargs: more values; they win over ``values``.

    Returns:
        The frozen instance. Its ``__post_init__`` may add range checks.

    Raises:
        ConfigError: unknown field, value of the wrong type, or out of range.
    """
    merged = {**(values or {}), **kwargs}
    spec = config_fields(cls)
    unknown = [k for k in merged if k not in spec]
    if unknown:
        raise ConfigError(
            f"{cls.__name__}: unknown parameter {unknown[0]!r} (valid: {', '.join(spec)})"
        )
    for key, value in merged.items():
        default = spec[key][1]
        if isinstance(value, Mapping) and dataclasses.is_dataclass(default):
            # A partial mapping changes the field's own default (DeepLS's mask rule is
            # not MaskRule()), not the class defaults of its type.
            merged[key] = _over_default(default, value)
    coerced = {k: _coerce(v, spec[k][0], f"{cls.__name__}.{k}") for k, v in merged.items()}
    try:
        return cls(**coerced)
    except ConfigError:
        raise
    except (TypeError, ValueError) as err:
        raise ConfigError(f"{cls.__name__}: {err}") from err


def check(condition: bool, message: str) -> None:
    """Raise :class:`ConfigError` with ``message`` unless ``condition`` (for ``__post_init__``)."""
    if not condition:
        raise ConfigError(message)


@dataclass(frozen=True)
class SourceConfig:
    """How to open the input.

    Attributes:
        uri: a video file, an image folder (CDnet ``input/`` or a sequence root), a
            webcam index or ``/dev/videoN``, an ``rtsp://``/``http(s)://`` URL, or
            ``synthetic`` (optionally ``synthetic:frames=300,seed=1,size=320x240``).
        backend: ``auto`` (PyAV, OpenCV if PyAV cannot open the file), ``pyav`` or ``opencv``.
        gray: decode to gray ``H×W`` (the Y plane) instead of BGR.
        fps: frame rate to assume for folders and arrays, which carry no timing.
        open_timeout: seconds allowed to open a stream or device.
        read_timeout: seconds without a frame after which a live source counts as stalled.
        max_reconnects: reconnect attempts for a live source before giving up (-1: forever).
        backoff: first wait between reconnect attempts, doubled up to ``backoff_max``.
        backoff_max: longest wait between reconnect attempts.
        drop_frames: keep only the newest frame (``None``: yes for live sources, no for files).
        realtime: read a file at its frame rate, as a camera would deliver it.
    """

    uri: str = "synthetic"
    backend: Literal["auto", "pyav", "opencv"] = "auto"
    gray: bool = False
    fps: float = 25.0
    open_timeout: float = 10.0
    read_timeout: float = 5.0
    max_reconnects: int = 10
    backoff: float = 0.5
    backoff_max: float = 8.0
    drop_frames: bool | None = None
    realtime: bool = False

    def __post_init__(self) -> None:
        check(self.fps > 0, f"source.fps must be > 0, got {self.fps}")
        for name in ("open_timeout", "read_timeout", "backoff", "backoff_max"):
            value = getattr(self, name)
            check(value > 0, f"source.{name} must be > 0 seconds, got {value}")
        check(self.max_reconnects >= -1, "source.max_reconnects must be >= -1 (-1: forever)")


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
    """

    masks: str | None = None
    video: str | None = None
    overlay: str | None = None
    mask_video: str | None = None
    web: str | None = None
    fps: float | None = None
    overwrite: bool = False

    def __post_init__(self) -> None:
        check(self.fps is None or self.fps > 0, f"outputs.fps must be > 0, got {self.fps}")
        if self.web is not None:
            from streamseg.sinks.web import parse_address

            parse_address(self.web)


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


def parse_override(item: str) -> tuple[list[str], Any]:
    """Split ``"methods.mog2.history=300"`` into a key path and a YAML-parsed value."""
    key, sep, raw = item.partition("=")
    if not sep or not key.strip():
        raise ConfigError(f"--set expects KEY=VALUE, got {item!r}")
    try:
        value = yaml.safe_load(raw) if raw.strip() else ""
    except yaml.YAMLError:
        value = raw
    return [part for part in key.strip().split(".") if part], value


def params_from_overrides(items: Sequence[str]) -> dict[str, Any]:
    """Nested parameters from ``KEY=VALUE`` items: ``["net.width=8"]`` → ``{"net": {"width": 8}}``.

    Example:
        >>> params_from_overrides(["window=16", "net.width=8", "net.norm=group"])
        {'window': 16, 'net': {'width': 8, 'norm': 'group'}}
    """
    params: dict[str, Any] = {}
    for item in items:
        path, value = parse_override(item)
        node = params
        for key in path[:-1]:
            child = node.setdefault(key, {})
            if not isinstance(child, dict):
                raise ConfigError(f"--set {item}: {key} is a value, not a group")
            node = child
        node[path[-1]] = value
    return params


#: The forms of a run's ``--set`` items besides a method's ``METHOD.KEY=VALUE``.
_RUN_FORMS = ", source.KEY=VALUE, outputs.KEY=VALUE, max_frames=N or seed=N"


def _apply_override(data: dict[str, Any], item: str) -> None:
    """Lay ``--set`` item ``item`` over the YAML-shaped ``data`` of a run.

    ``source.KEY``, ``outputs.KEY``, ``max_frames`` and ``seed`` set the run's own
    values (``seed`` the run's, even where a method has one); every other key is a
    method's parameter in a form of :func:`~streamseg.registry.method_key`.
    """
    from streamseg.registry import method_key, set_parameter

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
    frames = _coerce(value, int | None, "max_frames")
    if frames is not None and frames < 1:
        raise ConfigError(f"max_frames must be >= 1 (omit it for the whole source), got {frames}")
    return frames


def run_config_from_dict(raw: Mapping[str, Any], overrides: Sequence[str] = ()) -> RunConfig:
    """Build a resolved :class:`RunConfig` from a YAML-shaped mapping and ``--set`` overrides.

    Every method's parameters are validated against its registered ``Config``
    and completed with defaults, so the result can be dumped and re-run as is.
    """
    from streamseg.registry import method_config

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
        seed=_coerce(seed, int | None, "seed"),
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
        ['cameras', 'cdnet', 'cpu-small', 'default', 'rtsp']
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
