"""The segmenter interface: OpenCV's words for callers, river's for the inside.

Callers use :meth:`Segmenter.apply` exactly like ``cv2.BackgroundSubtractor.apply``:
one frame in, a ``uint8`` mask out (0 background, 255 foreground), and a
``learning_rate`` with OpenCV's meaning: negative for automatic, 0 to leave the
model untouched, 1 to start again from this frame. Inside, a method implements
``_learn_one`` (update the model) and ``_predict_one`` (segment, no state change);
:meth:`Segmenter.apply` composes them. Methods that can do both in one call
(OpenCV's subtractors) override :meth:`Segmenter._apply` instead.

All public entry points validate the frame with :func:`streamseg.frame.check_image`
and reset the model when the frame size changes mid-stream (logged).
"""

from __future__ import annotations

import abc
import dataclasses
import logging
import math
import time
from typing import Any, ClassVar, TypeVar

import numpy as np

from streamseg.errors import ClosedError, ConfigError, FrameError
from streamseg.frame import check_image

__all__ = ["Segmenter"]

log = logging.getLogger(__name__)

_S = TypeVar("_S", bound="Segmenter")


def _learning_rate(value: object) -> float:
    """``value`` as OpenCV's learning rate: a finite number ≤ 1 (negative: automatic).

    A string or a bool is refused, not converted: ``True`` would silently mean 1, a reset.
    """
    rate = math.nan
    if isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool):
        rate = float(value)
    if not rate <= 1.0 or math.isinf(rate):
        raise ConfigError(
            f"learning_rate must be a number <= 1 (negative: automatic, 0: no learning, "
            f"1: start again from this frame); got {value!r}"
        )
    return rate


class Segmenter(abc.ABC):
    """Foreground segmenter for one stream.

    Subclasses set ``Config`` (a frozen dataclass of their parameters) and are
    registered with :func:`streamseg.registry.register`, which sets ``name``.

    Masks are ``uint8 H×W`` of the frame's size, 0 background, 255 foreground.
    A segmenter is not thread-safe: one stream, one owner thread.

    Example:
        >>> import numpy as np, streamseg as ss
        >>> with ss.create("mog2") as seg:
        ...     for _ in range(3):
        ...         mask = seg.apply(np.zeros((48, 64, 3), np.uint8))
        >>> mask.shape, mask.dtype, int(mask.max())
        ((48, 64), dtype('uint8'), 0)
    """

    name: ClassVar[str] = "?"
    Config: ClassVar[type[Any]]
    #: Same frames and seed give the same masks.
    deterministic: ClassVar[bool] = True
    #: ``predict_one`` leaves the model exactly as it was.
    stateless_predict: ClassVar[bool] = True
    #: ``score_one`` is a real continuous score (not the mask scaled to {0, 1}).
    continuous_score: ClassVar[bool] = False
    #: Not ready for a user's defaults: ``streamseg demo`` runs it only when named.
    experimental: ClassVar[bool] = False
    #: ``apply(frame, learning_rate=0)`` leaves the model untouched. Methods whose model
    #: changes anyway say why here, and refuse that call rather than pretend.
    cannot_freeze: ClassVar[str | None] = None
    #: Smallest frame (height, width) the method can segment.
    min_size: ClassVar[tuple[int, int]] = (2, 2)

    def __init__(self, config: Any | None = None) -> None:
        self.config = config if config is not None else self.Config()
        self._shape: tuple[int, ...] | None = None
        self._closed = False
        #: The current frame's time in seconds (methods whose window samples by time read it).
        self._timestamp = 0.0

    # -- the public, validated entry points ---------------------------------------------

    def apply(
        self, image: np.ndarray, learning_rate: float = -1.0, *, timestamp: float | None = None
    ) -> np.ndarray:
        """Segment ``image`` and update the model, like ``cv2.BackgroundSubtractor.apply``.

        Args:
            image: ``uint8`` BGR ``H×W×3`` or gray ``H×W`` (BGRA is accepted).
            learning_rate: negative for the method's automatic rate, 0 to segment
                without learning, 1 to reset the model to this frame first.
                Methods with a native rate (mog2, knn) use values in between as
                given; the others treat them as automatic.
            timestamp: the frame's time in seconds (a run passes each frame's: a file's
                presentation time, a live frame's arrival); ``None``: the time of the
                call (``time.monotonic()``), which is the arrival of a live frame. Only
                windows sampled by time (``interval``) read it.

        Returns:
            The mask, ``uint8 H×W``, 0 or 255.

        Raises:
            FrameError: for a frame that is not a ``uint8`` gray/BGR image.
            ConfigError: ``learning_rate`` is not a number ≤ 1, or 0 for a method that
                cannot segment without learning (:attr:`cannot_freeze`).
            ClosedError: after :meth:`close`.
        """
        rate = _learning_rate(learning_rate)
        if rate == 0.0 and self.cannot_freeze:
            raise ConfigError(
                f"{self.name} cannot segment without learning ({self.cannot_freeze}); "
                "learning_rate=0 needs mog2, rpca or deepls"
            )
        image = self._admit(image)
        self._stamp(timestamp)
        return self._apply(image, rate)

    def learn_one(self, image: np.ndarray, *, timestamp: float | None = None) -> None:
        """Update the model with one frame, without a mask (``timestamp``: as in ``apply``)."""
        image = self._admit(image)
        self._stamp(timestamp)
        self._learn_one(image)

    def _stamp(self, timestamp: float | None) -> None:
        if timestamp is None:
            self._timestamp = time.monotonic()
            return
        number = (int, float, np.integer, np.floating)  # as _learning_rate takes them
        if isinstance(timestamp, bool) or not isinstance(timestamp, number):
            raise ConfigError(f"timestamp must be a number of seconds, got {timestamp!r}")
        if not math.isfinite(timestamp):
            raise ConfigError(f"timestamp must be finite, got {timestamp}")
        self._timestamp = float(timestamp)

    def predict_one(self, image: np.ndarray) -> np.ndarray:
        """Segment one frame without changing the model (all zeros while not :attr:`ready`)."""
        return self._predict_one(self._admit(image))

    def score_one(self, image: np.ndarray) -> np.ndarray:
        """A continuous foreground score, ``float32 H×W`` in ``[0, 1]``, without learning.

        Methods without a native score return the mask scaled to ``{0, 1}``.
        """
        return self._score_one(self._admit(image))

    # -- what a method implements --------------------------------------------------------

    @abc.abstractmethod
    def _learn_one(self, image: np.ndarray) -> None:
        """Update the model with a validated frame."""

    @abc.abstractmethod
    def _predict_one(self, image: np.ndarray) -> np.ndarray:
        """Mask for a validated frame; must not change the model."""

    def _score_one(self, image: np.ndarray) -> np.ndarray:
        return self._predict_one(image).astype(np.float32) / 255.0

    def _apply(self, image: np.ndarray, learning_rate: float) -> np.ndarray:
        if learning_rate == 1.0:
            self.reset()
        mask = self._predict_one(image)
        if learning_rate != 0.0:
            self._learn_one(image)
        return mask

    @abc.abstractmethod
    def reset(self) -> None:
        """Forget everything learned; the next frame starts a new model."""

    # -- the rest of the contract ----------------------------------------------------------

    def background(self) -> np.ndarray | None:
        """The current background image (like ``getBackgroundImage``), ``None`` if none."""
        return None

    @classmethod
    def _unit_test_params(cls) -> dict[str, Any]:
        """Cheap parameters for the contract suite (river's convention); defaults by default."""
        return {}

    def stats(self) -> dict[str, Any]:
        """Method-specific counters for the run statistics (model version, train steps, ...)."""
        return {}

    @property
    def ready(self) -> bool:
        """``False`` during warm-up, when masks are all zeros."""
        return True

    def close(self) -> None:
        """Release threads and native resources. Idempotent."""
        self._closed = True

    def __enter__(self: _S) -> _S:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        fields = ", ".join(
            f"{f.name}={getattr(self.config, f.name)!r}" for f in dataclasses.fields(self.config)
        )
        return f"{type(self).__name__}({fields})"

    def _admit(self, image: np.ndarray) -> np.ndarray:
        if self._closed:
            # Its threads and sessions are gone: a mask now would be a silent wrong answer.
            raise ClosedError(f"{self.name}: used after close(); create a new one")
        image = check_image(image)
        if image.shape[0] < self.min_size[0] or image.shape[1] < self.min_size[1]:
            raise FrameError(
                f"{self.name} needs frames of at least {self.min_size[1]}x{self.min_size[0]} "
                f"pixels; got {image.shape[1]}x{image.shape[0]}"
            )
        if self._shape is not None and image.shape != self._shape:
            log.info(
                "%s: frame shape changed from %s to %s; resetting the model",
                self.name,
                self._shape,
                image.shape,
            )
            self.reset()
        self._shape = image.shape
        return image
