"""Where the actors run: a local serve's Ray listens on loopback only (needs [ray])."""

from __future__ import annotations

import ipaddress
import threading
from pathlib import Path

import pytest

from streamseg.serve import Cluster, serve_config_from_dict


def _listening(processes) -> dict[str, list[str]]:
    """``name[pid]`` -> the addresses each process listens on (TCP)."""
    import psutil

    out: dict[str, list[str]] = {}
    for p in processes:
        try:
            conns = p.net_connections("tcp")
            name = f"{p.name()}[{p.pid}]"
        except psutil.Error:  # gone meanwhile
            continue
        out[name] = [f"{c.laddr.ip}:{c.laddr.port}" for c in conns if c.status == "LISTEN"]
    return out


def _is_loopback(address: str) -> bool:
    ip = ipaddress.ip_address(address.rsplit(":", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped  # ::ffff:127.0.0.1, an IPv6 socket bound to IPv4 loopback
    return ip.is_loopback


def test_a_local_serve_listens_on_loopback_only(tmp_path: Path):
    pytest.importorskip("ray", reason="Ray is not installed (pip install 'streamseg[ray]')")
    import psutil

    entry = {
        "name": "a",
        # Paced so the stream is still running when its sockets are listed.
        "source": {"uri": "synthetic:frames=250,size=64x48", "realtime": True},
        "methods": ["mog2"],
        "cpus": 0.5,
    }
    cfg = serve_config_from_dict({"streams": [entry]}, out=tmp_path)
    listening: dict[str, list[str]] = {}
    stop = threading.Event()

    def on_status(statuses):
        if statuses[0]["state"] == "running" and statuses[0]["frames"] > 0 and not listening:
            # Ray's daemons (gcs_server, raylet, agents) and the actor's worker all descend
            # from the driver that started the local instance.
            me = psutil.Process()
            listening.update(_listening([me, *me.children(recursive=True)]))
            stop.set()

    with Cluster(cfg, num_cpus=1, poll=0.5) as cluster:
        cluster.wait(on_status=on_status, stop=stop)
    assert listening, "the stream never ran"
    names = " ".join(listening)
    assert "gcs_server" in names and "raylet" in names and "StreamWorker" in names, listening
    open_to_network = {
        name: [a for a in addresses if not _is_loopback(a)]
        for name, addresses in listening.items()
        if any(not _is_loopback(a) for a in addresses)
    }
    assert not open_to_network, f"listening beyond loopback: {open_to_network}"
