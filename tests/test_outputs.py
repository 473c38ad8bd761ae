"""The outputs of a run: checked before anything opens, and what earlier runs left."""

from __future__ import annotations

from pathlib import Path

import pytest

import streamseg as ss
from streamseg.config import run_config_from_dict
from streamseg.errors import SinkError


def _config(source: str, **outputs: str) -> ss.RunConfig:
    return run_config_from_dict(
        {"source": {"uri": source}, "methods": ["mog2"], "outputs": outputs}
    )


def test_an_output_over_the_input_is_refused_before_anything_is_written(tmp_path: Path):
    from streamseg.sources.synthetic import SyntheticScene, write_sequence

    seq = tmp_path / "seq"
    write_sequence(SyntheticScene(width=64, height=48, frames=6, seed=1), seq, warm_up=1)
    video = seq / "synthetic.mp4"
    size = video.stat().st_size
    with pytest.raises(SinkError, match="outputs.mask_video .*synthetic.mp4 is the input itself"):
        ss.run_config(_config(str(video), mask_video=str(video)))
    assert video.stat().st_size == size
    with pytest.raises(SinkError, match="outputs.masks .* is the input itself"):
        ss.run_config(_config(str(seq), masks=str(seq / "input")))
    assert not list((seq / "input").glob("bin*.png"))


def test_two_outputs_on_one_path_are_refused(tmp_path: Path):
    same = str(tmp_path / "same.mp4")
    with pytest.raises(SinkError, match="outputs.video and outputs.overlay both write"):
        ss.run_config(_config("synthetic:frames=4,size=64x48", video=same, overlay=same))
    assert not (tmp_path / "same.mp4").exists()


def test_earlier_masks_are_refused_unless_overwrite_replaces_them(tmp_path: Path):
    out = tmp_path / "masks"
    ss.run_config(_config("synthetic:frames=8,size=64x48", masks=str(out)))
    # A second run would leave a mixture of two runs' masks that eval scores as one.
    with pytest.raises(
        SinkError, match="already holds 8 masks .* set outputs.overwrite to replace"
    ):
        ss.run_config(_config("synthetic:frames=3,size=64x48", masks=str(out)))
    # Replaced only once every output has opened: a bad video name keeps them all.
    bad = run_config_from_dict(
        {
            "source": {"uri": "synthetic:frames=3,size=64x48"},
            "methods": ["mog2"],
            "outputs": {"masks": str(out), "video": str(tmp_path / "v.xyz"), "overwrite": True},
        }
    )
    with pytest.raises(SinkError, match="does not say the video format"):
        ss.run_config(bad)
    assert len(list(out.glob("bin*.png"))) == 8
    again = run_config_from_dict(
        {
            "source": {"uri": "synthetic:frames=3,size=64x48"},
            "methods": ["mog2"],
            "outputs": {"masks": str(out), "overwrite": True},
        }
    )
    ss.run_config(again)
    assert sorted(p.name for p in out.glob("bin*.png")) == [f"bin00000{i}.png" for i in (1, 2, 3)]
    # A restarted serve stream goes on writing where it was.
    ss.run_config(_config("synthetic:frames=5,size=64x48", masks=str(out)), resume_outputs=True)
    assert len(list(out.glob("bin*.png"))) == 5


def test_the_input_is_recognised_as_open_source_reads_it(tmp_path: Path, monkeypatch):
    from streamseg.sources.synthetic import SyntheticScene, write_sequence

    monkeypatch.setenv("HOME", str(tmp_path))
    write_sequence(SyntheticScene(width=64, height=48, frames=4, seed=1), tmp_path / "seq")
    with pytest.raises(SinkError, match="is the input itself"):
        ss.run_config(_config("~/seq/input", masks=str(tmp_path / "seq" / "input")))


def test_the_refusal_counts_the_masks_of_one_folder(tmp_path: Path):
    two = run_config_from_dict(
        {
            "source": {"uri": "synthetic:frames=3,size=64x48"},
            "methods": ["mog2", "knn"],
            "outputs": {"masks": str(tmp_path / "m")},
        }
    )
    ss.run_config(two)
    with pytest.raises(
        SinkError, match=r"m/knn already holds 3 masks|m/mog2 already holds 3 masks"
    ):
        ss.run_config(two)


def test_video_parts_of_several_methods_are_named_as_their_videos(tmp_path: Path):
    from streamseg.config import OutputConfig
    from streamseg.outputs import _earlier_parts, _next_video_part, _video_paths

    methods = ["mog2", "knn"]
    outputs = OutputConfig(overlay=str(tmp_path / "ov.mp4"), video=str(tmp_path / "m.mp4"))
    assert _next_video_part(outputs, methods, 25.0) == outputs  # nothing written yet
    first = _video_paths(outputs, methods, 25.0)
    for path in first:
        path.write_bytes(b"x")
    parts = _video_paths(_next_video_part(outputs, methods, 25.0), methods, 25.0)
    assert sorted(p.name for p in parts) == ["m.part2.mp4", "ov_knn.part2.mp4", "ov_mog2.part2.mp4"]
    for path in parts:
        path.write_bytes(b"x")
    assert sorted(_earlier_parts(first)) == sorted(parts)  # what a new run removes


def test_events_come_before_the_live_view_which_draws_them(tmp_path: Path):
    from streamseg.outputs import build_sinks
    from streamseg.sinks.events import EventSink
    from streamseg.sinks.web import WebSink

    outputs = _config("synthetic", events=str(tmp_path / "e.jsonl"), web="0").outputs
    sinks = build_sinks(outputs, ["mog2", "knn"], 25.0)
    kinds = [type(s) for s in sinks]
    assert kinds == [EventSink, WebSink]
    events, view = sinks
    assert isinstance(events, EventSink) and isinstance(view, WebSink)
    assert events.method == "mog2" and view.annotate == [events.draw]
    assert [o.name for o in events.outputs] == ["log"]
    assert events.detector.media == tmp_path / "e-media"


def test_event_outputs_are_checked_before_anything_opens(tmp_path: Path):
    from streamseg.errors import ConfigError

    bad_zones = tmp_path / "zones.yaml"
    bad_zones.write_text("zones: [{name: a, points: [[0, 0], [1, 1]]}]\n")
    with pytest.raises(ConfigError, match="zones.yaml.*3 points"):
        ss.run_config(_config("synthetic:frames=4,size=64x48", zones=str(bad_zones)))
    with pytest.raises(ConfigError, match="event_method 'knn'"):
        ss.run_config(
            _config(
                "synthetic:frames=4,size=64x48", webhook="http://127.0.0.1:9/", event_method="knn"
            )
        )
    with pytest.raises(ConfigError, match="webhook"):
        _config("synthetic", webhook="127.0.0.1:9")
    with pytest.raises(ConfigError, match="mqtt broker"):
        _config("synthetic", mqtt="http://broker")
    log = tmp_path / "masks" / "events.jsonl"
    with pytest.raises(SinkError, match="outputs.video and outputs.events both write"):
        ss.run_config(_config("synthetic:frames=4,size=64x48", video=str(log), events=str(log)))
    assert not log.exists()


def test_the_shipped_zones_file_is_found_by_name(tmp_path: Path, monkeypatch):
    from streamseg.outputs import build_event_sink
    from streamseg.sinks.events import EventSink

    monkeypatch.chdir(tmp_path)  # no zones file here: the package's example is used
    sink = build_event_sink(_config("synthetic", zones="zones").outputs, ["mog2"])
    assert isinstance(sink, EventSink)
    assert [z.name for z in sink.detector.zone_configs] == ["driveway", "clock"]
