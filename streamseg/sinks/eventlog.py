"""The event log: one JSON object per line (JSON Lines), one line per event.

Each line is :meth:`Event.as_dict <streamseg.events.detector.Event.as_dict>` (the schema
of docs/events.md): ``jq`` reads it, and so does a log shipper. The file is appended to,
as a log is (a restarted run or stream goes on in it); every line is flushed as it is
written, so a kill loses at most the line being written. It is written on the frame loop:
the log is the complete record, whatever the webhook or MQTT managed to deliver.

Example:
    >>> import json, tempfile
    >>> from pathlib import Path
    >>> from streamseg.events import Event, Peak
    >>> path = Path(tempfile.mkdtemp()) / "events.jsonl"
    >>> event = Event("start", "cam-1", "cam", "all", 3, 0.12, 1, 0.04, None, None, (),
    ...               Peak(3, 0.12, (0, 0, 4, 4), 16), (64, 48))
    >>> with EventLog(path) as log:
    ...     log.send(event)
    >>> json.loads(path.read_text())["type"]
    'start'
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import IO, Any

from streamseg.errors import SinkError
from streamseg.events.detector import Event
from streamseg.fileio import ensure_writable_dir
from streamseg.sinks.events import EventOutput

__all__ = ["EventLog"]


class EventLog(EventOutput):
    """Appends each event as a line of JSON to ``path``.

    Args:
        path: the log file (its folder is created).
    """

    name = "log"

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path).absolute()
        self._file: IO[str] | None = None
        self.sent = 0

    def open(self) -> None:
        if self._file is not None:
            return
        ensure_writable_dir(self.path.parent)
        try:
            self._file = self.path.open("a", encoding="utf-8")
        except OSError as err:
            raise SinkError(f"cannot write event log {self.path}: {err.strerror}") from None

    def send(self, event: Event) -> None:
        if self._file is None:
            self.open()
        assert self._file is not None
        try:
            self._file.write(json.dumps(event.as_dict(), separators=(",", ":")) + "\n")
            self._file.flush()
        except OSError as err:
            raise SinkError(f"cannot write event log {self.path}: {err.strerror}") from None
        self.sent += 1

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None

    def stats(self) -> dict[str, int]:
        return {"sent": self.sent}

    def __enter__(self) -> EventLog:
        self.open()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()
