from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
import pytest

import streamseg as ss
from streamseg.config import run_config_from_dict
from streamseg.errors import SinkError
from streamseg.sinks import CallbackSink, PngMaskSink
from streamseg.sources.array import ArraySource


def test_run_feeds_every_method_and_sink(tmp_path: Path):
    seen = []
    with (
        ss.open_source("synthetic:frames=12,size=64x48") as src,
        ss.create("mog2") as a,
        ss.create("knn") as b,
    ):
        sinks = [
            PngMaskSink(tmp_path / "a", method="a"),
            CallbackSink(lambda f, m: seen.append((f.index, sorted(m)))),
        ]
        for s in sinks:
            s.open()
        stats = ss.run(src, {"a": a, "b": b}, sinks)
        for s in sinks:
            s.close()
    assert stats.frames == 12 and not stats.interrupted
    assert seen[0] == (0, ["a", "b"]) and len(seen) == 12
    assert len(list((tmp_path / "a").glob("bin*.png"))) == 12
    d = stats.as_dict()
    assert d["methods"]["a"]["frames"] == 12 and d["fps"] > 0 and d["latency_ms_p99"] > 0


def test_max_frames_and_stop_event():
    stop = threading.Event()
    with ss.open_source("synthetic:frames=50,size=32x32") as src, ss.create("mog2") as seg:
        assert ss.run(src, {"m": seg}, [], max_frames=5).frames == 5

    def on_frame(frame, masks):
        if frame.index == 9:
            stop.set()

    with ss.open_source("synthetic:frames=50,size=32x32") as src, ss.create("mog2") as seg:
        stats = ss.run(src, {"m": seg}, [], stop=stop, on_frame=on_frame)
    assert stats.frames == 10 and stats.interrupted


def test_a_stop_that_cancels_a_live_read_is_an_interruption():
    stop = threading.Event()

    def frames():
        for i in range(100):
            if i == 6:  # the signal handler set the stop and cancelled the camera's wait
                stop.set()
                return
            yield np.zeros((8, 8, 3), np.uint8)

    with ArraySource(frames(), live=True) as src, ss.create("mog2") as seg:
        stats = ss.run(src, {"m": seg}, [], stop=stop)
    assert stats.frames == 6 and stats.interrupted


def test_keyboard_interrupt_is_a_clean_stop():
    def frames():
        for i in range(100):
            if i == 7:
                raise KeyboardInterrupt
            yield np.zeros((8, 8, 3), np.uint8)

    with ArraySource(frames()) as src, ss.create("mog2") as seg:
        stats = ss.run(src, {"m": seg}, [])
    assert stats.frames == 7 and stats.interrupted


def test_run_config_writes_resolved_config_and_stats(tmp_path: Path):
    cfg = run_config_from_dict(
        {
            "source": {"uri": "synthetic:frames=8,size=64x48"},
            "methods": ["mog2", "knn"],
            "outputs": {
                "masks": str(tmp_path / "masks"),
                "video": str(tmp_path / "v" / "mosaic.mp4"),
                "overlay": str(tmp_path / "v" / "ov.mp4"),
            },
        }
    )
    stats = ss.run_config(cfg)
    assert stats.frames == 8
    for method in ("mog2", "knn"):
        assert len(list((tmp_path / "masks" / method).glob("bin*.png"))) == 8
        assert (tmp_path / "v" / f"ov_{method}.mp4").exists()
    assert (tmp_path / "v" / "mosaic.mp4").exists()
    for folder in (tmp_path / "masks", tmp_path / "v"):
        assert ss.load_config(folder / "run.yaml") == cfg
        assert (folder / "run_stats.json").exists()


def test_methods_get_the_source_frame_rate(tmp_path: Path):
    # DeepLS's stopped-object hold counts seconds in frames: it must know the source's rate.
    cfg = run_config_from_dict(
        {
            "source": {"uri": "synthetic:frames=2,size=64x48,fps=10"},
            "methods": [{"name": "deepls", "mode": "sync"}, "mog2"],
            "outputs": {"masks": str(tmp_path)},
        }
    )
    made: dict = {}
    ss.run_config(cfg, segmenters_out=made)
    assert made["deepls"].config.fps == 10.0
    written = ss.load_config(tmp_path / "run.yaml")
    assert {m.name: getattr(m.config, "fps", None) for m in written.methods}["deepls"] == 10.0


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
    with pytest.raises(SinkError, match="--mask-video .*synthetic.mp4 is the input itself"):
        ss.run_config(_config(str(video), mask_video=str(video)))
    assert video.stat().st_size == size
    with pytest.raises(SinkError, match="--masks .* is the input itself"):
        ss.run_config(_config(str(seq), masks=str(seq / "input")))
    assert not list((seq / "input").glob("bin*.png"))


def test_two_outputs_on_one_path_are_refused(tmp_path: Path):
    same = str(tmp_path / "same.mp4")
    with pytest.raises(SinkError, match="--video and --overlay both write"):
        ss.run_config(_config("synthetic:frames=4,size=64x48", video=same, overlay=same))
    assert not (tmp_path / "same.mp4").exists()


def test_earlier_masks_are_refused_unless_overwrite_replaces_them(tmp_path: Path):
    out = tmp_path / "masks"
    ss.run_config(_config("synthetic:frames=8,size=64x48", masks=str(out)))
    # A second run would leave a mixture of two runs' masks that eval scores as one.
    with pytest.raises(SinkError, match="already holds 8 masks .* --overwrite to replace"):
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


def test_run_yaml_repeats_the_run_from_another_folder(tmp_path: Path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    ss.run_config(_config("synthetic:frames=3,size=64x48", overlay="v/{method}/ov.mp4"))
    assert (tmp_path / "v" / "mog2" / "run.yaml").exists()  # the template, expanded
    assert not (tmp_path / "v" / "{method}").exists()
    written = ss.load_config(tmp_path / "v" / "mog2" / "run.yaml")
    assert written.outputs.overlay == str(tmp_path / "v" / "{method}" / "ov.mp4")


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


def test_a_failure_while_closing_is_in_the_run_statistics(tmp_path: Path, monkeypatch):
    import json

    from streamseg.errors import TrainerError
    from streamseg.segmenters.mog2 import MOG2

    close = MOG2.close

    def failing_close(self):
        close(self)
        raise TrainerError("mog2: failed after the last frame")

    monkeypatch.setattr(MOG2, "close", failing_close)
    out = tmp_path / "m"
    with pytest.raises(TrainerError):
        ss.run_config(_config("synthetic:frames=4,size=64x48", masks=str(out)))
    stats = json.loads((out / "run_stats.json").read_text())
    assert stats["frames"] == 4 and "after the last frame" in stats["error"]


def test_video_parts_of_several_methods_are_named_as_their_videos(tmp_path: Path):
    from streamseg.config import OutputConfig
    from streamseg.pipeline import _earlier_parts, _next_video_part, _video_paths

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
