"""What every stack method is: a configuration, an optional fit, then frame-by-frame parts.

A method module defines a :class:`StackMethod` subclass with a frozen ``Config``
dataclass (checked in ``__post_init__``); :data:`METHODS` names the class of each
method, imported on first use so that listing them imports neither torch nor
scikit-image.
"""

from __future__ import annotations

import abc
import importlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, ClassVar, Protocol

import numpy as np

from streamseg.errors import ConfigError
from streamseg.params import build

__all__ = [
    "DEFAULT_METHOD",
    "METHODS",
    "Decomposition",
    "StackLike",
    "StackMethod",
    "create_stack_method",
    "stack_method_class",
    "stack_methods",
]

#: Each method's class, as ``module:Class`` (imported when first asked for).
METHODS = {
    "deepls": "streamseg.segmenters.stack.deepls:StackDeepLS",
    "median": "streamseg.segmenters.stack.median:TemporalMedian",
    "rolling-ball": "streamseg.segmenters.stack.rollingball:RollingBall",
    "slnet": "streamseg.segmenters.stack.slnet:StackSLNet",
}

#: The method a command uses when none is named.
DEFAULT_METHOD = "slnet"


class StackLike(Protocol):
    """A ``(T, H, W)`` stack read one frame at a time: a TiffStack or a numpy array."""

    @property
    def shape(self) -> tuple[int, ...]: ...

    def __len__(self) -> int: ...

    def __getitem__(self, index: int, /) -> np.ndarray: ...


@dataclass(frozen=True)
class Decomposition:
    """One frame split into its background and the rest, in the stack's units (float32).

    Attributes:
        index: the frame's position in the stack.
        frame: the frame as recorded.
        background: the method's background.
    """

    index: int
    frame: np.ndarray
    background: np.ndarray

    @property
    def residual(self) -> np.ndarray:
        """``frame − background``, signed."""
        return self.frame - self.background

    @property
    def sparse(self) -> np.ndarray:
        """``ReLU(frame − background)``: the frame with its background removed."""
        return np.maximum(self.frame - self.background, 0)


#: Called with ``(step, steps, loss)`` while a method trains.
OnStep = Callable[[int, int, float], None]


class StackMethod(abc.ABC):
    """A background-removal method for stacks (see :mod:`streamseg.segmenters.stack`).

    Args:
        config: the method's ``Config`` (its defaults when None).
        **params: parameters of ``Config`` instead (loose values are coerced).
    """

    name: ClassVar[str] = ""
    Config: ClassVar[type]
    #: Whether :meth:`fit` learns from the stack (takes a while; reports steps).
    learns: ClassVar[bool] = False

    def __init__(self, config: Any = None, **params: Any) -> None:
        if config is not None and params:
            raise ConfigError(f"{self.name}: give a config or parameters, not both")
        self.config = config if config is not None else build(self.Config, params)

    def fit(
        self,
        stack: StackLike,
        *,
        on_step: OnStep | None = None,
        should_stop: Callable[[], bool] | None = None,
    ) -> None:
        """Learn from ``stack`` before :meth:`decompose` (nothing, for the classic methods).

        Args:
            stack: the stack to learn from (read, never loaded whole).
            on_step: progress, called after each training step.
            should_stop: polled between steps: training ends early when it returns True.
        """

    @abc.abstractmethod
    def decompose(self, stack: StackLike, start: int = 0) -> Iterator[Decomposition]:
        """Each frame's background, in order, from frame ``start`` on."""

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.config})"


def stack_methods() -> list[str]:
    """The stack methods' names."""
    return sorted(METHODS)


def stack_method_class(name: str) -> type[StackMethod]:
    """The class of stack method ``name``.

    Raises:
        ConfigError: no such method.
    """
    if name not in METHODS:
        raise ConfigError(
            f"unknown stack method {name!r} (available: {', '.join(stack_methods())})"
        )
    module, cls = METHODS[name].split(":")
    found: type[StackMethod] = getattr(importlib.import_module(module), cls)
    return found


def create_stack_method(name: str, **params: Any) -> StackMethod:
    """A new stack method ``name`` with ``params`` (see its ``Config``).

    Raises:
        ConfigError: no such method, or a bad parameter.
    """
    return stack_method_class(name)(**params)


def as_float(frame: np.ndarray) -> np.ndarray:
    """A frame as float32 (the unit the parts are computed in)."""
    return np.asarray(frame, dtype=np.float32)
