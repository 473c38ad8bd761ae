"""Writing files so that a crash or a full disk never leaves half of one.

Every file streamseg writes (masks, reports, run statistics, models, checkpoints) goes
through :func:`atomic_write`: a temporary file beside the target, then a rename, which
POSIX makes atomic. A reader sees the old file or the new one, never a torn one.

Example:
    >>> import tempfile
    >>> from pathlib import Path
    >>> from streamseg.fileio import atomic_write
    >>> path = Path(tempfile.mkdtemp()) / "a.txt"
    >>> atomic_write(path, b"hello")
    >>> path.read_bytes()
    b'hello'
"""

from __future__ import annotations

import os
import tempfile
import threading
from pathlib import Path

from streamseg.errors import SinkError, StreamsegError

__all__ = ["atomic_write", "ensure_writable_dir"]


def ensure_writable_dir(folder: Path) -> None:
    """Create ``folder`` and check it can be written, or raise a one-line SinkError."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise SinkError(f"cannot create output folder {folder}: {err.strerror}") from None
    # A file really written and removed: os.access says yes to root even where the
    # kernel refuses (/proc, /sys, read-only mounts), and the run would fail at its end.
    try:
        with tempfile.NamedTemporaryFile(dir=folder, prefix=".streamseg-probe-"):
            pass
    except OSError as err:
        raise SinkError(f"output folder {folder} is not writable: {err.strerror}") from None


def atomic_write(
    path: Path, data: bytes, error: type[StreamsegError] = SinkError, what: str = ""
) -> None:
    """Write ``data`` to ``path`` via a temporary file and a rename.

    Args:
        path: the file.
        data: its whole content.
        error: raised on failure (``SinkError`` for outputs, ``ModelError`` for models).
        what: named in the message before the path (``"checkpoint"``).
    """
    # Its own temporary per process and thread: two writers of one file (two streams'
    # run.yaml in a shared folder) must not rename each other's half-written copy.
    tmp = path.with_name(f".{path.name}.{os.getpid()}-{threading.get_ident()}.tmp")
    try:
        with open(tmp, "wb") as fh:
            fh.write(data)
        os.replace(tmp, path)
    except OSError as err:
        try:
            tmp.unlink(missing_ok=True)
        except OSError:
            pass  # nothing was created where nothing can be written
        raise error(f"cannot write {what + ' ' if what else ''}{path}: {err.strerror}") from None
