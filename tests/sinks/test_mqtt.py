"""MQTT against Debian's mosquitto on 127.0.0.1, read by a real subscriber."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
import pytest

from streamseg.errors import ConfigError
from streamseg.events import EventConfig, EventDetector
from streamseg.frame import Frame
from streamseg.sinks.events import EventSink
from streamseg.sinks.mqtt import Mqtt, parse_broker
from tests.conftest import MqttBroker, free_port

mqtt = pytest.importorskip("paho.mqtt.client")


class Subscriber:
    """A paho client that keeps every message of ``streamseg/#``."""

    def __init__(self, port: int, topic: str = "streamseg/#") -> None:
        self.messages: list[tuple[str, bytes, bool]] = []
        self._lock = threading.Lock()
        self._ready = threading.Event()
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2)
        self.client.on_connect = lambda c, *a: c.subscribe(topic, qos=1)
        self.client.on_subscribe = lambda *a: self._ready.set()
        self.client.on_message = self._got
        self.client.connect("127.0.0.1", port)
        self.client.loop_start()
        assert self._ready.wait(10), "the subscriber did not subscribe"

    def _got(self, client: Any, userdata: Any, message: Any) -> None:
        with self._lock:
            self.messages.append((message.topic, message.payload, bool(message.retain)))

    def on(self, topic: str) -> list[bytes]:
        with self._lock:
            return [payload for t, payload, _ in self.messages if t == topic]

    def wait_for(self, done: Callable[[], bool], timeout: float = 15.0) -> None:
        deadline = time.monotonic() + timeout
        while not done() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert done(), f"not received: {self.messages}"

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


@pytest.fixture
def subscriber(mqtt_broker: MqttBroker) -> Iterator[Subscriber]:
    sub = Subscriber(mqtt_broker.port)
    try:
        yield sub
    finally:
        sub.close()


def _walk_by(sink: EventSink, frames: int = 30, present: range = range(2, 10)) -> None:
    """Frames of an object present in ``present``, written to ``sink``."""
    image = np.zeros((60, 80, 3), np.uint8)
    for i in range(frames):
        mask = np.zeros((60, 80), np.uint8)
        if i in present:
            mask[10:40, 2 * i : 2 * i + 15] = 255
        sink.write(Frame(image, i, i / 25), {"mog2": mask})


def _detector(**kwargs: Any) -> EventDetector:
    config = EventConfig(min_frames=2, off_delay=0.2, **kwargs)
    return EventDetector(config, camera="door", method="mog2")


def test_events_motion_and_snapshots_reach_a_subscriber(
    mqtt_broker: MqttBroker, subscriber: Subscriber
):
    output = Mqtt(mqtt_broker.address, "door")
    with EventSink(_detector(), [output]) as sink:
        subscriber.wait_for(lambda: subscriber.on("streamseg/door/available") == [b"online"])
        _walk_by(sink)
    subscriber.wait_for(lambda: subscriber.on("streamseg/door/available")[-1:] == [b"offline"])
    events = [json.loads(p) for p in subscriber.on("streamseg/door/events")]
    assert [(e["type"], e["camera"], e["zone"]) for e in events] == [
        ("start", "door", "all"),
        ("end", "door", "all"),
    ]
    assert subscriber.on("streamseg/door/motion") == [b"ON", b"OFF"]
    assert all(p[:2] == b"\xff\xd8" for p in subscriber.on("streamseg/door/snapshot"))
    assert output.stats()["sent"] == 6  # start, end, their snapshots, motion ON and OFF
    assert output.stats()["dropped"] == output.stats()["failed"] == 0
    # Motion, availability and the snapshot are retained: a late subscriber knows the state.
    late = Subscriber(mqtt_broker.port)
    try:
        late.wait_for(lambda: late.on("streamseg/door/motion") == [b"OFF"])
        late.wait_for(lambda: late.on("streamseg/door/available") == [b"offline"])
        assert late.on("streamseg/door/events") == []  # events are not retained
    finally:
        late.close()


def test_a_dead_broker_never_holds_up_the_frames_and_its_losses_are_counted():
    nobody = f"127.0.0.1:{free_port()}"
    output = Mqtt(nobody, "door", retries=1, backoff=0.05, close_timeout=0.5)
    with EventSink(_detector(), [output]) as sink:
        _walk_by(sink, frames=40)
        assert sink.events == 2  # every frame was written, and both events raised
    stats = output.stats()
    assert stats["sent"] == 0
    assert stats["failed"] + stats["dropped"] == 6  # start, end, snapshots, motion ON, OFF
    assert stats["queued"] == 0


def test_a_broker_that_dies_mid_run_costs_only_what_it_missed(mqtt_broker: MqttBroker):
    output = Mqtt(mqtt_broker.address, "door", retries=0, close_timeout=0.5)
    with EventSink(_detector(snapshot=False), [output]) as sink:
        deadline = time.monotonic() + 10
        while output._client is None or not output._client.is_connected():
            assert time.monotonic() < deadline
            time.sleep(0.02)
        _walk_by(sink, frames=12, present=range(2, 4))  # one event, delivered
        deadline = time.monotonic() + 10
        while output.stats()["sent"] < 4:
            assert time.monotonic() < deadline
            time.sleep(0.02)
        mqtt_broker.stop()
        _walk_by(sink, frames=12, present=range(2, 4))  # another, with nobody there
    stats = output.stats()
    assert stats["sent"] == 4  # the first event: start, motion ON, end, motion OFF
    assert stats["failed"] + stats["dropped"] == 4  # the second's, with the broker gone
    assert sink.events == 4


def test_broker_addresses():
    assert parse_broker("[::1]:1884") == ("::1", 1884, None, None)
    for bad in ("http://host", "host:port", "mqtt://"):
        with pytest.raises(ConfigError, match="HOST"):
            parse_broker(bad)
