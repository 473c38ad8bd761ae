"""Object-level scores: matching by box overlap, unscored pixels, false alarms per minute."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from streamseg.evaluation.benchmark import benchmark
from streamseg.evaluation.objects import ObjectCounter, ObjectRule
from streamseg.evaluation.report import write_report
from tests.evaluation.test_benchmark import make_tree


def _frame(*boxes: tuple[int, int, int, int], value: int = 255) -> np.ndarray:
    image = np.zeros((120, 160), np.uint8)
    for x, y, w, h in boxes:
        image[y : y + h, x : x + w] = value
    return image


def test_objects_match_by_box_overlap_one_to_one():
    counter = ObjectCounter(ObjectRule(min_area=10))
    two_people = _frame((10, 10, 10, 30), (22, 10, 10, 30))
    merged = _frame((10, 10, 22, 30))  # the mask joined them: one blob
    counter.update(merged, two_people)
    scores = counter.compute()
    assert (scores.true_objects, scores.found, scores.predicted) == (2, 1, 1)
    assert (scores.recall, scores.precision) == (0.5, 1.0)
    shifted = ObjectCounter(ObjectRule(min_area=10))
    shifted.update(_frame((17, 10, 10, 30)), _frame((10, 10, 10, 30)))  # IoU 3/17 < 0.3
    assert shifted.compute().recall == 0.0


def test_unscored_pixels_and_small_blobs_are_left_out():
    gt = _frame((10, 10, 10, 30))
    gt[:, 100:] = 170  # unknown
    gt[100:, :] = 85  # outside the ROI
    pred = _frame((10, 10, 10, 30), (110, 20, 20, 20), (50, 105, 20, 10), (70, 60, 2, 2))
    counter = ObjectCounter(ObjectRule(min_area=0.001))  # 19 pixels
    counter.update(pred, gt)
    scores = counter.compute()
    assert (scores.true_objects, scores.predicted, scores.precision) == (1, 1, 1.0)


def test_false_alarms_are_runs_of_frames_with_an_object_where_there_is_none():
    counter = ObjectCounter(ObjectRule(min_area=10, alarm_frames=3, fps=25))
    empty, blob = _frame(), _frame((50, 50, 10, 10))
    person = _frame((10, 10, 10, 30))
    # A 2-frame flicker (no alarm), a 5-frame blob (one alarm), a person (not empty).
    for pred, gt in (
        [(blob, empty)] * 2
        + [(empty, empty)]
        + [(blob, empty)] * 5
        + [(person, person)] * 3
        + [(empty, empty)] * 1490
    ):
        counter.update(pred, gt)
    scores = counter.compute()
    assert scores.false_alarms == 1 and scores.empty_frames == 1498
    assert scores.false_alarms_per_min == pytest.approx(1 / (1498 / 25 / 60))


def test_the_report_gives_every_method_its_object_scores(tmp_path: Path):
    tree = make_tree(tmp_path / "data")
    report = benchmark(tree, ["mog2", "knn"], tmp_path / "out", pr_curves=False)
    write_report(report, tmp_path / "out", plots=False)
    data = json.loads((tmp_path / "out" / "results.json").read_text())
    for method in ("mog2", "knn"):
        overall = data["overall"][method]
        assert 0 <= overall["object_recall"] <= 1 and 0 <= overall["object_precision"] <= 1
        assert "false_alarms_per_min" in overall
    rows = data["sequences"]
    assert all({"object_recall", "object_precision", "true_objects"} <= set(r) for r in rows)
    text = (tmp_path / "out" / "results.md").read_text()
    assert "IoU >= 0.3" in text and "| false alarms/min |" in text
    csv_head = (tmp_path / "out" / "results.csv").read_text().splitlines()[0]
    assert "object_recall" in csv_head
