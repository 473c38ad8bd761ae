"""Many cameras: one segmenter per stream, each in its own Ray actor, supervised.

A site with dozens of cameras outgrows one process. Each stream of a ``streams:``
configuration (:mod:`~streamseg.serve.config`) runs as a Ray actor
(:mod:`~streamseg.serve.worker`) that owns its source, its methods (the online model
included) and its sinks; the actor declares its resources (CPUs, and a GPU fraction
where GPUs exist) so Ray places it on a node that has them. :class:`Cluster`
(:mod:`~streamseg.serve.cluster`) supervises the actors: it restarts one that died,
hung or failed, after a back-off, until its budget is spent. Locally it starts a Ray
instance on loopback; with an address it joins an existing cluster, and the same
configuration spreads over its machines (:mod:`~streamseg.serve.connect`).

Example (a sketch; needs the ``[ray]`` extra)::

    from streamseg.serve import Cluster, load_serve_config

    with Cluster(load_serve_config("configs/cameras.yaml", out="out")) as cluster:
        cluster.wait(on_status=print)
"""

from streamseg.serve.cluster import MAX_RESTART_DELAY, Cluster, SupervisedStream
from streamseg.serve.config import (
    ServeConfig,
    StreamConfig,
    load_serve_config,
    serve_config_from_dict,
)
from streamseg.serve.worker import StreamState, StreamWorker

__all__ = [
    "StreamConfig",
    "ServeConfig",
    "StreamState",
    "StreamWorker",
    "SupervisedStream",
    "Cluster",
    "MAX_RESTART_DELAY",
    "load_serve_config",
    "serve_config_from_dict",
]
