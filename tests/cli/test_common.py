from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import av
import cv2
import pytest

import streamseg as ss
from streamseg.cli import main


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["run", "-s", "synthetic", "-m", "nope"], "unknown method 'nope'"),
        (
            ["run", "-s", "synthetic", "-m", "mog2", "--set", "methods.mog2.history=-3"],
            "history must be in 1..2**31-1",
        ),
        (
            ["run", "-s", "synthetic", "-m", "mog2", "--set", "methods.mog2.colour=1"],
            "unknown parameter 'colour'",
        ),
        (["run", "-s", "/no/such/video.mp4", "-m", "mog2"], "no such file"),
        (["run", "-s", "synthetic"], "no method given"),
        (["run", "-m", "mog2"], "no source given"),
        (["run", "-c", "/no/such.yaml", "-m", "mog2"], "does not exist"),
        (["run", "-s", "synthetic", "-m", "mog2", "--max-frames", "0"], "--max-frames"),
        (["eval", "/no/seq", "/no/res"], "/no/seq: no such folder"),
        (["frobnicate"], "No such command"),
        (["run", "--sourse", "x"], "No such option"),
    ],
)
def test_usage_errors_exit_2_with_one_line(args, message, capsys):
    assert main(args) == 2
    err = capsys.readouterr().err.strip()
    assert message in err and len(err.splitlines()) == 1, err
    assert "Traceback" not in err


def test_not_a_video_exits_2_with_one_line(tmp_path: Path):
    # In a process of its own: the fallback decoder's FFmpeg ("moov atom not found")
    # writes to file descriptor 2 itself, which only a real stderr shows.
    bad = tmp_path / "x.mp4"
    bad.write_text("nope" * 100)
    cmd = [sys.executable, "-m", "streamseg", "run", "-s", str(bad), "-m", "mog2"]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    err = proc.stderr.strip().splitlines()
    assert proc.returncode == 2 and len(err) == 1 and "not a video" in err[0], proc.stderr


@pytest.mark.parametrize("where", ["first", "last"])
def test_debug_raises_wherever_it_is_given(tmp_path: Path, where: str):
    # The one-line error tells the user to "run with --debug": most add it at the end.
    bad = tmp_path / "x.mp4"
    bad.write_text("nope" * 100)
    args = ["run", "-s", str(bad), "-m", "mog2"]
    with pytest.raises(ss.SourceError, match="not a video"):
        main(["--debug", *args] if where == "first" else [*args, "--debug"])


def test_a_second_ctrl_c_aborts_at_once_and_keeps_what_was_written(tmp_path: Path):
    masks, video = tmp_path / "m", tmp_path / "v.mp4"
    cmd = [sys.executable, "-m", "streamseg", "run", "-s", "synthetic:frames=100000,size=96x72"]
    cmd += ["-m", "deepls", "--masks", str(masks), "--video", str(video), "--no-progress"]
    cmd += ["--save-checkpoint", str(tmp_path / "c.pt")]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and len(list(masks.glob("bin*.png"))) < 40:
        time.sleep(0.1)
    proc.send_signal(signal.SIGINT)
    time.sleep(0.05)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    # Not the C++ runtime's abort (134) of a torch thread left running at exit. The
    # orderly stop may also finish between the two signals: 130 either way, and never a
    # traceback from a finaliser that the second signal interrupted (seen in CI).
    assert proc.returncode == 130, err
    assert "aborted at once" in err or "outputs are complete" in err, err
    assert "Traceback" not in err, err
    pngs = sorted(masks.glob("bin*.png"))
    assert pngs and all(cv2.imread(str(p), cv2.IMREAD_GRAYSCALE) is not None for p in pngs)
    with av.open(str(video)) as c:
        assert sum(1 for _ in c.decode(video=0)) > 0


def test_no_command_writes_over_its_own_input(tmp_path: Path, capsys):
    import shutil

    from streamseg.models import builtin_checkpoint

    seq = tmp_path / "seq"
    assert main(["synth", str(seq), "--frames", "6", "--size", "64x48"]) == 0
    video, model = seq / "synthetic.mp4", tmp_path / "model.pt"
    shutil.copy(builtin_checkpoint("unet"), model)
    before = {p: p.read_bytes() for p in (video, model)}
    commands = [
        ["run", "-s", str(video), "-m", "deepls", "--save-checkpoint", str(video)],
        ["train", str(video), "--out", str(video), "--set", "train.steps=1"],
        ["export", str(model), "--out", str(model)],
        ["export", str(model), "--out", str(video), "--int8", "--calibrate", str(video)],
    ]
    for args in commands:
        capsys.readouterr()
        assert main([*args, *(["--no-progress"] if args[0] != "export" else [])]) == 2, args
        assert "itself" in capsys.readouterr().err, args
    assert all(p.read_bytes() == data for p, data in before.items())


def test_quiet_runs_print_nothing_and_the_progress_bar_never_reaches_stdout(tmp_path: Path):
    cmd = [sys.executable, "-m", "streamseg", "-q", "run", "-s", "synthetic:frames=20,size=64x48"]
    cmd += ["-m", "mog2,knn", "--masks", str(tmp_path / "m")]
    quiet = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert quiet.returncode == 0 and quiet.stdout == "" and quiet.stderr == ""
    cmd.remove("-q")
    loud = subprocess.run([*cmd, "--progress", "--overwrite"], capture_output=True, text=True)
    assert loud.returncode == 0 and loud.stdout == "", loud.stdout
    assert "agreement (mean IoU of masks)\n" in loud.stderr  # a title on one line


def _needs_an_extra() -> object:
    """A method whose extra is not installed, as `list` shows one (registered for a test)."""
    from dataclasses import dataclass

    from streamseg.registry import register
    from streamseg.segmenters.base import Segmenter

    @register("needs-extra", requires=("no_such_module_xyz",), extra="baselines")
    class NeedsExtra(Segmenter):
        @dataclass(frozen=True)
        class Config:
            pass

    return NeedsExtra


@pytest.mark.parametrize("case", ["list", "synth", "demo", "eval"])
def test_brackets_in_messages_are_printed_as_they_are(case: str, tmp_path: Path, capsys):
    # rich reads [word] as markup: "pip install 'streamseg[baselines]'" lost its extra,
    # and a path with "[/]" in it crashed the command.
    odd = tmp_path / "a[bold]b[/]c"
    if case == "list":
        from streamseg.segmenters import registration

        _needs_an_extra()
        try:
            assert main(["list"]) == 0
        finally:
            registration._REGISTRY.pop("needs-extra")
            registration._EXTRAS.pop("needs-extra")
        out = capsys.readouterr().out
        assert "'streamseg[baselines]'" in out, out
        return
    if case == "synth":
        assert main(["synth", str(odd), "--frames", "3", "--size", "32x24", "--no-video"]) == 0
    elif case == "demo":
        args = ["demo", "--out", str(odd), "--frames", "10", "--size", "32x24", "-m", "mog2"]
        assert main([*args, "--no-progress"]) == 0
    else:
        seq = tmp_path / "seq"
        assert main(["synth", str(seq), "--frames", "12", "--size", "32x24", "--no-video"]) == 0
        masks = ["--masks", str(tmp_path / "r"), "--no-progress"]
        assert main(["run", "-s", str(seq / "input"), "-m", "mog2", *masks]) == 0
        capsys.readouterr()
        args = ["eval", str(seq), str(tmp_path / "r"), "--out", str(odd), "--no-plots"]
        assert main(args) == 0
    err = capsys.readouterr().err
    assert str(odd) in err.replace("\n", ""), err


@pytest.mark.parametrize(
    ("args", "shown"),
    [
        (["run", "-s", "synthetic", "-m", "mog2", "--set", "knn.history=3"], "mog2.history=3"),
        (["run", "-s", "synthetic", "-m", "mog2", "--set", "sourc.fps=3"], "source.KEY=VALUE"),
        (
            ["eval", "X", "-m", "mog2,knn", "--out", "o", "--set", "history=3"],
            "METHOD.KEY=VALUE (e.g. mog2.history=500)",
        ),
        (["train", "X", "--out", "m.pt", "--set", "trian.steps=1"], "METHOD.KEY=VALUE"),
        (["eval", "X", "R", "--set", "mog2.history=3"], "give --method"),
    ],
)
def test_a_wrong_set_form_is_shown_the_right_one(args, shown: str, capsys):
    assert main(args) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and shown in err[0], err
