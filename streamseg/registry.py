"""Segmenters registered by name: look one up, build its parameters, create it.

The methods register themselves when :mod:`streamseg.segmenters` is imported (see
:mod:`streamseg.segmenters.registration`); this module imports that package the first
time a look-up needs the built-in methods, so importing it loads no method.

Example:
    >>> import streamseg as ss
    >>> {"mog2", "knn"} <= set(ss.available())
    True
    >>> ss.create("mog2", history=200)
    MOG2(history=200, var_threshold=16.0, detect_shadows=True, n_mixtures=5, background_ratio=0.9)
    >>> ss.create("mog3")
    Traceback (most recent call last):
    ...
    streamseg.errors.ConfigError: unknown method 'mog3' (available: ...)
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Literal, TypeVar, overload

from streamseg.errors import ConfigError
from streamseg.params import at_path, build, config_fields, parse_override, set_parameter

if TYPE_CHECKING:
    # For type checkers only: at run time the methods are imported on first look-up.
    from typing_extensions import Unpack

    from streamseg._keywords import DeepLSParams, KNNParams, MOG2Params, RPCAParams
    from streamseg.segmenters.base import Segmenter
    from streamseg.segmenters.deepls.segmenter import DeepLS, SLNetSegmenter
    from streamseg.segmenters.knn import KNN
    from streamseg.segmenters.lobster import LOBSTER
    from streamseg.segmenters.mog2 import MOG2
    from streamseg.segmenters.pawcs import PAWCS
    from streamseg.segmenters.rpca import RPCA
    from streamseg.segmenters.subsense import SuBSENSE

__all__ = [
    "register",
    "create",
    "available",
    "method_class",
    "method_config",
    "method_key",
    "method_overrides",
]

S = TypeVar("S", bound="type[Segmenter]")


def register(name: str, *, requires: tuple[str, ...] = (), extra: str = "") -> Callable[[S], S]:
    """Class decorator that registers a :class:`Segmenter` under ``name``.

    Args:
        name: the registry name (lowercase, as typed on the command line).
        requires: importable modules the method needs beyond the base install.
        extra: the pip extra that brings them (named in the error when missing).
    """
    from streamseg.segmenters.registration import register as register_method

    return register_method(name, requires=requires, extra=extra)


def _methods() -> dict[str, type[Segmenter]]:
    """Every registered class by name, the built-in methods included."""
    import streamseg.segmenters  # noqa: F401  (the package import registers the built-ins)
    from streamseg.segmenters.registration import registered

    return registered()


def available(*, installed_only: bool = True, experimental: bool = True) -> list[str]:
    """Names of the registered methods, sorted.

    Args:
        installed_only: only those whose dependencies are installed.
        experimental: include the methods marked experimental.
    """
    from streamseg.segmenters.registration import installed

    methods = _methods()
    return sorted(
        n
        for n, cls in methods.items()
        if (not installed_only or installed(n)) and (experimental or not cls.experimental)
    )


def method_class(name: str) -> type[Segmenter]:
    """The class registered as ``name``.

    Raises:
        ConfigError: unknown name, or its optional dependencies are not installed.
    """
    from streamseg.segmenters.registration import installed, requirement

    methods = _methods()
    if name not in methods:
        raise ConfigError(f"unknown method {name!r} (available: {', '.join(available())})")
    if not installed(name):
        requires, extra = requirement(name)
        raise ConfigError(
            f"method {name!r} needs {', '.join(requires)}: pip install 'streamseg[{extra}]'"
        )
    return methods[name]


def method_config(
    name: str, params: Mapping[str, Any] | None = None, *, seed: int | None = None
) -> Any:
    """Build and validate the ``Config`` of method ``name`` (``seed`` fills a ``seed`` field)."""
    cls = method_class(name)
    params = dict(params or {})
    if seed is not None and "seed" in config_fields(cls.Config) and "seed" not in params:
        params["seed"] = seed
    try:
        return build(cls.Config, params)
    except ConfigError as err:
        raise at_path(err, cls.Config, name) from None


def _example(name: str, keys: Sequence[str] = (), value: str = "") -> str:
    """A ``--set`` item for method ``name``: ``keys`` if it has that parameter, else its
    first number (``mog2.history=500``)."""
    fields = config_fields(method_class(name).Config)
    if keys and keys[0] in fields:
        return f"{name}.{'.'.join(keys)}={value}"
    for key, (_, default) in fields.items():
        if isinstance(default, (int, float)) and not isinstance(default, bool):
            return f"{name}.{key}={default}"
    return f"{name}.KEY=VALUE"


def method_key(
    item: str, path: Sequence[str], names: Sequence[str], *, forms: str = ""
) -> tuple[str, list[str]]:
    """The method and parameter path a ``--set`` item's key means.

    ``METHOD.KEY`` is the form shown everywhere; ``methods.METHOD.KEY`` (the YAML's
    nesting) is accepted too, and so is a bare ``KEY`` when ``names`` holds one method
    that has that parameter.

    Args:
        item: the item as given (for the message).
        path: its key split at dots.
        names: the methods of the run.
        forms: the command's other forms, named in the message (``source.KEY=VALUE``...).

    Raises:
        ConfigError: a key that fits no method of the run, naming the right form.

    Example:
        >>> method_key("methods.mog2.history=3", ["methods", "mog2", "history"], ["mog2"])
        ('mog2', ['history'])
        >>> method_key("history=3", ["history"], ["mog2"])
        ('mog2', ['history'])
    """
    keys = list(path[1:] if path[0] == "methods" and len(path) > 2 else path)
    head, value = keys[0], item.partition("=")[2]
    if head in names and len(keys) > 1:
        return head, keys[1:]
    if len(names) == 1 and head in config_fields(method_class(names[0]).Config):
        return names[0], keys
    if head in _methods():
        hint = " or ".join(dict.fromkeys(_example(n, keys[1:], value) for n in names))
        raise ConfigError(
            f"--set {item}: {head} is not a method of this run ({', '.join(names)}); "
            f"use METHOD.KEY=VALUE, e.g. {hint}"
        )
    alone = f" nor a parameter of {names[0]}" if len(names) == 1 else ""
    raise ConfigError(
        f"--set {item}: {head!r} names no method of this run{alone}; use METHOD.KEY=VALUE "
        f"(e.g. {_example(names[0]) if names else 'mog2.history=500'}){forms}"
    )


def method_overrides(
    overrides: Sequence[str],
    names: Sequence[str],
    base: Mapping[str, Mapping[str, Any]] | None = None,
) -> dict[str, dict[str, Any]]:
    """Per-method parameters from ``--set`` items, each checked against its method.

    The items take the forms of :func:`method_key`: ``METHOD.KEY=VALUE``,
    ``methods.METHOD.KEY=VALUE``, and with one method ``KEY=VALUE``.

    Args:
        overrides: the ``--set`` items.
        names: the methods of the run; an item naming another is an error.
        base: parameters the items are laid over (e.g. ``{"deepls": {"mode": "sync"}}``).

    Raises:
        ConfigError: an item for no method of the run, or a bad parameter (named).

    Example:
        >>> method_overrides(["deepls.net.width=8", "mog2.history=50"], ["deepls", "mog2"])
        {'deepls': {'net': {'width': 8}}, 'mog2': {'history': 50}}
        >>> method_overrides(["paste=0"], ["deepls"])
        {'deepls': {'paste': 0}}
    """
    import copy

    params = {n: copy.deepcopy(dict((base or {}).get(n, {}))) for n in names}
    for item in overrides:
        path, value = parse_override(item)
        name, keys = method_key(item, path, names)
        set_parameter(params[name], keys, value, item)
    for name in names:
        method_config(name, params[name])  # fail fast, naming the method and parameter
    return params


# Per built-in method: its parameters as typed keywords and its class, so type checkers
# flag a mistyped parameter or value. Any other name takes a ready Config, or parameters
# unpacked from a mapping (`create(name, **params)`), which no checker can see into.
@overload
def create(
    name: Literal["mog2"], config: MOG2.Config | None = None, **params: Unpack[MOG2Params]
) -> MOG2: ...
@overload
def create(
    name: Literal["knn"], config: KNN.Config | None = None, **params: Unpack[KNNParams]
) -> KNN: ...
@overload
def create(
    name: Literal["rpca"], config: RPCA.Config | None = None, **params: Unpack[RPCAParams]
) -> RPCA: ...
@overload
def create(
    name: Literal["deepls"], config: DeepLS.Config | None = None, **params: Unpack[DeepLSParams]
) -> DeepLS: ...
@overload
def create(
    name: Literal["slnet"],
    config: SLNetSegmenter.Config | None = None,
    **params: Unpack[DeepLSParams],
) -> SLNetSegmenter: ...
@overload
def create(name: Literal["subsense"], config: SuBSENSE.Config | None = None) -> SuBSENSE: ...
@overload
def create(name: Literal["lobster"], config: LOBSTER.Config | None = None) -> LOBSTER: ...
@overload
def create(name: Literal["pawcs"], config: PAWCS.Config | None = None) -> PAWCS: ...
@overload
def create(name: str, config: Any | None = None) -> Segmenter: ...
def create(name: str, config: Any | None = None, **params: Any) -> Segmenter:
    """Create the segmenter registered as ``name``.

    Args:
        name: a name from :func:`available`.
        config: a ready ``Config`` instance (then ``params`` must be empty).
        **params: fields of the method's ``Config``; strings are coerced.

    Type checkers see each built-in method's parameters and class (``create("mog2")``
    is a ``MOG2``, ``create("mog2", histroy=200)`` an error). A method registered
    elsewhere takes its ``Config`` (``create("mine", Mine.Config(size=3))``), or a
    mapping unpacked (``create(name, **params)``).

    Raises:
        ConfigError: unknown name or parameter, or a bad value; the message lists
            what is valid.
    """
    cls = method_class(name)
    if config is not None and params:
        raise ConfigError("create(): pass either config or keyword parameters, not both")
    if config is None:
        config = method_config(name, params)
    elif not isinstance(config, cls.Config):
        raise ConfigError(f"{name}: config must be a {cls.__name__}.Config")
    return cls(config)
