"""Objects of a mask: components, minimum area, morphology, anchors, confidence."""

from __future__ import annotations

import numpy as np
import pytest

from streamseg.errors import ConfigError
from streamseg.events.objects import ObjectConfig, box_iou, find_objects, min_area_pixels
from streamseg.params import build


def _mask(*boxes: tuple[int, int, int, int], shape: tuple[int, int] = (120, 160)) -> np.ndarray:
    mask = np.zeros(shape, np.uint8)
    for x, y, w, h in boxes:
        mask[y : y + h, x : x + w] = 255
    return mask


def test_each_component_is_an_object_with_its_box_area_centroid_and_anchor():
    objects = find_objects(_mask((10, 20, 30, 40), (100, 50, 10, 10)), ObjectConfig(min_area=10))
    assert [o.box for o in objects] == [(10, 20, 30, 40), (100, 50, 10, 10)]  # largest first
    big = objects[0]
    assert big.area == 1200
    assert big.centroid == pytest.approx((24.5, 39.5))
    assert big.anchor == (24.5, 59.0)  # bottom centre: the last row of the box
    assert big.confidence is None and big.id is None


def test_min_area_is_a_fraction_of_the_frame_below_one_and_pixels_from_one():
    mask = _mask((0, 0, 10, 10), (50, 50, 5, 5))  # 100 and 25 pixels of 19200
    assert [o.area for o in find_objects(mask, ObjectConfig(min_area=0.005))] == [100]
    assert [o.area for o in find_objects(mask, ObjectConfig(min_area=25))] == [100, 25]
    assert [o.area for o in find_objects(mask, ObjectConfig(min_area=26))] == [100]
    assert min_area_pixels(0.001, 320, 240) == 77


def test_opening_removes_specks_and_closing_joins_a_split_object():
    mask = _mask((10, 10, 20, 20), (60, 60, 2, 2))
    assert len(find_objects(mask, ObjectConfig(min_area=1))) == 2
    assert len(find_objects(mask, ObjectConfig(min_area=1, open=3))) == 1
    split = _mask((10, 10, 20, 10), (10, 21, 20, 10))  # one row of background between
    assert len(find_objects(split, ObjectConfig(min_area=1))) == 2
    assert [o.box for o in find_objects(split, ObjectConfig(min_area=1, close=3))] == [
        (10, 10, 20, 21)
    ]


def test_confidence_is_the_mean_score_over_the_object():
    mask = _mask((0, 0, 10, 10), (40, 40, 10, 10))
    score = np.zeros(mask.shape, np.float32)
    score[0:10, 0:10] = 0.9
    score[40:50, 40:45] = 0.2
    score[40:50, 45:50] = 0.6
    confidences = [o.confidence for o in find_objects(mask, ObjectConfig(min_area=1), score)]
    assert confidences == pytest.approx([0.9, 0.4])


def test_an_empty_mask_has_no_object_and_bad_parameters_are_refused():
    assert find_objects(np.zeros((10, 10), np.uint8)) == []
    with pytest.raises(ConfigError, match="min_area"):
        build(ObjectConfig, {"min_area": 0})
    with pytest.raises(ConfigError, match="open"):
        build(ObjectConfig, {"open": -1})


def test_box_iou():
    assert box_iou((0, 0, 10, 10), (0, 0, 10, 10)) == 1.0
    assert box_iou((0, 0, 10, 10), (10, 0, 10, 10)) == 0.0
    assert box_iou((0, 0, 10, 10), (0, 5, 10, 10)) == pytest.approx(50 / 150)
