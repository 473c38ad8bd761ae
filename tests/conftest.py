"""Shared fixtures: generated data (synthetic scenes, videos written with PyAV), the shared
CDnet sequences, and a real RTSP server on loopback.

Environment:
    STREAMSEG_REQUIRE_DATA=1   tests that read ../shared/data fail instead of skipping
                               when it is absent (CI sets it).
    STREAMSEG_REQUIRE_RTSP=1   the RTSP tests fail instead of skipping when Debian's
                               GStreamer RTSP server is not installed (CI sets it).
    STREAMSEG_REQUIRE_MQTT=1   the MQTT tests fail instead of skipping when Debian's
                               mosquitto broker is not installed (CI sets it).
"""

from __future__ import annotations

import logging
import os
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from streamseg.sources.synthetic import SyntheticScene, write_sequence

ROOT = Path(__file__).resolve().parents[1]
DATA = Path(os.environ.get("STREAMSEG_DATA", ROOT.parent / "shared" / "data"))
SYSTEM_PYTHON = "/usr/bin/python3"
RTSP_SCRIPT = Path(__file__).parent / "support" / "rtsp_server.py"

# Runs under the system interpreter (python3-gi), not under pytest.
collect_ignore = ["support/rtsp_server.py"]


def _require(var: str) -> bool:
    return os.environ.get(var, "") not in ("", "0", "false", "no")


@pytest.fixture(scope="session", autouse=True)
def _one_torch_thread() -> None:
    """One torch thread: tests share 2 cores with ONNX Runtime and each other, and
    oversubscribed OpenMP threads spin (a 10 ms step then takes 400 ms)."""
    import torch

    torch.set_num_threads(1)


@pytest.fixture(autouse=True)
def _streamseg_logger() -> Iterator[None]:
    """Each test starts with the package logger as it found it.

    The CLI's ``main`` gives it a handler on the stderr of the moment and stops its
    propagation, so a later test's ``caplog`` would see nothing.
    """
    logger = logging.getLogger("streamseg")
    saved = (list(logger.handlers), logger.propagate, logger.level)
    yield
    logger.handlers[:], logger.propagate, logger.level = saved


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(0)


@pytest.fixture
def slow_deepls_start_up(monkeypatch: pytest.MonkeyPatch) -> threading.Event:
    """DeepLS's start-up waits until its segmenter is closed, as a slow one would (torch's
    import and the export take seconds); the event is set once a start-up began."""
    from streamseg.segmenters.deepls.engine import StartUp

    load = StartUp._load
    loading = threading.Event()

    def slow_load(self: StartUp) -> Any:
        loading.set()
        self._stop.wait(20)  # the lifeline's stop: set when the segmenter is closed
        self._stage()  # closed: the start-up is abandoned here
        return load(self)

    monkeypatch.setattr(StartUp, "_load", slow_load)
    return loading


@pytest.fixture(scope="session")
def data_dir() -> Path:
    """../shared/data, or skip (fail under STREAMSEG_REQUIRE_DATA=1)."""
    if not DATA.is_dir():
        message = (
            f"shared CDnet data not found at {DATA} (set STREAMSEG_DATA or check out ../shared)"
        )
        if _require("STREAMSEG_REQUIRE_DATA"):
            pytest.fail(message)
        pytest.skip(message)
    return DATA


@pytest.fixture(scope="session")
def small_scene() -> SyntheticScene:
    return SyntheticScene(width=96, height=72, frames=60, seed=3)


@pytest.fixture(scope="session")
def synthetic_sequence(
    tmp_path_factory: pytest.TempPathFactory, small_scene: SyntheticScene
) -> Path:
    """A CDnet-layout copy of a small synthetic scene (PNG inputs, exact ground truth)."""
    out = tmp_path_factory.mktemp("synthetic_seq")
    write_sequence(small_scene, out, warm_up=10, video=True)
    return out


def write_video(
    path: Path,
    frames: int = 30,
    size: tuple[int, int] = (64, 48),
    fps: int = 25,
    codec: str = "libx264",
    container_options: dict[str, str] | None = None,
    gop: int = 12,
) -> Path:
    """Write a small test video with PyAV (a moving bright square over a gradient)."""
    import av

    w, h = size
    with av.open(str(path), "w", options=container_options or {}) as container:
        stream = container.add_stream(codec, rate=fps)
        stream.width, stream.height, stream.pix_fmt = w, h, "yuv420p"
        stream.options = {"g": str(gop)}
        container.start_encoding()
        for t in range(frames):
            img = np.tile(np.linspace(40, 200, w, dtype=np.uint8), (h, 1))
            img = np.stack([img, img, img], axis=-1)
            x = (t * 2) % (w - 8)
            img[10:18, x : x + 8] = 255
            for packet in stream.encode(av.VideoFrame.from_ndarray(img, format="bgr24")):
                container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)
    return path


@pytest.fixture
def video_file(tmp_path: Path) -> Path:
    return write_video(tmp_path / "clip.mp4")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class RtspServer:
    """Start, stop and restart the loopback RTSP server on a fixed port."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.url = f"rtsp://127.0.0.1:{port}/test"
        self.proc: subprocess.Popen[str] | None = None

    def start(self, timeout: float = 15.0) -> None:
        self.proc = subprocess.Popen(
            [SYSTEM_PYTHON, str(RTSP_SCRIPT), "--port", str(self.port)],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        _wait_listening(self.proc, self.port, timeout, "RTSP server")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=10)
        self.proc = None


def rtsp_available() -> str | None:
    """None if the GStreamer RTSP server can run here, else the reason."""
    if not Path(SYSTEM_PYTHON).exists():
        return f"{SYSTEM_PYTHON} not found"
    probe = subprocess.run(
        [
            SYSTEM_PYTHON,
            "-c",
            "import gi; gi.require_version('GstRtspServer', '1.0'); "
            "from gi.repository import GstRtspServer",
        ],
        capture_output=True,
        timeout=30,
    )
    if probe.returncode != 0:
        return (
            "Debian's GStreamer RTSP server is missing (apt-get install gstreamer1.0-rtsp "
            "gir1.2-gst-rtsp-server-1.0 python3-gi gstreamer1.0-plugins-ugly)"
        )
    return None


@pytest.fixture
def rtsp_server() -> Iterator[RtspServer]:
    reason = rtsp_available()
    if reason is not None:
        if _require("STREAMSEG_REQUIRE_RTSP"):
            pytest.fail(reason)
        pytest.skip(reason)
    server = RtspServer(free_port())
    server.start()
    try:
        yield server
    finally:
        server.stop()


MOSQUITTO = "/usr/sbin/mosquitto"


class MqttBroker:
    """Debian's mosquitto on a loopback port, started and stopped by the test."""

    def __init__(self, folder: Path) -> None:
        self.port = free_port()
        self.address = f"127.0.0.1:{self.port}"
        self.config = folder / "mosquitto.conf"
        self.config.write_text(
            f"listener {self.port} 127.0.0.1\nallow_anonymous true\npersistence false\n"
        )
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 10.0) -> None:
        self.proc = subprocess.Popen(
            [MOSQUITTO, "-c", str(self.config)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        _wait_listening(self.proc, self.port, timeout, "mosquitto")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=10)
        self.proc = None


@pytest.fixture
def mqtt_broker(tmp_path: Path) -> Iterator[MqttBroker]:
    """A real MQTT broker on 127.0.0.1 (skipped, or failed under STREAMSEG_REQUIRE_MQTT=1,
    without Debian's mosquitto)."""
    if not Path(MOSQUITTO).exists():
        reason = "Debian's mosquitto broker is missing (apt-get install mosquitto)"
        if _require("STREAMSEG_REQUIRE_MQTT"):
            pytest.fail(reason)
        pytest.skip(reason)
    broker = MqttBroker(tmp_path)
    broker.start()
    try:
        yield broker
    finally:
        broker.stop()


def _wait_listening(proc: subprocess.Popen, port: int, timeout: float, name: str) -> None:
    """Return once ``proc`` accepts connections on 127.0.0.1:``port``; raise if it dies or
    does not within ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            if proc.poll() is not None:
                raise RuntimeError(f"{name} exited at start") from None
            time.sleep(0.05)
    raise RuntimeError(f"{name} did not listen within {timeout} s")
