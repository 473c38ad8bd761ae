"""Prometheus metrics: scraped from a running run's live view and parsed with the official
client's parser."""

from __future__ import annotations

import json
import urllib.request
from pathlib import Path
from typing import Any

import pytest

import streamseg as ss
from streamseg.config import run_config_from_dict
from streamseg.sinks.metrics import Metrics
from tests.conftest import free_port

parser = pytest.importorskip("prometheus_client.parser")


def _samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample of a scrape, by name and labels."""
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in parser.text_string_to_metric_families(text)
        for s in family.samples
    }


def test_a_status_becomes_metrics_the_official_parser_reads():
    metrics = Metrics()
    metrics.add(
        "door",
        lambda: {
            "running": True,
            "frames": 100,
            "fps": 25.0,
            "dropped": 3,
            "latency_ms": {"count": 100, "sum": 400.0, "p50": 3.5, "p99": 9.0},
            "methods": {"mog2": {"frames": 100, "ms_sum": 150.0, "model_version": None}},
            "events": {
                "zones": {"porch": {"starts": 2, "ends": 1, "active": 1}},
                "guarded": 4,
                "outputs": {"webhook": {"sent": 2, "failed": 0, "dropped": 1, "queued": 0}},
            },
        },
    )
    metrics.add("broken", lambda: 1 / 0)  # a stream that cannot say is left out
    body, kind = metrics.exposition()
    assert kind.startswith("text/plain")
    samples = _samples(body.decode())
    door = (("stream", "door"),)
    assert samples[("streamseg_frames_total", door)] == 100
    assert samples[("streamseg_dropped_frames_total", door)] == 3
    assert (
        samples[("streamseg_latency_seconds", (("quantile", "0.99"), ("stream", "door")))] == 0.009
    )
    assert samples[("streamseg_latency_seconds_count", door)] == 100
    assert (
        samples[("streamseg_method_seconds_sum", (("method", "mog2"), ("stream", "door")))] == 0.15
    )
    porch = (("stream", "door"), ("type", "start"), ("zone", "porch"))
    assert samples[("streamseg_events_total", porch)] == 2
    assert samples[("streamseg_motion", (("stream", "door"), ("zone", "porch")))] == 1
    dropped = (("output", "webhook"), ("result", "dropped"), ("stream", "door"))
    assert samples[("streamseg_deliveries_total", dropped)] == 1
    assert not any(labels == (("stream", "broken"),) for _, labels in samples)


def test_a_run_serves_its_metrics_events_and_boxes_on_its_live_view(tmp_path: Path):
    port = free_port()
    zones = tmp_path / "zones.yaml"
    zones.write_text(
        "zones:\n  - {name: yard, points: [[0, 0], [1, 0], [1, 1], [0, 1]]}\n"
        "events: {min_frames: 2, off_delay: 0.2}\n"
    )
    log = tmp_path / "events.jsonl"
    config = run_config_from_dict(
        {
            "source": "synthetic:frames=60,size=160x120",
            "methods": ["mog2"],
            "outputs": {
                "web": f"127.0.0.1:{port}",
                "events": str(log),
                "zones": str(zones),
                "camera": "yard-cam",
            },
        }
    )
    scraped: list[str] = []

    def on_frame(frame: Any, masks: Any) -> None:
        if frame.index == 50:
            url = f"http://127.0.0.1:{port}/metrics"
            scraped.append(urllib.request.urlopen(url, timeout=10).read().decode())

    stats = ss.run_config(config, on_frame=on_frame)
    assert stats.frames == 60
    samples = _samples(scraped[0])
    cam = (("stream", "yard-cam"),)
    assert samples[("streamseg_frames_total", cam)] == 50  # counted after the sinks
    assert samples[("streamseg_up", cam)] == 1
    assert samples[("streamseg_latency_seconds_count", cam)] == 50
    starts = samples[
        ("streamseg_events_total", (("stream", "yard-cam"), ("type", "start"), ("zone", "yard")))
    ]
    events = [json.loads(line) for line in log.read_text().splitlines()]
    assert starts >= 1 and events[0]["type"] == "start" and events[0]["camera"] == "yard-cam"
    assert events[-1]["type"] == "end"  # open events end with the stream
    assert Path(events[0]["snapshot"]).parent == tmp_path / "events-media"
    # The run's statistics count them, the ends at the stream's end included.
    ends = sum(e["type"] == "end" for e in events)
    assert stats.events["zones"]["yard"]["ends"] == ends and stats.events["outputs"]["log"] == {
        "sent": len(events)
    }
    saved = json.loads((tmp_path / "run_stats.json").read_text())
    assert saved["events"] == stats.events
