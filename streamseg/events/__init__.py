"""Surveillance events from masks: objects, tracks, zones, and start/update/end events.

A mask per frame becomes objects (:mod:`~streamseg.events.objects`), followed across
frames (:mod:`~streamseg.events.tracking`), placed in zones (:mod:`~streamseg.events.zones`)
and turned into events with snapshots and clips (:mod:`~streamseg.events.detector`,
:mod:`~streamseg.events.clips`); :mod:`~streamseg.events.schema` is the events' JSON form.
It works with any method's masks, and without the CLI::

    detector = EventDetector(config, zones)
    for frame in source:
        for event in detector.update(frame.image, seg.apply(frame.image), frame.timestamp):
            print(event.type, event.zone)

Delivery (an event log, a webhook, MQTT, Prometheus metrics) is in :mod:`streamseg.sinks`.
"""

from streamseg.events.clips import ClipConfig
from streamseg.events.detector import (
    Event,
    EventConfig,
    EventDetector,
    Peak,
    event_config_from_data,
    load_event_file,
)
from streamseg.events.objects import Object, ObjectConfig, find_objects
from streamseg.events.schema import EVENT_SCHEMA
from streamseg.events.tracking import Tracker, TrackerConfig
from streamseg.events.zones import ZoneConfig, Zones, zones_from_data

__all__ = [
    "EVENT_SCHEMA",
    "ClipConfig",
    "Event",
    "EventConfig",
    "EventDetector",
    "Object",
    "ObjectConfig",
    "Peak",
    "Tracker",
    "TrackerConfig",
    "ZoneConfig",
    "Zones",
    "event_config_from_data",
    "find_objects",
    "load_event_file",
    "zones_from_data",
]
