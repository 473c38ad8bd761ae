"""Frame sources: files, folders, webcams, network streams, arrays, the synthetic scene.

:func:`open_source` picks the right one from the form of the URI.

Example:
    >>> import streamseg as ss
    >>> with ss.open_source("synthetic:frames=2,size=64x48") as src:
    ...     print(src.info.width, src.info.height, [f.index for f in src])
    64 48 [0, 1]
"""

from __future__ import annotations

import re
import stat
from pathlib import Path
from typing import Any

from streamseg.errors import ConfigError, SourceNotFoundError
from streamseg.frame import Frame, SourceInfo
from streamseg.params import build
from streamseg.sources.array import ArraySource
from streamseg.sources.base import FrameSource, SourceConfig
from streamseg.sources.capture import CaptureSource, webcam_index
from streamseg.sources.folder import FolderSource
from streamseg.sources.pyav import STREAM_SCHEMES, NotVideoError, PyAVSource, is_stream_url
from streamseg.sources.synthetic import SyntheticScene, SyntheticSource

__all__ = [
    "FrameSource",
    "ArraySource",
    "CaptureSource",
    "FolderSource",
    "PyAVSource",
    "SyntheticScene",
    "SyntheticSource",
    "check_scheme",
    "is_live",
    "local_path",
    "open_source",
    "parse_synthetic",
]


def _is_synthetic(uri: str) -> bool:
    return uri == "synthetic" or uri.startswith("synthetic:")


_SCHEME = re.compile(r"([A-Za-z][A-Za-z0-9+.-]*)://")


def check_scheme(uri: str) -> None:
    """Refuse a URL whose scheme streamseg does not read (``rstp://`` for ``rtsp://``).

    Taken for a path, ``rstp://cam/x`` would fail as ``rstp:/cam/x: no such file``.

    Raises:
        ConfigError: naming the scheme and the ones that are read.
    """
    scheme = _SCHEME.match(uri)
    if scheme and not is_stream_url(uri):
        raise ConfigError(
            f"{uri}: {scheme.group(1)!r} is not a stream streamseg reads "
            f"(use {', '.join(s.rstrip(':/') for s in STREAM_SCHEMES)})"
        )


def is_live(uri: str) -> bool:
    """``True`` for a camera or network stream: neither a file, a folder nor the synthetic scene.

    Example:
        >>> from streamseg.sources import is_live
        >>> is_live("rtsp://cam/x"), is_live("0"), is_live("clip.mp4"), is_live("synthetic")
        (True, True, False, False)
    """
    return local_path(uri) is None and not _is_synthetic(uri)


def local_path(uri: str | int | Path) -> Path | None:
    """The file or folder ``uri`` names; ``None`` for the synthetic scene, a webcam or a URL.

    Example:
        >>> from streamseg.sources import local_path
        >>> local_path("clip.mp4"), local_path("synthetic:frames=5"), local_path("0")
        (PosixPath('clip.mp4'), None, None)
    """
    text = str(uri)
    if _is_synthetic(text):
        return None
    if webcam_index(uri if isinstance(uri, int) else text) is not None or _SCHEME.match(text):
        return None
    return Path(text).expanduser()


def parse_synthetic(uri: str) -> SyntheticScene:
    """``"synthetic:frames=300,seed=1,size=320x240"`` → a :class:`SyntheticScene`."""
    _, _, spec = uri.partition(":")
    params: dict[str, Any] = {}
    for item in filter(None, (p.strip() for p in spec.split(","))):
        key, sep, value = item.partition("=")
        if not sep:
            raise ConfigError(f"{uri}: expected key=value, got {item!r}")
        if key == "size":
            width, _, height = value.partition("x")
            params["width"], params["height"] = width, height
        else:
            params[key] = value
    return build(SyntheticScene, params)


def open_source(
    uri: str | int | Path, config: SourceConfig | None = None, **options: Any
) -> FrameSource:
    """Choose and create the source for ``uri`` (not opened yet: use ``with`` or ``open()``).

    * an ``int``, a digit string or ``/dev/videoN`` → webcam (OpenCV, live);
    * ``rtsp://``, ``http(s)://``, ``rtmp://``, ... → network stream (PyAV, live);
    * ``synthetic[:frames=N,seed=S,size=WxH,...]`` → the built-in synthetic scene;
    * a folder → image folder (a CDnet sequence root reads its ``input/``);
    * anything else → video file (PyAV; ``backend="auto"`` falls back to OpenCV
      when PyAV cannot open it).

    Args:
        uri: what to read.
        config: a complete :class:`SourceConfig`; its ``uri`` is ignored.
        **options: :class:`SourceConfig` fields (``gray=True``, ``read_timeout=3``, ...).

    Raises:
        ConfigError: bad options.
        SourceNotFoundError: a path or device that does not exist (on ``open()``).
    """
    text = str(uri)
    if config is None:
        config = build(SourceConfig, {"uri": text, **options})
    elif options:
        raise ConfigError("open_source(): pass either config or options, not both")
    check_scheme(text)
    path = local_path(uri)
    if path is None:
        if _is_synthetic(text):
            return SyntheticSource(parse_synthetic(text), gray=config.gray)
        if is_stream_url(text):
            return PyAVSource(text, config)
        return CaptureSource(uri if isinstance(uri, int) else text, config)
    if path.is_dir():
        return FolderSource(path, config)
    if config.backend == "opencv":
        return CaptureSource(path, config)
    if config.backend == "auto":
        return _AutoFileSource(path, config)
    return PyAVSource(path, config)


class _AutoFileSource(FrameSource):
    """A video file: PyAV first, OpenCV's ``VideoCapture`` if PyAV cannot open it."""

    def __init__(self, path: Path, config: SourceConfig) -> None:
        super().__init__()
        self.path = path
        self.config = config
        self.inner: FrameSource | None = None

    def _open(self) -> SourceInfo:
        if not self.path.exists():
            raise SourceNotFoundError(f"{self.path}: no such file")
        first = PyAVSource(self.path, self.config)
        try:
            first.open()
        except (SourceNotFoundError, NotVideoError):
            raise
        except Exception as err:
            if stat.S_ISFIFO(self.path.stat().st_mode):
                raise  # a pipe is read once: there is nothing left for a second decoder
            fallback = CaptureSource(self.path, self.config)
            try:
                fallback.open()
            except Exception:
                raise err from None
            self.inner = fallback
        else:
            self.inner = first
        return self.inner.info

    def _read(self) -> Frame | None:
        assert self.inner is not None
        frame = self.inner.read()
        self.dropped, self.reconnects, self.warning = (
            self.inner.dropped,
            self.inner.reconnects,
            self.inner.warning,
        )
        return frame

    def cancel(self) -> None:
        super().cancel()
        if self.inner is not None:
            self.inner.cancel()

    def _close(self) -> None:
        if self.inner is not None:
            self.inner.close()

    def __repr__(self) -> str:
        return f"open_source({str(self.path)!r})"
