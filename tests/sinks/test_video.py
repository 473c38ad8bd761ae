from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import av
import numpy as np
import pytest

from streamseg.errors import SinkError
from streamseg.frame import Frame
from streamseg.sinks import MaskVideoSink, MosaicSink, OverlayVideoSink, VideoWriter, mosaic
from streamseg.sinks.video import FLUSH_SECONDS


def count_frames(path: Path) -> int:
    with av.open(str(path)) as c:
        return sum(1 for _ in c.decode(video=0))


def test_writer_plays_back(tmp_path: Path):
    path = tmp_path / "v.mp4"
    with VideoWriter(path, fps=10) as vw:
        for i in range(12):
            vw.write(np.full((30, 41, 3), i * 10, np.uint8))
    assert count_frames(path) == 12
    with av.open(str(path)) as c:
        s = c.streams.video[0]
        assert (s.codec_context.width, s.codec_context.height) == (42, 30)
        assert float(s.average_rate) == pytest.approx(10)


@pytest.mark.parametrize("suffix", [".mp4", ".mkv"])
def test_timestamps_keep_real_time_where_frames_were_dropped(tmp_path: Path, suffix: str):
    path = tmp_path / f"v{suffix}"
    stamps = [10.0, 10.04, 10.08, 10.8, 10.84]  # a live source dropped 17 frames
    with VideoWriter(path, fps=25) as vw:
        for i, t in enumerate(stamps):
            vw.write(np.full((32, 48, 3), i * 40, np.uint8), t)
    with av.open(str(path)) as c:
        times = [float(f.pts * f.time_base) for f in c.decode(video=0)]
    gaps = np.diff(times)
    assert len(times) == 5 and gaps == pytest.approx([0.04, 0.04, 0.72, 0.04])


def test_close_is_idempotent_and_empty_writer_writes_nothing(tmp_path: Path):
    vw = VideoWriter(tmp_path / "never.mp4")
    vw.close()
    vw.close()
    assert not (tmp_path / "never.mp4").exists()


@pytest.mark.parametrize("suffix", [".mp4", ".mov", ".mkv", ".ts", ".avi"])
def test_a_hard_kill_costs_at_most_a_flush_interval(tmp_path: Path, suffix: str):
    # Killed with SIGKILL before close(), every container plays all but the frames of
    # its last FLUSH_SECONDS: none waits in the encoder, an MP4 fragment or a Matroska
    # cluster holds at most that much (and the frame that closes it).
    path = tmp_path / f"killed{suffix}"
    code = f"""
import os, signal, numpy as np
from streamseg.sinks.video import VideoWriter
vw = VideoWriter({str(path)!r}, fps=25)
for i in range(100):
    vw.write(np.random.default_rng(i).integers(0, 255, (48, 64, 3), dtype=np.uint8), i / 25)
os.kill(os.getpid(), signal.SIGKILL)
"""
    proc = subprocess.run([sys.executable, "-c", code], timeout=60)
    assert proc.returncode == -9
    assert 100 - count_frames(path) <= round(25 * FLUSH_SECONDS) + 1


@pytest.mark.parametrize("suffix", [".mp4", ".mov", ".mkv", ".ts"])
def test_a_video_starts_at_its_first_frame_when_frames_arrive_unevenly(tmp_path: Path, suffix: str):
    # A live source's first frames: a burst, then a gap of 4 s, then 25 fps.
    stamps = [100.0, 100.04, 103.9, 103.94] + [104.0 + 0.04 * i for i in range(1, 150)]
    path = tmp_path / f"uneven{suffix}"
    with VideoWriter(path, fps=25) as vw:
        for i, t in enumerate(stamps):
            vw.write(np.full((48, 64, 3), (i * 7) % 256, np.uint8), t)
    with av.open(str(path)) as c:
        duration = c.duration / 1e6
        times = [f.time for f in c.decode(video=0)]
    span = stamps[-1] - stamps[0]
    assert times[0] == 0 and times[-1] == pytest.approx(span, abs=0.01)
    assert duration == pytest.approx(span + 0.04, abs=0.05)


@pytest.fixture
def full_disk_video(tmp_path: Path):
    """A video name on a full disk: a link to /dev/full, where every write fails (ENOSPC)."""
    if not Path("/dev/full").exists():
        pytest.skip("no /dev/full")

    def name(suffix: str) -> Path:
        link = tmp_path / f"full{suffix}"
        link.symlink_to("/dev/full")
        return link

    return name


@pytest.mark.parametrize("suffix", [".mp4", ".mov", ".mkv", ".ts", ".avi"])
def test_a_full_disk_is_a_sink_error_in_every_container(full_disk_video, suffix: str):
    path = full_disk_video(suffix)
    vw = VideoWriter(path, fps=25)
    with pytest.raises(SinkError, match=r"cannot write video .*: No space left on device$"):
        for _ in range(50):
            vw.write(np.zeros((48, 64, 3), np.uint8))
    vw.close()  # the write's error was the one to report


@pytest.mark.parametrize("suffix", [".mp4", ".mkv"])
def test_a_full_disk_ends_the_run_with_exit_2_and_counts_the_masks_written(
    tmp_path: Path, full_disk_video, suffix: str, capsys
):
    from streamseg.cli import main

    masks = tmp_path / "m"
    rc = main(
        [
            "run",
            "--source",
            "synthetic:frames=10,size=64x48",
            "--method",
            "mog2",
            "--masks",
            str(masks),
            "--mask-video",
            str(full_disk_video(suffix)),
        ]
    )
    err = capsys.readouterr().err
    assert rc == 2 and "cannot write video" in err and "unexpected" not in err
    stats = json.loads((masks / "run_stats.json").read_text())
    assert stats["frames"] == len(list(masks.glob("bin*.png"))) >= 1


def _frame(i: int) -> Frame:
    return Frame(np.full((24, 32, 3), 100, np.uint8), i, i / 25)


def test_mask_overlay_and_mosaic_sinks(tmp_path: Path):
    masks = {"a": np.zeros((24, 32), np.uint8), "b": np.full((24, 32), 255, np.uint8)}
    sinks = [
        MaskVideoSink(tmp_path / "mask.mp4", "a"),
        OverlayVideoSink(tmp_path / "ov.mp4", "b"),
        MosaicSink(tmp_path / "mosaic.mp4"),
    ]
    for sink in sinks:
        with sink:
            for i in range(5):
                sink.write(_frame(i), masks)
    assert [count_frames(tmp_path / n) for n in ("mask.mp4", "ov.mp4", "mosaic.mp4")] == [5] * 3
    with av.open(str(tmp_path / "mosaic.mp4")) as c:
        assert c.streams.video[0].codec_context.width == 96  # input | a | b


def test_mosaic_labels_every_tile():
    img = np.full((60, 80, 3), 128, np.uint8)
    grid = mosaic(
        img,
        {
            "one": np.zeros((60, 80), np.uint8),
            "two": np.zeros((60, 80), np.uint8),
            "three": np.zeros((60, 80), np.uint8),
        },
    )
    assert grid.shape == (120, 160, 3)
    for r, c in [(0, 0), (0, 80), (60, 0), (60, 80)]:
        label = grid[r : r + 14, c : c + 30]
        assert (label == 0).any() and (label > 200).any()  # black band, white text


def test_scattered_specks_tint_a_scaled_tile_faintly():
    # Scaled down, a pixel that covers some foreground tints in proportion: 5 % noise
    # must not turn a tile red (it did, when any covered pixel tinted fully).
    img = np.full((1080, 1920, 3), 128, np.uint8)
    noise = (np.random.default_rng(0).random((1080, 1920)) < 0.05).astype(np.uint8) * 255
    tile = mosaic(img, {"a": noise}, max_width=640)[20:, 320:].astype(int)
    assert np.abs(tile - 128).mean() < 8


def test_a_large_mosaic_is_built_at_its_shown_size_and_keeps_thin_objects():
    img = np.full((1080, 1920, 3), 128, np.uint8)
    line = np.zeros((1080, 1920), np.uint8)
    line[500:1000, 960] = 255  # one pixel wide: a tile a sixth as wide must still show it
    grid = mosaic(img, {"a": line, "b": line}, max_width=960)
    assert grid.shape == (180, 960, 3)
    tile_a = grid[:, 320:640].astype(int)
    # faint (it covers a sixth of its pixels) but there, where the rest is untouched
    assert (np.abs(tile_a[100:160, 155:165] - 128) > 8).any()
    assert (tile_a[100:160, 200:300] == 128).all()


@pytest.mark.parametrize("sink", [MosaicSink, MaskVideoSink, OverlayVideoSink])
@pytest.mark.parametrize(("name", "match"), [("", "is a folder"), ("x.xyz", "end it in .mp4")])
def test_a_bad_video_name_fails_before_the_first_frame(tmp_path: Path, sink, name, match):
    from streamseg.errors import SinkError

    out = sink(tmp_path / name, **({} if sink is MosaicSink else {"method": "mog2"}))
    with pytest.raises(SinkError, match=match):
        out.open()


def test_a_very_wide_thin_mosaic_is_written(tmp_path: Path):
    # 4000x2 frames: the mosaic (12000 wide) is scaled to 1920 wide, at least 2 rows high.
    masks = {"a": np.zeros((2, 4000), np.uint8)}
    with MosaicSink(tmp_path / "wide.mp4") as sink:
        for i in range(3):
            sink.write(Frame(np.full((2, 4000, 3), 90, np.uint8), i, i / 25), masks)
    assert count_frames(tmp_path / "wide.mp4") == 3
