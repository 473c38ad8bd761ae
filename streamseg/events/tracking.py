"""Tracking: the same object keeps its id from frame to frame.

:class:`Tracker` associates each frame's objects with the tracks of the frames before,
greedily by box overlap (IoU, highest first) and then, for an object that moved more than
its size between two frames (a small, fast one), by the distance of centroids. An object
left unmatched starts a new track; a track unmatched for ``max_missing`` frames in a row is
dropped. That is the SORT family's association without its motion model: for the blobs of
a background subtractor, which split and merge, a Kalman filter adds little, and the
well-kept trackers (norfair, supervision's ByteTrack) bring dependencies a mask does not
need.

Example:
    >>> from streamseg.events.objects import Object
    >>> def blob(x):
    ...     return Object((x, 10, 10, 10), 100, (x + 4.5, 14.5), (x + 4.5, 19.0))
    >>> tracker = Tracker()
    >>> [o.id for o in tracker.update([blob(0), blob(40)])]
    [1, 2]
    >>> [o.id for o in tracker.update([blob(43), blob(2)])]      # both moved a little
    [2, 1]
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

from streamseg.events.objects import Object, box_iou
from streamseg.params import check

__all__ = ["Track", "Tracker", "TrackerConfig"]


@dataclass(frozen=True)
class TrackerConfig:
    """How objects are followed across frames.

    Attributes:
        iou: the smallest box overlap (intersection over union) that continues a track.
        max_distance: without overlap, the farthest a centroid may move from one frame to
            the next and still continue its track, in box diagonals of the track.
        max_missing: frames in a row a track may go unseen before it is dropped (an object
            the mask loses for a frame keeps its id).
    """

    iou: float = 0.2
    max_distance: float = 1.0
    max_missing: int = 5

    def __post_init__(self) -> None:
        check(0 < self.iou <= 1, f"iou must be in (0, 1], got {self.iou}")
        check(self.max_distance >= 0, f"max_distance must be >= 0, got {self.max_distance}")
        check(self.max_missing >= 0, f"max_missing must be >= 0, got {self.max_missing}")


@dataclass
class Track:
    """One followed object.

    Attributes:
        id: its id, unique in the tracker's life.
        last: the object as last seen (with ``id`` set).
        hits: frames it was seen.
        missing: frames in a row it has not been seen.
    """

    id: int
    last: Object
    hits: int = 1
    missing: int = 0


def _diagonal(box: tuple[int, int, int, int]) -> float:
    return math.hypot(box[2], box[3])


class Tracker:
    """Gives each object of a frame the id of the track it continues.

    Args:
        config: association thresholds.
    """

    def __init__(self, config: TrackerConfig | None = None) -> None:
        self.config = config or TrackerConfig()
        self.tracks: dict[int, Track] = {}
        self._next = 1

    def update(self, objects: list[Object]) -> list[Object]:
        """``objects`` of the next frame, each with its track's ``id``, in the same order."""
        pairs = self._associate(objects)
        out: list[Object] = []
        seen: set[int] = set()
        for i, obj in enumerate(objects):
            tid = pairs.get(i)
            if tid is None:
                tid = self._next
                self._next += 1
                self.tracks[tid] = Track(tid, obj, hits=0)
            track = self.tracks[tid]
            tagged = dataclasses.replace(obj, id=tid)
            track.last, track.hits, track.missing = tagged, track.hits + 1, 0
            seen.add(tid)
            out.append(tagged)
        for tid in list(self.tracks):
            if tid not in seen:
                track = self.tracks[tid]
                track.missing += 1
                if track.missing > self.config.max_missing:
                    del self.tracks[tid]
        return out

    def _associate(self, objects: list[Object]) -> dict[int, int]:
        """Object index → track id, greedily: best overlaps first, then nearest centroids."""
        if not objects or not self.tracks:
            return {}
        tracks = list(self.tracks.values())
        candidates = []
        for i, obj in enumerate(objects):
            for track in tracks:
                iou = box_iou(obj.box, track.last.box)
                if iou >= self.config.iou:
                    candidates.append((-iou, i, track.id))
        pairs = _greedy(sorted(candidates))
        taken = set(pairs.values())
        near = []
        for i, obj in enumerate(objects):
            if i in pairs:
                continue
            for track in tracks:
                if track.id in taken:
                    continue
                (ax, ay), (bx, by) = obj.centroid, track.last.centroid
                limit = self.config.max_distance * _diagonal(track.last.box)
                distance = math.hypot(ax - bx, ay - by)
                if distance <= limit:
                    near.append((distance, i, track.id))
        pairs.update(_greedy(sorted(near), set(pairs), taken))
        return pairs

    def reset(self) -> None:
        """Forget every track (ids go on counting)."""
        self.tracks.clear()


def _greedy(
    ranked: list[tuple[float, int, int]],
    used: set[int] | None = None,
    taken: set[int] | None = None,
) -> dict[int, int]:
    """One track per object and one object per track, best-ranked first."""
    used, taken = set(used or ()), set(taken or ())
    pairs: dict[int, int] = {}
    for _, i, tid in ranked:
        if i not in used and tid not in taken:
            pairs[i] = tid
            used.add(i)
            taken.add(tid)
    return pairs
