from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from streamseg.cli import main


def test_train_export_and_run_frozen(tmp_path: Path, capsys):
    seq = tmp_path / "seq"
    assert main(["synth", str(seq), "--frames", "40", "--size", "64x48", "--no-video"]) == 0
    model = tmp_path / "m.pt"
    assert (
        main(
            [
                "train",
                str(seq / "input"),
                "--out",
                str(model),
                "--no-progress",
                "--set",
                "train.steps=15",
                "--set",
                "train.frames=8",
                "--set",
                "net.width=4",
                "--set",
                "area=1200",
            ]
        )
        == 0
    )
    err = capsys.readouterr().err
    assert "15 steps" in err and "convex optimum" in err
    onnx = tmp_path / "m.onnx"
    assert main(["export", str(model), "--out", str(onnx)]) == 0
    for weights in (model, onnx):
        out = tmp_path / f"masks_{weights.suffix[1:]}"
        assert (
            main(
                [
                    "run",
                    "-s",
                    str(seq / "input"),
                    "-m",
                    "deepls",
                    "--model",
                    str(weights),
                    "--masks",
                    str(out),
                    "--no-progress",
                ]
            )
            == 0
        )
        assert len(list(out.glob("bin*.png"))) == 40


def test_two_pass_model_keeps_the_clip_context(tmp_path: Path):
    from streamseg.segmenters.deepls.checkpoint import load_checkpoint
    from streamseg.segmenters.deepls.onnx import read_metadata

    seq = tmp_path / "seq"
    assert main(["synth", str(seq), "--frames", "30", "--size", "64x48", "--no-video"]) == 0
    model, onnx = tmp_path / "m.pt", tmp_path / "m.onnx"
    assert (
        main(
            [
                "train",
                str(seq / "input"),
                "--out",
                str(model),
                "--no-progress",
                "--no-rpca",
                "--set",
                "train.steps=3",
                "--set",
                "net.width=4",
                "--set",
                "area=768",
            ]
        )
        == 0
    )
    context = load_checkpoint(model).meta["context"].numpy()
    assert context.shape == (2, 24, 32)  # median and MAD at the processing size
    assert main(["export", str(model), "--out", str(onnx)]) == 0
    assert read_metadata(onnx.read_bytes())["context"].shape == (2, 24, 32)


def test_train_refuses_what_cannot_train_before_it_starts(tmp_path: Path, capsys):
    one = tmp_path / "one"
    one.mkdir()
    cv2.imwrite(str(one / "in000001.png"), np.zeros((48, 64, 3), np.uint8))
    out = str(tmp_path / "m.pt")
    assert main(["train", str(one), "--out", out, "--no-progress", "--no-rpca"]) == 2
    assert "1 frame(s); training deepls needs at least 2" in capsys.readouterr().err
    args = ["train", "synthetic:frames=8,size=64x48", "--out", out, "--no-progress"]
    assert main([*args, "--set", "train.steps=0"]) == 2
    assert "train.steps must be >= 1" in capsys.readouterr().err
    assert main([*args, "-m", "slnet", "--set", "train.frames=2"]) == 2
    assert "train.frames must be >= net.stack (4)" in capsys.readouterr().err
    assert not Path(out).exists()


def test_train_on_a_live_stream_needs_a_frame_limit(rtsp_server, tmp_path: Path, capsys):
    out = tmp_path / "m.pt"
    args = ["train", rtsp_server.url, "--out", str(out), "--no-progress", "--no-rpca"]
    assert main(args) == 2
    assert "live stream, which never ends: give --max-frames N" in capsys.readouterr().err
    steps = ["--set", "train.steps=2", "--set", "train.frames=4", "--set", "net.width=4"]
    assert main([*args, "--max-frames", "12", *steps]) == 0
    assert out.exists()


@pytest.mark.parametrize("item", ["deepls.train.steps=0", "methods.deepls.train.steps=0"])
def test_train_and_eval_take_the_run_forms(item: str, tmp_path: Path, capsys):
    # train.steps=0 is refused by train itself: the item reached the parameter.
    assert main(["train", "X", "--out", str(tmp_path / "m.pt"), "--set", item]) == 2
    assert "train.steps must be >= 1" in capsys.readouterr().err
    seq = tmp_path / "seq"
    assert main(["synth", str(seq), "--frames", "8", "--size", "32x24", "--no-video"]) == 0
    args = ["eval", str(seq), "-m", "mog2", "--out", str(tmp_path / "r"), "--no-plots"]
    assert main([*args, "--set", "methods.mog2.history=0", "--no-progress"]) == 2
    assert "history must be in 1" in capsys.readouterr().err
