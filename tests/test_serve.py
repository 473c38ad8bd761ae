"""Many cameras on Ray: supervised actors, one per stream (needs the [ray] extra)."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from streamseg.errors import ConfigError
from streamseg.serve import Cluster, StreamWorker, serve_config_from_dict


def test_config_defaults_outputs_and_rejects_mistakes(tmp_path: Path):
    cfg = serve_config_from_dict(
        {
            "streams": [
                {"name": "a", "source": {"uri": "synthetic"}, "methods": ["mog2"], "cpus": 0.5}
            ]
        },
        out=tmp_path,
        max_frames=7,
    )
    stream = cfg.streams[0]
    assert stream.cpus == 0.5 and stream.run.max_frames == 7
    assert stream.run.outputs.masks == str(tmp_path / "a" / "masks")
    src = {"source": "synthetic"}
    for bad, match in [
        ({}, "streams:"),
        ({"streams": []}, "'streams:' is empty"),
        ({"streams": [{"name": "x", "methods": ["mog2"]}]}, "stream x: no source"),
        ({"streams": [{"name": "x", **src, "methods": ["nope"]}]}, "stream x: unknown method"),
        ({"streams": [{"name": "x", **src, "methods": ["mog2"], "cpus": 0}]}, "cpus must be > 0"),
        ({"streams": [{"name": "x", **src, "methods": ["mog2"]}] * 2}, "unique"),
        (
            {"streams": [{"name": "x", "source": "rstp://cam/x", "methods": ["mog2"]}]},
            "'rstp' is not a stream",
        ),
        (
            {"streams": [{"name": "x", **src, "methods": ["mog2"], "cpu": 1}]},
            r"unknown key 'cpu' \(valid: name, cpus",
        ),
    ]:
        with pytest.raises(ConfigError, match=match):
            serve_config_from_dict(bad)


def test_what_no_restart_can_fix_is_refused_before_any_actor_starts(tmp_path: Path):
    from streamseg.serve import Cluster

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


def test_worker_without_ray(tmp_path: Path):
    cfg = serve_config_from_dict(
        {
            "streams": [
                {
                    "name": "w",
                    "source": {"uri": "synthetic:frames=20,size=64x48"},
                    "methods": ["mog2"],
                }
            ]
        },
        out=tmp_path,
    )
    worker = StreamWorker(cfg.streams[0])
    worker.start()
    deadline = time.monotonic() + 30
    while worker.status()["state"] == "running" and time.monotonic() < deadline:
        time.sleep(0.05)
    status = worker.stop()
    assert status["state"] == "done" and status["frames"] == 20
    assert len(list((tmp_path / "w" / "masks").glob("bin*.png"))) == 20


def test_each_online_method_of_a_stream_resumes_its_own_checkpoint(tmp_path: Path):
    methods = [{"name": "deepls"}, {"name": "slnet"}]
    stream = {"name": "w", "source": {"uri": "synthetic"}, "methods": methods}
    cfg = serve_config_from_dict({"streams": [stream]}, out=tmp_path).streams[0]
    deepls_ckpt, slnet_ckpt = cfg.checkpoint("deepls"), cfg.checkpoint("slnet")
    assert deepls_ckpt != slnet_ckpt
    deepls_ckpt.parent.mkdir(parents=True)
    deepls_ckpt.write_bytes(b"")  # only deepls has checkpointed so far
    resumed = {m.name: m.config for m in StreamWorker(cfg, attempt=1)._config().methods}
    assert resumed["deepls"].start == str(deepls_ckpt) == resumed["deepls"].save
    assert resumed["slnet"].start == "builtin" and resumed["slnet"].save == str(slnet_ckpt)


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


def test_a_second_serve_into_the_same_folders_needs_overwrite(tmp_path: Path):
    data = {
        "streams": [
            {"name": "w", "source": {"uri": "synthetic:frames=5,size=64x48"}, "methods": ["mog2"]}
        ]
    }

    def serve_once(**kwargs) -> dict:
        worker = StreamWorker(serve_config_from_dict(data, out=tmp_path, **kwargs).streams[0])
        worker.start()
        deadline = time.monotonic() + 30
        while worker.status()["state"] == "running" and time.monotonic() < deadline:
            time.sleep(0.05)
        return worker.stop()

    assert serve_once()["state"] == "done"
    # Refused before any actor starts: a restart would go on writing into the old masks.
    with pytest.raises(ConfigError, match="stream w: .* already holds 5 masks"):
        serve_config_from_dict(data, out=tmp_path)
    assert serve_once(overwrite=True)["state"] == "done"
    assert len(list((tmp_path / "w" / "masks").glob("bin*.png"))) == 5


def test_failed_starts_back_off_and_a_stream_that_ran_starts_its_budget_over(
    tmp_path: Path, monkeypatch
):
    import types

    stream = {"name": "cam", "source": {"uri": "synthetic"}, "methods": ["mog2"]}
    stream.update(max_restarts=2, restart_delay=0.05)
    cfg = serve_config_from_dict({"streams": [stream]}, out=tmp_path)
    cluster = Cluster(cfg)
    launched: list[int] = []

    def launch(stream, attempt):
        launched.append(attempt)
        cluster._attempts[stream.name] = attempt

    monkeypatch.setattr(cluster, "_launch", launch)
    monkeypatch.setattr(Cluster, "_ray", staticmethod(lambda: types.SimpleNamespace(kill=print)))
    cluster._attempts["cam"], cluster._actors["cam"] = 0, None
    cam = cfg.streams[0]

    def fail(frames: int) -> dict:
        st = {"name": "cam", "state": "failed", "frames": 0, "attempt_frames": frames}
        st["frames"] = cluster._total("cam", "frames") + frames
        return cluster._failed(cam, st)

    def restart() -> float:
        t0 = time.monotonic()
        while cluster._waiting(cam) and "cam" in cluster._due:
            time.sleep(0.005)
        return time.monotonic() - t0

    assert fail(frames=0)["state"] == "restarting" and restart() >= 0.04  # 1st failure: 0.05 s
    assert fail(frames=0)["state"] == "restarting" and restart() >= 0.09  # 2nd in a row: 0.1 s
    assert fail(frames=0)["state"] == "gave up"  # 3rd failed start in a row
    cluster._failures["cam"] = 2
    assert fail(frames=40)["state"] == "restarting"  # it ran: the budget starts over
    assert cluster._failures["cam"] == 1 and cluster._total("cam", "frames") == 40
    assert launched == [1, 2]


def test_a_restarted_camera_counts_the_earlier_attempts_frames_toward_max_frames(tmp_path: Path):
    streams = [
        {"name": "cam", "source": {"uri": "rtsp://127.0.0.1:1/x"}, "methods": ["mog2"]},
        {"name": "clip", "source": {"uri": "synthetic:frames=500"}, "methods": ["mog2"]},
    ]
    cam, clip = serve_config_from_dict({"streams": streams}, out=tmp_path, max_frames=200).streams
    assert StreamWorker(cam, attempt=1, frames_done=150)._config().max_frames == 50
    # A file is segmented again from its start.
    assert StreamWorker(clip, attempt=1, frames_done=150)._config().max_frames == 200


def test_frames_dropped_frames_and_reconnects_add_up_over_attempts(tmp_path: Path):
    stream = {"name": "cam", "source": {"uri": "synthetic"}, "methods": ["mog2"]}
    cluster = Cluster(serve_config_from_dict({"streams": [stream]}, out=tmp_path))
    cluster._before["cam"] = {"frames": 300, "dropped": 12, "reconnects": 2}
    st = {"attempt_frames": 50, "attempt_dropped": 3, "attempt_reconnects": 1}
    cluster._add_totals("cam", st)
    assert (st["frames"], st["dropped"], st["reconnects"]) == (350, 15, 3)


def _listening(processes) -> dict[str, list[str]]:
    """``name[pid]`` -> the addresses each process listens on (TCP)."""
    import psutil

    out: dict[str, list[str]] = {}
    for p in processes:
        try:
            conns = p.net_connections("tcp")
            name = f"{p.name()}[{p.pid}]"
        except psutil.Error:  # gone meanwhile
            continue
        out[name] = [f"{c.laddr.ip}:{c.laddr.port}" for c in conns if c.status == "LISTEN"]
    return out


def _is_loopback(address: str) -> bool:
    import ipaddress

    ip = ipaddress.ip_address(address.rsplit(":", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped  # ::ffff:127.0.0.1, an IPv6 socket bound to IPv4 loopback
    return ip.is_loopback


def test_a_local_serve_listens_on_loopback_only(tmp_path: Path):
    pytest.importorskip("ray", reason="Ray is not installed (pip install 'streamseg[ray]')")
    import threading

    import psutil

    entry = {
        "name": "a",
        # Paced so the stream is still running when its sockets are listed.
        "source": {"uri": "synthetic:frames=250,size=64x48", "realtime": True},
        "methods": ["mog2"],
        "cpus": 0.5,
    }
    cfg = serve_config_from_dict({"streams": [entry]}, out=tmp_path)
    listening: dict[str, list[str]] = {}
    stop = threading.Event()

    def on_status(statuses):
        if statuses[0]["state"] == "running" and statuses[0]["frames"] > 0 and not listening:
            # Ray's daemons (gcs_server, raylet, agents) and the actor's worker all descend
            # from the driver that started the local instance.
            me = psutil.Process()
            listening.update(_listening([me, *me.children(recursive=True)]))
            stop.set()

    with Cluster(cfg, num_cpus=1, poll=0.5) as cluster:
        cluster.wait(on_status=on_status, stop=stop)
    assert listening, "the stream never ran"
    names = " ".join(listening)
    assert "gcs_server" in names and "raylet" in names and "StreamWorker" in names, listening
    open_to_network = {
        name: [a for a in addresses if not _is_loopback(a)]
        for name, addresses in listening.items()
        if any(not _is_loopback(a) for a in addresses)
    }
    assert not open_to_network, f"listening beyond loopback: {open_to_network}"


def test_restarts_are_logged_and_a_stream_given_up_is_a_warning(
    tmp_path: Path, monkeypatch, caplog
):
    import logging
    import types

    stream = {"name": "cam", "source": {"uri": "synthetic"}, "methods": ["mog2"]}
    stream.update(max_restarts=1, restart_delay=0.01)
    cfg = serve_config_from_dict({"streams": [stream]}, out=tmp_path)
    cluster = Cluster(cfg)
    monkeypatch.setattr(
        cluster, "_launch", lambda stream, attempt: cluster._attempts.update({stream.name: attempt})
    )
    monkeypatch.setattr(Cluster, "_ray", staticmethod(lambda: types.SimpleNamespace(kill=print)))
    cluster._attempts["cam"], cluster._actors["cam"] = 0, None
    cam = cfg.streams[0]
    failed = {"name": "cam", "state": "failed", "error": "camera unreachable", "attempt_frames": 0}
    caplog.set_level(logging.INFO, logger="streamseg")

    cluster._failed(cam, dict(failed))
    while "cam" in cluster._due:
        cluster._waiting(cam)
    restarts = [r for r in caplog.records if "restart 1" in r.getMessage()]
    assert [r.levelname for r in restarts] == ["INFO"], caplog.text
    assert "given up" not in caplog.text

    assert cluster._failed(cam, dict(failed))["state"] == "gave up"
    gave_up = [r for r in caplog.records if "given up" in r.getMessage()]
    assert [r.levelname for r in gave_up] == ["WARNING"], caplog.text
    message = gave_up[0].getMessage()
    assert "stream cam" in message and "camera unreachable" in message, message
    assert "2 failed attempts in a row" in message, message
