from __future__ import annotations

from pathlib import Path

import pytest

from streamseg.cli import main


def test_export_int8_calibrates_on_the_given_clip(tmp_path: Path, capsys):
    from streamseg.segmenters.deepls.testing import tiny_checkpoint

    model, onnx = str(tiny_checkpoint("unet")), str(tmp_path / "m8.onnx")
    assert main(["export", model, "--out", onnx, "--int8"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "--calibrate SOURCE" in err[0]
    assert main(["export", model, "--out", onnx, "--calibrate", "synthetic"]) == 2
    assert "only applies with --int8" in capsys.readouterr().err
    clip = "synthetic:frames=60,size=64x48"
    assert main(["export", model, "--out", onnx, "--int8", "--calibrate", clip]) == 0
    assert "int8" in capsys.readouterr().err
    masks = tmp_path / "masks"
    assert main(["run", "-s", clip, "-m", "deepls", "--model", onnx, "--masks", str(masks)]) == 0
    assert len(list(masks.glob("bin*.png"))) == 60


def test_export_int8_says_when_the_training_clip_is_gone(tmp_path: Path, capsys):
    import dataclasses

    from streamseg.segmenters.deepls.checkpoint import load_checkpoint, save_checkpoint
    from streamseg.segmenters.deepls.testing import tiny_checkpoint

    ckpt = load_checkpoint(tiny_checkpoint("unet"))
    moved = tmp_path / "moved.pt"
    save_checkpoint(dataclasses.replace(ckpt, meta={"source": "/nope/clip.mp4"}), moved)
    out = tmp_path / "new" / "m8.onnx"
    assert main(["export", str(moved), "--out", str(out), "--int8"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "was trained on" in err[0] and "/nope/clip.mp4" in err[0]
    assert "--calibrate SOURCE" in err[0]
    assert not out.parent.exists()  # nothing written, no folder left behind


@pytest.mark.parametrize("content", [b"", b"garbage" * 100])
def test_bad_model_files_exit_2(tmp_path: Path, content, capsys):
    for suffix in (".pt", ".onnx"):
        path = tmp_path / f"bad{suffix}"
        path.write_bytes(content)
        assert main(["run", "-s", "synthetic:frames=3", "-m", "deepls", "--model", str(path)]) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and str(path) in err[0]
    assert main(["export", str(tmp_path / "bad.pt"), "--out", str(tmp_path / "x.onnx")]) == 2
