"""Events: a mask per frame becomes "something entered the driveway" and "it left".

:class:`EventDetector` takes each frame with its mask, OpenCV-style
(``events = detector.update(frame, mask, t)``), and returns the events of that frame:

* ``start``: an object has been in a zone for ``min_frames`` frames in a row (motion's
  ``minimum_motion_frames``: a flicker of one frame raises nothing). Its ``start_frame`` is
  the first of those frames;
* ``update``: the objects in the zone changed (one entered, one left), at most once per
  ``update_interval`` seconds;
* ``end``: no object has been in the zone for ``off_delay`` seconds. Its ``end_frame`` is
  the last frame an object was in it;
* ``clip``: the event's clip file is complete (``post`` seconds after its end).

Each zone has its own events (see :mod:`streamseg.events.zones`); objects are the mask's
connected components (:mod:`~streamseg.events.objects`), tracked so each keeps an id
(:mod:`~streamseg.events.tracking`). The lighting guard drops a frame where most of the
picture turned foreground at once (a light switched on, auto-exposure, a cloud), and the
frames of the next ``guard_hold`` seconds, instead of raising an alarm: such a frame counts
neither as presence nor as absence. Every event records its peak (the largest object seen
in the zone) and a snapshot (the JPEG of the frame with the boxes drawn: at the start, then
at the peak); with ``clip.enabled``, an MP4 of the event from ``pre`` seconds before to
``post`` seconds after, cut from a bounded ring buffer (:mod:`~streamseg.events.clips`).

Example:
    >>> import numpy as np
    >>> detector = EventDetector(EventConfig(min_frames=2, off_delay=0.2, snapshot=False))
    >>> frame = np.zeros((48, 64, 3), np.uint8)
    >>> mask = np.zeros((48, 64), np.uint8)
    >>> for i in range(12):
    ...     mask[:] = 0
    ...     if 2 <= i < 6:
    ...         mask[10:30, 4 * i : 4 * i + 10] = 255       # an object walks by
    ...     for event in detector.update(frame, mask, t=i / 10):
    ...         print(event.type, event.zone, event.frame, event.start_frame, event.end_frame)
    start all 3 2 None
    end all 7 2 5
"""

from __future__ import annotations

import dataclasses
import logging
import math
import re
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np

from streamseg.errors import ConfigError
from streamseg.events.clips import ClipConfig, ClipRecorder, FrameRing, encode_jpeg
from streamseg.events.objects import Object, ObjectConfig, find_objects
from streamseg.events.tracking import Tracker, TrackerConfig
from streamseg.events.zones import Anchor, ZoneConfig, Zones, zones_from_data
from streamseg.frame import Frame
from streamseg.params import at_path, build, check

__all__ = [
    "Event",
    "EventConfig",
    "EventDetector",
    "EventType",
    "Peak",
    "draw_objects",
    "event_config_from_data",
    "load_event_file",
]

log = logging.getLogger(__name__)

#: The kinds of event, in the order an event has them.
EventType = Literal["start", "update", "end", "clip"]
#: The version of the event's JSON form (:meth:`Event.as_dict`); docs/events.md has it.
SCHEMA_VERSION = 1
#: Times are sums of frame intervals: 0.7 - 0.5 must count as the 0.2 s it is.
_EPSILON = 1e-6
#: Longest wait in seconds for a clip's writer to finish its file.
_CLIP_WAIT = 30.0


@dataclass(frozen=True)
class EventConfig:
    """How objects become events.

    Attributes:
        objects: the objects of a mask: ``min_area``, ``open``, ``close``.
        tracking: the association of objects across frames: ``iou``, ``max_distance``,
            ``max_missing``.
        anchor: which point of an object puts it in a zone: ``bottom_center``,
            ``center`` or ``box`` (a zone may say otherwise for itself).
        min_frames: frames in a row an object must be in a zone to start an event.
        off_delay: seconds without an object in the zone that end its event.
        update_interval: shortest time in seconds between two updates of one event.
        lighting_guard: the share of the picture that turns foreground at once and reads as
            a change of light, not as objects (0: no guard).
        guard_hold: seconds after such a frame that frames stay dropped (the method takes
            a moment to learn the new light).
        snapshot: keep a JPEG of each event (with its boxes drawn).
        snapshot_quality: its JPEG quality, 1..100.
        clip: the video clip of each event: ``enabled``, ``pre``, ``post``,
            ``max_length``, ``quality``, ``buffer_mb``.
    """

    objects: ObjectConfig = field(default_factory=ObjectConfig)
    tracking: TrackerConfig = field(default_factory=TrackerConfig)
    anchor: Anchor = "bottom_center"
    min_frames: int = 3
    off_delay: float = 2.0
    update_interval: float = 1.0
    lighting_guard: float = 0.5
    guard_hold: float = 1.0
    snapshot: bool = True
    snapshot_quality: int = 85
    clip: ClipConfig = field(default_factory=ClipConfig)

    def __post_init__(self) -> None:
        check(self.min_frames >= 1, f"min_frames must be >= 1, got {self.min_frames}")
        check(self.off_delay >= 0, f"off_delay must be >= 0 seconds, got {self.off_delay}")
        check(self.update_interval >= 0, "update_interval must be >= 0 seconds")
        check(0 <= self.lighting_guard <= 1, "lighting_guard is a share of the frame, 0..1")
        check(self.guard_hold >= 0, f"guard_hold must be >= 0 seconds, got {self.guard_hold}")
        check(1 <= self.snapshot_quality <= 100, "snapshot_quality must be in 1..100")


@dataclass(frozen=True)
class Peak:
    """The largest object an event saw in its zone.

    Attributes:
        frame: the frame it was seen in.
        time: that frame's time in seconds.
        box: its box ``(x, y, w, h)``.
        area: its area in pixels.
    """

    frame: int
    time: float
    box: tuple[int, int, int, int]
    area: int


@dataclass(frozen=True)
class Event:
    """One event of one zone (its JSON form: :meth:`as_dict`, docs/events.md).

    Attributes:
        type: ``start``, ``update``, ``end`` or ``clip``.
        id: the event's id, shared by its start, updates, end and clip.
        camera: the camera (stream) name.
        zone: the zone's name.
        frame: the frame the event was raised at.
        time: that frame's time in seconds.
        start_frame: the first frame an object was in the zone.
        start_time: that frame's time.
        end_frame: the last frame an object was in the zone (``end`` and ``clip``).
        end_time: that frame's time.
        objects: the objects in the zone at ``frame`` (none for ``end`` and ``clip``).
        peak: the largest object seen in the zone so far.
        size: the frames' ``(width, height)``.
        method: the method whose masks raised it.
        wall_time: the Unix time the event was raised.
        snapshot: the JPEG of the event's frame with the boxes (``start``: that frame;
            ``end``: the peak's), ``None`` for updates or without snapshots.
        snapshot_path: where the snapshot is written (with a media folder).
        clip_path: where the clip is written (with clips and a media folder); complete
            once the ``clip`` event came.
    """

    type: EventType
    id: str
    camera: str
    zone: str
    frame: int
    time: float
    start_frame: int
    start_time: float
    end_frame: int | None
    end_time: float | None
    objects: tuple[Object, ...]
    peak: Peak
    size: tuple[int, int]
    method: str | None = None
    wall_time: float = 0.0
    snapshot: bytes | None = field(default=None, repr=False)
    snapshot_path: str | None = None
    clip_path: str | None = None

    def as_dict(self) -> dict[str, Any]:
        """The event as JSON-able data: the schema of docs/events.md (``schema``: 1)."""
        return {
            "schema": SCHEMA_VERSION,
            "type": self.type,
            "id": self.id,
            "camera": self.camera,
            "zone": self.zone,
            "method": self.method,
            "frame": self.frame,
            "time": round(self.time, 3),
            "wall_time": round(self.wall_time, 3),
            "start_frame": self.start_frame,
            "start_time": round(self.start_time, 3),
            "end_frame": self.end_frame,
            "end_time": None if self.end_time is None else round(self.end_time, 3),
            "duration": round((self.end_time or self.time) - self.start_time, 3),
            "objects": [o.as_dict() for o in self.objects],
            "peak": {
                "frame": self.peak.frame,
                "time": round(self.peak.time, 3),
                "box": list(self.peak.box),
                "area": self.peak.area,
            },
            "size": list(self.size),
            "snapshot": self.snapshot_path,
            "clip": self.clip_path,
        }


@dataclass
class _Open:
    """An event in progress (or a finished one whose clip is still being written)."""

    id: str
    start: tuple[int, float]
    seen: tuple[int, float]  # the last frame with an object in the zone
    ids: frozenset[int]
    reported: frozenset[int]
    updated: float
    peak: Peak
    peak_image: np.ndarray | None
    peak_objects: tuple[Object, ...]
    snapshot_path: str | None = None
    clip: ClipRecorder | None = None
    clip_path: str | None = None
    ended: Event | None = None  # set once ended: the clip event copies it


@dataclass
class _ZoneState:
    streak: int = 0
    first: tuple[int, float] = (0, 0.0)
    open: _Open | None = None
    starts: int = 0
    ends: int = 0


def _safe(text: str) -> str:
    """``text`` as a piece of a file name."""
    return re.sub(r"[^\w.-]+", "_", text).strip("_") or "_"


def draw_objects(
    image: np.ndarray, objects: Sequence[Object], colour: tuple[int, int, int]
) -> None:
    """Boxes and ids of ``objects`` on ``image`` (BGR, in place)."""
    import cv2

    for obj in objects:
        x, y, w, h = obj.box
        cv2.rectangle(image, (x, y), (x + w - 1, y + h - 1), colour, 1)
        if obj.id is not None:
            label = f"#{obj.id}"
            cv2.putText(
                image,
                label,
                (x, max(10, y - 2)),
                cv2.FONT_HERSHEY_SIMPLEX,
                0.35,
                colour,
                1,
                cv2.LINE_AA,
            )


class EventDetector:
    """Frames and masks in, events out (see the module doc).

    Args:
        config: objects, tracking, timing, guard, snapshots and clips.
        zones: the zones (without an include zone the whole frame is one, ``all``).
        camera: the camera's name (events and topics carry it).
        method: the method whose masks come in (events carry it).
        media: a folder for snapshots (``<id>.jpg``) and clips (``<id>.mp4``);
            ``None``: snapshots stay in memory (:attr:`Event.snapshot`), clips are not made.
    """

    def __init__(
        self,
        config: EventConfig | None = None,
        zones: Sequence[ZoneConfig] = (),
        *,
        camera: str = "streamseg",
        method: str | None = None,
        media: str | Path | None = None,
    ) -> None:
        self.config = config or EventConfig()
        self.zone_configs = tuple(zones)
        self.camera = camera
        self.method = method
        self.media = None if media is None else Path(media).absolute()
        self.tracker = Tracker(self.config.tracking)
        self.zones: Zones | None = None
        self.states: dict[str, _ZoneState] = {}
        #: The tracked objects of the last frame (drawn by :meth:`draw`).
        self.objects: list[Object] = []
        #: Frames dropped by the lighting guard or a preclusive zone.
        self.guarded = 0
        self.frames = 0
        self._guard_until = -math.inf
        self._ring = FrameRing(self.config.clip) if self._clips else None
        self._clips_open: list[_Open] = []
        self._counter = 0
        self._prefix = _safe(f"{camera}-{time.strftime('%Y%m%d-%H%M%S')}")
        self._size = (0, 0)

    @property
    def _clips(self) -> bool:
        return self.config.clip.enabled and self.media is not None

    @property
    def motion(self) -> bool:
        """Whether an event is in progress in any zone."""
        return any(s.open is not None and s.open.ended is None for s in self.states.values())

    @property
    def ring_bytes(self) -> int:
        """Memory the clip ring buffer holds now."""
        return 0 if self._ring is None else self._ring.bytes

    def counts(self) -> dict[str, dict[str, int]]:
        """Per zone: ``starts``, ``ends`` and ``active`` (1 while an event is open)."""
        return {
            name: {
                "starts": s.starts,
                "ends": s.ends,
                "active": int(s.open is not None and s.open.ended is None),
            }
            for name, s in list(self.states.items())  # read from other threads too
        }

    def _lay_zones(self, width: int, height: int) -> Zones:
        if self.zones is None or (self.zones.width, self.zones.height) != (width, height):
            self.zones = Zones.build(self.zone_configs, width, height, self.config.anchor)
            self.states = {name: self.states.get(name, _ZoneState()) for name in self.zones.names}
            self._size = (width, height)
        return self.zones

    def update(
        self,
        frame: np.ndarray | Frame,
        mask: np.ndarray,
        t: float | None = None,
        *,
        index: int | None = None,
        score: np.ndarray | None = None,
    ) -> list[Event]:
        """The events of one frame.

        Args:
            frame: the frame (``uint8`` BGR or gray), or a :class:`~streamseg.frame.Frame`
                (its index and timestamp are then used).
            mask: its mask, ``uint8 H×W`` (nonzero: foreground).
            t: the frame's time in seconds (``None``: the frame's timestamp, else the
                monotonic clock).
            index: the frame's number (``None``: counted from 0).
            score: the method's continuous score, ``float32 H×W`` (objects' confidence).

        Returns:
            The frame's events, in zone order.
        """
        if isinstance(frame, Frame):
            index = frame.index if index is None else index
            t = frame.timestamp if t is None else t
            image = frame.image
        else:
            image = frame
        t = time.monotonic() if t is None else float(t)
        index = self.frames if index is None else index
        self.frames += 1
        h, w = mask.shape[:2]
        zones = self._lay_zones(w, h)
        events: list[Event] = []
        jpeg = None
        if self._ring is not None:
            streaks = [s.first[1] for s in self.states.values() if s.streak > 0]
            jpeg = self._ring.add(t, image, since=min(streaks, default=t))
        self._feed_clips(index, t, jpeg, events)
        mask = zones.mask_excluded(mask)
        if self._light_changed(mask, t):
            self.guarded += 1
            self.objects = []
            return events
        objects = self.tracker.update(find_objects(mask, self.config.objects, score))
        self.objects = objects
        if zones.precluded(objects):
            self.guarded += 1
            return events
        for name, inside in zones.members(objects).items():
            event = self._zone(name, self.states[name], inside, image, index, t)
            if event is not None:
                events.append(event)
        return events

    def _light_changed(self, mask: np.ndarray, t: float) -> bool:
        """Whether the lighting guard drops this frame (and starts or extends its hold)."""
        import cv2

        guard = self.config.lighting_guard
        if guard <= 0:
            return False
        zones = self.zones
        valid = mask.size if zones is None or zones.kept is None else cv2.countNonZero(zones.kept)
        if valid and cv2.countNonZero(mask) >= guard * valid:
            self._guard_until = t + self.config.guard_hold
            return True
        return t < self._guard_until

    def _zone(
        self,
        name: str,
        state: _ZoneState,
        inside: list[Object],
        image: np.ndarray,
        index: int,
        t: float,
    ) -> Event | None:
        """The zone's event of this frame, if it has one."""
        event = state.open if state.open is not None and state.open.ended is None else None
        if event is None:
            if not inside:
                state.streak = 0
                return None
            if state.streak == 0:
                state.first = (index, t)
            state.streak += 1
            if state.streak < self.config.min_frames:
                return None
            state.streak = 0
            state.starts += 1
            return self._start(name, state, inside, image, index, t)
        if inside:
            event.seen = (index, t)
            self._grow_peak(event, inside, image, index, t)
            event.ids = frozenset(o.id for o in inside if o.id is not None)
            due = t - event.updated >= self.config.update_interval - _EPSILON
            if event.ids != event.reported and due:
                event.reported, event.updated = event.ids, t
                return self._event("update", name, event, index, t, tuple(inside))
            return None
        if t - event.seen[1] < self.config.off_delay - _EPSILON:
            return None
        state.ends += 1
        return self._end(name, state, event, index, t)

    def _start(
        self,
        name: str,
        state: _ZoneState,
        inside: list[Object],
        image: np.ndarray,
        index: int,
        t: float,
    ) -> Event:
        self._counter += 1
        biggest = max(inside, key=lambda o: o.area)
        ids = frozenset(o.id for o in inside if o.id is not None)
        event = _Open(
            id=f"{self._prefix}-{self._counter:04d}",
            start=state.first,
            seen=(index, t),
            ids=ids,
            reported=ids,
            updated=t,
            peak=Peak(index, t, biggest.box, biggest.area),
            peak_image=None,
            peak_objects=tuple(inside),
        )
        state.open = event
        snapshot = None
        if self.config.snapshot:
            snapshot = self._snapshot(image, inside)
            self._write_snapshot(event, snapshot)
            event.peak_image = image.copy()
        if self._clips and self._ring is not None and self.media is not None:
            event.clip_path = str(self.media / f"{event.id}.mp4")
            first = self._ring.since(state.first[1] - self.config.clip.pre)
            event.clip = ClipRecorder(
                Path(event.clip_path), first, state.first[1], self.config.clip
            )
            self._clips_open.append(event)
        return self._event("start", name, event, index, t, tuple(inside), snapshot)

    def _end(self, name: str, state: _ZoneState, event: _Open, index: int, t: float) -> Event:
        snapshot = None
        if self.config.snapshot and event.peak_image is not None:
            snapshot = self._snapshot(event.peak_image, event.peak_objects)
            self._write_snapshot(event, snapshot)
            event.peak_image = None
        if event.clip is not None:
            event.clip.end_at(event.seen[1])
        ended = self._event("end", name, event, index, t, (), snapshot)
        event.ended = ended
        if event.clip is None:
            state.open = None
        return ended

    def _grow_peak(
        self, event: _Open, inside: list[Object], image: np.ndarray, index: int, t: float
    ) -> None:
        biggest = max(inside, key=lambda o: o.area)
        if biggest.area <= event.peak.area:
            return
        event.peak = Peak(index, t, biggest.box, biggest.area)
        event.peak_objects = tuple(inside)
        if self.config.snapshot:
            if event.peak_image is None or event.peak_image.shape != image.shape:
                event.peak_image = image.copy()
            else:
                np.copyto(event.peak_image, image)

    def _snapshot(self, image: np.ndarray, objects: Sequence[Object]) -> bytes:
        import cv2

        picture = image.copy() if image.ndim == 3 else cv2.cvtColor(image, cv2.COLOR_GRAY2BGR)
        if self.zones is not None:
            self.zones.draw(picture)
        draw_objects(picture, objects, (0, 0, 255))
        return encode_jpeg(picture, self.config.snapshot_quality)

    def _write_snapshot(self, event: _Open, snapshot: bytes) -> None:
        if self.media is None:
            return
        from streamseg.fileio import atomic_write, ensure_writable_dir

        path = self.media / f"{event.id}.jpg"
        try:
            ensure_writable_dir(self.media)
            atomic_write(path, snapshot)
        except OSError as err:  # a full disk: the event goes on without its snapshot
            log.warning("snapshot %s: %s", path, err)
            return
        event.snapshot_path = str(path)

    def _event(
        self,
        kind: EventType,
        zone: str,
        event: _Open,
        index: int,
        t: float,
        objects: tuple[Object, ...],
        snapshot: bytes | None = None,
    ) -> Event:
        ended = kind in ("end", "clip")
        return Event(
            type=kind,
            id=event.id,
            camera=self.camera,
            zone=zone,
            frame=index,
            time=t,
            start_frame=event.start[0],
            start_time=event.start[1],
            end_frame=event.seen[0] if ended else None,
            end_time=event.seen[1] if ended else None,
            objects=objects,
            peak=event.peak,
            size=self._size,
            method=self.method,
            wall_time=time.time(),
            snapshot=snapshot,
            snapshot_path=event.snapshot_path,
            clip_path=event.clip_path,
        )

    def _feed_clips(self, index: int, t: float, jpeg: bytes | None, events: list[Event]) -> None:
        """Hand the frame to every clip being recorded, and raise a ``clip`` event for each
        whose file is written (never waiting for a writer: the frame loop goes on)."""
        if jpeg is not None:
            for event in self._clips_open:
                assert event.clip is not None
                if not event.clip.done:
                    event.clip.add(t, jpeg)
        for event in list(self._clips_open):
            assert event.clip is not None
            if event.clip.done and event.clip.join(0):
                self._clips_open.remove(event)
                events.append(self._clip_done(event, index, t))

    def _clip_done(self, event: _Open, index: int, t: float) -> Event:
        """The ``clip`` event of a clip whose writer finished (raised at frame ``index``,
        time ``t``)."""
        assert event.clip is not None
        if event.clip.error or not Path(event.clip_path or "").exists():
            log.warning("clip %s was not written", event.clip_path)
            event.clip_path = None
        zone = next((n for n, s in self.states.items() if s.open is event), "")
        if zone and event.ended is not None:
            self.states[zone].open = None
        base = event.ended or self._event("clip", zone, event, index, t, ())
        return dataclasses.replace(
            base,
            type="clip",
            frame=index,
            time=t,
            wall_time=time.time(),
            snapshot=None,
            clip_path=event.clip_path,
        )

    def close(self, t: float | None = None, index: int | None = None) -> list[Event]:
        """End every open event (the stream ended) and finish every clip.

        Args:
            t: the time of the end (``None``: the last frame an object was seen).
            index: the frame of the end (``None``: the last frame counted).

        Returns:
            The ``end`` of every open event, and the ``clip`` of every clip.
        """
        events: list[Event] = []
        for name, state in self.states.items():
            event = state.open
            if event is not None and event.ended is None:
                state.ends += 1
                last = self.frames - 1 if index is None else index
                events.append(
                    self._end(name, state, event, last, event.seen[1] if t is None else t)
                )
        last = self.frames - 1 if index is None else index
        for event in list(self._clips_open):
            assert event.clip is not None
            event.clip.finish()
            if not event.clip.join(_CLIP_WAIT):
                log.warning("clip %s: its writer did not finish", event.clip_path)
            self._clips_open.remove(event)
            events.append(self._clip_done(event, last, event.seen[1] if t is None else t))
        return events

    def draw(self, image: np.ndarray) -> None:
        """Zones, boxes and ids of the last frame on ``image`` (BGR, frame size, in place)."""
        if self.zones is None or image.shape[:2] != (self.zones.height, self.zones.width):
            return
        self.zones.draw(image)
        draw_objects(image, self.objects, (0, 255, 255))


def _read_yaml(path: Path) -> Any:
    import yaml

    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"zones file {path} does not exist") from None
    except (OSError, UnicodeDecodeError) as err:
        raise ConfigError(f"cannot read zones file {path}: {err}") from None
    try:
        return yaml.safe_load(text) or {}
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        raise ConfigError(f"zones file {path} is not valid YAML{where}") from None


def event_config_from_data(data: Any) -> tuple[EventConfig, tuple[ZoneConfig, ...]]:
    """The detector's configuration and zones from YAML-shaped data (``zones:``, ``events:``).

    Raises:
        ConfigError: an unknown key, a bad zone or parameter.
    """
    if not isinstance(data, Mapping):
        raise ConfigError("zones file: expected a mapping with zones: and events:")
    unknown = [k for k in data if k not in ("zones", "events")]
    if unknown:
        raise ConfigError(f"zones file: unknown key {unknown[0]!r} (valid: zones, events)")
    params = data.get("events") or {}
    if not isinstance(params, Mapping):
        raise ConfigError("zones file: events: must be a mapping of the detector's parameters")
    try:
        config = build(EventConfig, params)
    except ConfigError as err:
        raise at_path(err, EventConfig, "events") from None
    return config, zones_from_data(data.get("zones"))


def load_event_file(path: str | Path) -> tuple[EventConfig, tuple[ZoneConfig, ...]]:
    """Read a zones file: its ``zones:`` list and its ``events:`` parameters.

    Raises:
        ConfigError: a missing or invalid file, or a bad zone or parameter (named with
            the file).
    """
    path = Path(path)
    try:
        return event_config_from_data(_read_yaml(path))
    except ConfigError as err:
        text = str(err)
        raise ConfigError(text if str(path) in text else f"{path}: {text}") from None
