"""Supervision on Ray: actors polled, restarted with a back-off, given up (needs [ray])."""

from __future__ import annotations

import json
import logging
import time
import types
from pathlib import Path

import pytest

from streamseg.errors import ConfigError
from streamseg.jsonout import dumps
from streamseg.serve import (
    Cluster,
    StreamState,
    StreamWorker,
    SupervisedStream,
    serve_config_from_dict,
)


def _cluster_without_actors(monkeypatch, **stream: object) -> tuple[Cluster, SupervisedStream]:
    """A cluster of one stream "cam" whose launches only count the attempt (no Ray)."""
    entry = {"name": "cam", "source": {"uri": "synthetic"}, "methods": ["mog2"], **stream}
    cluster = Cluster(serve_config_from_dict({"streams": [entry]}))
    monkeypatch.setattr(cluster, "_launch", lambda s, attempt: setattr(s, "attempt", attempt))
    monkeypatch.setattr(Cluster, "_ray", staticmethod(lambda: types.SimpleNamespace(kill=print)))
    return cluster, cluster._streams["cam"]


def test_what_no_restart_can_fix_is_refused_before_any_actor_starts(tmp_path: Path):
    def cluster(**stream: object) -> Cluster:
        entry = {"name": "a", "source": "synthetic", "methods": ["mog2"], **stream}
        return Cluster(serve_config_from_dict({"streams": [entry]}))

    two_cpus = {"CPU": 2.0}
    cluster(cpus=2)._check_resources(two_cpus)
    cluster(cpus=0.5)._check_resources(two_cpus)
    with pytest.raises(ConfigError, match="asks for 64 CPUs, the cluster has 2"):
        cluster(cpus=64)._check_resources(two_cpus)
    with pytest.raises(ConfigError, match="asks for 1 GPUs, the cluster has 0"):
        cluster(gpus=1)._check_resources(two_cpus)
    with pytest.raises(ConfigError, match="gone.mp4: no such file"):
        cluster(source=str(tmp_path / "gone.mp4"))._check_files()
    with pytest.raises(ConfigError, match="synthetic_clip.mp4: no such file"):
        cluster(source="synthetic_clip.mp4")._check_files()
    for fine in ("rtsp://127.0.0.1:9/cam", "0", "synthetic:frames=5", str(tmp_path)):
        cluster(source=fine)._check_files()


def test_two_synthetic_streams_and_rtsp_one_killed_and_restarted(rtsp_server, tmp_path: Path):
    pytest.importorskip("ray", reason="Ray is not installed (pip install 'streamseg[ray]')")
    data = {
        "streams": [
            {
                "name": "a",
                # Paced at the scene's 25 fps so the kill lands mid-stream on any machine.
                "source": {"uri": "synthetic:frames=300,size=96x72", "realtime": True},
                "methods": ["mog2"],
                "cpus": 0.5,
            },
            {
                "name": "b",
                "source": {"uri": "synthetic:frames=120,size=96x72"},
                "methods": [{"name": "deepls", "mode": "sync", "net": {"width": 8}}],
                "cpus": 0.5,
                "checkpoint_every": 0.5,
            },
            {
                "name": "cam",
                "source": {"uri": rtsp_server.url, "read_timeout": 3},
                "methods": ["mog2"],
                "max_frames": 60,
                "cpus": 0.5,
            },
        ]
    }
    cfg = serve_config_from_dict(data, out=tmp_path)
    killed = []

    def on_status(statuses):
        a = next(s for s in statuses if s["name"] == "a")
        if not killed and a["state"] == "running" and a["frames"] > 40:
            cluster.kill("a")
            killed.append(a["frames"])

    with Cluster(cfg, num_cpus=2, poll=0.5) as cluster:
        deadline = time.monotonic() + 240
        final = cluster.wait(
            on_status=lambda s: (on_status(s), None)[1] if time.monotonic() < deadline else None
        )
    by = {s["name"]: s for s in final}
    assert killed, "the actor was never killed"
    assert by["a"]["state"] == "done" and by["a"]["restarts"] == 1
    assert by["b"]["state"] == "done" and by["cam"]["state"] == "done"
    assert len(list((tmp_path / "a" / "masks").glob("bin*.png"))) == 300
    assert len(list((tmp_path / "b" / "masks").glob("bin*.png"))) == 120
    assert len(list((tmp_path / "cam" / "masks").glob("bin*.png"))) >= 60
    assert (tmp_path / "b" / "masks" / ".b.deepls.model.pt").exists()


def test_failed_starts_back_off_and_a_stream_that_ran_starts_its_budget_over(monkeypatch):
    cluster, cam = _cluster_without_actors(monkeypatch, max_restarts=2, restart_delay=0.05)
    launched: list[int] = []
    launch = cluster._launch
    monkeypatch.setattr(cluster, "_launch", lambda s, a: (launched.append(a), launch(s, a)))

    def fail(frames: int) -> dict:
        cam.answered({"name": "cam", "state": "failed", "frames": frames})
        cluster._failed(cam)
        return cam.status()

    def restart() -> float:
        t0 = time.monotonic()
        while cam.due is not None:
            cluster._waiting(cam)
            time.sleep(0.005)
        return time.monotonic() - t0

    assert fail(frames=0)["state"] == "restarting" and restart() >= 0.04  # 1st failure: 0.05 s
    assert fail(frames=0)["state"] == "restarting" and restart() >= 0.09  # 2nd in a row: 0.1 s
    assert fail(frames=0)["state"] == "gave up"  # 3rd failed start in a row
    cam.failures = 2
    assert fail(frames=40)["state"] == "restarting"  # it ran: the budget starts over
    assert cam.failures == 1 and cam.earlier["frames"] == 40
    assert launched == [1, 2]


def test_frames_dropped_frames_and_reconnects_add_up_over_attempts():
    stream = {"name": "cam", "source": {"uri": "synthetic"}, "methods": ["mog2"]}
    cam = SupervisedStream(serve_config_from_dict({"streams": [stream]}).streams[0])
    cam.earlier = {"frames": 300, "dropped": 12, "reconnects": 2}
    cam.answered({"name": "cam", "state": "running", "frames": 50, "dropped": 3, "reconnects": 1})
    st = cam.status()
    assert (st["frames"], st["dropped"], st["reconnects"]) == (350, 15, 3)
    assert (st["attempt_frames"], st["attempt_dropped"], st["attempt_reconnects"]) == (50, 3, 1)


def test_a_streams_status_says_its_state_in_the_words_it_always_used(tmp_path: Path):
    """The table and --status-json read the same fields, in the same order, as before
    the states became an enum."""
    assert [s.value for s in StreamState] == [
        "created",
        "running",
        "done",
        "stopped",
        "failed",
        "died",
        "restarting",
        "gave up",
    ]
    stream = {"name": "cam", "source": {"uri": "synthetic"}, "methods": ["mog2"]}
    config = serve_config_from_dict({"streams": [stream]}, out=tmp_path).streams[0]
    cam = SupervisedStream(config)
    assert not cam.reported
    cam.died("RayActorError")  # before it ever answered
    assert cam.status() == {
        "name": "cam",
        "state": "died",
        "error": "RayActorError",
        "restarts": 0,
        "frames": 0,
        "dropped": 0,
        "reconnects": 0,
    }
    answer = StreamWorker(config).status()  # as it crosses Ray
    cam.answered(answer)
    attempt = ["attempt_frames", "attempt_dropped", "attempt_reconnects"]
    assert list(cam.status()) == [*answer, *attempt] and cam.status()["state"] == "created"
    cam.state = StreamState.GAVE_UP
    assert json.loads(dumps([cam.status()]))[0]["state"] == "gave up"


def test_restarts_are_logged_and_a_stream_given_up_is_a_warning(monkeypatch, caplog):
    cluster, cam = _cluster_without_actors(monkeypatch, max_restarts=1, restart_delay=0.01)
    failed = {"name": "cam", "state": "failed", "error": "camera unreachable", "frames": 0}
    caplog.set_level(logging.INFO, logger="streamseg")

    cam.answered(failed)
    cluster._failed(cam)
    while cam.due is not None:
        cluster._waiting(cam)
    restarts = [r for r in caplog.records if "restart 1" in r.getMessage()]
    assert [r.levelname for r in restarts] == ["INFO"], caplog.text
    assert "given up" not in caplog.text

    cam.answered(failed)
    cluster._failed(cam)
    assert cam.status()["state"] == "gave up"
    gave_up = [r for r in caplog.records if "given up" in r.getMessage()]
    assert [r.levelname for r in gave_up] == ["WARNING"], caplog.text
    message = gave_up[0].getMessage()
    assert "stream cam" in message and "camera unreachable" in message, message
    assert "2 failed attempts in a row" in message, message
