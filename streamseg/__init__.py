"""streamseg: unsupervised foreground segmentation of live video.

The library speaks OpenCV's language::

    import streamseg as ss

    with ss.open_source("video.mp4") as source, ss.create("mog2") as seg:
        for frame in source:
            mask = seg.apply(frame.image)   # uint8 H×W, 255 = foreground

Example:
    >>> import streamseg as ss
    >>> with ss.open_source("synthetic:frames=3,size=64x48") as source, ss.create("knn") as seg:
    ...     masks = [seg.apply(frame.image) for frame in source]
    >>> len(masks), masks[0].shape
    (3, (48, 64))
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from streamseg.config import RunConfig, SourceConfig, load_config
    from streamseg.errors import (
        ClosedError,
        ConcurrentUseError,
        ConfigError,
        EvaluationError,
        FrameError,
        ModelError,
        SinkError,
        SourceError,
        SourceNotFoundError,
        StreamLostError,
        StreamsegError,
        TrainerError,
    )
    from streamseg.events import EventConfig, EventDetector, ZoneConfig
    from streamseg.frame import Frame, SourceInfo
    from streamseg.pipeline import RunStats, run, run_config, watch
    from streamseg.registry import available, create, register
    from streamseg.segmenters.base import Segmenter
    from streamseg.sources import FrameSource, SyntheticScene, open_source

__version__ = "0.1.0"

__all__ = [
    "ClosedError",
    "ConcurrentUseError",
    "ConfigError",
    "EvaluationError",
    "EventConfig",
    "EventDetector",
    "Frame",
    "FrameError",
    "FrameSource",
    "ModelError",
    "RunConfig",
    "RunStats",
    "Segmenter",
    "SinkError",
    "SourceConfig",
    "SourceError",
    "SourceInfo",
    "SourceNotFoundError",
    "StreamLostError",
    "StreamsegError",
    "SyntheticScene",
    "TrainerError",
    "ZoneConfig",
    "available",
    "create",
    "load_config",
    "open_source",
    "register",
    "run",
    "run_config",
    "watch",
]

#: The module of each public name. They are imported when first used, not with the
#: package: ``import streamseg`` stays cheap, so the ``streamseg`` command has its signal
#: handlers in place before numpy, OpenCV and PyAV load (a Ctrl-C there was a traceback).
_EXPORTS = {
    "ClosedError": "streamseg.errors",
    "ConcurrentUseError": "streamseg.errors",
    "ConfigError": "streamseg.errors",
    "EvaluationError": "streamseg.errors",
    "EventConfig": "streamseg.events",
    "EventDetector": "streamseg.events",
    "Frame": "streamseg.frame",
    "FrameError": "streamseg.errors",
    "FrameSource": "streamseg.sources",
    "ModelError": "streamseg.errors",
    "RunConfig": "streamseg.config",
    "RunStats": "streamseg.pipeline",
    "Segmenter": "streamseg.segmenters.base",
    "SinkError": "streamseg.errors",
    "SourceConfig": "streamseg.config",
    "SourceError": "streamseg.errors",
    "SourceInfo": "streamseg.frame",
    "SourceNotFoundError": "streamseg.errors",
    "StreamLostError": "streamseg.errors",
    "StreamsegError": "streamseg.errors",
    "SyntheticScene": "streamseg.sources",
    "TrainerError": "streamseg.errors",
    "ZoneConfig": "streamseg.events",
    "available": "streamseg.registry",
    "create": "streamseg.registry",
    "load_config": "streamseg.config",
    "open_source": "streamseg.sources",
    "register": "streamseg.registry",
    "run": "streamseg.pipeline",
    "run_config": "streamseg.pipeline",
    "watch": "streamseg.pipeline",
}

if not TYPE_CHECKING:  # type checkers read the imports above, and flag unknown names

    def __getattr__(name: str) -> Any:
        """A public name (imported on first use) or a subpackage (``ss.sources``)."""
        if name in _EXPORTS:
            value = getattr(importlib.import_module(_EXPORTS[name]), name)
        else:
            try:
                value = importlib.import_module(f"{__name__}.{name}")
            except ModuleNotFoundError as err:
                if err.name != f"{__name__}.{name}":
                    raise  # the submodule exists; a dependency of it is missing
                raise AttributeError(f"module {__name__!r} has no attribute {name!r}") from None
        globals()[name] = value
        return value

    def __dir__() -> list[str]:
        return sorted({*globals(), *_EXPORTS})
