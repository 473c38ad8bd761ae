"""Prometheus metrics of running streams, read from their status when scraped.

:class:`Metrics` is a collector for the official ``prometheus_client`` (the ``[events]``
extra): each stream registers a function that returns its status, and every scrape reads
them, so the frame loop does no work for metrics at all. ``streamseg run --web`` serves
them at ``/metrics`` on the live view's server, ``streamseg serve --metrics`` on a port of
its own, one series per stream (label ``stream``).

The metrics (each with the label ``stream``):

========================================  =========  ===========================================
``streamseg_up``                          gauge      1 while the stream runs
``streamseg_frames_total``                counter    frames segmented
``streamseg_fps``                         gauge      frames per second since the stream started
``streamseg_latency_seconds``             summary    frame arrival to its last output
                                                     (quantiles 0.5, 0.99; ``_sum``, ``_count``)
``streamseg_dropped_frames_total``        counter    frames a live source dropped
``streamseg_reconnects_total``            counter    reconnections of a live source
``streamseg_restarts_total``              counter    restarts by ``serve``'s supervisor
``streamseg_method_seconds``              summary    a method's time per frame (``method``)
``streamseg_model_version``               gauge      the online model's version (``method``)
``streamseg_events_total``                counter    events (``zone``, ``type``: start or end)
``streamseg_motion``                      gauge      1 while an event is open (``zone``)
``streamseg_guarded_frames_total``        counter    frames the lighting guard dropped
``streamseg_deliveries_total``            counter    events delivered, failed or dropped
                                                     (``output``, ``result``)
``streamseg_delivery_queue``              gauge      events waiting for delivery (``output``)
========================================  =========  ===========================================

A status is a mapping; every key is optional: ``running`` (bool), ``frames``, ``fps``,
``dropped``, ``reconnects``, ``restarts``, ``latency_ms`` (``count``, ``sum``, ``p50``,
``p99``), ``methods`` (name → ``frames``, ``ms_sum``, ``model_version``), ``events``
(``zones``: zone → ``starts``, ``ends``, ``active``; ``guarded``; ``outputs``: name →
``sent``, ``failed``, ``dropped``, ``queued``).

Example:
    >>> metrics = Metrics()
    >>> metrics.add("door", lambda: {"running": True, "frames": 250, "fps": 24.8})
    >>> body, kind = metrics.exposition()
    >>> [line for line in body.decode().splitlines() if line.startswith("streamseg_frames")]
    ['streamseg_frames_total{stream="door"} 250.0']
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from streamseg.errors import ConfigError

__all__ = ["Metrics", "MetricsServer", "StatusFunction"]

#: Returns a stream's status (see the module doc); called on the scraping thread.
StatusFunction = Callable[[], Mapping[str, Any]]


def _prometheus() -> Any:
    try:
        import prometheus_client
    except ImportError:
        raise ConfigError(
            "Prometheus metrics need prometheus_client: pip install 'streamseg[events]'"
        ) from None
    return prometheus_client


def _number(value: Any) -> float | None:
    """``value`` as a float, ``None`` for a missing or not-a-number value."""
    if isinstance(value, bool):
        return float(value)
    if isinstance(value, (int, float)) and value == value:  # NaN is not a measurement
        return float(value)
    return None


class MetricsServer:
    """A running metrics server (see :meth:`Metrics.serve`); :meth:`close` stops it."""

    def __init__(self, server: Any, thread: threading.Thread) -> None:
        self._server = server
        self._thread = thread

    @property
    def url(self) -> str:
        """``http://HOST:PORT/metrics``."""
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}/metrics"

    def close(self) -> None:
        """Stop serving and let the port go."""
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(5.0)


class Metrics:
    """Prometheus metrics of streams, from their status functions (see the module doc)."""

    def __init__(self) -> None:
        client = _prometheus()
        self._streams: dict[str, StatusFunction] = {}
        self._lock = threading.Lock()
        self.registry = client.CollectorRegistry(auto_describe=False)
        self.registry.register(self)

    def add(self, stream: str, status: StatusFunction) -> None:
        """Report ``stream`` from ``status`` (a stream of that name is replaced)."""
        with self._lock:
            self._streams[stream] = status

    def remove(self, stream: str) -> None:
        """Stop reporting ``stream``."""
        with self._lock:
            self._streams.pop(stream, None)

    def serve(self, address: str) -> MetricsServer:
        """Serve the metrics at ``http://ADDRESS/metrics`` on a thread of its own (the official
        client's server), until the returned server is closed.

        Args:
            address: ``PORT`` or ``HOST:PORT`` (host ``127.0.0.1`` unless given).

        Raises:
            SinkError: the port is taken.
        """
        from streamseg.sinks.web import parse_address, probe

        host, port = parse_address(address)
        probe(address)
        client = _prometheus()
        server, thread = client.start_wsgi_server(port, addr=host, registry=self.registry)
        return MetricsServer(server, thread)

    def exposition(self) -> tuple[bytes, str]:
        """``(body, content type)`` of a scrape, in Prometheus' text format."""
        client = _prometheus()
        return client.generate_latest(self.registry), client.CONTENT_TYPE_LATEST

    def collect(self) -> Iterator[Any]:
        """The metric families of every stream (called by the registry at each scrape)."""
        from prometheus_client.core import Metric

        families: dict[str, Any] = {}

        def family(name: str, kind: str, doc: str) -> Any:
            if name not in families:
                families[name] = Metric(name, doc, kind)
            return families[name]

        def sample(name: str, kind: str, doc: str, labels: dict[str, str], value: Any) -> None:
            number = _number(value)
            if number is None:
                return
            suffix = "_total" if kind == "counter" else ""
            family(name, kind, doc).add_sample(name + suffix, labels, number)

        with self._lock:
            streams = list(self._streams.items())
        for stream, status_of in streams:
            try:
                status = dict(status_of())
            except Exception:  # a stream that cannot say: absent from this scrape
                continue
            self._stream(stream, status, sample, family)
        yield from families.values()

    @staticmethod
    def _stream(
        stream: str,
        status: Mapping[str, Any],
        sample: Callable[[str, str, str, dict[str, str], Any], None],
        family: Callable[[str, str, str], Any],
    ) -> None:
        s = {"stream": stream}
        sample("streamseg_up", "gauge", "1 while the stream runs", s, status.get("running"))
        sample("streamseg_frames", "counter", "frames segmented", s, status.get("frames"))
        sample("streamseg_fps", "gauge", "frames per second since the start", s, status.get("fps"))
        counters = (
            ("dropped", "dropped_frames", "frames a live source dropped"),
            ("reconnects", "reconnects", "reconnections of a live source"),
            ("restarts", "restarts", "restarts by serve's supervisor"),
        )
        for key, name, doc in counters:
            sample(f"streamseg_{name}", "counter", doc, s, status.get(key))
        latency = status.get("latency_ms") or {}
        if _number(latency.get("count")):
            doc = "seconds from a frame's arrival (or decoding) to its last output"
            summary = family("streamseg_latency_seconds", "summary", doc)
            for q in ("p50", "p99"):
                value = _number(latency.get(q))
                if value is not None:
                    quantile = {"p50": "0.5", "p99": "0.99"}[q]
                    summary.add_sample(
                        "streamseg_latency_seconds", {**s, "quantile": quantile}, value / 1000
                    )
            summary.add_sample("streamseg_latency_seconds_count", s, float(latency["count"]))
            summary.add_sample(
                "streamseg_latency_seconds_sum", s, float(latency.get("sum") or 0) / 1000
            )
        for method, m in (status.get("methods") or {}).items():
            labels = {**s, "method": str(method)}
            if _number(m.get("frames")):
                doc = "a method's time per frame in seconds"
                summary = family("streamseg_method_seconds", "summary", doc)
                summary.add_sample("streamseg_method_seconds_count", labels, float(m["frames"]))
                summary.add_sample(
                    "streamseg_method_seconds_sum", labels, float(m.get("ms_sum") or 0) / 1000
                )
            doc = "the version of a method's online model (-1: none)"
            sample("streamseg_model_version", "gauge", doc, labels, m.get("model_version"))
        events = status.get("events") or {}
        for zone, counts in (events.get("zones") or {}).items():
            for kind in ("start", "end"):
                labels = {**s, "zone": str(zone), "type": kind}
                sample(
                    "streamseg_events", "counter", "events raised", labels, counts.get(f"{kind}s")
                )
            labels = {**s, "zone": str(zone)}
            sample(
                "streamseg_motion",
                "gauge",
                "1 while an event is open",
                labels,
                counts.get("active"),
            )
        doc = "frames the lighting guard dropped"
        sample("streamseg_guarded_frames", "counter", doc, s, events.get("guarded"))
        for output, counts in (events.get("outputs") or {}).items():
            for result in ("sent", "failed", "dropped"):
                labels = {**s, "output": str(output), "result": result}
                doc = "events delivered, failed or dropped, per output"
                sample("streamseg_deliveries", "counter", doc, labels, counts.get(result))
            labels = {**s, "output": str(output)}
            doc = "events waiting for delivery"
            sample("streamseg_delivery_queue", "gauge", doc, labels, counts.get("queued"))
