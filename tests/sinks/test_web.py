"""The live web view: a real HTTP server on loopback, read by a real HTTP client."""

from __future__ import annotations

import contextlib
import http.client
import json
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator

import cv2
import numpy as np
import pytest

from streamseg.config import OutputConfig
from streamseg.errors import ClosedError, ConfigError, SinkError
from streamseg.frame import Frame
from streamseg.serve import serve_config_from_dict
from streamseg.sinks.web import WebSink, conflicts, parse_address, probe

TIMEOUT = 10.0  # every wait of these tests


def _frame(index: int, w: int = 64, h: int = 48) -> Frame:
    image = np.full((h, w, 3), (index * 7) % 256, np.uint8)
    return Frame(image, index, index / 25.0)


def _masks(w: int = 64, h: int = 48) -> dict[str, np.ndarray]:
    mask = np.zeros((h, w), np.uint8)
    mask[10:20, 10:30] = 255
    return {"mog2": mask, "knn": mask}


def _get(url: str) -> tuple[int, str, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=TIMEOUT) as reply:
            return reply.status, reply.headers["Content-Type"], reply.read()
    except urllib.error.HTTPError as err:
        return err.code, err.headers["Content-Type"], err.read()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.mark.parametrize(
    ("address", "expected"),
    [
        ("8080", ("127.0.0.1", 8080)),
        (":8080", ("127.0.0.1", 8080)),
        ("0.0.0.0:9000", ("0.0.0.0", 9000)),
        ("[::1]:0", ("::1", 0)),
    ],
)
def test_addresses(address: str, expected: tuple[str, int]):
    assert parse_address(address) == expected


@pytest.mark.parametrize(
    "address", ["", "host:", "80808", "localhost:http", "-1", "²", "::8080", "::1:8080", "[x]:80"]
)
def test_a_bad_address_is_a_config_error(address: str):
    with pytest.raises(ConfigError, match="use PORT or HOST:PORT"):
        parse_address(address)
    with pytest.raises(ConfigError, match="web address"):
        OutputConfig(web=address)


def test_which_addresses_conflict():
    assert conflicts("8080", "localhost:8080") and conflicts("0.0.0.0:8080", "8080")
    assert not conflicts("8080", "8081") and not conflicts("0", "127.0.0.1:0")


def test_the_page_the_snapshot_and_unknown_paths():
    with WebSink("127.0.0.1:0") as sink:
        assert sink.url.startswith("http://127.0.0.1:") and not sink.url.endswith(":0/")
        code, _, body = _get(sink.url + "latest.jpg")
        assert code == 503 and b"no frame yet" in body  # nothing to show before a frame
        sink.write(_frame(1), _masks())
        code, kind, body = _get(sink.url + "latest.jpg")
        assert (code, kind) == (200, "image/jpeg")
        picture = cv2.imdecode(np.frombuffer(body, np.uint8), cv2.IMREAD_COLOR)
        assert picture.shape == (48, 3 * 64, 3)  # input | mog2 | knn
        code, kind, body = _get(sink.url)
        assert code == 200 and kind.startswith("text/html")
        # relative links: a proxy may serve the page under any path
        assert b'src="stream.mjpg"' in body and b"mog2, knn" in body
        assert _get(sink.url + "nope")[0] == 404
        code, kind, body = _get(sink.url + "status.json")
        status = json.loads(body)
        assert (code, kind, status["pictures"], status["methods"]) == (
            200,
            "application/json",
            1,
            ["mog2", "knn"],
        )
        assert 0 <= status["age_s"] < TIMEOUT


def test_head_requests_get_headers_only():
    with WebSink("127.0.0.1:0") as sink:
        host, port = sink.url[len("http://") : -1].rsplit(":", 1)
        conn = http.client.HTTPConnection(host, int(port), timeout=TIMEOUT)
        conn.request("HEAD", "/latest.jpg")
        assert conn.getresponse().status == 503  # as GET: no picture yet
        conn.close()
        sink.write(_frame(1), _masks())
        for path, kind in (("/", "text/html"), ("/stream.mjpg", "multipart/x-mixed-replace")):
            conn = http.client.HTTPConnection(host, int(port), timeout=TIMEOUT)
            conn.request("HEAD", path)
            reply = conn.getresponse()
            assert reply.status == 200 and reply.headers["Content-Type"].startswith(kind)
            assert reply.read() == b""
            conn.close()


def test_a_wide_mosaic_is_scaled_down():
    with WebSink("127.0.0.1:0", max_width=96) as sink:
        sink.write(_frame(1), _masks())
        body = _get(sink.url + "latest.jpg")[2]
    picture = cv2.imdecode(np.frombuffer(body, np.uint8), cv2.IMREAD_COLOR)
    assert picture.shape[:2] == (24, 96)  # 192×48, halved


def _read_part(reply: http.client.HTTPResponse) -> bytes:
    """One JPEG of a multipart stream: boundary, headers, body."""
    assert reply.readline().strip() == b"--streamsegframe"
    headers = {}
    while line := reply.readline().strip():
        key, _, value = line.decode().partition(":")
        headers[key.lower()] = value.strip()
    assert headers["content-type"] == "image/jpeg"
    body = reply.read(int(headers["content-length"]))
    assert reply.readline() == b"\r\n"
    return body


@contextlib.contextmanager
def _fed(sink: WebSink, period: float) -> Iterator[WebSink]:
    """``sink`` opened, written a new frame every ``period`` seconds; closed at the end."""
    sink.open()
    stop = threading.Event()

    def frames() -> None:
        index = 0
        while not stop.is_set():
            sink.write(_frame(index), _masks())
            index += 1
            time.sleep(period)

    writer = threading.Thread(target=frames)
    writer.start()
    try:
        yield sink
    finally:
        stop.set()
        writer.join(TIMEOUT)
        sink.close()


def test_a_viewer_gets_new_pictures_while_frames_come_and_close_ends_the_stream():
    with _fed(WebSink("127.0.0.1:0", max_fps=1000), 0.005) as sink:
        host, port = sink.url[len("http://") : -1].rsplit(":", 1)
        conn = http.client.HTTPConnection(host, int(port), timeout=TIMEOUT)
        conn.request("GET", "/stream.mjpg")
        reply = conn.getresponse()
        assert reply.status == 200
        assert reply.headers["Content-Type"] == "multipart/x-mixed-replace; boundary=streamsegframe"
        parts = [_read_part(reply) for _ in range(3)]
        shades = [
            int(cv2.imdecode(np.frombuffer(p, np.uint8), cv2.IMREAD_GRAYSCALE)[40, 5])
            for p in parts
        ]
        assert len(set(shades)) == 3  # three different frames, not one picture repeated
    # The stream ends with the sink (the viewer is not left waiting) ...
    rest = reply.read()
    assert rest.count(b"--streamsegframe") <= 2
    conn.close()
    sink.close()  # ... and close() may come twice
    with pytest.raises(OSError):
        urllib.request.urlopen(sink.url, timeout=TIMEOUT)  # nothing listens any more


def test_a_taken_port_is_a_clear_error_at_open_and_before(tmp_path):
    from streamseg.config import run_config_from_dict
    from streamseg.pipeline import run_config

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        sink = WebSink(f"127.0.0.1:{port}")
        with pytest.raises(
            SinkError, match=f"cannot listen on 127.0.0.1:{port}.*another port"
        ) as err:
            sink.open()
        assert err.value.exit_code == 2
        sink.close()
        with pytest.raises(SinkError, match="another port"):
            probe(str(port))
        # A run checks the port before its source, methods and outputs open.
        config = run_config_from_dict(
            {
                "source": "synthetic",
                "methods": ["mog2"],
                "outputs": {"web": str(port), "masks": str(tmp_path / "masks")},
            }
        )
        with pytest.raises(SinkError, match="cannot listen"):
            run_config(config)
        assert not (tmp_path / "masks").exists()
    with pytest.raises(SinkError, match="check the host"):
        probe("192.0.2.1:18000")  # TEST-NET-1: not this machine's


def test_viewers_and_connections_are_capped():
    with WebSink("127.0.0.1:0", max_viewers=2) as sink:
        sink.write(_frame(1), _masks())
        host, port = sink.url[len("http://") : -1].rsplit(":", 1)
        watching = []
        for _ in range(2):
            conn = http.client.HTTPConnection(host, int(port), timeout=TIMEOUT)
            conn.request("GET", "/stream.mjpg")
            watching.append((conn, conn.getresponse()))
            assert watching[-1][1].status == 200
        assert _get(sink.url + "stream.mjpg")[0] == 503  # a third viewer
        idle = []
        for _ in range(2 + 8 + 4):  # past viewers + extra connections, never sending
            s = socket.create_connection((host, int(port)), timeout=TIMEOUT)
            idle.append(s)
        turned_away = 0
        for s in idle:
            s.settimeout(0.5)
            try:
                turned_away += s.recv(100).startswith(b"HTTP/1.0 503")
            except TimeoutError:
                pass  # admitted: it waits for a request
        assert turned_away >= 4
        for s in idle:
            s.close()
        for conn, _ in watching:
            conn.close()


def test_close_ends_a_stream_whose_viewer_stopped_reading():
    sink = WebSink("127.0.0.1:0", max_fps=1000)
    sink.open()
    big = np.random.default_rng(0).integers(0, 255, (480, 640, 3), np.uint8)  # JPEG-hostile
    host, port = sink.url[len("http://") : -1].rsplit(":", 1)
    viewer = socket.create_connection((host, int(port)), timeout=TIMEOUT)
    viewer.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    viewer.sendall(b"GET /stream.mjpg HTTP/1.0\r\n\r\n")
    for i in range(200):  # fill the socket buffers: the handler blocks in write()
        sink.write(Frame(big, i, i / 25.0), _masks(640, 480))
        time.sleep(0.002)
    handlers = [t for t in threading.enumerate() if "process_request" in t.name]
    assert handlers  # the viewer's handler, blocked on its full socket
    sink.close()
    deadline = time.monotonic() + TIMEOUT
    while any(t.is_alive() for t in handlers) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not any(t.is_alive() for t in handlers)  # not after the 30 s write timeout
    viewer.close()


def test_open_or_write_after_close_is_refused():
    sink = WebSink("127.0.0.1:0")
    sink.close()
    with pytest.raises(ClosedError, match="write.. after close"):
        sink.write(_frame(1), _masks())
    with pytest.raises(ClosedError, match="open.. after close"), sink:
        pass
    assert sink._server is None  # nothing was started


def test_streamseg_run_shows_the_live_view():
    port = _free_port()
    cmd = [sys.executable, "-m", "streamseg", "run", "--source", "synthetic", "--method"]
    cmd += ["mog2", "--web", f"127.0.0.1:{port}", "--set", "source.realtime=true"]
    with subprocess.Popen(
        cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    ) as proc:
        try:
            deadline = time.monotonic() + 4 * TIMEOUT
            picture = None
            while picture is None and time.monotonic() < deadline and proc.poll() is None:
                try:
                    code, _, body = _get(f"http://127.0.0.1:{port}/latest.jpg")
                    if code == 200:
                        picture = cv2.imdecode(np.frombuffer(body, np.uint8), cv2.IMREAD_COLOR)
                except OSError:
                    time.sleep(0.2)  # not listening yet: the source is still opening
            # input | ground truth (the synthetic scene knows it) | mog2
            assert picture is not None and picture.shape == (240, 3 * 320, 3)
        finally:
            proc.terminate()
            _, err = proc.communicate(timeout=4 * TIMEOUT)
    assert f"live view at http://127.0.0.1:{port}/" in err.decode()


def _stream(name: str, web: str) -> dict:
    return {
        "name": name,
        "source": {"uri": "synthetic"},
        "methods": [{"name": "mog2"}],
        "outputs": {"web": web},
    }


def test_serve_refuses_two_streams_on_one_port():
    one, two = str(_free_port()), str(_free_port())  # config loading checks they are free
    for same in (one, f"0.0.0.0:{one}", f"localhost:{one}"):
        with pytest.raises(ConfigError, match="takes stream a's port"):
            serve_config_from_dict({"streams": [_stream("a", one), _stream("b", same)]})
    ok = serve_config_from_dict({"streams": [_stream("a", one), _stream("b", two)]})
    assert [s.run.outputs.web for s in ok.streams] == [one, two]
    with pytest.raises(ConfigError, match="give it a port"):  # nobody would learn which
        serve_config_from_dict({"streams": [_stream("a", "0")]})


def test_streamseg_reads_its_own_live_view_as_a_source():
    import streamseg as ss

    with (
        _fed(WebSink("127.0.0.1:0", max_fps=100), 0.02) as sink,
        ss.open_source(sink.url + "stream.mjpg") as source,
    ):
        assert source.info.is_live  # no duration: a camera, not a file
        images = [frame.image for frame, _ in zip(source, range(3), strict=False)]
    assert [image.shape for image in images] == [(48, 3 * 64, 3)] * 3


def test_viewers_that_go_away_print_nothing(capfd):
    import struct

    with WebSink("127.0.0.1:0") as sink:
        sink.write(_frame(1), _masks())
        host, port = sink.url[len("http://") : -1].rsplit(":", 1)
        for path in ("/", "/latest.jpg", "/stream.mjpg") * 5:
            s = socket.create_connection((host, int(port)), timeout=TIMEOUT)
            s.sendall(f"GET {path} HTTP/1.0\r\n\r\n".encode())
            s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            s.close()  # a reset, as a browser that navigates away may send
        assert _get(sink.url + "status.json")[0] == 200  # still serving
    assert "Traceback" not in capfd.readouterr().err


def test_the_view_draws_annotations_on_the_input_and_serves_added_routes():
    def draw(image: np.ndarray) -> None:
        image[10:30, 10:30] = (0, 255, 255)  # an object's box, in yellow

    frame = Frame(np.zeros((48, 64, 3), np.uint8), 0, 0.0)
    with WebSink("127.0.0.1:0", annotate=[draw]) as sink:
        sink.add_route("/metrics", lambda: (b"streamseg_up 1\n", "text/plain"))
        sink.write(frame, {"mog2": np.zeros((48, 64), np.uint8)})
        jpeg = urllib.request.urlopen(sink.url + "latest.jpg", timeout=5).read()
        metrics = urllib.request.urlopen(sink.url + "metrics", timeout=5).read()
    shown = cv2.imdecode(np.frombuffer(jpeg, np.uint8), cv2.IMREAD_COLOR)
    assert shown[20, 20].tolist() == pytest.approx([0, 255, 255], abs=40)  # input tile
    assert shown[20, 64 + 20].max() < 60  # the method's tile is not drawn on
    assert frame.image.max() == 0  # the frame itself is untouched
    assert metrics == b"streamseg_up 1\n"
