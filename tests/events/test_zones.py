"""Zones: membership by anchor, exclude zones mask pixels, preclusive zones, the file."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from streamseg.errors import ConfigError
from streamseg.events.detector import EventConfig, load_event_file
from streamseg.events.objects import Object, find_objects
from streamseg.events.zones import ZoneConfig, Zones, zones_from_data

SQUARE = ((0.5, 0.5), (1.0, 0.5), (1.0, 1.0), (0.5, 1.0))


def _person(x: int, y: int, w: int = 10, h: int = 30) -> Object:
    return Object(
        (x, y, w, h), w * h, (x + (w - 1) / 2, y + (h - 1) / 2), (x + (w - 1) / 2, y + h - 1)
    )


def test_normalised_and_pixel_zones_cover_the_same_place():
    normalised = Zones.build([ZoneConfig("a", SQUARE)], 101, 81)
    pixels = [(50, 40), (100, 40), (100, 80), (50, 80)]
    in_pixels = Zones.build([ZoneConfig("a", pixels, units="pixels")], 101, 81)
    inside, outside = _person(60, 45), _person(10, 10)
    for zones in (normalised, in_pixels):
        assert zones.members([inside, outside]) == {"a": [inside]}


def test_the_bottom_centre_decides_unless_the_zone_says_otherwise():
    # A person whose feet are above the zone, whose body reaches into it.
    person = _person(60, 20, h=40)  # rows 20..59; the zone starts at row 50
    rules = {rule: ZoneConfig("a", SQUARE, anchor=rule) for rule in ("center", "box")}
    assert Zones.build([ZoneConfig("a", SQUARE)], 100, 100).members([person])["a"] == [person]
    assert Zones.build([rules["center"]], 100, 100).members([person])["a"] == []
    assert Zones.build([rules["box"]], 100, 100).members([person])["a"] == [person]
    above = _person(60, 5, h=20)  # rows 5..24: its feet are above the zone
    assert Zones.build([ZoneConfig("a", SQUARE)], 100, 100).members([above])["a"] == []


def test_without_an_include_zone_the_whole_frame_is_one():
    zones = Zones.build([ZoneConfig("clock", SQUARE, kind="exclude")], 100, 100)
    assert zones.names == ["all"]
    assert zones.members([_person(0, 0)]) == {"all": [_person(0, 0)]}


def test_an_exclude_zone_takes_its_pixels_out_of_the_mask():
    zones = Zones.build([ZoneConfig("flag", SQUARE, kind="exclude")], 100, 100)
    mask = np.zeros((100, 100), np.uint8)
    mask[60:70, 60:70] = 255  # a waving flag, inside the zone
    mask[10:20, 10:20] = 255  # a person, outside
    kept = zones.mask_excluded(mask)
    assert [o.box for o in find_objects(kept)] == [(10, 10, 10, 10)]
    assert mask[65, 65] == 255  # the caller's mask is untouched


def test_a_preclusive_zone_cancels_the_frame():
    zones = Zones.build(
        [
            ZoneConfig("door", ((0, 0), (1, 0), (1, 1), (0, 1))),
            ZoneConfig("sky", SQUARE, kind="preclusive"),
        ],
        100,
        100,
    )
    assert zones.precluded([_person(60, 40)])  # feet at row 69, in the sky zone
    assert not zones.precluded([_person(10, 10)])


def test_bad_zones_are_refused_with_their_entry():
    with pytest.raises(ConfigError, match="entry 0.*3 points"):
        zones_from_data([{"name": "a", "points": [[0, 0], [1, 1]]}])
    with pytest.raises(ConfigError, match="unique"):
        zones_from_data([{"name": "a", "points": SQUARE}, {"name": "a", "points": SQUARE}])
    with pytest.raises(ConfigError, match="kind"):
        zones_from_data([{"name": "a", "points": SQUARE, "kind": "inclusive"}])
    with pytest.raises(ConfigError, match="within 0..1"):
        zones_from_data([{"name": "a", "points": [[0, 0], [5, 0], [5, 5]], "units": "normalized"}])


def test_the_zones_file_holds_zones_and_the_detector_parameters(tmp_path: Path):
    path = tmp_path / "zones.yaml"
    path.write_text(
        "zones:\n"
        "  - name: driveway\n"
        "    points: [[0.1, 0.5], [0.9, 0.5], [0.9, 1.0], [0.1, 1.0]]\n"
        "  - {name: clock, kind: exclude, points: [[0.8, 0], [1, 0], [1, 0.1], [0.8, 0.1]]}\n"
        "events:\n"
        "  min_frames: 5\n"
        "  objects: {min_area: 200}\n"
        "  clip: {enabled: true, pre: 2}\n"
    )
    config, zones = load_event_file(path)
    assert [z.name for z in zones] == ["driveway", "clock"]
    assert config.min_frames == 5 and config.objects.min_area == 200
    assert (
        config.clip.enabled and config.clip.pre == 2 and config.clip.post == EventConfig().clip.post
    )
    path.write_text("events:\n  min_frame: 5\n")
    with pytest.raises(ConfigError, match=r"zones.yaml.*min_frame.*valid"):
        load_event_file(path)
    path.write_text("zones: [\n")
    with pytest.raises(ConfigError, match="not valid YAML at line"):
        load_event_file(path)
    with pytest.raises(ConfigError, match="does not exist"):
        load_event_file(tmp_path / "missing.yaml")
