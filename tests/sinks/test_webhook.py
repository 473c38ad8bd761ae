"""The webhook against real HTTP servers on 127.0.0.1: slow, refusing, failing, dying."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from streamseg.errors import ConfigError
from streamseg.events import EventConfig, EventDetector
from streamseg.frame import Frame
from streamseg.sinks.eventlog import EventLog
from streamseg.sinks.events import EventSink
from streamseg.sinks.webhook import Webhook
from tests.conftest import free_port


class Receiver(ThreadingHTTPServer):
    """Records the JSON POSTed to it; ``hold`` keeps each request until released, and
    ``answers`` are the status codes of the next requests (then 200)."""

    daemon_threads = True

    def __init__(self) -> None:
        self.bodies: list[dict[str, Any]] = []
        self.answers: list[int] = []
        self.requests = 0
        self.hold = False
        self.release = threading.Event()
        self.lock = threading.Lock()
        super().__init__(("127.0.0.1", 0), _Handler)
        self.thread = threading.Thread(target=self.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/hook"

    def stop(self) -> None:
        self.release.set()
        self.shutdown()
        self.server_close()


class _Handler(BaseHTTPRequestHandler):
    server: Receiver

    def do_POST(self) -> None:  # noqa: N802
        body = self.rfile.read(int(self.headers["Content-Length"]))
        with self.server.lock:
            self.server.requests += 1
            code = self.server.answers.pop(0) if self.server.answers else 200
        if self.server.hold:
            self.server.release.wait(30)
        if code == 200:
            with self.server.lock:
                self.server.bodies.append(json.loads(body))
        self.send_response(code)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    server = Receiver()
    try:
        yield server
    finally:
        server.stop()


def _events(visits: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """Frames and masks of an object that comes for 4 frames and goes for 8, ``visits``
    times: a start and an end each."""
    image = np.zeros((60, 80, 3), np.uint8)
    here = np.zeros((60, 80), np.uint8)
    here[10:40, 10:40] = 255
    gone = np.zeros_like(here)
    return ([(image, here)] * 4 + [(image, gone)] * 8) * visits


def _run(outputs: list[Any], visits: int, log: Path | None = None) -> EventSink:
    detector = EventDetector(EventConfig(min_frames=2, off_delay=0.2, snapshot=False))
    if log is not None:
        outputs = [EventLog(log), *outputs]
    with EventSink(detector, outputs) as sink:
        for i, (image, mask) in enumerate(_events(visits)):
            sink.write(Frame(image, i, i / 25), {"mog2": mask})
    return sink


def test_every_event_is_posted_as_json(receiver: Receiver):
    hook = Webhook(receiver.url)
    _run([hook], visits=3)
    assert [b["type"] for b in receiver.bodies] == ["start", "end"] * 3
    assert hook.stats() == {"sent": 6, "failed": 0, "dropped": 0, "retried": 0, "queued": 0}


def test_a_slow_receiver_never_holds_up_the_frames(receiver: Receiver, tmp_path: Path):
    receiver.hold = True  # no answer until every frame is written
    hook = Webhook(receiver.url, queue=2, timeout=60, close_timeout=0.5)
    log = tmp_path / "events.jsonl"
    detector = EventDetector(EventConfig(min_frames=2, off_delay=0.2, snapshot=False))
    with EventSink(detector, [EventLog(log), hook]) as sink:
        for i, (image, mask) in enumerate(_events(5)):
            sink.write(Frame(image, i, i / 25), {"mog2": mask})
        # Every frame went through while the receiver held its first request.
        assert not receiver.release.is_set() and sink.events == 10
        receiver.release.set()
    stats = hook.stats()
    assert stats["dropped"] >= 10 - 1 - 2 - stats["sent"]  # one in flight, two queued
    assert stats["sent"] + stats["failed"] + stats["dropped"] == 10
    assert len(log.read_text().splitlines()) == 10  # the log has them all


def test_a_refusing_receiver_costs_its_events_only(tmp_path: Path):
    hook = Webhook(f"http://127.0.0.1:{free_port()}/hook", retries=2, backoff=0.01)
    log = tmp_path / "events.jsonl"
    sink = _run([hook], visits=3, log=log)
    assert sink.events == 6
    stats = hook.stats()
    assert stats["sent"] == 0 and stats["failed"] + stats["dropped"] == 6
    assert stats["retried"] >= 2
    assert [json.loads(line)["type"] for line in log.read_text().splitlines()] == [
        "start",
        "end",
    ] * 3


def test_a_receiver_that_dies_mid_run(receiver: Receiver, tmp_path: Path):
    hook = Webhook(receiver.url, retries=1, backoff=0.01, close_timeout=1.0)
    log = tmp_path / "events.jsonl"
    detector = EventDetector(EventConfig(min_frames=2, off_delay=0.2, snapshot=False))
    with EventSink(detector, [EventLog(log), hook]) as sink:
        frames = _events(4)
        for i, (image, mask) in enumerate(frames[:24]):  # two visits
            sink.write(Frame(image, i, i / 25), {"mog2": mask})
        while hook.stats()["sent"] < 4:
            threading.Event().wait(0.02)
        receiver.stop()
        for i, (image, mask) in enumerate(frames[24:], start=24):
            sink.write(Frame(image, i, i / 25), {"mog2": mask})
    stats = hook.stats()
    assert stats["sent"] == 4 and stats["failed"] + stats["dropped"] == 4
    assert len(log.read_text().splitlines()) == 8


def test_a_server_error_is_retried_and_a_refused_event_is_not(receiver: Receiver):
    receiver.answers = [503, 503, 400]
    hook = Webhook(receiver.url, retries=3, backoff=0.01)
    _run([hook], visits=2)
    stats = hook.stats()
    # start: 503, 503, then 400 (the receiver refused it: not retried); the rest delivered.
    assert [b["type"] for b in receiver.bodies] == ["end", "start", "end"]
    assert stats["sent"] == 3 and stats["failed"] == 1 and stats["retried"] == 2


def test_webhook_urls_are_checked():
    with pytest.raises(ConfigError, match="http"):
        Webhook("ftp://host/x")
