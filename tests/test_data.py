"""Checks against the shared CDnet sequences (../shared/data)."""

from __future__ import annotations

from pathlib import Path

import pytest

from streamseg.cli import main
from streamseg.evaluation.cdnet import evaluate_folder

pytestmark = pytest.mark.data


def test_mog2_on_highway_matches_opencv(data_dir: Path, tmp_path: Path):
    # OpenCV's MOG2 with default parameters scores 0.651 here (issue 2).
    rc = main(
        [
            "run",
            "--source",
            str(data_dir / "cdnet_highway" / "input"),
            "--method",
            "mog2",
            "--masks",
            str(tmp_path),
            "--no-progress",
        ]
    )
    assert rc == 0
    scores = evaluate_folder(data_dir / "cdnet_highway", tmp_path)
    assert abs(scores.f_measure - 0.651) < 0.03


def test_rpca_on_highway_is_causal_and_good(data_dir: Path, tmp_path: Path):
    # Issue 6: the convex baseline, causal (frame t sees frames <= t), F >= 0.75.
    rc = main(
        [
            "run",
            "--source",
            str(data_dir / "cdnet_highway" / "input"),
            "--method",
            "rpca",
            "--masks",
            str(tmp_path),
            "--no-progress",
        ]
    )
    assert rc == 0
    assert evaluate_folder(data_dir / "cdnet_highway", tmp_path).f_measure >= 0.75


def test_onnx_model_scores_like_torch_and_needs_no_torch(data_dir: Path, tmp_path: Path):
    """Issue 4: the same F from the ONNX file as from the torch path, without importing torch."""
    import subprocess
    import sys

    from streamseg.models import builtin_checkpoint

    model = builtin_checkpoint("unet")
    onnx = tmp_path / "model.onnx"
    assert main(["export", str(model), "--out", str(onnx)]) == 0
    seq = data_dir / "cdnet_highway"
    torch_out, onnx_out = tmp_path / "torch", tmp_path / "onnx"
    assert (
        main(
            [
                "run",
                "-s",
                str(seq / "input"),
                "-m",
                "deepls",
                "--model",
                str(model),
                "--set",
                "methods.deepls.backend=torch",
                "--masks",
                str(torch_out),
                "--no-progress",
            ]
        )
        == 0
    )
    code = (
        f"import sys; from streamseg.cli import main; "
        f"rc = main(['run', '-s', {str(seq / 'input')!r}, '-m', 'deepls', '--model', "
        f"{str(onnx)!r}, '--masks', {str(onnx_out)!r}, '--no-progress']); "
        f"print(rc, 'torch' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert out.stdout.split()[-2:] == ["0", "False"], out.stderr
    f_torch = evaluate_folder(seq, torch_out).f_measure
    f_onnx = evaluate_folder(seq, onnx_out).f_measure
    assert abs(f_torch - f_onnx) <= 0.005


@pytest.mark.parametrize("colour", [False, True])
def test_onnx_equals_torch_on_real_frames(data_dir: Path, colour: bool):
    import numpy as np
    import torch

    from streamseg.models import builtin_checkpoint
    from streamseg.segmenters.deepls.checkpoint import load_checkpoint
    from streamseg.segmenters.deepls.context import window_context
    from streamseg.segmenters.deepls.model import model_from_checkpoint
    from streamseg.segmenters.deepls.onnx import OnnxRunner, export_bytes
    from streamseg.segmenters.preprocess import to_processing
    from streamseg.sources import open_source

    ckpt = load_checkpoint(builtin_checkpoint("unet", colour))
    net, model = model_from_checkpoint(ckpt, "builtin")
    assert net.colour is colour
    runner = OnnxRunner(threads=1)
    runner.load(export_bytes(model, net, ckpt.size, ckpt.mask))
    with open_source(data_dir / "cdnet_highway" / "input") as src:
        frames = [to_processing(next(iter(src)).image, ckpt.size, net.colour) for _ in range(40)]
    context = window_context(np.stack(frames[:32]), net.context)
    for x in frames[32:]:
        frame = x[None, None] if x.ndim == 2 else x.transpose(2, 0, 1)[None]
        inp = np.concatenate([frame, context[None]], axis=1).astype(np.float32)
        with torch.no_grad():
            expected = model(torch.from_numpy(inp)).numpy()
        assert np.abs(runner.run(inp)[0] - expected).max() < 1e-4


def _library_loop(sequence: Path) -> tuple[float, list]:
    """A user's own OpenCV-style loop over a sequence's frames with the default deepls."""
    import numpy as np

    import streamseg as ss
    from streamseg.evaluation.cdnet import CDnetSequence
    from streamseg.evaluation.metrics import Confusion

    seq = CDnetSequence(sequence)
    scored = set(seq.scored_indices())
    confusion, masks = Confusion(), []
    with ss.open_source(seq.input_dir) as source, ss.create("deepls") as seg:
        for frame in source:
            mask = seg.apply(frame.image)
            masks.append(np.packbits(mask > 0))
            if frame.number in scored:
                confusion.update(mask, seq.ground_truth(frame.number), seq.roi)
    return confusion.compute().f_measure, masks


def test_the_default_deepls_in_a_library_loop_is_reproducible_and_accurate(data_dir: Path):
    """What README's table reports is what ss.create("deepls") gives, run after run."""
    import numpy as np

    f_board, first = _library_loop(data_dir / "sbi_Board")
    _, second = _library_loop(data_dir / "sbi_Board")
    assert all(np.array_equal(a, b) for a, b in zip(first, second, strict=True))
    assert f_board >= 0.88  # README: 0.914 (the best peer, LOBSTER, 0.844)
    f_hall, _ = _library_loop(data_dir / "sbi_HallAndMonitor")
    assert f_hall >= 0.88  # README: 0.912 (LOBSTER 0.886)
