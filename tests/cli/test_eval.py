from __future__ import annotations

import json
import os
import signal
import time
from pathlib import Path

import pytest

from streamseg.cli import main


def test_synth_then_eval(tmp_path: Path, capsys):
    seq = tmp_path / "seq"
    assert (
        main(
            [
                "synth",
                str(seq),
                "--frames",
                "40",
                "--size",
                "64x48",
                "--warm-up",
                "10",
                "--no-video",
            ]
        )
        == 0
    )
    assert (
        main(
            [
                "run",
                "-s",
                str(seq / "input"),
                "-m",
                "mog2",
                "--masks",
                str(tmp_path / "r"),
                "--no-progress",
            ]
        )
        == 0
    )
    capsys.readouterr()
    assert main(["eval", str(seq), str(tmp_path / "r"), "--json"]) == 0
    scores = json.loads(capsys.readouterr().out)["sequences"][0]
    assert scores["sequence"] == "seq" and 0.3 < scores["f_measure"] <= 1.0


def test_the_masks_of_a_sequence_made_a_video_line_up(tmp_path: Path, capsys):
    # CDnet numbers frames from 1; a video's frames are counted, so its masks are
    # numbered from 1 too and score against the sequence it was made from.
    seq = tmp_path / "seq"
    assert main(["synth", str(seq), "--frames", "30", "--size", "64x48", "--warm-up", "5"]) == 0
    for source, out in ((seq / "input", "folder"), (seq / "synthetic.mp4", "video")):
        args = ["run", "-s", str(source), "-m", "mog2", "--masks", str(tmp_path / out)]
        assert main([*args, "--no-progress"]) == 0
    assert sorted(p.name for p in (tmp_path / "video").glob("bin*.png"))[0] == "bin000001.png"
    capsys.readouterr()
    f = {}
    for out in ("folder", "video"):
        assert main(["eval", str(seq), str(tmp_path / out), "--json"]) == 0
        f[out] = json.loads(capsys.readouterr().out)["sequences"][0]["f_measure"]
    assert f["video"] == pytest.approx(f["folder"], abs=0.05)  # H.264 is near lossless here


@pytest.mark.parametrize(("sig", "code"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_a_signal_stops_eval_cleanly(tmp_path: Path, sig, code, signal_after_40_masks):
    seq = tmp_path / "seq"
    assert main(["synth", str(seq), "--frames", "3000", "--size", "64x48", "--no-video"]) == 0
    report = tmp_path / "report"
    masks = report / "masks" / "mog2" / "seq"
    args = ["eval", str(seq), "-m", "mog2", "--out", str(report)]
    returncode, err = signal_after_40_masks(args, masks, sig)
    assert returncode == code, err
    assert "interrupted: the report was not written" in err and "Traceback" not in err
    assert not (report / "results.json").exists() and not list(masks.glob(".*.tmp"))


def test_a_stop_after_evals_last_frame_keeps_the_whole_report(tmp_path: Path, monkeypatch):
    from streamseg.evaluation import benchmark as bench

    seq = tmp_path / "seq"
    assert main(["synth", str(seq), "--frames", "30", "--size", "64x48", "--no-video"]) == 0
    score = bench.evaluate_folder

    def signalled_while_scoring(*args, **kwargs):
        os.kill(os.getpid(), signal.SIGINT)  # every frame is already segmented
        time.sleep(0.2)  # the stopper's watcher sets its event
        return score(*args, **kwargs)

    monkeypatch.setattr(bench, "evaluate_folder", signalled_while_scoring)
    report = tmp_path / "report"
    assert main(["eval", str(seq), "-m", "mog2", "--out", str(report), "--no-progress"]) == 130
    assert (report / "results.json").exists()


def test_eval_runs_methods_and_writes_a_report(tmp_path: Path, capsys):
    seq = tmp_path / "seq"
    assert (
        main(
            ["synth", str(seq), "--frames", "30", "--size", "64x48", "--warm-up", "5", "--no-video"]
        )
        == 0
    )
    rc = main(
        [
            "eval",
            str(seq),
            "--method",
            "mog2,knn",
            "--out",
            str(tmp_path / "rep"),
            "--no-progress",
            "--no-plots",
        ]
    )
    assert rc == 0
    out = capsys.readouterr().out
    assert "| seq |" in out and "mean F" in out
    assert (tmp_path / "rep" / "results.csv").exists()
    assert len(list((tmp_path / "rep" / "masks" / "knn" / "seq").glob("bin*.png"))) == 30


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["eval", "X"], "either RESULTS"),
        (["eval", "X", "R", "--method", "mog2"], "either RESULTS"),
        (["eval", "X", "--method", "mog2"], "needs --out"),
        (
            ["eval", "X", "--method", "mog2", "--out", "o", "--set", "knn.history=3"],
            "METHOD.KEY=VALUE",
        ),
    ],
)
def test_eval_usage_errors(args, message, capsys):
    assert main(args) == 2
    assert message in capsys.readouterr().err
