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
from streamseg.frame import Frame, SourceInfo
from streamseg.pipeline import RunStats, run, run_config
from streamseg.registry import available, create, register
from streamseg.segmenters.base import Segmenter
from streamseg.sources import FrameSource, SyntheticScene, open_source

__version__ = "0.1.0"

__all__ = [
    "ClosedError",
    "ConcurrentUseError",
    "ConfigError",
    "EvaluationError",
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
    "available",
    "create",
    "load_config",
    "open_source",
    "register",
    "run",
    "run_config",
]
