"""The JSON form of an event (:meth:`~streamseg.events.detector.Event.as_dict`), as a JSON
Schema (draft 2020-12): what the event log writes one per line, the webhook posts and MQTT
publishes. docs/events.md describes each field.

Example:
    >>> EVENT_SCHEMA["properties"]["type"]["enum"]
    ['start', 'update', 'end', 'clip']
"""

from __future__ import annotations

from typing import Any

__all__ = ["EVENT_SCHEMA"]

_POINT = {"type": "array", "items": {"type": "number"}, "minItems": 2, "maxItems": 2}
_BOX = {"type": "array", "items": {"type": "integer"}, "minItems": 4, "maxItems": 4}
_OBJECT = {
    "type": "object",
    "required": ["id", "box", "area", "centroid", "anchor", "confidence"],
    "additionalProperties": False,
    "properties": {
        "id": {"type": ["integer", "null"]},
        "box": _BOX,
        "area": {"type": "integer", "minimum": 1},
        "centroid": _POINT,
        "anchor": _POINT,
        "confidence": {"type": ["number", "null"], "minimum": 0, "maximum": 1},
    },
}

#: The schema of one event.
EVENT_SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "title": "streamseg event",
    "type": "object",
    "additionalProperties": False,
    "required": [
        "schema",
        "type",
        "id",
        "camera",
        "zone",
        "method",
        "frame",
        "time",
        "wall_time",
        "start_frame",
        "start_time",
        "end_frame",
        "end_time",
        "duration",
        "objects",
        "peak",
        "size",
        "snapshot",
        "clip",
    ],
    "properties": {
        "schema": {"const": 1},
        "type": {"enum": ["start", "update", "end", "clip"]},
        "id": {"type": "string"},
        "camera": {"type": "string"},
        "zone": {"type": "string"},
        "method": {"type": ["string", "null"]},
        "frame": {"type": "integer"},
        "time": {"type": "number"},
        "wall_time": {"type": "number"},
        "start_frame": {"type": "integer"},
        "start_time": {"type": "number"},
        "end_frame": {"type": ["integer", "null"]},
        "end_time": {"type": ["number", "null"]},
        "duration": {"type": "number", "minimum": 0},
        "objects": {"type": "array", "items": _OBJECT},
        "peak": {
            "type": "object",
            "required": ["frame", "time", "box", "area"],
            "additionalProperties": False,
            "properties": {
                "frame": {"type": "integer"},
                "time": {"type": "number"},
                "box": _BOX,
                "area": {"type": "integer"},
            },
        },
        "size": {"type": "array", "items": {"type": "integer"}, "minItems": 2, "maxItems": 2},
        "snapshot": {"type": ["string", "null"]},
        "clip": {"type": ["string", "null"]},
    },
}
