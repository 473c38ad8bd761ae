"""The benchmark's scores equal an independent recomputation from the written masks."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest

from streamseg.errors import EvaluationError
from streamseg.evaluation.benchmark import Report, SequenceResult, benchmark, score_results
from streamseg.evaluation.metrics import Scores
from streamseg.evaluation.report import markdown, write_report
from streamseg.sources.synthetic import SyntheticScene


def make_tree(root: Path) -> Path:
    """Two categories; ground truth with every CDnet value, an ROI, a temporal ROI."""
    for cat, name, seed in (("alpha", "one", 1), ("alpha", "two", 2), ("beta", "three", 3)):
        seq = root / cat / name
        (seq / "input").mkdir(parents=True)
        (seq / "groundtruth").mkdir()
        scene = SyntheticScene(width=64, height=48, frames=40, seed=seed)
        for t in range(40):
            image, truth = scene.render(t)
            gt = truth.copy()
            gt[:4, :] = 85  # outside ROI by label
            gt[-4:, :][truth[-4:, :] == 255] = 170  # unknown
            gt[10:14, 10:20][truth[10:14, 10:20] == 0] = 50  # shadow
            cv2.imwrite(str(seq / "input" / f"in{t + 100:06d}.png"), image)
            cv2.imwrite(str(seq / "groundtruth" / f"gt{t + 100:06d}.png"), gt)
        roi = np.full((48, 64), 255, np.uint8)
        roi[:, :6] = 0
        cv2.imwrite(str(seq / "ROI.bmp"), roi)
        (seq / "temporalROI.txt").write_text("110 135\n")
    return root


def independent_f(seq: Path, masks: Path) -> float:
    """CDnet F from files, written without streamseg's metrics code."""
    roi = cv2.imread(str(seq / "ROI.bmp"), cv2.IMREAD_GRAYSCALE) > 0
    first, last = map(int, (seq / "temporalROI.txt").read_text().split())
    tp = fp = fn = 0
    for gt_path in sorted((seq / "groundtruth").glob("gt*.png")):
        idx = int(gt_path.stem[2:])
        if not first <= idx <= last:
            continue
        gt = cv2.imread(str(gt_path), cv2.IMREAD_GRAYSCALE)
        pred = cv2.imread(str(masks / f"bin{idx:06d}.png"), cv2.IMREAD_GRAYSCALE) >= 128
        scored = np.isin(gt, (0, 50, 255)) & roi
        motion = gt == 255
        tp += int((pred & motion & scored).sum())
        fp += int((pred & ~motion & scored).sum())
        fn += int((~pred & motion & scored).sum())
    return 2 * tp / (2 * tp + fp + fn)


@pytest.fixture(scope="module")
def tree(tmp_path_factory) -> Path:
    return make_tree(tmp_path_factory.mktemp("cdnet"))


def test_scores_equal_an_independent_recomputation(tree: Path, tmp_path: Path):
    report = benchmark(tree, ["mog2", "knn"], tmp_path, pr_curves=False)
    assert len(report.results) == 6
    for r in report.results:
        masks = tmp_path / "masks" / r.method / r.sequence
        assert len(list(masks.glob("bin*.png"))) == 40  # every frame, not only scored ones
        expected = independent_f(tree / r.category / r.sequence, masks)
        assert abs(r.scores.f_measure - expected) < 1e-6
        assert r.ms_per_frame > 0 and r.frames == 40


def test_categories_and_overall_follow_cdnet(tree: Path, tmp_path: Path):
    report = benchmark(tree, ["mog2"], tmp_path, pr_curves=False)
    f = {r.sequence: r.scores.f_measure for r in report.results}
    cats = report.categories("mog2")
    assert cats["alpha"]["f_measure"] == pytest.approx((f["one"] + f["two"]) / 2)
    assert cats["beta"]["f_measure"] == pytest.approx(f["three"])
    overall = report.overall("mog2")
    assert overall["f_measure"] == pytest.approx((cats["alpha"]["f_measure"] + f["three"]) / 2)


def test_scoring_existing_results_matches(tree: Path, tmp_path: Path):
    ran = benchmark(tree, ["mog2"], tmp_path, pr_curves=False)
    scored = score_results(tree, tmp_path / "masks" / "mog2")
    for a, b in zip(ran.results, scored.results, strict=True):
        assert a.scores == b.scores


def test_report_files_and_pr_curves(tree: Path, tmp_path: Path):
    report = benchmark(
        tree / "beta",
        ["rpca", "mog2"],
        tmp_path,
        params={"rpca": {"area": 1200, "window": 8, "stride": 1}},
    )
    files = {p.name for p in write_report(report, tmp_path / "report")}
    assert {
        "results.csv",
        "results.json",
        "results.md",
        "f_per_sequence.png",
        "f_vs_fps.png",
        "pr_curves.png",
    } <= files
    data = json.loads((tmp_path / "report" / "results.json").read_text())
    assert set(data["overall"]) == {"rpca", "mog2"}
    assert "rpca/three" in data["pr_curves"] and "mog2/three" not in data["pr_curves"]
    md = (tmp_path / "report" / "results.md").read_text()
    assert "| three |" in md and "mean F" in md
    ceil = data["ceilings"]
    assert set(ceil["best_threshold"]) == {"rpca"}  # mog2 has no score to threshold
    assert ceil["best_method"]["per_sequence"]["three"]["method"] in {"rpca", "mog2"}
    assert "rpca at its best threshold" in md and "best method" in md


def _result(method: str, category: str, seq: str, f_tp: int, pr=None) -> SequenceResult:
    """A result whose F is ``2·f_tp / (2·f_tp + 100 − 2·f_tp)`` = f_tp / 50."""
    return SequenceResult(method, category, seq, Scores(f_tp, 50 - f_tp, 50 - f_tp, 900), pr=pr)


def test_ceilings_take_the_best_threshold_and_method_per_sequence():
    curve_a = [(0.25, 0.5, 1.0), (0.5, 0.8, 0.8), (0.75, 1.0, 0.2), (1.0, float("nan"), 0.0)]
    curve_b = [(0.25, 0.9, 0.9), (0.5, 0.9, 0.45)]
    report = Report(
        results=[
            _result("net", "cat1", "a", 30, curve_a),  # mask F 0.6, curve 0.8 at 0.5
            _result("net", "cat1", "b", 10, curve_b),  # mask F 0.2, curve 0.9 at 0.25
            _result("net", "cat2", "c", 48, curve_b),  # mask F 0.96 beats its curve
            _result("mog", "cat1", "a", 20),
            _result("mog", "cat1", "b", 35),  # F 0.7
            _result("mog", "cat2", "c", 25),
        ]
    )
    assert report.best_thresholds("mog") is None
    best = report.best_thresholds("net")
    assert best is not None
    assert best["a"] == (0.5, pytest.approx(0.8)) and best["b"] == (0.25, pytest.approx(0.9))
    assert best["c"] == (None, pytest.approx(0.96))  # a ceiling is never below the mask
    ceil = report.ceilings()
    # the mean over categories of the category means, as CDnet's overall F
    assert ceil["best_threshold"]["net"]["f_measure"] == pytest.approx(((0.8 + 0.9) / 2 + 0.96) / 2)
    assert {s: v["method"] for s, v in ceil["best_method"]["per_sequence"].items()} == {
        "a": "net",
        "b": "mog",
        "c": "net",
    }
    assert ceil["best_method"]["f_measure"] == pytest.approx(((0.6 + 0.7) / 2 + 0.96) / 2)
    md = markdown(report)
    assert "| b | 0.900 (0.25) | 0.700 mog |" in md
    assert "| c | 0.960 (mask) | 0.960 net |" in md
    assert "| **mean F** | **0.905** | **0.805** |" in md


def test_an_undefined_f_leaves_the_ceilings_undefined():
    # No foreground in the ground truth and none called: F is undefined (0/0) for both
    # methods, so their ceilings are too, as their overall F is (not 0, not left out).
    nan = float("nan")
    empty = SequenceResult("net", "c2", "empty", Scores(0, 0, 0, 1000), pr=[(0.5, nan, nan)])
    report = Report(
        results=[
            _result("net", "c1", "a", 40, [(0.5, 0.8, 0.8)]),
            empty,
            _result("mog", "c1", "a", 20),
            SequenceResult("mog", "c2", "empty", Scores(0, 0, 0, 1000)),
        ]
    )
    assert np.isnan(report.overall("net")["f_measure"])
    best = report.best_thresholds("net")
    assert best is not None and best["empty"][0] is None and np.isnan(best["empty"][1])
    ceil = report.ceilings()
    assert np.isnan(ceil["best_threshold"]["net"]["f_measure"])
    assert np.isnan(ceil["best_method"]["f_measure"])
    assert "| empty | – (mask) | – |" in markdown(report)


def test_a_single_method_without_a_score_has_no_ceilings():
    report = Report(results=[_result("mog", "cat", "a", 20)])
    assert report.ceilings() == {"best_threshold": {}}
    assert "Ceilings" not in markdown(report)


def test_the_pr_curve_at_the_masks_threshold_is_the_mask(tree: Path, tmp_path: Path):
    # Each frame is scored before the method learns from it, like its mask, so the
    # curve's point at 0.5 (the mask rule's threshold) describes the written masks.
    report = benchmark(
        tree / "beta", ["rpca"], tmp_path, params={"rpca": {"area": 1200, "window": 8}}
    )
    (result,) = report.results
    assert result.pr is not None and result.scored_frames == 26
    point = {round(t, 2): (p, r) for t, p, r in result.pr}[0.5]
    assert point[1] == pytest.approx(result.scores.recall, abs=0.02)


def test_an_undefined_metric_leaves_its_means_undefined(tree: Path, tmp_path: Path):
    for name in ("one", "two"):
        blank = tmp_path / "blank" / name
        blank.mkdir(parents=True)
        for i in range(110, 136):
            fg = 255 if name == "one" else 0  # "two" calls nothing foreground
            cv2.imwrite(str(blank / f"bin{i:06d}.png"), np.full((48, 64), fg, np.uint8))
    report = score_results(tree / "alpha", tmp_path / "blank")
    two = next(r for r in report.results if r.sequence == "two")
    assert np.isnan(two.scores.precision) and two.scored_frames == 26 and two.frames == 0
    overall = report.overall("results")
    # precision is undefined on "two": the mean over one sequence would not compare
    assert np.isnan(overall["precision"]) and not np.isnan(overall["recall"])


def test_sequences_with_the_same_name_are_refused(tmp_path: Path):
    make_tree(tmp_path / "a")
    make_tree(tmp_path / "b")
    with pytest.raises(EvaluationError, match="two sequences are named 'one'"):
        score_results(tmp_path, tmp_path / "results")


def test_missing_frames_are_allowed_when_asked(tree: Path, tmp_path: Path):
    import shutil

    seq = tmp_path / "seq" / "three"
    shutil.copytree(tree / "beta" / "three", seq)
    full = benchmark(seq, ["mog2"], tmp_path / "report", pr_curves=False)
    (seq / "input" / "in000120.png").unlink()
    with pytest.raises(EvaluationError, match="1 of 26 scored frames have no result"):
        benchmark(seq, ["mog2"], tmp_path / "report", pr_curves=False)  # not the earlier mask
    report = benchmark(seq, ["mog2"], tmp_path / "report", pr_curves=False, allow_missing=True)
    assert report.results[0].frames == 39 and full.results[0].frames == 40


def test_a_wrong_roi_is_named_for_methods_with_precision_recall_curves(tree: Path, tmp_path: Path):
    import shutil

    seq = tmp_path / "seq"
    shutil.copytree(tree / "beta" / "three", seq)
    cv2.imwrite(str(seq / "ROI.bmp"), np.full((24, 32), 255, np.uint8))
    # rpca has a continuous score: each frame is scored for the curves before its mask.
    with pytest.raises(EvaluationError, match=r"ROI.bmp is 32x24 but the ground truth is 64x48"):
        benchmark(seq, ["rpca"], tmp_path / "report")


def test_a_report_leaves_no_plot_of_an_earlier_one(tree: Path, tmp_path: Path):
    seq = tree / "alpha" / "one"
    out = tmp_path / "report"
    write_report(benchmark(seq, ["rpca"], out), out)
    assert (out / "pr_curves.png").exists()
    write_report(benchmark(seq, ["mog2"], out, pr_curves=False), out)
    assert not (out / "pr_curves.png").exists() and (out / "f_per_sequence.png").exists()
