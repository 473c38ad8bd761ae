from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from streamseg.errors import EvaluationError
from streamseg.evaluation.cdnet import CDnetSequence, evaluate_folder, find_sequences


def make_sequence(
    root: Path,
    gts: dict[int, np.ndarray],
    roi: np.ndarray | None = None,
    temporal: tuple[int, int] | None = None,
) -> Path:
    (root / "input").mkdir(parents=True)
    (root / "groundtruth").mkdir()
    for i, gt in gts.items():
        cv2.imwrite(str(root / "input" / f"in{i:06d}.png"), np.zeros((*gt.shape, 3), np.uint8))
        cv2.imwrite(str(root / "groundtruth" / f"gt{i:06d}.png"), gt)
    if roi is not None:
        cv2.imwrite(str(root / "ROI.bmp"), roi)
    if temporal is not None:
        (root / "temporalROI.txt").write_text(f"{temporal[0]} {temporal[1]}\n")
    return root


def write_results(folder: Path, masks: dict[int, np.ndarray]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for i, m in masks.items():
        cv2.imwrite(str(folder / f"bin{i:06d}.png"), m)
    return folder


def test_temporal_roi_roi_and_gt_values(tmp_path: Path):
    gt = np.array([[255, 255, 50, 85], [0, 0, 170, 255]], np.uint8)
    roi = np.array([[255, 255, 255, 255], [255, 255, 255, 0]], np.uint8)
    seq = make_sequence(tmp_path / "seq", {1: gt, 2: gt, 3: gt}, roi=roi, temporal=(2, 3))
    pred = np.array([[255, 0, 255, 255], [255, 0, 255, 255]], np.uint8)
    # frame 1 is outside the temporal ROI: even a missing result there does not matter.
    results = write_results(tmp_path / "res", {2: pred, 3: pred})
    s = evaluate_folder(seq, results)
    # per frame: TP 1 (0,0); FN 1 (0,1); FP 2 (shadow (0,2), static (1,0)); TN 1 (1,1);
    # ignored: 85, 170, and (1,3) outside the ROI.
    assert (s.tp, s.fn, s.fp, s.tn) == (2, 2, 4, 2)


def test_palette_png_is_read_by_value(tmp_path: Path):
    from PIL import Image

    seq = make_sequence(tmp_path / "seq", {0: np.zeros((2, 2), np.uint8)})
    img = Image.fromarray(np.array([[1, 0], [0, 0]], np.uint8), mode="P")
    img.putpalette([0, 0, 0, 255, 255, 255] + [0] * 762)
    img.save(seq / "groundtruth" / "gt000000.png")
    assert CDnetSequence(seq).ground_truth(0).tolist() == [[255, 0], [0, 0]]


def test_missing_results_fail_unless_allowed(tmp_path: Path):
    gt = np.full((2, 2), 255, np.uint8)
    seq = make_sequence(tmp_path / "seq", {0: gt, 1: gt})
    results = write_results(tmp_path / "res", {0: gt})
    with pytest.raises(
        EvaluationError,
        match=r"1 of 2 scored frames have no result "
        r"\(first: bin000001.png\); --allow-missing",
    ):
        evaluate_folder(seq, results)
    s = evaluate_folder(seq, results, allow_missing=True)
    assert (s.tp, s.fn) == (4, 4)


def test_a_result_of_the_wrong_size_is_named(tmp_path: Path):
    seq = make_sequence(tmp_path / "seq", {0: np.zeros((4, 4), np.uint8)})
    results = write_results(tmp_path / "res", {0: np.zeros((2, 2), np.uint8)})
    with pytest.raises(
        EvaluationError, match=r"bin000000.png: the result is 2x2 but the ground truth is 4x4"
    ):
        evaluate_folder(seq, results)


def test_an_roi_of_the_wrong_size_is_named(tmp_path: Path):
    gt = np.zeros((4, 6), np.uint8)
    seq = make_sequence(tmp_path / "seq", {0: gt}, roi=np.full((8, 12), 255, np.uint8))
    results = write_results(tmp_path / "res", {0: gt})
    with pytest.raises(EvaluationError, match=r"ROI.bmp is 12x8 but the ground truth is 6x4"):
        evaluate_folder(seq, results)


@pytest.mark.parametrize(
    ("write", "message"),
    [
        # A red motion label: as grey it becomes 76, which CDnet does not define.
        (
            lambda p: cv2.imwrite(
                str(p),
                np.dstack([np.zeros((4, 4), np.uint8)] * 2 + [np.full((4, 4), 255, np.uint8)]),
            ),
            "colour ground truth",
        ),
        (lambda p: cv2.imwrite(str(p), np.full((4, 4), 65535, np.uint16)), "uint16 ground truth"),
        (lambda p: cv2.imwrite(str(p), np.full((4, 4), 128, np.uint8)), r"does not define \(128\)"),
    ],
    ids=["colour", "16-bit", "value"],
)
def test_ground_truth_that_is_not_cdnets_fails(tmp_path: Path, write, message):
    seq = make_sequence(tmp_path / "seq", {0: np.zeros((4, 4), np.uint8)})
    write(seq / "groundtruth" / "gt000000.png")
    results = write_results(tmp_path / "res", {0: np.zeros((4, 4), np.uint8)})
    with pytest.raises(EvaluationError, match=message):
        evaluate_folder(seq, results)


def test_grey_ground_truth_stored_as_rgb_is_read(tmp_path: Path):
    seq = make_sequence(tmp_path / "seq", {0: np.zeros((2, 2), np.uint8)})
    cv2.imwrite(str(seq / "groundtruth" / "gt000000.png"), np.full((2, 2, 3), 255, np.uint8))
    assert CDnetSequence(seq).ground_truth(0).tolist() == [[255, 255], [255, 255]]


def test_jpeg_ground_truth_is_refused(tmp_path: Path):
    seq = make_sequence(tmp_path / "seq", {0: np.zeros((4, 4), np.uint8)})
    (seq / "groundtruth" / "gt000000.png").rename(seq / "groundtruth" / "gt000000.jpg")
    with pytest.raises(EvaluationError, match="JPEG ground truth"):
        CDnetSequence(seq).scored_indices()


def test_a_frame_missing_inside_the_temporal_roi_fails(tmp_path: Path):
    gt = np.zeros((2, 2), np.uint8)
    seq = make_sequence(tmp_path / "seq", {1: gt, 2: gt, 4: gt}, temporal=(1, 4))
    with pytest.raises(EvaluationError, match=r"1-4, but 1 of them have no ground truth"):
        CDnetSequence(seq).scored_indices()
    (seq / "temporalROI.txt").write_text("4 1\n")
    with pytest.raises(EvaluationError, match="first frame 4 is after the last, 1"):
        CDnetSequence(seq).scored_indices()


def test_a_sequence_with_nothing_to_score_fails(tmp_path: Path):
    gt = np.zeros((2, 2), np.uint8)
    seq = make_sequence(tmp_path / "seq", {0: gt}, roi=np.zeros((2, 2), np.uint8))
    results = write_results(tmp_path / "res", {0: gt})
    with pytest.raises(EvaluationError, match="no pixel is in the region of interest"):
        evaluate_folder(seq, results)
    unknown = make_sequence(tmp_path / "unknown", {0: np.full((2, 2), 170, np.uint8)})
    with pytest.raises(EvaluationError, match="no pixel is scored"):
        evaluate_folder(unknown, results)


def test_a_result_that_is_no_mask_is_warned_about(tmp_path: Path, caplog):
    seq = make_sequence(tmp_path / "seq", {0: np.zeros((4, 4), np.uint8)})
    results = write_results(tmp_path / "res", {0: np.full((4, 4), 77, np.uint8)})
    evaluate_folder(seq, results)
    assert "not a 0/255 mask" in caplog.text


def test_not_a_sequence(tmp_path: Path):
    with pytest.raises(EvaluationError, match="no groundtruth/ folder"):
        CDnetSequence(tmp_path)
    with pytest.raises(EvaluationError, match="no such sequence folder"):
        CDnetSequence(tmp_path / "missing")


def test_find_sequences_in_a_category_tree(tmp_path: Path):
    gt = {0: np.zeros((2, 2), np.uint8)}
    make_sequence(tmp_path / "baseline" / "highway", gt)
    make_sequence(tmp_path / "baseline" / "office", gt)
    make_sequence(tmp_path / "shadow" / "cubicle", gt)
    found = [(c, s.name) for c, s in find_sequences(tmp_path)]
    assert found == [("baseline", "highway"), ("baseline", "office"), ("shadow", "cubicle")]
    assert [(c, s.name) for c, s in find_sequences(tmp_path / "shadow" / "cubicle")] == [
        ("cubicle", "cubicle")
    ]


def test_symlinked_sequences_are_found_and_a_link_loop_ends(tmp_path: Path):
    # Datasets kept elsewhere and linked into a tree, one linked twice, and a loop.
    gt = {0: np.zeros((2, 2), np.uint8)}
    store = tmp_path / "store"
    make_sequence(store / "highway", gt)
    make_sequence(store / "office", gt)
    tree = tmp_path / "tree"
    (tree / "baseline").mkdir(parents=True)
    (tree / "baseline" / "highway").symlink_to(store / "highway")
    (tree / "shadow").symlink_to(store, target_is_directory=True)
    (tree / "baseline" / "loop").symlink_to(tree, target_is_directory=True)
    found = [(c, s.name) for c, s in find_sequences(tree)]
    assert found == [("baseline", "highway"), ("shadow", "office")]


def _shifted(tmp_path: Path, first: int, frames: int) -> tuple[Path, Path, np.ndarray]:
    """A sequence whose input starts at ``first``, and the masks of its video: from 1."""
    gt = np.array([[255, 0], [0, 0]], np.uint8)
    seq = make_sequence(tmp_path / "seq", {i: gt for i in range(first, first + frames)})
    results = write_results(tmp_path / "res", {k: gt for k in range(1, frames + 1)})
    return seq, results, gt


def test_masks_of_a_video_name_the_offset_that_lines_them_up(tmp_path: Path):
    seq, results, _ = _shifted(tmp_path, 301, 6)
    with pytest.raises(
        EvaluationError,
        match=r"6 of 6 scored frames have no result \(first: bin000301.png\); masks written "
        r"from a video are numbered from 1, this sequence's frames from 301: --offset 300 ",
    ):
        evaluate_folder(seq, results)
    s = evaluate_folder(seq, results, offset=300)
    assert (s.tp, s.fp, s.fn) == (6, 0, 0)


def test_eval_offset_on_the_command_line(tmp_path: Path, capsys):
    from streamseg.cli import main

    seq, results, _ = _shifted(tmp_path, 11, 4)
    assert main(["eval", str(seq), str(results)]) == 2
    assert "--offset 10 lines them up" in capsys.readouterr().err
    assert main(["eval", str(seq), str(results), "--offset", "10", "--json"]) == 0
    assert '"offset": 10' in capsys.readouterr().out


def test_a_shift_other_than_a_videos_is_named_too(tmp_path: Path):
    gt = np.zeros((2, 2), np.uint8)
    seq = make_sequence(tmp_path / "seq", {i: gt for i in range(1, 5)})
    results = write_results(tmp_path / "res", {i: gt for i in range(101, 105)})
    with pytest.raises(EvaluationError, match=r"the masks are shifted: --offset -100 lines"):
        evaluate_folder(seq, results)


def test_shared_sequences_have_the_cdnet_layout(data_dir: Path):
    seqs = dict((s.name, s) for _, s in find_sequences(data_dir))
    assert len(seqs) == 16
    for seq in seqs.values():
        assert seq.scored_indices(), f"{seq.name}: no scored frame"
    assert seqs["cdnet_highway"].temporal_roi == (470, 900)
    assert len(seqs["cdnet_highway"].scored_indices()) == 431
