"""One stream's run in a worker, without Ray: its outputs, checkpoints and frame limit."""

from __future__ import annotations

import time
from pathlib import Path

from streamseg.serve import StreamWorker, serve_config_from_dict


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


def test_a_restarted_camera_counts_the_earlier_attempts_frames_toward_max_frames(tmp_path: Path):
    streams = [
        {"name": "cam", "source": {"uri": "rtsp://127.0.0.1:1/x"}, "methods": ["mog2"]},
        {"name": "clip", "source": {"uri": "synthetic:frames=500"}, "methods": ["mog2"]},
    ]
    cam, clip = serve_config_from_dict({"streams": streams}, out=tmp_path, max_frames=200).streams
    assert StreamWorker(cam, attempt=1, frames_done=150)._config().max_frames == 50
    # A file is segmented again from its start.
    assert StreamWorker(clip, attempt=1, frames_done=150)._config().max_frames == 200


def test_a_streams_events_and_latency_are_in_its_status_and_its_metrics(tmp_path: Path):
    import urllib.request

    from prometheus_client.parser import text_string_to_metric_families

    from streamseg.serve.metrics import stream_metrics
    from tests.conftest import free_port

    cfg = serve_config_from_dict(
        {
            "streams": [
                {
                    "name": "gate",
                    "source": {"uri": "synthetic:frames=80,size=160x120"},
                    "methods": ["mog2"],
                    "outputs": {"events": str(tmp_path / "events.jsonl")},
                }
            ]
        }
    )
    worker = StreamWorker(cfg.streams[0])
    worker.start()
    deadline = time.monotonic() + 30
    while worker.status()["state"] == "running" and time.monotonic() < deadline:
        time.sleep(0.05)
    status = worker.stop()
    assert status["state"] == "done" and status["latency_ms"]["count"] == 80
    starts = status["events"]["zones"]["all"]["starts"]
    assert starts >= 1 and status["methods"]["mog2"]["frames"] == 80
    server = stream_metrics(["gate"], lambda: [status]).serve(f"127.0.0.1:{free_port()}")
    try:
        text = urllib.request.urlopen(server.url, timeout=10).read().decode()
    finally:
        server.close()
    samples = {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }
    assert samples[("streamseg_up", (("stream", "gate"),))] == 0  # it is done
    assert samples[("streamseg_frames_total", (("stream", "gate"),))] == 80
    start = (("stream", "gate"), ("type", "start"), ("zone", "all"))
    assert samples[("streamseg_events_total", start)] == starts
