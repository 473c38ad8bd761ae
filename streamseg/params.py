"""Parameters: frozen dataclasses built from loose values in one place (the bottom layer).

Every component (each segmenter, the source, the outputs) has one frozen dataclass of
its parameters. :func:`build` is the only place that turns loose values (YAML,
``--set key=value`` strings, keyword arguments) into such a dataclass: it coerces
types from the annotations, and turns unknown keys and bad values into a one-line
:class:`~streamseg.errors.ConfigError` that names the valid fields. :func:`check` is
what a dataclass's ``__post_init__`` calls for its range checks.

This module imports nothing of streamseg but its errors: every layer may use it. The
run's schema (source, methods, outputs, YAML files) is :mod:`streamseg.config`.

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
from typing import Any, Literal, TypeVar

import yaml

from streamseg.errors import ConfigError

__all__ = [
    "at_path",
    "build",
    "check",
    "coerce",
    "config_fields",
    "describe_config",
    "params_from_overrides",
    "parse_override",
    "set_parameter",
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
        >>> from streamseg.sources.base import SourceConfig
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


def coerce(value: Any, tp: Any, where: str) -> Any:
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
                return coerce(value, arg, where)
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
            return tuple(coerce(v, a, where) for v, a in zip(value, args, strict=True))
        inner = args[0] if args else Any
        items = [coerce(v, inner, where) for v in value]
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
    coerced = {k: coerce(v, spec[k][0], f"{cls.__name__}.{k}") for k, v in merged.items()}
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
        set_parameter(params, path, value, item)
    return params


def set_parameter(params: dict[str, Any], keys: Sequence[str], value: Any, item: str) -> None:
    """Set ``params[k0][k1]...`` to ``value``, making the groups on the way (``item``: the
    ``--set`` item, for the message)."""
    node = params
    for key in keys[:-1]:
        child = node.setdefault(key, {})
        if not isinstance(child, dict):
            raise ConfigError(f"--set {item}: {key} is a value, not a group")
        node = child
    node[keys[-1]] = value
