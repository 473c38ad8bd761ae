from __future__ import annotations

import os
from pathlib import Path

import cv2
import numpy as np
import pytest

from streamseg.errors import ConfigError, SinkError
from streamseg.frame import Frame
from streamseg.sinks.png import PngMaskSink


def _frame(index: int, numbered: bool = True) -> Frame:
    return Frame(np.zeros((6, 8, 3), np.uint8), index, 0.0, numbered)


def test_cdnet_names_and_values(tmp_path: Path):
    mask = np.zeros((6, 8), np.uint8)
    mask[2:4, 3:6] = 255
    with PngMaskSink(tmp_path / "out", method="a") as sink:
        sink.write(_frame(470), {"a": mask, "b": np.zeros_like(mask)})
        sink.write(_frame(471), {"a": mask, "b": mask})
    assert sorted(os.listdir(tmp_path / "out")) == ["bin000470.png", "bin000471.png"]
    back = cv2.imread(str(tmp_path / "out" / "bin000470.png"), cv2.IMREAD_UNCHANGED)
    assert back.dtype == np.uint8 and np.array_equal(back, mask)


def test_counted_frames_are_numbered_from_one(tmp_path: Path):
    # A video's first frame (index 0) is CDnet's frame 1: its mask is bin000001.png.
    with PngMaskSink(tmp_path / "out") as sink:
        sink.write(_frame(0, numbered=False), {"a": np.zeros((6, 8), np.uint8)})
    assert os.listdir(tmp_path / "out") == ["bin000001.png"]


def test_needs_a_method_when_several(tmp_path: Path):
    with PngMaskSink(tmp_path) as sink, pytest.raises(ConfigError, match="say which one"):
        sink.write(_frame(0), {"a": np.zeros((6, 8), np.uint8), "b": np.zeros((6, 8), np.uint8)})


@pytest.mark.skipif(os.geteuid() == 0, reason="root can write anywhere")
def test_unwritable_folder_fails_on_open(tmp_path: Path):
    tmp_path.chmod(0o500)
    try:
        with pytest.raises(SinkError, match="cannot create output folder"):
            PngMaskSink(tmp_path / "sub").open()
    finally:
        tmp_path.chmod(0o700)


def test_folder_over_a_file_fails_on_open(tmp_path: Path):
    (tmp_path / "file").write_text("x")
    with pytest.raises(SinkError, match="cannot create output folder"):
        PngMaskSink(tmp_path / "file" / "masks").open()


def test_full_disk_leaves_no_partial_file(tmp_path: Path, monkeypatch):
    sink = PngMaskSink(tmp_path)
    sink.open()
    real_open = open

    def failing_open(path, mode="r", *args, **kwargs):
        if "w" in mode:
            raise OSError(28, "No space left on device")
        return real_open(path, mode, *args, **kwargs)

    monkeypatch.setattr("builtins.open", failing_open)
    with pytest.raises(SinkError, match="No space left on device"):
        sink.write(_frame(3), {"m": np.zeros((6, 8), np.uint8)})
    monkeypatch.undo()
    assert os.listdir(tmp_path) == []
