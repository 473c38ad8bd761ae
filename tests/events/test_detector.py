"""Events on the synthetic scene, whose ground truth is exact, and their media."""

from __future__ import annotations

import json
from pathlib import Path

import av
import cv2
import numpy as np
import pytest

import streamseg as ss
from streamseg.events.clips import ClipConfig, FrameRing
from streamseg.events.detector import Event, EventConfig, EventDetector
from streamseg.events.objects import ObjectConfig
from streamseg.events.schema import EVENT_SCHEMA
from streamseg.events.zones import ZoneConfig
from streamseg.sources.synthetic import SyntheticScene

FPS = 25.0
#: The ellipse (object 1) crosses this band from right to left around frames 80-110;
#: no other object's feet come into it.
CROSSING = ((40, 66), (60, 66), (60, 90), (40, 90))
#: In the scene of seed 5, object 2 stops here (frames 87-149 of 250) and moves on; object 0
#: passes through before frame 30.
STOPPING = ((74, 38), (84, 38), (84, 46), (74, 46))


def _inside(scene: SyntheticScene, obj: int, polygon: tuple[tuple[int, int], ...]) -> list[int]:
    """Frames whose object ``obj`` has its bottom-centre in ``polygon``, from the scene's
    own boxes (not from a mask)."""
    contour = np.asarray(polygon, np.float32)
    frames = []
    for t in range(scene.frames):
        box = scene.boxes(t)[obj]
        if box is not None:
            x, y, w, h = box
            if cv2.pointPolygonTest(contour, (x + (w - 1) / 2, float(y + h - 1)), False) >= 0:
                frames.append(t)
    return frames


def _run_truth(scene: SyntheticScene, detector: EventDetector, first: int = 0) -> list[Event]:
    events = []
    for t in range(first, scene.frames):
        image, truth = scene.render(t)
        events += detector.update(image, truth, t / FPS, index=t)
    return events + detector.close()


def test_an_object_crossing_a_zone_gives_one_start_and_one_end_where_the_truth_says():
    scene = SyntheticScene(width=160, height=120, frames=140)
    inside = _inside(scene, 1, CROSSING)
    assert inside == list(range(inside[0], inside[-1] + 1)) and len(inside) > 10
    config = EventConfig(min_frames=3, off_delay=0.4, snapshot=False)
    zone = ZoneConfig("path", CROSSING, units="pixels")
    events = _run_truth(scene, EventDetector(config, [zone]))
    assert [e.type for e in events] == ["start", "end"]
    start, end = events
    assert start.start_frame == inside[0]
    assert start.frame == inside[0] + config.min_frames - 1
    assert end.end_frame == inside[-1]
    assert end.frame == inside[-1] + round(config.off_delay * FPS)
    assert start.id == end.id
    assert [o.id for o in start.objects] == [start.objects[0].id]  # one object, tracked


def test_the_stopping_object_keeps_its_event_open_while_it_stands():
    scene = SyntheticScene(width=160, height=120, frames=250, seed=5)
    a, b = scene.stop_interval
    inside = _inside(scene, 2, STOPPING)
    assert 40 < inside[0] < a and inside[-1] >= b  # it walks in, stands, walks out
    zone = ZoneConfig("porch", STOPPING, units="pixels")
    detector = EventDetector(EventConfig(off_delay=0.5, snapshot=False), [zone])
    events = _run_truth(scene, detector, first=40)
    assert [e.type for e in events] == ["start", "end"]
    assert events[0].start_frame == inside[0]
    assert events[1].end_frame == inside[-1]


@pytest.mark.parametrize("method", ["mog2", "knn"])
def test_a_global_brightness_jump_raises_no_event(method: str):
    scene = SyntheticScene(width=160, height=120, frames=170, illumination_jump_at=100)
    # No object's box comes into this zone; only the jump changes it.
    lawn = ZoneConfig("lawn", ((60, 85), (159, 85), (159, 119), (60, 119)), units="pixels")
    found = {}
    for guard in (0.5, 0.0):
        detector = EventDetector(EventConfig(lighting_guard=guard, snapshot=False), [lawn])
        with ss.create(method) as seg:
            events = []
            for t in range(scene.frames):
                image = scene.render(t)[0]
                events += detector.update(image, seg.apply(image), t / FPS)
        found[guard] = (events, detector.guarded)
    assert found[0.5][0] == [] and found[0.5][1] > 0
    # Without the guard the same jump is an alarm: the test sees what the guard does.
    assert [e.type for e in found[0.0][0]][:1] == ["start"]


def test_a_flicker_shorter_than_min_frames_raises_nothing_and_off_delay_bridges_a_gap():
    detector = EventDetector(EventConfig(min_frames=3, off_delay=0.5, snapshot=False))
    frame = np.zeros((60, 80, 3), np.uint8)
    blob = np.zeros((60, 80), np.uint8)
    blob[20:40, 20:40] = 255
    empty = np.zeros_like(blob)
    seq = [blob, blob, empty, blob, blob, blob, empty, empty, blob] + [empty] * 20
    events = [e for i, m in enumerate(seq) for e in detector.update(frame, m, i / 10)]
    assert [(e.type, e.frame) for e in events] == [("start", 5), ("end", 13)]
    assert events[0].start_frame == 3 and events[1].end_frame == 8


def test_an_object_entering_an_open_event_is_an_update():
    detector = EventDetector(EventConfig(min_frames=1, update_interval=0.0, snapshot=False))
    frame = np.zeros((60, 80, 3), np.uint8)
    one = np.zeros((60, 80), np.uint8)
    one[5:15, 5:15] = 255
    two = one.copy()
    two[40:50, 60:70] = 255
    kinds = [e.type for m in (one, one, two, two) for e in detector.update(frame, m)]
    assert kinds == ["start", "update"]
    assert detector.motion


def test_snapshots_and_clips_are_written_to_the_media_folder(tmp_path: Path):
    scene = SyntheticScene(width=160, height=120, frames=140)
    clip = ClipConfig(enabled=True, pre=1.0, post=0.5)
    config = EventConfig(off_delay=0.4, clip=clip)
    zone = ZoneConfig("path", CROSSING, units="pixels")
    detector = EventDetector(config, [zone], camera="yard", method="truth", media=tmp_path)
    events = _run_truth(scene, detector)
    assert [e.type for e in events] == ["start", "end", "clip"]
    start, end, done = events
    assert start.snapshot is not None and start.snapshot[:2] == b"\xff\xd8"
    assert Path(end.snapshot_path or "").read_bytes() == end.snapshot  # the peak's
    assert cv2.imdecode(np.frombuffer(end.snapshot, np.uint8), cv2.IMREAD_COLOR).shape == (
        120,
        160,
        3,
    )
    with av.open(done.clip_path) as container:
        stream = container.streams.video[0]
        frames = sum(1 for _ in container.decode(stream))
    expected = (end.end_frame - start.start_frame + 1) + round((clip.pre + clip.post) * FPS)
    assert abs(frames - expected) <= 2
    assert done.end_frame == end.end_frame and done.frame > end.frame


def test_the_ring_buffer_stays_within_its_seconds_and_its_bytes():
    noisy = np.random.default_rng(0).integers(0, 255, (120, 160, 3), np.uint8)
    ring = FrameRing(ClipConfig(enabled=True, pre=2.0))
    for i in range(500):
        ring.add(i / FPS, noisy)
    assert ring.seconds <= 2.0 and len(ring) == 51
    small = FrameRing(ClipConfig(enabled=True, pre=60.0, buffer_mb=0.2))
    for i in range(500):
        small.add(i / FPS, noisy)
    assert small.bytes <= 200_000 and len(small) < 500


def test_events_follow_the_documented_schema():
    jsonschema = pytest.importorskip("jsonschema")
    detector = EventDetector(
        EventConfig(min_frames=1, off_delay=0.0, objects=ObjectConfig(min_area=5))
    )
    frame = np.zeros((60, 80, 3), np.uint8)
    mask = np.zeros((60, 80), np.uint8)
    mask[10:30, 10:20] = 255
    score = np.full((60, 80), 0.75, np.float32)
    events = detector.update(frame, mask, 0.0, score=score)
    events += detector.update(frame, np.zeros_like(mask), 0.1)
    assert [e.type for e in events] == ["start", "end"]
    for event in events:
        data = json.loads(json.dumps(event.as_dict()))
        jsonschema.validate(data, EVENT_SCHEMA)
    assert events[0].as_dict()["objects"][0]["confidence"] == 0.75
