"""Starting a local Ray, or joining a cluster (``--ray-address`` or ``$RAY_ADDRESS``)."""

from __future__ import annotations

import logging
import os
import socket
import time

__all__ = ["check_reachable", "connect_ray", "quiet_ray_logs"]


def quiet_ray_logs() -> None:
    """Ray Tune's own reporting is off: the live view replaces it."""
    os.environ.setdefault("TUNE_DISABLE_AUTO_CALLBACK_LOGGERS", "1")  # no json/csv/tb files
    # A failed trial's last result names the reason instead of the objective (_trainable.py).
    os.environ["TUNE_DISABLE_STRICT_METRIC_CHECKING"] = "1"
    # Ray's newer console output prints an experiment table even at verbose=0.
    os.environ["RAY_AIR_NEW_OUTPUT"] = "0"
    if not os.environ.get("POOLNAS_DEBUG"):
        for name in ("ray", "ray.tune", "ray.air", "ray.train", "ray.data"):
            logging.getLogger(name).setLevel(logging.ERROR)


def check_reachable(address: str, timeout_s: float = 5.0) -> None:
    """Raises ConnectionError when nothing listens at a Ray address's host:port."""
    if address in ("auto", "local"):
        return
    hostport = address.split("://", 1)[-1].rsplit("/", 1)[0]
    if ":" not in hostport:
        return
    host, port = hostport.rsplit(":", 1)
    try:
        with socket.create_connection((host, int(port)), timeout=timeout_s):
            pass
    except (OSError, ValueError):
        raise ConnectionError(f"cannot reach the Ray cluster at {address}") from None


def connect_ray(address: str | None = None, *, num_cpus: int | None = None) -> tuple[bool, float]:
    """Use the Ray this process already runs, join ``address`` (or $RAY_ADDRESS), or start a
    local one bound to 127.0.0.1 without its dashboard.

    Returns:
        (whether this call started Ray and should shut it down, seconds it took).

    Raises:
        ConnectionError: the cluster cannot be reached.
    """
    import ray

    start = time.perf_counter()
    if ray.is_initialized():
        return False, 0.0
    address = address or os.environ.get("RAY_ADDRESS") or None
    level = logging.WARNING if os.environ.get("POOLNAS_DEBUG") else logging.ERROR
    if address:
        check_reachable(address)
        try:
            ray.init(address=address, logging_level=level, log_to_driver=False)
        except Exception as err:  # noqa: BLE001 - Ray raises several types here
            first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
            raise ConnectionError(f"cannot join the Ray cluster at {address}: {first}") from None
    else:
        ray.init(num_cpus=num_cpus or os.cpu_count() or 1, include_dashboard=False,
                 _node_ip_address="127.0.0.1", logging_level=level, log_to_driver=False)
    return True, time.perf_counter() - start
