"""The one exception tree of streamseg.

Every error streamseg raises derives from :class:`StreamsegError` *and* from the
built-in exception a caller would naturally catch (the pattern PyAV uses for its
``FFmpegError`` tree), so ``except ValueError`` keeps working for code that does
not know about streamseg.

Each class carries the process exit code the CLI uses for it: ``2`` for usage
and input errors (the user can fix the command, the file or the config), ``1``
for failures at run time.

Example:
    >>> from streamseg.errors import ConfigError, StreamsegError
    >>> err = ConfigError("window must be >= 2, got 1")
    >>> isinstance(err, ValueError), isinstance(err, StreamsegError), err.exit_code
    (True, True, 2)
"""

from __future__ import annotations

__all__ = [
    "StreamsegError",
    "ConfigError",
    "SourceError",
    "SourceNotFoundError",
    "StreamLostError",
    "FrameError",
    "ModelError",
    "SinkError",
    "TrainerError",
    "EvaluationError",
    "ClosedError",
    "ConcurrentUseError",
]


class StreamsegError(Exception):
    """Base class of every streamseg error."""

    exit_code: int = 1


class ConfigError(StreamsegError, ValueError):
    """A bad method name, parameter, value or configuration file."""

    exit_code = 2


class SourceError(StreamsegError, OSError):
    """A source that cannot be opened or read (not a video, unsupported codec, no device)."""

    exit_code = 2


class SourceNotFoundError(SourceError, FileNotFoundError):
    """A file, folder or device that does not exist."""


class StreamLostError(SourceError, ConnectionError):
    """A live stream that dropped and did not come back within its reconnect budget."""

    exit_code = 1


class FrameError(StreamsegError, ValueError):
    """A frame of the wrong shape or dtype handed to a segmenter."""

    exit_code = 2


class ModelError(StreamsegError, ValueError):
    """A missing, truncated or incompatible model file (checkpoint or ONNX)."""

    exit_code = 2


class SinkError(StreamsegError, OSError):
    """An output that cannot be written (unwritable folder, full disk)."""

    exit_code = 2


class TrainerError(StreamsegError, RuntimeError):
    """A failure inside a background trainer, re-raised on the caller's thread."""

    exit_code = 1


class EvaluationError(StreamsegError, ValueError):
    """Ground truth or results that do not fit the CDnet layout."""

    exit_code = 2


class ClosedError(StreamsegError, ValueError):
    """A segmenter or sink used after ``close()`` (as Python's files raise ``ValueError``)."""

    exit_code = 1


class ConcurrentUseError(StreamsegError, RuntimeError):
    """One segmenter called from two threads at once (one segmenter per stream and thread)."""

    exit_code = 1
