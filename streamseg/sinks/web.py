"""A live view in the browser: the mosaic of the run, served over HTTP as MJPEG.

``http://HOST:PORT/`` shows the input and every method's overlay side by side (the
tiles of :func:`~streamseg.sinks.mosaic.mosaic`) as they are segmented, and says when
the picture stops being live (the run ended or stalled, the server cannot be reached, the
stream was refused or broke; it reconnects when it can). The stream itself is ``/stream.mjpg``
(``multipart/x-mixed-replace``, the protocol of most IP cameras' live view, which
browsers and FFmpeg-based readers such as OpenCV's ``VideoCapture`` or PyAV play, so
another ``streamseg run --source http://HOST:PORT/stream.mjpg`` reads it too);
``/latest.jpg`` is the newest picture and ``/status.json`` its number and age. A run adds
``/metrics`` (Prometheus, see :mod:`~streamseg.sinks.metrics`) with :meth:`WebSink.add_route`,
and draws the events' zones, boxes and ids on the input with ``annotate``.

The sink holds only the newest picture. It is encoded at most ``max_fps`` times a
second while somebody watches and once a second otherwise, from a mosaic built at its
shown size (a 1080p frame costs what its small tiles cost). Viewers and connections are
capped (``max_viewers``; more get ``503``); a viewer that stops reading is dropped
after 30 s. The server runs on a thread started by
:meth:`~streamseg.sinks.base.Sink.open` (a port already taken fails there, and
:func:`probe` lets a run check it before anything opens); ``close()`` stops it and
ends every open connection at once.

It binds to ``127.0.0.1`` unless told otherwise: ``0.0.0.0:8080`` shows it to the whole
network, with no password, so put it behind a proxy that authenticates before doing so
(the page's links are relative: a proxy may serve it under any path).

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

import contextlib
import errno
import json
import logging
import socket
import sys
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import numpy as np

from streamseg.errors import SinkError
from streamseg.frame import Frame
from streamseg.params import check
from streamseg.sinks.base import Sink

__all__ = ["Route", "WebSink", "conflicts", "parse_address", "probe"]

log = logging.getLogger(__name__)

_BOUNDARY = "streamsegframe"
#: A client waiting for a picture checks this often whether the sink closed.
_WAIT = 0.5
#: Without a viewer, ``/latest.jpg`` is refreshed this often (seconds).
_IDLE_REFRESH = 1.0
#: Connections served at once beyond the viewers (page, snapshots, status polls).
_EXTRA_CONNECTIONS = 8

#: Answers a GET of a path :meth:`WebSink.add_route` added: ``(body, content type)``.
Route = Callable[[], tuple[bytes, str]]

_PAGE = """<!doctype html>
<html><head><meta charset="utf-8"><title>streamseg live view</title>
<style>body{{margin:0;background:#111;color:#ccc;font:14px sans-serif}}
img{{display:block;max-width:100%;margin:0 auto}}p{{text-align:center}}
#state{{font-weight:bold}}</style></head>
<body><img id="view" src="stream.mjpg" alt="live view">
<p>streamseg: {methods} &middot; <span id="state">live</span> &middot;
<a href="latest.jpg" style="color:#8cf">snapshot</a></p>
<script>
// The picture alone cannot say it stopped: a stream that ends keeps its last frame.
const view = document.getElementById("view"), state = document.getElementById("state");
let stale = false;
async function poll() {{
  try {{
    const s = await (await fetch("status.json", {{cache: "no-store"}})).json();
    const old = s.age_s === null || s.age_s > 3;
    state.textContent = !old ? "live" : s.age_s === null ? "no picture yet" :
      "no new picture for " + Math.round(s.age_s) + " s";
    state.style.color = old ? "#f84" : "#8c8";
    if (stale && !old) view.src = "stream.mjpg?" + Date.now();  // back: reconnect
    stale = old;
  }} catch (e) {{
    state.textContent = "disconnected, retrying";
    state.style.color = "#f44";
    stale = true;
  }}
}}
function refused() {{  // turned away (too many viewers) or the stream broke: try again
  state.textContent = "not shown (too many viewers, or the stream broke), retrying";
  state.style.color = "#f44";
  setTimeout(() => {{ view.src = "stream.mjpg?" + Date.now(); }}, 3000);
}}
view.onerror = refused;
setInterval(poll, 2000); poll();
</script></body></html>
"""


def parse_address(address: str) -> tuple[str, int]:
    """``(host, port)`` of ``PORT``, ``:PORT``, ``HOST:PORT`` or ``[IPv6]:PORT``.

    The host is ``127.0.0.1`` unless given; port 0 takes any free one.

    Raises:
        ConfigError: not such an address, a port outside 0..65535, or an IPv6 host
            without brackets (``::1:8080`` could be read two ways).
    """
    text = str(address).strip()
    host, sep, port = text.rpartition(":")
    if not sep:
        host, port = "", text
    usage = f"web address {address!r}: use PORT or HOST:PORT, e.g. 8080 or 0.0.0.0:8080"
    check(port.isascii() and port.isdigit() and int(port) <= 65535, usage)
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
        check(":" in host, usage)
    else:
        check(":" not in host, f"{usage}; an IPv6 host goes in brackets: [::1]:8080")
    return host or "127.0.0.1", int(port)


def _bind_error(host: str, port: int, err: OSError) -> SinkError:
    hint = (
        "choose another port, e.g. --web 8081"
        if err.errno == errno.EADDRINUSE
        else "check the host: an address of this machine, 127.0.0.1 or 0.0.0.0"
    )
    return SinkError(f"web view: cannot listen on {host}:{port} ({err.strerror or err}); {hint}")


def probe(address: str) -> None:
    """Check that ``address`` can be listened on now (before a run opens anything else).

    Raises:
        SinkError: the port is taken or the host is not this machine's.
        ConfigError: ``address`` is not an address.
    """
    host, port = parse_address(address)
    if port == 0:
        return  # any free port: nothing to check
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as the server binds
        try:
            s.bind((host, port))
        except OSError as err:
            raise _bind_error(host, port, err) from None


def _ip(host: str) -> str:
    """The address the server binds for ``host``: IPv4 unless ``host`` is an IPv6 address,
    as :class:`_Server` binds (``localhost`` → ``127.0.0.1``); ``host`` itself if unknown."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    try:
        return str(socket.getaddrinfo(host, None, family, socket.SOCK_STREAM)[0][4][0])
    except OSError:
        return host


def conflicts(a: str, b: str) -> bool:
    """Whether two addresses cannot both be listened on: one port on one address, or on
    every address (``0.0.0.0`` for IPv4; ``::``, which Linux also binds for IPv4).

    Example:
        >>> conflicts("8080", "localhost:8080"), conflicts("8080", "0.0.0.0:8080")
        (True, True)
        >>> conflicts("8080", "8081"), conflicts("0", "0"), conflicts("0.0.0.0:80", "[::1]:80")
        (False, False, False)
    """
    (host_a, port_a), (host_b, port_b) = parse_address(a), parse_address(b)
    if port_a == 0 or port_a != port_b:
        return False
    ip_a, ip_b = _ip(host_a), _ip(host_b)
    if ip_a == ip_b or "::" in (ip_a, ip_b):
        return True
    return "0.0.0.0" in (ip_a, ip_b) and ":" not in ip_a + ip_b  # the IPv4 wildcard


class _Server(ThreadingHTTPServer):
    daemon_threads = True  # a viewer never keeps the process alive
    allow_reuse_address = True  # a restarted run gets its port back at once
    request_queue_size = 16

    def __init__(self, address: tuple[str, int], sink: WebSink) -> None:
        self.sink = sink
        self.limit = sink.max_viewers + _EXTRA_CONNECTIONS
        self.open_connections: set[socket.socket] = set()
        self.lock = threading.Lock()
        if ":" in address[0]:
            self.address_family = socket.AF_INET6
        super().__init__(address, _Handler)

    def process_request(self, request: Any, client_address: Any) -> None:
        # One thread per connection, so connections are capped: beyond the limit a
        # client is turned away at once instead of costing a thread.
        with self.lock:
            full = len(self.open_connections) >= self.limit
            if not full:
                self.open_connections.add(request)
        if full:
            with contextlib.suppress(OSError):
                request.sendall(b"HTTP/1.0 503 Service Unavailable\r\n\r\ntoo many viewers\n")
            self.shutdown_request(request)
            return
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        with self.lock:
            self.open_connections.discard(request)
        super().shutdown_request(request)

    def cut_connections(self) -> None:
        """End every open connection now (a viewer blocked on a full socket included)."""
        with self.lock:
            connections = list(self.open_connections)
        for conn in connections:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A viewer that went away (a browser reloading, a tab closed) is routine: socketserver
        # would print a traceback to stderr for each.
        err = sys.exc_info()[1]
        if isinstance(err, (ConnectionError, TimeoutError)):
            log.debug("web view: %s went away (%s)", client_address, err)
        else:
            log.warning("web view: request from %s failed: %s", client_address, err)


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.0"  # one response per connection: the stream ends it
    timeout = 30.0  # a viewer that stops reading (or never sends its request) is dropped

    def do_GET(self) -> None:  # noqa: N802 (http.server's name)
        self._answer(head=False)

    def do_HEAD(self) -> None:  # noqa: N802
        self._answer(head=True)

    def _answer(self, head: bool) -> None:
        sink = self.server.sink
        path = self.path.split("?", 1)[0]
        if path == "/":
            self._send(200, "text/html; charset=utf-8", sink.page().encode(), head)
        elif path == "/status.json":
            self._send(200, "application/json", json.dumps(sink.status()).encode(), head)
        elif path == "/latest.jpg":
            jpeg = sink.wait_picture(0, 0.0 if head else _WAIT * 4)[1]
            if jpeg is None:
                self._send(503, "text/plain", b"no frame yet\n", head)
            else:
                self._send(200, "image/jpeg", jpeg, head)
        elif path == "/stream.mjpg":
            self._stream(sink, head)
        elif path in sink.routes:
            body, kind = sink.routes[path]()
            self._send(200, kind, body, head)
        else:
            self._send(404, "text/plain", b"not found: try /\n", head)

    def _send(self, code: int, kind: str, body: bytes, head: bool) -> None:
        self.send_response(code)
        self.send_header("Content-Type", kind)
        if not head:
            self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        if not head:
            self.wfile.write(body)

    def _stream(self, sink: WebSink, head: bool) -> None:
        with sink.viewer() as admitted:
            if not admitted:
                self._send(503, "text/plain", b"too many viewers\n", head)
                return
            self.send_response(200)
            self.send_header("Content-Type", f"multipart/x-mixed-replace; boundary={_BOUNDARY}")
            self.send_header("Cache-Control", "no-store")
            self.end_headers()
            seen = 0
            while not head and not sink.closing:
                seen, jpeg = sink.wait_picture(seen, _WAIT)
                if jpeg is None:
                    continue  # nothing newer yet: look at the stop flag again
                self.wfile.write(
                    f"--{_BOUNDARY}\r\nContent-Type: image/jpeg\r\n"
                    f"Content-Length: {len(jpeg)}\r\n\r\n".encode()
                    + jpeg
                    + b"\r\n"
                )

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 (the base's name)
        log.debug("web %s: " + format, self.address_string(), *args)


class WebSink(Sink):
    """Serves the run's mosaic (input | method 1 | ...) live over HTTP.

    Args:
        address: ``PORT``, ``:PORT``, ``HOST:PORT`` or ``[IPv6]:PORT``; host ``127.0.0.1``
            unless given (``0.0.0.0``: every interface); port 0 takes a free one (see
            :attr:`url`).
        max_fps: pictures encoded per second at most while somebody watches.
        max_width: the mosaic is at most this many pixels wide.
        quality: JPEG quality, 1..100.
        max_viewers: streams served at once; more viewers get ``503``.
        annotate: drawn on a copy of the input before it is shown, each called with the
            BGR image (the frame's size) on the run's thread: the events' zones and boxes.
    """

    def __init__(
        self,
        address: str = "127.0.0.1:8080",
        *,
        max_fps: float = 15.0,
        max_width: int = 1280,
        quality: int = 80,
        max_viewers: int = 8,
        annotate: Sequence[Callable[[np.ndarray], None]] = (),
    ) -> None:
        super().__init__(None)
        self.address = parse_address(address)
        check(max_fps > 0, f"web max_fps must be > 0, got {max_fps}")
        check(max_width >= 16, f"web max_width must be >= 16, got {max_width}")
        check(1 <= quality <= 100, f"web quality must be in 1..100, got {quality}")
        check(max_viewers >= 1, f"web max_viewers must be >= 1, got {max_viewers}")
        self.max_fps = max_fps
        self.max_width = max_width
        self.quality = quality
        self.max_viewers = max_viewers
        self.annotate = list(annotate)
        #: Paths served besides the view's own, each by its :data:`Route`.
        self.routes: dict[str, Route] = {}
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._cond = threading.Condition()
        self._jpeg: bytes | None = None
        self._number = 0  # pictures published so far
        self._published_at: float | None = None
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

    def add_route(self, path: str, route: Route) -> None:
        """Serve ``route``'s answer at ``path`` (``/metrics``), from the server's threads."""
        check(path.startswith("/"), f"web route {path!r} must start with /")
        self.routes[path] = route

    def page(self) -> str:
        """The HTML page at ``/``."""
        import html

        return _PAGE.format(methods=html.escape(", ".join(self._methods) or "no frame yet"))

    def status(self) -> dict[str, Any]:
        """``/status.json``: pictures published, seconds since the last one, methods."""
        with self._cond:
            at, number = self._published_at, self._number
        age = None if at is None else round(time.monotonic() - at, 3)
        return {"pictures": number, "age_s": age, "methods": list(self._methods)}

    def wait_picture(self, after: int, timeout: float) -> tuple[int, bytes | None]:
        """``(number, jpeg)`` of a picture newer than number ``after``, or ``(after, None)``
        when none came within ``timeout`` seconds (or the sink is closing)."""
        with self._cond:
            self._cond.wait_for(lambda: self._number > after or self.closing, timeout)
            if self._number > after and self._jpeg is not None:
                return self._number, self._jpeg
            return after, None

    @contextlib.contextmanager
    def viewer(self) -> Iterator[bool]:
        """Count a watching client while the block runs (pictures are encoded for them);
        yields ``False`` when ``max_viewers`` already watch (the client is not counted)."""
        with self._cond:
            admitted = self._viewers < self.max_viewers
            self._viewers += admitted
        try:
            yield admitted
        finally:
            with self._cond:
                self._viewers -= admitted

    def _open(self) -> None:
        host, port = self.address
        try:
            self._server = _Server((host, port), self)
        except OSError as err:
            raise _bind_error(host, port, err) from None
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
        annotated = None
        if self.annotate:
            image = frame.image
            annotated = image.copy() if image.ndim == 3 else cv2.cvtColor(image, cv2.COLOR_GRAY2BGR)
            for draw in self.annotate:
                draw(annotated)
        grid = mosaic(
            frame.image, masks, max_width=self.max_width, annotated=annotated, truth=frame.truth
        )
        ok, buf = cv2.imencode(".jpg", grid, [cv2.IMWRITE_JPEG_QUALITY, self.quality])
        if not ok:
            raise SinkError(f"web view: JPEG encoding of a {grid.shape[1]}x{grid.shape[0]} failed")
        with self._cond:
            self._jpeg = buf.tobytes()
            self._number += 1
            self._published_at = now
            self._cond.notify_all()

    def _close(self) -> None:
        with self._cond:
            self.closing = True
            self._cond.notify_all()  # every stream ends within one wait ...
        if self._server is not None:
            self._server.shutdown()  # returns once serve_forever has seen the request
            self._server.cut_connections()  # ... and one blocked on a full socket at once
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5.0)
