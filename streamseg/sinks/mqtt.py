"""MQTT: events, a motion sensor and snapshots on a broker, as Frigate publishes them.

Topics, under ``streamseg/<camera>/`` (the prefix is configurable):

* ``events``: every event, the JSON of docs/events.md (QoS 1, not retained);
* ``motion``: ``ON`` while an event is open in any zone, ``OFF`` when none is (retained,
  so a subscriber that connects later knows the state: a Home Assistant ``binary_sensor``
  with ``payload_on: "ON"``);
* ``snapshot``: the JPEG of the latest start or end (retained);
* ``available``: ``online`` while the run is connected, ``offline`` after it (the broker
  publishes ``offline`` itself if the run dies: the MQTT "last will").

The client is paho-mqtt (the ``[events]`` extra). It connects and reconnects in the
background; messages go through a :class:`~streamseg.sinks.delivery.DeliveryQueue`, so a
broker that is down or slow never holds up the frames: a message waits for a connection,
is retried with a back-off, and what cannot be delivered is dropped and counted.

Example:
    >>> parse_broker("mqtt://user:secret@broker.local:1884")
    ('broker.local', 1884, 'user', 'secret')
    >>> parse_broker("127.0.0.1")
    ('127.0.0.1', 1883, None, None)
"""

from __future__ import annotations

import json
import logging
import os
import urllib.parse
from typing import Any

from streamseg.errors import ConfigError
from streamseg.events.detector import Event
from streamseg.sinks.delivery import DeliveryQueue
from streamseg.sinks.events import EventOutput

__all__ = ["Mqtt", "parse_broker", "topic_for"]

log = logging.getLogger(__name__)

#: One message: (topic, payload, retained).
_Message = tuple[str, bytes, bool]


def parse_broker(address: str) -> tuple[str, int, str | None, str | None]:
    """``(host, port, user, password)`` of ``HOST[:PORT]``, ``[IPv6]:PORT`` or
    ``mqtt://[USER:PASSWORD@]HOST[:PORT]`` (port 1883 unless given).

    Raises:
        ConfigError: none of those.
    """
    text = str(address).strip()
    usage = f"mqtt broker {address!r}: use HOST[:PORT] or mqtt://[USER:PASSWORD@]HOST[:PORT]"
    parts = urllib.parse.urlsplit(text if "://" in text else f"mqtt://{text}")
    if parts.scheme not in ("mqtt", "tcp") or not parts.hostname or parts.path not in ("", "/"):
        raise ConfigError(usage)
    try:
        port = parts.port or 1883
    except ValueError:
        raise ConfigError(usage) from None
    user = urllib.parse.unquote(parts.username) if parts.username else None
    password = urllib.parse.unquote(parts.password) if parts.password else None
    return parts.hostname, port, user, password


def topic_for(prefix: str, camera: str, leaf: str) -> str:
    """``prefix/camera/leaf``, with MQTT's wildcards and separators taken out of the camera.

    Example:
        >>> topic_for("streamseg", "front door", "motion")
        'streamseg/front door/motion'
    """
    safe = camera.replace("/", "_").replace("+", "_").replace("#", "_")
    return f"{prefix}/{safe}/{leaf}"


class Mqtt(EventOutput):
    """Publishes events, motion and snapshots to an MQTT broker.

    Args:
        broker: ``HOST[:PORT]`` or ``mqtt://[USER:PASSWORD@]HOST[:PORT]``.
        camera: the camera's name in the topics.
        prefix: the topics' first level.
        qos: the events' quality of service (0, 1 or 2).
        snapshots: publish each start's and end's snapshot.
        timeout: seconds a message may wait for the broker's acknowledgement.
        queue: messages waiting at most (the oldest is dropped beyond).
        retries: attempts after the first for a message that failed.
        backoff: seconds before the first retry, doubled per retry.
        close_timeout: seconds the end of a run waits for the queue to drain.
    """

    name = "mqtt"

    def __init__(
        self,
        broker: str,
        camera: str = "streamseg",
        *,
        prefix: str = "streamseg",
        qos: int = 1,
        snapshots: bool = True,
        timeout: float = 5.0,
        queue: int = 256,
        retries: int = 3,
        backoff: float = 0.5,
        close_timeout: float = 5.0,
    ) -> None:
        self.host, self.port, self.user, self.password = parse_broker(broker)
        if qos not in (0, 1, 2):
            raise ConfigError(f"mqtt qos must be 0, 1 or 2, got {qos}")
        self.camera = camera
        self.prefix = prefix
        self.qos = qos
        self.snapshots = snapshots
        self.timeout = timeout
        self.queue_size, self.retries, self.backoff = queue, retries, backoff
        self.close_timeout = close_timeout
        self._client: Any = None
        self._queue: DeliveryQueue[_Message] | None = None

    def topic(self, leaf: str) -> str:
        """The topic ``leaf`` of this camera (``events``, ``motion``, ...)."""
        return topic_for(self.prefix, self.camera, leaf)

    def open(self) -> None:
        if self._client is not None:
            return
        try:
            import paho.mqtt.client as mqtt
        except ImportError:
            raise ConfigError("MQTT needs paho-mqtt: pip install 'streamseg[events]'") from None
        client = mqtt.Client(
            mqtt.CallbackAPIVersion.VERSION2,
            client_id=f"streamseg-{self.camera}-{os.getpid()}"[:64],
            protocol=mqtt.MQTTv311,
        )
        if self.user is not None:
            client.username_pw_set(self.user, self.password)
        available = self.topic("available")
        client.will_set(available, "offline", qos=1, retain=True)
        client.on_connect = self._connected
        client.reconnect_delay_set(min_delay=1, max_delay=30)
        # Connects on paho's own thread: a broker that is down never holds up open().
        client.connect_async(self.host, self.port, keepalive=30)
        client.loop_start()
        self._client = client
        self._queue = DeliveryQueue(
            "mqtt",
            self._publish,
            size=self.queue_size,
            retries=self.retries,
            backoff=self.backoff,
            close_timeout=self.close_timeout,
        )
        log.info("mqtt: publishing to %s:%d under %s", self.host, self.port, self.topic("#"))

    def _connected(self, client: Any, userdata: Any, flags: Any, reason: Any, props: Any) -> None:
        if not getattr(reason, "is_failure", False):
            client.publish(self.topic("available"), "online", qos=1, retain=True)
        else:
            log.warning("mqtt: %s:%d refused the connection: %s", self.host, self.port, reason)

    def _publish(self, message: _Message) -> None:
        topic, payload, retain = message
        client = self._client
        if client is None or not client.is_connected():
            raise ConnectionError(f"not connected to {self.host}:{self.port}")
        info = client.publish(topic, payload, qos=self.qos, retain=retain)
        if info.rc != 0:
            raise ConnectionError(f"publish failed (paho error {info.rc})")
        if self.qos > 0:
            info.wait_for_publish(self.timeout)
            if not info.is_published():
                raise TimeoutError(f"no acknowledgement within {self.timeout} s")

    def _put(self, leaf: str, payload: bytes, retain: bool) -> None:
        if self._queue is None:
            self.open()
        assert self._queue is not None
        self._queue.put((self.topic(leaf), payload, retain))

    def send(self, event: Event) -> None:
        self._put("events", json.dumps(event.as_dict()).encode(), False)
        if self.snapshots and event.snapshot is not None:
            self._put("snapshot", event.snapshot, True)

    def motion(self, on: bool) -> None:
        self._put("motion", b"ON" if on else b"OFF", True)

    def close(self) -> None:
        if self._queue is not None:
            self._queue.close()
        client, self._client = self._client, None
        if client is not None:
            if client.is_connected():
                info = client.publish(self.topic("available"), "offline", qos=1, retain=True)
                try:
                    info.wait_for_publish(min(1.0, self.timeout))
                except (RuntimeError, ValueError):
                    pass  # going away anyway: the broker's last will says it
            client.disconnect()
            client.loop_stop()

    def stats(self) -> dict[str, int]:
        return {} if self._queue is None else self._queue.stats()

    def __repr__(self) -> str:
        return f"Mqtt({self.host}:{self.port}, camera={self.camera!r})"
