"""Where the actors run: a Ray instance of serve's own on loopback, or a cluster it joins.

Joining machines over the network is what an address chooses; without one, nothing of
the instance listens beyond 127.0.0.1.
"""

from __future__ import annotations

import ipaddress
import os
from typing import Any

from streamseg.errors import ConfigError

__all__ = ["import_ray", "connect"]


def import_ray() -> Any:
    """The ``ray`` module.

    Raises:
        ConfigError: Ray is not installed (the ``[ray]`` extra).
    """
    try:
        import ray
    except ImportError:
        raise ConfigError("streamseg serve needs Ray: pip install 'streamseg[ray]'") from None
    return ray


def connect(address: str | None, *, num_cpus: int | None = None) -> bool:
    """Join the Ray cluster at ``address``, or start a local instance on loopback.

    Args:
        address: an existing cluster (``None``: a new local instance with ``num_cpus``
            CPUs, default what the machine has).
        num_cpus: CPUs of a local instance.

    Returns:
        Whether this call initialised Ray (False: this process already had it), so the
        caller knows it is its to shut down.

    Raises:
        ConfigError: no Ray, or a local instance it could not keep on loopback.
    """
    ray = import_ray()
    if ray.is_initialized():
        return False
    kwargs: dict[str, Any] = {
        "include_dashboard": False,
        "log_to_driver": False,
        "configure_logging": False,
    }
    if address:
        ray.init(address=address, **kwargs)
    else:
        _init_on_loopback(ray, num_cpus=num_cpus, **kwargs)
    return True


def _init_on_loopback(ray: Any, **kwargs: Any) -> None:
    """Start a new local Ray instance whose every server listens on 127.0.0.1 only.

    Ray turns a loopback node address into the machine's own (its servers then listen
    on every interface) unless clusters are disabled, as Ray does by default on macOS and
    Windows: disabled here while the instance starts, and for the processes it spawns.
    ``address="local"``: never join a cluster that ``RAY_ADDRESS`` or an earlier
    ``ray start`` points at.

    Raises:
        ConfigError: the installed Ray put the node elsewhere (it was shut down).
    """
    from ray._private import ray_constants

    env = getattr(ray_constants, "ENABLE_RAY_CLUSTERS_ENV_VAR", "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER")
    saved_env = os.environ.get(env)
    saved = getattr(ray_constants, "ENABLE_RAY_CLUSTER", None)
    os.environ[env] = "0"  # for the processes the instance spawns
    ray_constants.ENABLE_RAY_CLUSTER = False  # read when ray.init resolves the address
    try:
        ray.init(address="local", _node_ip_address="127.0.0.1", **kwargs)
    finally:
        if saved_env is None:
            os.environ.pop(env, None)
        else:
            os.environ[env] = saved_env
        if saved is None:
            del ray_constants.ENABLE_RAY_CLUSTER
        else:
            ray_constants.ENABLE_RAY_CLUSTER = saved
    node = ray.util.get_node_ip_address()
    if not ipaddress.ip_address(node).is_loopback:
        ray.shutdown()
        raise ConfigError(
            f"Ray {ray.__version__} put its local instance on {node}, not on loopback: "
            "start a cluster with `ray start --head` and serve with --address"
        )
