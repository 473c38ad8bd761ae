from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
import pytest

import streamseg as ss
from streamseg.config import run_config_from_dict
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


def test_a_stop_while_a_segmenter_starts_closes_it_and_ends_the_run(slow_deepls_start_up):
    from streamseg.errors import ClosedError
    from streamseg.segmenters.deepls.segmenter import DeepLS

    loading = slow_deepls_start_up
    stop = threading.Event()

    def stop_once_loading() -> None:
        if loading.wait(20):
            stop.set()

    threading.Thread(target=stop_once_loading, daemon=True).start()
    seg = ss.create("deepls", **DeepLS._unit_test_params())
    with ss.open_source("synthetic:frames=20,size=64x48") as src, seg:
        stats = ss.run(src, {"deepls": seg}, [], stop=stop)
    # The run did not wait for the model: the stop closed the segmenter it waited on.
    assert stats.interrupted and stats.frames == 0
    with pytest.raises(ClosedError):
        seg.apply(np.zeros((48, 64, 3), np.uint8))


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


def test_run_yaml_repeats_the_run_from_another_folder(tmp_path: Path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    ss.run_config(_config("synthetic:frames=3,size=64x48", overlay="v/{method}/ov.mp4"))
    assert (tmp_path / "v" / "mog2" / "run.yaml").exists()  # the template, expanded
    assert not (tmp_path / "v" / "{method}").exists()
    written = ss.load_config(tmp_path / "v" / "mog2" / "run.yaml")
    assert written.outputs.overlay == str(tmp_path / "v" / "{method}" / "ov.mp4")


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
