"""The table of segmenters by name, filled as their modules are imported.

:func:`register` is the class decorator each method's module applies; importing
:mod:`streamseg.segmenters` therefore registers the built-in methods. Looking methods
up (by name, with their parameters) is :mod:`streamseg.registry`, which imports that
package when it first needs the table: the methods import this module, never the
registry, so neither waits on the other.
"""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, TypeVar

if TYPE_CHECKING:
    from streamseg.segmenters.base import Segmenter

__all__ = ["register", "registered", "installed", "requirement"]

S = TypeVar("S", bound="type[Segmenter]")

_REGISTRY: dict[str, type[Segmenter]] = {}
_EXTRAS: dict[str, tuple[tuple[str, ...], str]] = {}


def register(name: str, *, requires: tuple[str, ...] = (), extra: str = "") -> Callable[[S], S]:
    """Class decorator that registers a :class:`Segmenter` under ``name``.

    Args:
        name: the registry name (lowercase, as typed on the command line).
        requires: importable modules the method needs beyond the base install.
        extra: the pip extra that brings them (named in the error when missing).
    """

    def deco(cls: S) -> S:
        if name in _REGISTRY and _REGISTRY[name] is not cls:
            raise ValueError(f"method name {name!r} is already registered")
        cls.name = name
        _REGISTRY[name] = cls
        _EXTRAS[name] = (requires, extra)
        return cls

    return deco


def registered() -> dict[str, type[Segmenter]]:
    """The classes registered so far, by name (the built-in methods once
    :mod:`streamseg.segmenters` is imported)."""
    return dict(_REGISTRY)


def requirement(name: str) -> tuple[tuple[str, ...], str]:
    """``(modules, pip extra)`` that registered method ``name`` needs beyond the base install."""
    return _EXTRAS.get(name, ((), ""))


def _importable(module: str) -> bool:
    # Imported already, or being imported by another thread: find_spec would raise on a
    # module whose __spec__ is not set yet.
    if sys.modules.get(module) is not None:
        return True
    return importlib.util.find_spec(module) is not None


def installed(name: str) -> bool:
    """Whether the modules registered method ``name`` requires can be imported."""
    return all(_importable(mod) for mod in requirement(name)[0])
