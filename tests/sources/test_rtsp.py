"""A real RTSP server on loopback (GStreamer), read through PyAV."""

from __future__ import annotations

import threading
import time

import pytest

import streamseg as ss
from streamseg.errors import SourceError, StreamLostError
from tests.conftest import free_port

pytestmark = pytest.mark.rtsp


def test_reads_live_frames(rtsp_server):
    with ss.open_source(rtsp_server.url, open_timeout=10, read_timeout=3) as src:
        assert src.info.is_live and (src.info.width, src.info.height) == (320, 240)
        frames = [src.read() for _ in range(20)]
    assert all(f is not None and f.image.shape == (240, 320, 3) for f in frames)
    indices = [f.index for f in frames]
    assert indices == sorted(indices)


def test_survives_server_restart_and_ends_within_timeouts(rtsp_server):
    src = ss.open_source(
        rtsp_server.url, read_timeout=2, max_reconnects=20, backoff=0.2, backoff_max=1.0
    )
    received = []
    with src:
        for frame in src:
            received.append(frame.index)
            if len(received) == 10:
                # Kill the server and bring it back while we keep reading.
                rtsp_server.stop()
                threading.Timer(1.0, rtsp_server.start).start()
            if src.reconnects >= 1 and len(received) >= 30:
                break
    assert src.reconnects >= 1
    assert len(received) >= 30


def test_dead_stream_gives_up_within_budget(rtsp_server):
    src = ss.open_source(
        rtsp_server.url, read_timeout=1, max_reconnects=2, backoff=0.1, backoff_max=0.2
    )
    t0 = time.monotonic()
    with src, pytest.raises(StreamLostError, match="stream lost; 2 reconnect attempts"):
        for n, _ in enumerate(src):
            if n == 5:
                rtsp_server.stop()
    assert time.monotonic() - t0 < 20


def test_refused_connection_is_a_clear_error():
    url = f"rtsp://127.0.0.1:{free_port()}/test"
    t0 = time.monotonic()
    with pytest.raises(SourceError, match="cannot connect to the stream"):
        with ss.open_source(url, open_timeout=2):
            pass
    assert time.monotonic() - t0 < 5


def test_ten_server_restarts_in_one_run(rtsp_server, tmp_path):
    """The camera dies and comes back ten times: the run resumes each time, counts the
    gaps, and writes a mask for every frame it received."""
    from streamseg.sinks import PngMaskSink

    restarts = []

    def flap():
        for _ in range(10):
            time.sleep(1.2)
            rtsp_server.stop()
            time.sleep(0.3)
            rtsp_server.start()
            restarts.append(time.monotonic())

    src = ss.open_source(
        rtsp_server.url, read_timeout=2, max_reconnects=30, backoff=0.1, backoff_max=0.5
    )
    flapper = threading.Thread(target=flap)
    with src, ss.create("mog2") as seg, PngMaskSink(tmp_path) as sink:
        flapper.start()
        stop = threading.Event()

        def on_frame(frame, masks):
            if len(restarts) == 10 and src.reconnects >= 10:
                stop.set()

        t0 = time.monotonic()
        stats = ss.run(src, {"mog2": seg}, [sink], stop=stop, on_frame=on_frame, max_frames=100_000)
        flapper.join(timeout=60)
    assert time.monotonic() - t0 < 90
    assert stats.reconnects >= 10
    assert len(list(tmp_path.glob("bin*.png"))) == stats.frames > 50


def test_stalled_server_times_out_and_reconnects(rtsp_server):
    """SIGSTOP freezes the server with its connection open: only the read timeout notices."""
    import signal

    src = ss.open_source(
        rtsp_server.url,
        read_timeout=1.5,
        max_reconnects=20,
        backoff=0.2,
        backoff_max=0.5,
        open_timeout=2,
    )
    received = 0
    with src:
        for _ in src:
            received += 1
            if received == 10:
                rtsp_server.proc.send_signal(signal.SIGSTOP)
                threading.Timer(4.0, rtsp_server.proc.send_signal, (signal.SIGCONT,)).start()
            if src.reconnects >= 1 and received >= 20:
                break
    assert src.reconnects >= 1


def test_a_run_whose_stream_is_lost_keeps_its_outputs_and_statistics(rtsp_server, tmp_path):
    import json

    from streamseg.config import run_config_from_dict
    from streamseg.pipeline import run_config

    masks = tmp_path / "masks"
    cfg = run_config_from_dict(
        {
            "source": {"uri": rtsp_server.url, "read_timeout": 1, "max_reconnects": 1},
            "methods": ["mog2"],
            "outputs": {"masks": str(masks)},
            "max_frames": 1000,  # bounded: should the server outlive its stop, fail, not hang
        }
    )

    stopped = []

    def stop_after_five(frame, _masks):
        # >= rather than ==: a live source drops frames, so an index may never come.
        if frame.index >= 5 and not stopped:
            stopped.append(frame.index)
            rtsp_server.stop()

    with pytest.raises(StreamLostError):
        run_config(cfg, on_frame=stop_after_five)
    stats = json.loads((masks / "run_stats.json").read_text())
    assert stats["frames"] >= 6 and "stream lost" in stats["error"]
    assert len(list(masks.glob("bin*.png"))) == stats["frames"]


def test_a_restarted_live_stream_continues_its_outputs(rtsp_server, tmp_path):
    import dataclasses

    import av

    from streamseg.config import run_config_from_dict
    from streamseg.pipeline import run_config

    masks, video = tmp_path / "masks", tmp_path / "mosaic.mp4"
    cfg = run_config_from_dict(
        {
            "source": {"uri": rtsp_server.url, "read_timeout": 5},
            "methods": ["mog2"],
            "outputs": {"masks": str(masks), "video": str(video)},
            "max_frames": 8,
        }
    )

    def numbers() -> set[int]:
        return {int(p.stem[3:]) for p in masks.glob("bin*.png")}

    run_config(cfg)
    first = numbers()
    run_config(cfg, resume_outputs=True)  # as serve restarts a stream
    # The camera counts from 1 again (a live source skips the numbers of frames it
    # dropped); the masks go on after the first run's.
    second = numbers() - first
    assert len(first) == len(second) == 8 and min(second) > max(first)
    for path in (video, tmp_path / "mosaic.part2.mp4"):  # the first video is left as it was
        with av.open(str(path)) as c:
            assert sum(1 for _ in c.decode(video=0)) == 8
    # A new run over them (--overwrite) replaces the masks and the parts of the restarts.
    run_config(dataclasses.replace(cfg, outputs=dataclasses.replace(cfg.outputs, overwrite=True)))
    assert len(numbers()) == 8 and not (tmp_path / "mosaic.part2.mp4").exists()
    # A stream whose first attempt wrote nothing (the camera was down) starts with the names.
    other = tmp_path / "other.mp4"
    run_config(
        dataclasses.replace(
            cfg, outputs=dataclasses.replace(cfg.outputs, masks=None, video=str(other))
        ),
        resume_outputs=True,
    )
    assert other.exists() and not (tmp_path / "other.part2.mp4").exists()


def test_a_camera_that_never_answers_is_named_a_timeout(tmp_path):
    import socket
    import threading

    from streamseg.config import SourceConfig
    from streamseg.errors import SourceError
    from streamseg.sources import open_source

    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    held = []
    stop = threading.Event()

    def accept_and_stay_silent():
        server.settimeout(0.2)
        while not stop.is_set():
            try:
                held.append(server.accept()[0])
            except OSError:
                continue

    thread = threading.Thread(target=accept_and_stay_silent, daemon=True)
    thread.start()
    url = f"rtsp://127.0.0.1:{server.getsockname()[1]}/x"
    try:
        with pytest.raises(SourceError, match=r"no answer within 1 s \(source.open_timeout\)"):
            with open_source(url, SourceConfig(open_timeout=1.0, read_timeout=1.0)):
                pass
    finally:
        stop.set()
        thread.join(5)
        for conn in held:
            conn.close()
        server.close()
