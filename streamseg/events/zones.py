"""Zones: polygons of the picture where objects raise events, or are ignored.

A zone is a polygon in normalised coordinates (0..1 of the width and height, so one zone
file fits every resolution of a camera) or in pixels, of one kind:

* ``include``: events are raised for the objects in it (every zone gets its own events);
* ``exclude``: its pixels are taken out of the mask before objects are found (a clock, a
  flag, a tree, a road the user does not care about);
* ``preclusive`` (ZoneMinder's kind): an object in it cancels the frame for every zone, as
  the lighting guard does (a patch of sky or a lamp that changes when the light does).

An object is in a zone by its anchor, as the zone or the detector says: ``bottom_center``
(where it stands: the convention of Frigate and roboflow supervision, so a person walking
past the bottom of a driveway zone is not in it), ``center`` (its centroid), or ``box``
(any pixel of its box in the zone). Without an include zone the whole frame is one, named
``all``.

Example:
    >>> zones = Zones.build([ZoneConfig("door", ((0.5, 0.0), (1.0, 0.0), (1.0, 1.0), (0.5, 1.0)))],
    ...                     width=64, height=48)
    >>> from streamseg.events.objects import Object
    >>> person = Object((40, 10, 8, 20), 160, (43.5, 19.5), (43.5, 29.0))
    >>> {name: [o.area for o in objs] for name, objs in zones.members([person]).items()}
    {'door': [160]}
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from streamseg.errors import ConfigError
from streamseg.events.objects import Object
from streamseg.params import build, check

__all__ = ["Anchor", "ZoneConfig", "Zones", "zones_from_data"]

#: Which point of an object decides whether it is in a zone.
Anchor = Literal["bottom_center", "center", "box"]
#: The colours zones are drawn in (BGR): include, exclude, preclusive.
_COLOURS = {"include": (80, 220, 80), "exclude": (150, 150, 150), "preclusive": (0, 160, 255)}


@dataclass(frozen=True)
class ZoneConfig:
    """One zone.

    Attributes:
        name: unique among the zones; events and MQTT topics carry it.
        points: the polygon's corners ``[[x, y], ...]`` (three at least).
        kind: ``include``, ``exclude`` or ``preclusive`` (see the module doc).
        units: ``normalized`` (0..1 of the width and height), ``pixels``, or ``auto``
            (normalised when every coordinate is within 0..1).
        anchor: ``bottom_center``, ``center`` or ``box`` (``None``: the detector's).
    """

    name: str
    points: tuple[tuple[float, float], ...]
    kind: Literal["include", "exclude", "preclusive"] = "include"
    units: Literal["auto", "normalized", "pixels"] = "auto"
    anchor: Anchor | None = None

    def __post_init__(self) -> None:
        check(bool(self.name.strip()), "zone: give each zone a name")
        check(len(self.points) >= 3, f"zone {self.name}: a polygon needs 3 points at least")
        values = [v for point in self.points for v in point]
        check(all(v >= 0 for v in values), f"zone {self.name}: coordinates must be >= 0")
        if self.units == "normalized":
            check(
                all(v <= 1 for v in values),
                f"zone {self.name}: normalized coordinates are within 0..1 (or say units: pixels)",
            )

    @property
    def normalized(self) -> bool:
        """The points are fractions of the frame."""
        if self.units == "auto":
            return all(v <= 1 for point in self.points for v in point)
        return self.units == "normalized"

    def polygon(self, width: int, height: int) -> np.ndarray:
        """The corners in pixels of a ``width × height`` frame, ``float32 N×2``."""
        points = np.asarray(self.points, np.float32)
        if self.normalized:
            points = points * np.array([width - 1, height - 1], np.float32)
        return points


def zones_from_data(data: Any) -> tuple[ZoneConfig, ...]:
    """Zones from YAML-shaped data: a list of mappings (``name``, ``points``, ...).

    Raises:
        ConfigError: not a list of zones, a bad zone, or two zones of one name.
    """
    if data is None:
        return ()
    if not isinstance(data, Sequence) or isinstance(data, str):
        raise ConfigError("zones: expected a list of {name: ..., points: [[x, y], ...]}")
    zones = []
    for i, entry in enumerate(data):
        if not isinstance(entry, Mapping):
            raise ConfigError(f"zones: entry {i} must be a mapping (name, points, kind)")
        try:
            zones.append(build(ZoneConfig, entry))
        except ConfigError as err:
            raise ConfigError(f"zones: entry {i}: {err}") from None
    names = [z.name for z in zones]
    if len(set(names)) != len(names):
        raise ConfigError(f"zones: names must be unique ({', '.join(names)})")
    return tuple(zones)


class Zones:
    """Zones laid on frames of one size: which objects are in which zone, what is masked.

    Use :meth:`build`.
    """

    def __init__(
        self,
        zones: Sequence[ZoneConfig],
        width: int,
        height: int,
        polygons: Sequence[np.ndarray],
        anchor: Anchor,
    ) -> None:
        self.zones = tuple(zones)
        self.width, self.height = width, height
        self.anchor = anchor
        self._polygons = list(polygons)
        self._rasters: dict[str, np.ndarray] = {}
        excluded = [
            p for z, p in zip(self.zones, self._polygons, strict=True) if z.kind == "exclude"
        ]
        #: 255 where a pixel is kept, 0 in an exclude zone (``None``: no exclude zone).
        self.kept: np.ndarray | None = None
        if excluded:
            self.kept = 255 - self._raster(excluded)

    @classmethod
    def build(
        cls,
        zones: Sequence[ZoneConfig],
        width: int,
        height: int,
        anchor: Anchor = "bottom_center",
    ) -> Zones:
        """``zones`` on ``width × height`` frames; the whole frame (``all``) without an
        include zone."""
        zones = list(zones)
        if not any(z.kind == "include" for z in zones):
            whole = ((0.0, 0.0), (1.0, 0.0), (1.0, 1.0), (0.0, 1.0))
            zones.insert(0, ZoneConfig("all", whole, units="normalized"))
        return cls(zones, width, height, [z.polygon(width, height) for z in zones], anchor)

    @property
    def names(self) -> list[str]:
        """The include zones, which raise events."""
        return [z.name for z in self.zones if z.kind == "include"]

    def _raster(self, polygons: Sequence[np.ndarray]) -> np.ndarray:
        import cv2

        raster = np.zeros((self.height, self.width), np.uint8)
        cv2.fillPoly(raster, [np.round(p).astype(np.int32) for p in polygons], 255)
        return raster

    def mask_excluded(self, mask: np.ndarray) -> np.ndarray:
        """``mask`` without the pixels of exclude zones (``mask`` itself if there are none)."""
        import cv2

        if self.kept is None:
            return mask
        return cv2.bitwise_and(mask, self.kept)

    def _inside(self, zone: ZoneConfig, polygon: np.ndarray, obj: Object) -> bool:
        import cv2

        rule = zone.anchor or self.anchor
        if rule == "box":
            raster = self._rasters.get(zone.name)
            if raster is None:
                raster = self._rasters[zone.name] = self._raster([polygon])
            x, y, w, h = obj.box
            return bool(raster[y : y + h, x : x + w].any())
        point = obj.anchor if rule == "bottom_center" else obj.centroid
        return cv2.pointPolygonTest(polygon, (float(point[0]), float(point[1])), False) >= 0

    def members(self, objects: Sequence[Object]) -> dict[str, list[Object]]:
        """Each include zone's objects (every include zone is a key)."""
        return {
            z.name: [o for o in objects if self._inside(z, p, o)]
            for z, p in zip(self.zones, self._polygons, strict=True)
            if z.kind == "include"
        }

    def precluded(self, objects: Sequence[Object]) -> bool:
        """Whether an object is in a preclusive zone (the frame is then cancelled)."""
        return any(
            self._inside(z, p, o)
            for z, p in zip(self.zones, self._polygons, strict=True)
            if z.kind == "preclusive"
            for o in objects
        )

    def draw(self, image: np.ndarray) -> None:
        """Draw the zones' outlines and names on ``image`` (BGR, this frame size) in place."""
        import cv2

        for zone, polygon in zip(self.zones, self._polygons, strict=True):
            if zone.name == "all" and zone.kind == "include" and len(self.zones) == 1:
                continue  # the whole frame: its outline is the picture's edge
            colour = _COLOURS[zone.kind]
            corners = np.round(polygon).astype(np.int32)
            cv2.polylines(image, [corners], True, colour, 1, cv2.LINE_AA)
            x, y = (int(v) for v in corners.min(axis=0))
            cv2.putText(
                image,
                zone.name,
                (x + 2, y + 12),
                cv2.FONT_HERSHEY_SIMPLEX,
                0.4,
                colour,
                1,
                cv2.LINE_AA,
            )
