"""Tracking: ids stay with objects across frames."""

from __future__ import annotations

from streamseg.events.objects import Object
from streamseg.events.tracking import Tracker, TrackerConfig


def _blob(x: float, y: float = 10, size: int = 10) -> Object:
    box = (int(x), int(y), size, size)
    return Object(box, size * size, (x + size / 2, y + size / 2), (x + size / 2, y + size - 1))


def test_two_objects_walking_past_each_other_keep_their_ids():
    tracker = Tracker()
    ids: list[list[int | None]] = []
    for step in range(20):
        # One walks right along the top, one left along the bottom.
        objects = [_blob(2 * step, 10), _blob(60 - 2 * step, 40)]
        ids.append([o.id for o in tracker.update(objects)])
    assert all(frame == [1, 2] for frame in ids)


def test_a_new_object_gets_a_new_id_and_a_lost_one_is_dropped_after_max_missing():
    tracker = Tracker(TrackerConfig(max_missing=2))
    assert [o.id for o in tracker.update([_blob(0)])] == [1]
    assert [o.id for o in tracker.update([_blob(1), _blob(80)])] == [1, 2]
    for _ in range(2):  # object 1 unseen for two frames: still known
        tracker.update([_blob(80)])
    assert [o.id for o in tracker.update([_blob(2), _blob(80)])] == [1, 2]
    for _ in range(3):  # three frames: dropped
        tracker.update([_blob(80)])
    assert 1 not in tracker.tracks
    assert [o.id for o in tracker.update([_blob(2)])] == [3]


def test_a_small_fast_object_without_overlap_is_followed_by_its_centroid():
    tracker = Tracker(TrackerConfig(max_distance=1.5))
    seen = [tracker.update([_blob(12 * step, size=8)])[0].id for step in range(5)]
    assert seen == [1, 1, 1, 1, 1]  # 12 px a frame: no overlap with an 8 px box
    far = Tracker(TrackerConfig(max_distance=0.5))
    assert [far.update([_blob(12 * step, size=8)])[0].id for step in range(3)] == [1, 2, 3]
