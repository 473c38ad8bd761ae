"""Prometheus metrics of a serve's streams, from the statuses its supervisor polls.

Each stream's series carry its name (label ``stream``); the metrics are those of
:mod:`streamseg.sinks.metrics`, plus its restarts. The supervisor's statuses are read at
each scrape: serving them costs the streams nothing.

Example:
    >>> metrics = stream_metrics(["door"], lambda: [{"name": "door", "state": "running",
    ...                                                "frames": 12, "restarts": 1}])
    >>> [l for l in metrics.exposition()[0].decode().splitlines() if l.startswith("streamseg_up")]
    ['streamseg_up{stream="door"} 1.0']
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from streamseg.sinks.metrics import Metrics

__all__ = ["stream_metrics"]


def _status(name: str, statuses: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    for status in statuses:
        if status.get("name") == name:
            return {**status, "running": status.get("state") == "running"}
    return {"running": False}


def stream_metrics(
    names: Sequence[str], latest: Callable[[], Sequence[Mapping[str, Any]]]
) -> Metrics:
    """Metrics of the streams ``names``, read from ``latest()`` (the statuses of the last
    poll, as :meth:`~streamseg.serve.cluster.Cluster.status` returns them)."""
    metrics = Metrics()
    for name in names:
        metrics.add(name, functools.partial(_of, name, latest))
    return metrics


def _of(name: str, latest: Callable[[], Sequence[Mapping[str, Any]]]) -> dict[str, Any]:
    return _status(name, latest())
