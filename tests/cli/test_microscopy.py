"""``streamseg microscopy``: simulate a stack, remove its background, list the methods."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("tifffile")

from streamseg.cli import main  # noqa: E402
from streamseg.sources.tiffstack import open_stack  # noqa: E402


def test_simulate_then_remove_the_background(tmp_path: Path, capsys):
    sim, bg = tmp_path / "sim.tif", tmp_path / "true_bg.tif"
    args = ["microscopy", "simulate", "smlm", str(sim), "--frames", "30", "--size", "48x40"]
    assert main([*args, "--background", str(bg), "--emitters", str(tmp_path / "e.csv")]) == 0
    assert (tmp_path / "e.csv").read_text().startswith("frame,y,x,photons\n")
    out = tmp_path / "sparse.tif"
    run = ["microscopy", "run", str(sim), "--method", "median", "--set", "window=11"]
    assert main([*run, "--sparse", str(out), "--mask", str(tmp_path / "m.tif"), "--float"]) == 0
    assert "median: 30 frames of 48x40 uint16" in capsys.readouterr().err
    with open_stack(out) as sparse, open_stack(sim) as raw:
        assert sparse.info.dtype == "float32" and raw.info.dtype == "uint16"
        assert sparse.shape == (30, 40, 48)
    with open_stack(bg) as truth:
        assert truth.info.dtype == "float32" and truth[0].mean() > 100


def test_a_time_lapse_has_masks_and_slnet_trains_on_the_stack(tmp_path: Path, capsys):
    sim, masks = tmp_path / "cells.tif", tmp_path / "masks.tif"
    args = ["microscopy", "simulate", "timelapse", str(sim), "--frames", "12"]
    assert main([*args, "--size", "48x48", "--masks", str(masks)]) == 0
    with open_stack(masks) as m:
        assert m.info.dtype == "uint8" and set(np.unique(m[0])) == {0, 255}
    run = ["microscopy", "run", str(sim), "--sparse", str(tmp_path / "s.tif")]
    assert (
        main([*run, "--set", "steps=3", "--set", "temporal_shifts=[0,4]", "--set", "crop=16"]) == 0
    )
    assert "trained 3 steps" in capsys.readouterr().err


def test_usage_errors_are_one_line_in_the_options_words(tmp_path: Path, capsys):
    sim = tmp_path / "sim.tif"
    assert main(["microscopy", "simulate", "smlm", str(sim), "--frames", "5"]) == 0
    capsys.readouterr()
    assert main(["microscopy", "run", str(sim)]) == 2
    assert "give --sparse, --background and/or --mask" in capsys.readouterr().err
    assert main(["microscopy", "run", str(sim), "--sparse", "x.png"]) == 2
    assert "--sparse: x.png is not a TIFF name" in capsys.readouterr().err
    assert main(["microscopy", "run", str(sim), "--sparse", str(sim)]) == 2
    assert main(["microscopy", "run", str(sim), "-m", "mean", "--sparse", "a.tif"]) == 2
    assert main(["microscopy", "run", str(sim), "--sparse", "a.tif", "--set", "nope=1"]) == 2
    assert "unknown parameter 'nope'" in capsys.readouterr().err
    assert (
        main(
            [
                "microscopy",
                "simulate",
                "smlm",
                str(tmp_path / "x.tif"),
                "--masks",
                str(tmp_path / "m.tif"),
            ]
        )
        == 2
    )
    assert main(["microscopy", "run", str(tmp_path / "none.tif"), "--sparse", "a.tif"]) == 2


def test_list_shows_the_methods_and_their_parameters(capsys):
    assert main(["microscopy", "list"]) == 0
    out = capsys.readouterr().out
    assert all(name in out for name in ("deepls", "median", "rolling-ball", "slnet"))
    assert main(["microscopy", "list", "slnet"]) == 0
    assert "temporal_shifts" in capsys.readouterr().out


def test_a_signal_while_training_leaves_no_stack(tmp_path: Path):
    sim = tmp_path / "sim.tif"
    assert main(["microscopy", "simulate", "smlm", str(sim), "--frames", "40"]) == 0
    out = tmp_path / "s.tif"
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "streamseg",
            "microscopy",
            "run",
            str(sim),
            "--sparse",
            str(out),
            "--set",
            "steps=100000",
            "--set",
            "threads=1",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    time.sleep(8)  # torch imported, training under way (the stop is polled between steps)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["sim.tif"]
