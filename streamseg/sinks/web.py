"""A live view in the browser: the mosaic of the run, served over HTTP as MJPEG.

``http://HOST:PORT/`` shows the input and every method's overlay side by side (the
tiles of :func:`~streamseg.sinks.mosaic.mosaic`) as they are segmented; the stream
itself is ``/stream.mjpg`` (``multipart/x-mixed-replace``, which browsers and
FFmpeg-based readers such as OpenCV's ``VideoCapture`` or PyAV play, so another
``streamseg run --source http://HOST:PORT/stream.mjpg`` reads it too) and
``/latest.jpg`` is the newest picture. It is the protocol of the ``motion`` daemon's
and most IP cameras' live view.

The sink holds only the newest picture, encoded at most ``max_fps`` times a second
and only while somebody watches (a snapshot is kept fresh once a second otherwise),
so it never slows the run or grows. The server runs on a thread started by
:meth:`~streamseg.sinks.base.Sink.open` (a port already taken fails there, before the
first frame) and stops in ``close()``, which also ends every open stream.

It binds to ``127.0.0.1`` unless told otherwise: ``0.0.0.0:8080`` shows it to the whole
network, with no password, so put it behind a proxy that authenticates before doing so.

Example:
    >>> import urllib.request
    >>> import numpy as np
    >>> from streamseg.frame import Frame
    >>> from streamseg.sinks.web import WebSink
    >>> with WebSink("127.0.0.1:0") as sink:          # port 0: any free port
    ...     sink.write(Frame(np.zeros((48, 64, 3), np.uint8), 0, 0.0),
    ...                {"mog2": np.zeros((48, 64), np.uint8)})
    ...     jpeg = urllib.request.urlopen(sink.url + "latest.jpg", timeout=5).read()
    >>> jpeg[:2] == b"\\xff\\xd8"                      # a JPEG
    True
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import numpy as np

from streamseg.config import check
from streamseg.errors import SinkError
from streamseg.frame import Frame
from streamseg.sinks.base import Sink

__all__ = ["WebSink", "parse_address"]

log = logging.getLogger(__name__)

_BOUNDARY = "streamsegframe"
#: A client waiting for a picture checks this often whether the sink closed.
_WAIT = 0.5
#: Without a viewer, ``/latest.jpg`` is refreshed this often (seconds).
_IDLE_REFRESH = 1.0

_PAGE = """<!doctype html>
<html><head><meta charset="utf-8"><title>streamseg live view</title>
<style>body{{margin:0;background:#111;color:#ccc;font:14px sans-serif}}
img{{display:block;max-width:100%;margin:0 auto}}p{{text-align:center}}</style></head>
<body><img src="/stream.mjpg" alt="live view">
<p>streamseg: {methods} &middot; <a href="/latest.jpg" style="color:#8cf">snapshot</a></p>
</body></html>
"""


def parse_address(address: str) -> tuple[str, int]:
    """``(host, port)`` of ``PORT``, ``:PORT`` or ``HOST:PORT`` (host: ``127.0.0.1``).

    Raises:
        ConfigError: not an address, or a port outside 0..65535 (0: any free port).
    """
    host, sep, port = str(address).strip().rpartition(":")
    if not sep:
        host, port = "", str(address).strip()
    host = host.strip("[]") or "127.0.0.1"  # [::1]:8080 is IPv6 notation
    check(
        port.isdigit() and 0 <= int(port) <= 65535,
        f"web address {address!r}: use PORT or HOST:PORT, e.g. 8080 or 0.0.0.0:8080",
    )
    return host, int(port)


class _Server(ThreadingHTTPServer):
    daemon_threads = True  # a viewer never keeps the process alive
    allow_reuse_address = True  # a restarted run gets its port back at once

    def __init__(self, address: tuple[str, int], sink: WebSink) -> None:
        self.sink = sink
        if ":" in address[0]:
            import socket

            self.address_family = socket.AF_INET6
        super().__init__(address, _Handler)


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.0"  # one response per connection: the stream ends it
    timeout = 30.0  # a viewer that stops reading (or never sends its request) is dropped

    def do_GET(self) -> None:  # noqa: N802 (http.server's name)
        sink = self.server.sink
        path = self.path.split("?", 1)[0]
        if path == "/":
            self._send(200, "text/html; charset=utf-8", sink.page().encode())
        elif path == "/latest.jpg":
            jpeg = sink.wait_picture(0, _WAIT * 4)[1]
            if jpeg is None:
                self._send(503, "text/plain", b"no frame yet\n")
            else:
                self._send(200, "image/jpeg", jpeg)
        elif path == "/stream.mjpg":
            self._stream(sink)
        else:
            self._send(404, "text/plain", b"not found: try /\n")

    def _send(self, code: int, kind: str, body: bytes) -> None:
        self.send_response(code)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        self.wfile.write(body)

    def _stream(self, sink: WebSink) -> None:
        self.send_response(200)
        self.send_header("Content-Type", f"multipart/x-mixed-replace; boundary={_BOUNDARY}")
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        seen = 0
        with sink.viewer():
            try:
                while not sink.closing:
                    seen, jpeg = sink.wait_picture(seen, _WAIT)
                    if jpeg is None:
                        continue  # nothing newer yet: look at the stop flag again
                    self.wfile.write(
                        f"--{_BOUNDARY}\r\nContent-Type: image/jpeg\r\n"
                        f"Content-Length: {len(jpeg)}\r\n\r\n".encode()
                        + jpeg
                        + b"\r\n"
                    )
            except (BrokenPipeError, ConnectionResetError):
                pass  # the viewer went away

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 (the base's name)
        log.debug("web %s: " + format, self.address_string(), *args)


class WebSink(Sink):
    """Serves the run's mosaic (input | method 1 | ...) live over HTTP.

    Args:
        address: ``PORT``, ``:PORT`` or ``HOST:PORT``; host ``127.0.0.1`` unless given
            (``0.0.0.0``: every interface); port 0 takes a free one (see :attr:`url`).
        max_fps: pictures encoded per second at most while somebody watches.
        max_width: the mosaic is scaled down to at most this many pixels wide.
        quality: JPEG quality, 1..100.
    """

    def __init__(
        self,
        address: str = "127.0.0.1:8080",
        *,
        max_fps: float = 15.0,
        max_width: int = 1280,
        quality: int = 80,
    ) -> None:
        super().__init__(None)
        self.address = parse_address(address)
        check(max_fps > 0, f"web max_fps must be > 0, got {max_fps}")
        check(max_width >= 16, f"web max_width must be >= 16, got {max_width}")
        check(1 <= quality <= 100, f"web quality must be in 1..100, got {quality}")
        self.max_fps = max_fps
        self.max_width = max_width
        self.quality = quality
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._cond = threading.Condition()
        self._jpeg: bytes | None = None
        self._number = 0  # pictures published so far
        self._viewers = 0
        self._encoded_at = -float("inf")
        self._methods: list[str] = []
        self.closing = False

    @property
    def url(self) -> str:
        """``http://HOST:PORT/`` of the live view (the port the server got, once open)."""
        host, port = self.address
        if self._server is not None:
            bound = self._server.server_address
            host, port = str(bound[0]), int(bound[1])
        shown = f"[{host}]" if ":" in host else host
        return f"http://{shown}:{port}/"

    def page(self) -> str:
        """The HTML page at ``/``."""
        import html

        return _PAGE.format(methods=html.escape(", ".join(self._methods) or "no frame yet"))

    def wait_picture(self, after: int, timeout: float) -> tuple[int, bytes | None]:
        """``(number, jpeg)`` of a picture newer than number ``after``, or ``(after, None)``
        when none came within ``timeout`` seconds (or the sink is closing)."""
        with self._cond:
            self._cond.wait_for(lambda: self._number > after or self.closing, timeout)
            if self._number > after and self._jpeg is not None:
                return self._number, self._jpeg
            return after, None

    def viewer(self) -> Any:
        """Context manager counting a watching client (pictures are encoded for them)."""
        import contextlib

        @contextlib.contextmanager
        def watching() -> Any:
            with self._cond:
                self._viewers += 1
            try:
                yield
            finally:
                with self._cond:
                    self._viewers -= 1

        return watching()

    def _open(self) -> None:
        host, port = self.address
        try:
            self._server = _Server((host, port), self)
        except OSError as err:
            raise SinkError(
                f"web view: cannot listen on {host}:{port} ({err.strerror or err}); "
                "choose another port, e.g. --web 8081"
            ) from None
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": _WAIT},
            name=f"streamseg-web-{port}",
            daemon=True,
        )
        self._thread.start()
        log.info("live view at %s", self.url)

    def _write(self, frame: Frame, masks: Mapping[str, np.ndarray]) -> None:
        import cv2

        from streamseg.sinks.mosaic import mosaic

        now = time.monotonic()
        with self._cond:
            watched = self._viewers > 0
        interval = 1.0 / self.max_fps if watched else _IDLE_REFRESH
        if now - self._encoded_at < interval:
            return  # only the newest picture is ever shown: skip the work
        self._encoded_at = now
        self._methods = list(masks)
        grid = mosaic(frame.image, masks)
        if grid.shape[1] > self.max_width:
            h = max(1, round(grid.shape[0] * self.max_width / grid.shape[1]))
            grid = cv2.resize(grid, (self.max_width, h), interpolation=cv2.INTER_AREA)
        ok, buf = cv2.imencode(".jpg", grid, [cv2.IMWRITE_JPEG_QUALITY, self.quality])
        if not ok:
            raise SinkError(f"web view: JPEG encoding of a {grid.shape[1]}x{grid.shape[0]} failed")
        with self._cond:
            self._jpeg = buf.tobytes()
            self._number += 1
            self._cond.notify_all()

    def _close(self) -> None:
        with self._cond:
            self.closing = True
            self._cond.notify_all()  # every stream ends within one wait
        if self._server is not None:
            self._server.shutdown()  # returns once serve_forever has seen the request
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5.0)
