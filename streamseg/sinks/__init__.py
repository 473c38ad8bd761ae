"""Sinks: where masks go (CDnet PNGs, videos, a mosaic, a callback, a live web view), and
where the events raised from them go (a JSON Lines log, a webhook, MQTT, Prometheus)."""

from streamseg.sinks.base import Sink
from streamseg.sinks.callback import CallbackSink
from streamseg.sinks.eventlog import EventLog
from streamseg.sinks.events import CallbackOutput, EventOutput, EventSink
from streamseg.sinks.metrics import Metrics
from streamseg.sinks.mosaic import MosaicSink, mosaic
from streamseg.sinks.mqtt import Mqtt
from streamseg.sinks.png import PngMaskSink
from streamseg.sinks.video import MaskVideoSink, OverlayVideoSink, VideoWriter, overlay
from streamseg.sinks.web import WebSink
from streamseg.sinks.webhook import Webhook

__all__ = [
    "Sink",
    "CallbackSink",
    "CallbackOutput",
    "EventLog",
    "EventOutput",
    "EventSink",
    "Metrics",
    "Mqtt",
    "Webhook",
    "MosaicSink",
    "PngMaskSink",
    "MaskVideoSink",
    "OverlayVideoSink",
    "VideoWriter",
    "WebSink",
    "mosaic",
    "overlay",
]
