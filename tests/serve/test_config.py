"""The cameras file: defaults, and what no restart could fix refused before any actor starts."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from streamseg.errors import ConfigError
from streamseg.serve import StreamWorker, serve_config_from_dict


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


def test_a_streams_events_carry_its_name_and_two_streams_never_share_a_log(tmp_path: Path):
    log = str(tmp_path / "events.jsonl")
    stream = {"source": "synthetic", "methods": ["mog2"]}
    cfg = serve_config_from_dict(
        {"streams": [{"name": "gate", **stream, "outputs": {"events": log}}]}
    )
    assert cfg.streams[0].run.outputs.camera == "gate"
    named = {"name": "gate", **stream, "outputs": {"events": log, "camera": "front"}}
    assert serve_config_from_dict({"streams": [named]}).streams[0].run.outputs.camera == "front"
    twice = [{"name": n, **stream, "outputs": {"events": log}} for n in ("a", "b")]
    with pytest.raises(ConfigError, match="stream b: outputs.events .* is stream a's"):
        serve_config_from_dict({"streams": twice})
