from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

import numpy as np
import pytest

import streamseg as ss
from streamseg.errors import SourceError, SourceNotFoundError, StreamLostError
from streamseg.sources.pyav import PyAVSource
from tests.conftest import write_video


def test_reads_every_frame_with_info(video_file: Path):
    with PyAVSource(video_file) as src:
        info = src.info
        frames = list(src)
    assert (info.width, info.height, info.is_live) == (64, 48, False)
    assert info.fps == pytest.approx(25.0)
    assert [f.index for f in frames] == list(range(30))
    assert frames[0].image.shape == (48, 64, 3) and frames[0].image.dtype == np.uint8
    assert frames[1].timestamp == pytest.approx(0.04)
    assert src.dropped == 0 and src.warning is None


def test_gray_comes_from_the_luma_plane(video_file: Path):
    with PyAVSource(video_file, ss.SourceConfig(gray=True)) as src:
        gray = [f.image for f in src]
    with PyAVSource(video_file) as src:
        bgr = [f.image for f in src]
    assert gray[0].shape == (48, 64) and gray[0].flags.c_contiguous
    # Luma of the BGR decode, up to the limited-range scaling of the Y plane.
    import cv2

    y = cv2.cvtColor(bgr[5], cv2.COLOR_BGR2GRAY).astype(float)
    assert np.corrcoef(y.ravel(), gray[5].astype(float).ravel())[0, 1] > 0.99


def test_odd_size_video(tmp_path: Path):
    path = write_video(tmp_path / "odd.mkv", frames=5, size=(50, 30))
    with ss.open_source(path) as src:
        assert [f.image.shape for f in src] == [(30, 50, 3)] * 5


def test_missing_file():
    with pytest.raises(SourceNotFoundError, match="no such file"), ss.open_source("/no/such.mp4"):
        pass


def test_not_a_video(tmp_path: Path):
    path = tmp_path / "notes.mp4"
    path.write_text("this is not a video\n" * 50)
    with pytest.raises(SourceError, match="not a video file"), ss.open_source(path):
        pass


def test_a_text_file_is_not_read_as_video(tmp_path: Path):
    # FFmpeg's tty demuxer renders text as ANSI art, so a .txt "decoded" into frames,
    # and OpenCV's FFmpeg backend did the same when PyAV refused it.
    path = tmp_path / "notes.txt"
    path.write_text("root:x:0:0:root:/root:/bin/bash\n" * 20)
    with pytest.raises(SourceError, match="notes.txt: a text file, not a video"):
        with ss.open_source(path):
            pass


def test_audio_only_file_has_no_video_stream(tmp_path: Path):
    import av

    path = tmp_path / "tone.wav"
    with av.open(str(path), "w") as c:
        stream = c.add_stream("pcm_s16le", rate=8000)
        frame = av.AudioFrame.from_ndarray(
            np.zeros((1, 800), np.int16), format="s16", layout="mono"
        )
        frame.sample_rate = 8000
        for p in stream.encode(frame):
            c.mux(p)
        for p in stream.encode(None):
            c.mux(p)
    with pytest.raises(SourceError, match="no video stream"), PyAVSource(path):
        pass


def cut_fragmented_mp4(tmp_path: Path, frames: int, keep: Callable[[bytes], int]) -> Path:
    """A fragmented MP4 of ``frames`` frames, cut to its first ``keep(data)`` bytes."""
    path = write_video(
        tmp_path / "full.mp4",
        frames=frames,
        size=(160, 120),
        container_options={"movflags": "frag_keyframe+empty_moov"},
    )
    data = path.read_bytes()
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(data[: keep(data)])
    return cut


def test_truncated_file_keeps_what_decodes(tmp_path: Path):
    # A fragmented MP4 cut in the middle: the head decodes, then the source says where it stopped.
    cut = cut_fragmented_mp4(tmp_path, 120, lambda data: len(data) // 2)
    with ss.open_source(cut) as src:
        frames = list(src)
    assert 30 < len(frames) < 120


@pytest.mark.parametrize("fraction", [0.4, 0.5, 0.65, 0.8, 0.9, 0.97])
def test_a_fragmented_mp4_cut_inside_its_data_is_reported(tmp_path: Path, fraction: float):
    # Cut inside a fragment's data, the lost frames may be fewer than the duration
    # check's tolerance: the demuxer's flag on the cut packet reports them. (A cut inside
    # a fragment's header still goes unseen: the duration is recomputed from what is left.)
    cut = cut_fragmented_mp4(tmp_path, 200, lambda data: int(len(data) * fraction))
    with ss.open_source(cut) as src:
        frames = list(src)
    assert 0 < len(frames) < 200
    assert src.warning is not None and "cut.mp4" in src.warning, src.warning


def test_a_cut_file_that_states_only_a_duration_says_where_it_ended(tmp_path: Path):
    # Matroska states a duration but no frame count, so the count cannot tell a cut file.
    path = write_video(tmp_path / "full.mkv", frames=100)
    with ss.open_source(path) as src:
        assert len(list(src)) == 100 and src.warning is None
    cut = tmp_path / "cut.mkv"
    cut.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    with ss.open_source(cut) as src:
        frames = list(src)
    assert 0 < len(frames) < 100
    assert src.warning is not None
    assert f"ended at {len(frames) / 25:.1f} s of the 4.0 s" in src.warning, src.warning


def _healthy_matroska(path: Path, case: str) -> Path:
    """100 frames at 25 fps, in Matroska, that a duration check could mistake for cut."""
    import fractions

    import av

    ms = fractions.Fraction(1, 1000)
    with av.open(str(path), "w") as c:
        video = c.add_stream("libx264", rate=25)
        video.width, video.height, video.pix_fmt, video.time_base = 64, 48, "yuv420p", ms
        # "audio": 8 s of audio beside 4 s of video (every stream exists before muxing).
        audio = c.add_stream("pcm_s16le", rate=8000) if case == "audio" else None
        packets = []
        for i in range(100):
            frame = av.VideoFrame.from_ndarray(np.full((48, 64, 3), i, np.uint8), format="bgr24")
            # "offset": timestamps from 10 s (a segment of a longer recording).
            frame.pts, frame.time_base = i * 40 + (10_000 if case == "offset" else 0), ms
            packets += video.encode(frame)
        packets += video.encode(None)
        last = max(packets, key=lambda p: p.pts)
        for packet in packets:
            if case == "still" and packet is last:
                # A still held for 5 s at the end of a recording.
                packet.duration = int(5 / packet.time_base)
            c.mux(packet)
        if audio is not None:
            for k in range(8):
                chunk = av.AudioFrame.from_ndarray(
                    np.zeros((1, 8000), np.int16), format="s16", layout="mono"
                )
                chunk.sample_rate, chunk.pts = 8000, k * 8000
                for packet in audio.encode(chunk):
                    c.mux(packet)
            for packet in audio.encode(None):
                c.mux(packet)
    return path


@pytest.mark.parametrize("case", ["audio", "offset", "still"])
def test_a_whole_file_is_not_called_cut(tmp_path: Path, case: str):
    # The duration to check is the video stream's and may be a span or an end time; the
    # last frame may last longer than one frame period.
    path = _healthy_matroska(tmp_path / f"{case}.mkv", case)
    with ss.open_source(path) as src:
        assert len(list(src)) == 100
    assert src.warning is None, src.warning


def test_a_file_cut_before_its_first_frame_is_an_error_not_an_empty_run(tmp_path: Path):
    # The header opens, but the first frame's data is cut: nothing to segment, which a
    # run must not report as a success with no frames.
    cut = cut_fragmented_mp4(tmp_path, 60, lambda data: data.index(b"mdat") + 100)
    with pytest.raises(SourceError, match="cut.mp4: no frame could be decoded"):
        with ss.open_source(cut) as src:
            list(src)


def test_truncated_plain_mp4_is_a_clear_error(tmp_path: Path):
    # A plain MP4 keeps its index (moov) at the end: cut, it cannot be opened at all.
    path = write_video(tmp_path / "full.mp4", frames=60)
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    with pytest.raises(SourceError, match="cut.mp4"), ss.open_source(cut):
        pass


def test_zero_frame_video(tmp_path: Path):
    path = write_video(tmp_path / "empty.mkv", frames=0)
    with pytest.raises(SourceError, match="empty or truncated"), PyAVSource(path):
        pass


def test_opencv_backend_reads_the_same_frames(video_file: Path):
    with ss.open_source(video_file, backend="opencv") as src:
        frames = list(src)
    assert len(frames) == 30 and frames[0].image.shape == (48, 64, 3)


def test_unsupported_codec_is_one_clear_line(tmp_path: Path, capfd):
    # A Matroska file whose codec ID no decoder knows (the AVC ID patched in place).
    data = write_video(tmp_path / "v.mkv", frames=10).read_bytes()
    i = data.find(b"V_MPEG4/ISO/AVC")
    bad = tmp_path / "unknown.mkv"
    bad.write_bytes(data[:i] + b"V_ZZZZZ/ISO/AVC" + data[i + 15 :])
    with pytest.raises(SourceError, match="unsupported video codec"), ss.open_source(bad):
        pass
    assert "ERROR" not in capfd.readouterr().err  # OpenCV's fallback stays quiet


@pytest.fixture
def http_folder(tmp_path: Path):
    """A loopback HTTP server over ``tmp_path``: ``(folder, base URL)``.

    A file whose name starts with ``broken`` is announced whole, then its connection
    breaks half-way; one whose name starts with ``stalled`` stops sending half-way.
    """
    import functools
    import http.server
    import socket
    import threading

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

        def copyfile(self, source: BinaryIO, outputfile: BinaryIO) -> None:
            name = self.path.lstrip("/")
            if not name.startswith(("broken", "stalled")):
                return super().copyfile(source, outputfile)
            data = source.read()
            outputfile.write(data[: len(data) // 2])
            outputfile.flush()
            if name.startswith("stalled"):
                released.wait(30)
            self.connection.shutdown(socket.SHUT_RDWR)

    server = http.server.ThreadingHTTPServer(
        ("127.0.0.1", 0), functools.partial(Quiet, directory=str(tmp_path))
    )
    released = threading.Event()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield tmp_path, f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        released.set()
        server.shutdown()
        server.server_close()


def test_a_file_over_http_is_read_to_its_end_once(http_folder):
    # It has a duration, so it ends: read as a live stream, its end looked like a
    # disconnect and every reconnect started it over, for ever.
    folder, base = http_folder
    write_video(folder / "clip.mp4", frames=30)
    with ss.open_source(f"{base}/clip.mp4") as src:
        frames = list(src)
        assert not src.info.is_live
    assert [f.index for f in frames] == list(range(30)) and src.reconnects == 0


def test_a_file_over_http_whose_connection_breaks_fails_the_run(http_folder, tmp_path: Path):
    # A broken download is a failed read, not a damaged file: the run must not end as a
    # success (exit 0) with half the clip; what was written stays.
    folder, base = http_folder
    write_video(folder / "broken.mkv", frames=100)
    from streamseg.sinks import PngMaskSink

    with pytest.raises(StreamLostError, match="connection broke .* not read to its end"):
        with ss.open_source(f"{base}/broken.mkv") as src, PngMaskSink(tmp_path / "masks") as sink:
            ss.run(src, {"mog2": ss.create("mog2")}, [sink])
    assert len(list((tmp_path / "masks").glob("bin*.png"))) > 0


def test_a_file_over_http_that_stalls_fails_after_read_timeout(http_folder):
    folder, base = http_folder
    write_video(folder / "stalled.mkv", frames=100)
    with pytest.raises(StreamLostError, match=r"no data for 1 s \(source.read_timeout\)"):
        with ss.open_source(f"{base}/stalled.mkv", read_timeout=1) as src:
            list(src)


def test_a_named_pipe_without_a_writer_times_out(tmp_path: Path):
    # Opening a FIFO blocks in C until a writer comes, where no timeout or signal reaches.
    import os
    import time

    fifo = tmp_path / "camera.mkv"
    os.mkfifo(fifo)
    started = time.monotonic()
    with pytest.raises(SourceError, match="no data within 0.5 s"):
        with ss.open_source(fifo, open_timeout=0.5):
            pass
    assert time.monotonic() - started < 5


def test_a_named_pipe_is_read_from_its_writer(tmp_path: Path):
    import os
    import threading

    data = write_video(tmp_path / "clip.mkv", frames=20).read_bytes()
    fifo = tmp_path / "pipe.mkv"
    os.mkfifo(fifo)

    def writer() -> None:
        with open(fifo, "wb") as fh:
            fh.write(data)

    thread = threading.Thread(target=writer, daemon=True)
    thread.start()
    with ss.open_source(fifo, open_timeout=5) as src:
        frames = list(src)
    thread.join(5)
    assert len(frames) == 20


def _stalling_writer(fifo: Path, data: bytes, hold: threading.Event) -> threading.Thread:
    """Writes half of ``data`` into ``fifo``, then keeps it open without writing until ``hold``."""

    def write() -> None:
        with open(fifo, "wb") as fh:
            fh.write(data[: len(data) // 2])
            fh.flush()
            hold.wait(30)

    thread = threading.Thread(target=write, daemon=True)
    thread.start()
    return thread


def test_a_stalled_pipe_is_lost_after_read_timeout_and_a_cancel_ends_it(tmp_path: Path):
    # A blocking read of a stalled writer waited in C for ever, beyond Ctrl-C.
    import os
    import time

    from streamseg.errors import StreamLostError

    data = write_video(tmp_path / "clip.mkv", frames=200, size=(160, 120)).read_bytes()
    for cancel in (False, True):
        fifo = tmp_path / f"pipe{cancel}.mkv"
        os.mkfifo(fifo)
        hold = threading.Event()
        writer = _stalling_writer(fifo, data, hold)
        src = ss.open_source(fifo, open_timeout=5, read_timeout=1 if not cancel else 60)
        started = time.monotonic()
        try:
            with src:
                if cancel:
                    threading.Timer(0.5, src.cancel).start()
                    frames = list(src)
                    assert 0 < len(frames) < 200
                else:
                    with pytest.raises(StreamLostError, match="no data from the pipe's writer"):
                        list(src)
        finally:
            hold.set()
            writer.join(5)
        assert time.monotonic() - started < 10


def test_a_mistyped_stream_scheme_is_named():
    from streamseg.errors import ConfigError
    from streamseg.sources import open_source

    with pytest.raises(ConfigError, match=r"rstp://cam/x: 'rstp' is not a stream .*\(use rtsp"):
        open_source("rstp://cam/x")
