from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import av
import cv2
import pytest

from streamseg.cli import main


def test_run_writes_masks_and_config(tmp_path: Path, capsys):
    rc = main(
        [
            "run",
            "--source",
            "synthetic:frames=15,size=64x48",
            "--method",
            "mog2",
            "--masks",
            str(tmp_path / "m"),
            "--video",
            str(tmp_path / "mosaic.mp4"),
            "--no-progress",
        ]
    )
    assert rc == 0
    assert len(list((tmp_path / "m").glob("bin*.png"))) == 15
    assert (tmp_path / "m" / "run.yaml").exists() and (tmp_path / "mosaic.mp4").exists()
    assert "15 frames" in capsys.readouterr().err


def test_several_methods_get_sub_folders_and_agreement(tmp_path: Path, capsys):
    rc = main(
        [
            "run",
            "-s",
            "synthetic:frames=20,size=64x48",
            "-m",
            "mog2,knn",
            "--masks",
            str(tmp_path),
            "--no-progress",
        ]
    )
    assert rc == 0
    assert {p.name for p in tmp_path.iterdir() if p.is_dir()} == {"mog2", "knn"}
    assert "agreement" in capsys.readouterr().err


def test_config_file_and_set_override(tmp_path: Path):
    cfg = tmp_path / "c.yaml"
    cfg.write_text(
        "source: {uri: 'synthetic:frames=30,size=32x32'}\nmethods: [{name: mog2, history: 10}]\n"
    )
    rc = main(
        [
            "run",
            "-c",
            str(cfg),
            "--set",
            "methods.mog2.history=20",
            "--set",
            "max_frames=4",
            "--masks",
            str(tmp_path / "out"),
            "--no-progress",
        ]
    )
    assert rc == 0
    resolved = (tmp_path / "out" / "run.yaml").read_text()
    assert "history: 20" in resolved and "max_frames: 4" in resolved
    assert len(list((tmp_path / "out").glob("bin*.png"))) == 4


def test_unwritable_output_exits_2(tmp_path: Path, capsys):
    (tmp_path / "file").write_text("x")
    assert (
        main(
            [
                "run",
                "-s",
                "synthetic:frames=3",
                "-m",
                "mog2",
                "--masks",
                str(tmp_path / "file" / "out"),
            ]
        )
        == 2
    )
    assert "cannot create output folder" in capsys.readouterr().err


@pytest.mark.parametrize(("sig", "code"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_signal_finalises_outputs(tmp_path: Path, sig, code, signal_after_40_masks):
    masks, video = tmp_path / "m", tmp_path / "v.mp4"
    args = ["run", "-s", "synthetic:frames=100000,size=96x72", "-m", "mog2", "--no-progress"]
    returncode, err = signal_after_40_masks(
        [*args, "--masks", str(masks), "--video", str(video)], masks, sig
    )
    assert returncode == code, err
    pngs = sorted(masks.glob("bin*.png"))
    assert all(cv2.imread(str(p), cv2.IMREAD_GRAYSCALE) is not None for p in pngs)
    assert not list(masks.glob(".*.tmp"))
    with av.open(str(video)) as c:
        assert sum(1 for _ in c.decode(video=0)) == len(pngs)
    assert "outputs are complete" in err


def test_a_signal_while_deepls_starts_ends_the_run_at_once(
    tmp_path: Path, capsys, slow_deepls_start_up
):
    # The stop closes the segmenter that is still loading: the run ends interrupted
    # (130), its outputs finalised, rather than after the model loaded.
    import threading

    def interrupt() -> None:
        if slow_deepls_start_up.wait(60):
            # To the main thread, as a terminal's Ctrl-C comes: a signal this thread sent
            # the process may be taken by this thread, and the waiting main thread would
            # only see it when it next runs.
            signal.pthread_kill(threading.main_thread().ident or 0, signal.SIGINT)

    threading.Thread(target=interrupt, daemon=True).start()
    masks = tmp_path / "m"
    args = ["run", "-s", "synthetic:frames=50,size=64x48", "-m", "mog2,deepls"]
    assert main([*args, "--masks", str(masks), "--no-progress"]) == 130
    assert "stopped by signal after 0 frames; outputs are complete" in capsys.readouterr().err
    stats = json.loads((masks / "run_stats.json").read_text())
    assert stats["interrupted"] and stats["error"] is None


def test_model_flags_go_to_the_one_deepls_method_of_the_run(tmp_path: Path, capsys):
    from streamseg.segmenters.deepls.testing import tiny_checkpoint

    base = ["run", "-s", "synthetic:frames=3,size=64x48"]
    for methods in ("mog2", "deepls,slnet"):
        assert main([*base, "-m", methods, "--save-checkpoint", str(tmp_path / "c.pt")]) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and "exactly one deepls or slnet" in err[0]
    # The method may come from a config file instead of --method.
    config = tmp_path / "run.yaml"
    config.write_text("methods: [{name: slnet}, {name: mog2}]\n")
    out = tmp_path / "masks"
    path = str(tiny_checkpoint("slnet"))
    assert main([*base, "--config", str(config), "--model", path, "--masks", str(out)]) == 0
    assert len(list((out / "slnet").glob("bin*.png"))) == 3


def test_sigterm_saves_the_online_checkpoint(tmp_path: Path):
    ckpt = tmp_path / "online.pt"
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "streamseg",
            "run",
            "-s",
            "synthetic:frames=100000,size=96x72",
            "-m",
            "deepls",
            "--set",
            "methods.deepls.start=random",
            "--set",
            "methods.deepls.net.width=4",
            "--set",
            "methods.deepls.mode=sync",
            "--save-checkpoint",
            str(ckpt),
            "--masks",
            str(tmp_path / "m"),
            "--no-progress",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline and len(list((tmp_path / "m").glob("bin*.png"))) < 30:
        time.sleep(0.1)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 143, err
    from streamseg.segmenters.deepls.checkpoint import load_checkpoint

    meta = load_checkpoint(ckpt).meta
    assert meta["steps"] > 0 and not list(tmp_path.glob(".*.tmp"))
    rc = main(
        [
            "run",
            "-s",
            "synthetic:frames=5,size=96x72",
            "-m",
            "deepls",
            "--set",
            "methods.deepls.mode=sync",
            "--resume",
            str(ckpt),
            "--no-progress",
        ]
    )
    assert rc == 0


def test_a_checkpoint_path_that_cannot_be_written_fails_before_the_run(tmp_path: Path, capsys):
    blocker = tmp_path / "a_file"
    blocker.write_text("")
    masks = tmp_path / "masks"
    args = ["run", "-s", "synthetic:frames=5,size=64x48", "-m", "deepls", "--masks", str(masks)]
    assert main([*args, "--save-checkpoint", str(blocker / "c.pt")]) == 2
    assert main([*args, "--save-checkpoint", str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 2 and "a_file" in err[0] and "is a folder" in err[1]
    assert not masks.exists()


def test_a_second_run_into_a_masks_folder_needs_overwrite(tmp_path: Path, capsys):
    args = ["run", "-s", "synthetic:frames=4,size=64x48", "-m", "mog2", "--no-progress"]
    args += ["--masks", str(tmp_path / "m")]
    assert main(args) == 0
    capsys.readouterr()
    assert main(args) == 2
    assert "--overwrite to replace them" in capsys.readouterr().err
    assert main([*args, "--overwrite"]) == 0


def test_output_errors_name_the_runs_options(tmp_path: Path, capsys):
    # The library names outputs as a configuration does (outputs.video); run, its options.
    same = str(tmp_path / "same.mp4")
    args = ["run", "-s", "synthetic:frames=4,size=64x48", "-m", "mog2", "--no-progress"]
    assert main([*args, "--video", same, "--overlay", same]) == 2
    assert f"--video and --overlay both write {same}" in capsys.readouterr().err


def test_a_stop_while_a_camera_is_connecting_ends_the_run_at_once(tmp_path: Path):
    import socket

    server = socket.socket()  # accepts the connection and never answers, as a hung camera
    server.bind(("127.0.0.1", 0))
    server.listen()
    try:
        url = f"rtsp://127.0.0.1:{server.getsockname()[1]}/x"
        cmd = [sys.executable, "-m", "streamseg", "run", "-s", url, "-m", "mog2"]
        cmd += ["--set", "source.open_timeout=60", "--masks", str(tmp_path / "m")]
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        server.settimeout(30)
        conn, _ = server.accept()  # it is connecting now
        proc.send_signal(signal.SIGINT)
        # Well before source.open_timeout: FFmpeg's open is left behind, not waited for.
        _, err = proc.communicate(timeout=20)
        conn.close()
    finally:
        server.close()
    assert proc.returncode == 130, err
    assert "stopped by signal while the source was opening; nothing was written" in err
    assert "Traceback" not in err


def test_model_and_resume_together_are_refused(tmp_path: Path, capsys):
    # --model runs a trained model frozen, --resume goes on learning from a checkpoint:
    # given both, the resume used to be dropped without a word.
    args = ["run", "-s", "synthetic:frames=3,size=64x48", "-m", "deepls"]
    args += ["--model", str(tmp_path / "m.onnx"), "--resume", str(tmp_path / "c.pt")]
    assert main(args) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "--model" in err[0] and "--resume" in err[0], err


def test_a_run_without_outputs_says_that_nothing_was_written(tmp_path: Path, capsys):
    assert main(["run", "-s", "synthetic:frames=5,size=64x48", "-m", "mog2"]) == 0
    err = capsys.readouterr().err
    assert "nothing was written" in err and "--masks DIR" in err
    args = ["run", "-s", "synthetic:frames=5,size=64x48", "-m", "mog2"]
    assert main([*args, "--masks", str(tmp_path / "m"), "--no-progress"]) == 0
    assert "nothing was written" not in capsys.readouterr().err


@pytest.mark.parametrize("item", ["mog2.history=20", "methods.mog2.history=20", "history=20"])
def test_run_takes_a_method_parameter_in_each_form(item: str, tmp_path: Path):
    args = ["run", "-s", "synthetic:frames=2,size=32x24", "-m", "mog2", "--set", item]
    assert main([*args, "--masks", str(tmp_path), "--no-progress"]) == 0
    assert "history: 20" in (tmp_path / "run.yaml").read_text()


def test_run_raises_events_into_a_log_a_webhook_and_mqtt(tmp_path: Path, capsys, mqtt_broker):
    from tests.sinks.test_mqtt import Subscriber
    from tests.sinks.test_webhook import Receiver

    zones = tmp_path / "zones.yaml"
    zones.write_text(
        "zones:\n  - {name: yard, points: [[0, 0.3], [1, 0.3], [1, 1], [0, 1]]}\n"
        "events: {min_frames: 3, off_delay: 0.5, objects: {min_area: 0.005}}\n"
    )
    receiver, subscriber = Receiver(), Subscriber(mqtt_broker.port)
    try:
        rc = main(
            [
                "run",
                *("--source", "synthetic:frames=100,size=160x120", "--method", "mog2"),
                *("--events", str(tmp_path / "events.jsonl"), "--zones", str(zones)),
                *("--webhook", receiver.url, "--mqtt", mqtt_broker.address),
                *("--camera", "gate", "--no-progress"),
            ]
        )
        assert rc == 0
        logged = [json.loads(line) for line in (tmp_path / "events.jsonl").read_text().splitlines()]
        assert logged and {e["type"] for e in logged} <= {"start", "update", "end"}
        assert logged[-1]["type"] == "end" and all(e["camera"] == "gate" for e in logged)
        assert [b["id"] for b in receiver.bodies] == [e["id"] for e in logged]
        subscriber.wait_for(lambda: len(subscriber.on("streamseg/gate/events")) == len(logged))
        assert subscriber.on("streamseg/gate/motion")[-1] == b"OFF"
    finally:
        receiver.stop()
        subscriber.close()
    err = capsys.readouterr().err
    assert f"events: {len(logged)} (yard:" in err and "webhook: " in err and "mqtt: " in err
    assert (tmp_path / "run.yaml").exists()  # beside the log, as beside masks


def test_run_refuses_a_bad_webhook_or_zones_file_in_one_line(tmp_path: Path, capsys):
    args = ["run", "--source", "synthetic:frames=5,size=64x48", "--method", "mog2"]
    assert main([*args, "--webhook", "127.0.0.1:8123"]) == 2
    assert "webhook '127.0.0.1:8123': give an http:// or https:// URL" in capsys.readouterr().err
    bad = tmp_path / "zones.yaml"
    bad.write_text("zones: [{name: a, points: [[0, 0]]}]\n")
    assert main([*args, "--zones", str(bad)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "3 points" in err
