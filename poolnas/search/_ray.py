"""Starting a local Ray, or joining a cluster (``--ray-address`` or ``$RAY_ADDRESS``)."""

from __future__ import annotations

import logging
import os
import socket
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

from poolnas.process_settings import environ, logger_levels
from poolnas.storage import url_secrets

__all__ = ["LEAN_LOCAL_RAY", "RayStart", "check_reachable", "connect_ray", "local_ray_on_loopback",
           "quiet_ray_logs", "secrets_out_of_environ"]

log = logging.getLogger(__name__)

# Ray's switch for "no cluster, this machine only" (its default on Windows and macOS). Off,
# a local Ray's node address is 127.0.0.1 and its GCS, raylet, object manager, runtime-env
# agent and worker servers listen there; on (Linux's default), Ray swaps 127.0.0.1 for the
# machine's address and they listen on all interfaces without authentication.
# Ray reads it once, when ``ray`` is first imported; only the driver's copy matters.
_LOCAL_ONLY_ENV = "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"
_LOOPBACK = ("127.0.0.1", "::1", "localhost")
_LOCAL_IP = "127.0.0.1"
# What a local sweep needs of Ray and no more (issue 20 item 2): Ray prestarts one idle Python
# worker per CPU for the first driver (about 85 MB each); Tune starts its trial actors' workers
# itself, so those sat idle for the whole sweep. Ray's dashboard is off (include_dashboard).
LEAN_LOCAL_RAY = {"enable_worker_prestart": False, "prestart_worker_first_driver": False}


def local_ray_on_loopback() -> bool:
    """Make the local Ray that ``connect_ray`` may start listen on loopback only: imports
    ``ray`` with Ray's local-only switch set, then removes the switch again, so that processes
    this one starts later (``ray start`` of a cluster node, say) do not inherit it. Only the
    driver's copy matters: Ray passes the node address to the processes it starts.

    Returns False when that is too late (``ray`` was imported before) or the user set the
    switch to something else; a user's value is kept.
    """
    user = os.environ.get(_LOCAL_ONLY_ENV)
    if user is not None:
        return user == "0"
    if "ray" in sys.modules:
        return False
    os.environ[_LOCAL_ONLY_ENV] = "0"
    try:
        import ray  # noqa: F401 - Ray reads the switch once, at import
    finally:
        os.environ.pop(_LOCAL_ONLY_ENV, None)
    return True


@contextmanager
def _local_only() -> Iterator[None]:
    """Ray's local-only switch on while ``ray.init`` runs, whenever ``ray`` was imported: Ray
    keeps the value of ``RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER`` read at its import in
    ``ray._private.ray_constants.ENABLE_RAY_CLUSTER`` and reads that attribute each time it
    resolves the node's address (``services.get_node_ip_address``). Restored after."""
    from ray._private import ray_constants

    if not hasattr(ray_constants, "ENABLE_RAY_CLUSTER"):  # another Ray: the check after init
        yield
        return
    held = ray_constants.ENABLE_RAY_CLUSTER
    ray_constants.ENABLE_RAY_CLUSTER = False
    try:
        yield
    finally:
        ray_constants.ENABLE_RAY_CLUSTER = held


# Ray Tune's own reporting is off while a sweep runs: the live view replaces it. Tune reads
# these in the driver when ``Tuner.fit`` runs (callbacks, console output) and on each result
# (metric checking), so they hold for the whole sweep and are restored after it.
_TUNE_ENV = {
    "TUNE_DISABLE_AUTO_CALLBACK_LOGGERS": "1",  # no json/csv/tb files (a user's value is kept)
    # A failed trial's last result names the reason instead of the objective (_trainable.py).
    "TUNE_DISABLE_STRICT_METRIC_CHECKING": "1",
    "RAY_AIR_NEW_OUTPUT": "0",  # Ray's newer console output prints a table even at verbose=0
}
_RAY_LOGGERS = ("ray", "ray.tune", "ray.air", "ray.train", "ray.data")
# A trial's error is its fail_reason (one line in the database and the live view), not a Ray
# traceback on stderr.
_TRIAL_ERROR_LOGGERS = ("ray.tune.execution.tune_controller", "ray.tune.tune")


@contextmanager
def quiet_ray_logs() -> Iterator[None]:
    """For the block: Ray Tune's reporting off and Ray's loggers at ERROR (trial errors at
    CRITICAL; ``POOLNAS_DEBUG=1`` keeps the loggers as they are). Every variable and logger
    level is restored on exit, including the ``ray`` level that ``ray.init`` sets."""
    import ray  # noqa: F401 - Ray configures its loggers at import: set them after that

    levels: dict[str, int] = {}
    if not os.environ.get("POOLNAS_DEBUG"):
        levels = {name: logging.ERROR for name in _RAY_LOGGERS}
        levels.update({name: logging.CRITICAL for name in _TRIAL_ERROR_LOGGERS})
    with environ(_TUNE_ENV, keep_user=("TUNE_DISABLE_AUTO_CALLBACK_LOGGERS",)), logger_levels(levels):
        yield


@contextmanager
def secrets_out_of_environ() -> Iterator[None]:
    """For the block: ``$POOLNAS_STORAGE`` and every variable holding a URL with a secret (a
    password in any form, ``poolnas.storage.url_secrets``) out of ``os.environ``, so that the
    processes a local Ray starts (GCS, raylet, its agents and workers) never see them; put
    back afterwards. Only the driver writes to the database."""
    held = {k: v for k, v in os.environ.items()
            if k == "POOLNAS_STORAGE" or ("://" in v and url_secrets(v))}
    for key in held:
        os.environ.pop(key, None)
    try:
        yield
    finally:
        os.environ.update(held)


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
    local one without its dashboard that listens on 127.0.0.1 only (``local_ray_on_loopback``).

    Returns:
        (whether this call started Ray and should shut it down, seconds it took).

    Raises:
        ConnectionError: the cluster cannot be reached.
    """
    with secrets_out_of_environ():  # GCS, raylet and the workers they start inherit it
        return _connect(address, num_cpus)


def _connect(address: str | None, num_cpus: int | None) -> tuple[bool, float]:
    """``connect_ray`` without touching ``os.environ`` (the caller holds the secrets out): it
    may run in a thread while the driver's main thread sets the study up (``RayStart``)."""
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
        local_ray_on_loopback()  # Ray's own log lines then name 127.0.0.1 too
        # Loopback whatever the import order (a script that imported ray before the sweep
        # gets the same local-only Ray): the node address given explicitly, and Ray's
        # local-only switch on while it starts (else it swaps 127.0.0.1 for the machine's
        # address); the address is checked after.
        with _local_only():
            ray.init(num_cpus=num_cpus or os.cpu_count() or 1, include_dashboard=False,
                     logging_level=level, log_to_driver=False, _node_ip_address=_LOCAL_IP,
                     _system_config=dict(LEAN_LOCAL_RAY))
        ip = ray.util.get_node_ip_address()
        if ip not in _LOOPBACK:
            ray.shutdown()
            raise ConnectionError(f"the local Ray would listen on {ip}, not on {_LOCAL_IP} only: "
                                  "refused (use --ray-address for a cluster)")
    return True, time.perf_counter() - start


class RayStart:
    """``connect_ray`` in a background thread, begun before the driver sets its study up.

    Most of ``ray.init`` is waiting: for the GCS, the raylet and the dashboard's API server to
    come up (measured with cProfile: 6.5 of 6.8 s, issue 20 item 3). The driver's own set-up
    (the Optuna storage, the sampler, the lease, the study, importing Ray Tune) needs no Ray, so
    the two run side by side instead of one after the other; ``result()`` waits for Ray where
    the sweep first needs it. Variables holding storage secrets stay out of ``os.environ``
    from here until Ray is up (``secrets_out_of_environ``: Ray's processes inherit the
    environment), and the main thread writes no variable meanwhile. ``ray.init`` in a thread
    that is not the main one installs no SIGTERM handler of its own; the sweep routes SIGTERM
    itself while trials run (``_signals``).

    The thread lives until ``close()``: Ray ties the processes it starts (GCS, raylet, the
    dashboard's) to the thread that started them (Linux's parent-death signal follows the
    thread), so they would be killed the moment it ended. ``close()`` (always call it, when the
    sweep ends or its set-up fails) waits for the start to end, shuts down the Ray it started
    (never one the process already ran), then lets the thread end.
    """

    def __init__(self, address: str | None = None, *, num_cpus: int | None = None) -> None:
        self._outcome: tuple[bool, float] | None = None
        self._error: BaseException | None = None
        self._ready = threading.Event()  # ray.init returned or raised
        self._release = threading.Event()  # Ray is down: the thread may end
        self._secrets = secrets_out_of_environ()
        self._secrets.__enter__()
        self._thread = threading.Thread(target=self._run, args=(address, num_cpus),
                                        name="poolnas-ray-start", daemon=True)
        self._thread.start()

    def _run(self, address: str | None, num_cpus: int | None) -> None:
        try:
            self._outcome = _connect(address, num_cpus)
        except BaseException as err:  # noqa: BLE001 - re-raised in the main thread by result()
            self._error = err
        finally:
            self._ready.set()
        if self._outcome is not None and self._outcome[0]:
            self._release.wait()  # Ray's processes die with this thread

    def _join(self) -> None:
        self._ready.wait()
        if self._secrets is not None:
            self._secrets.__exit__(None, None, None)
            self._secrets = None

    def result(self) -> tuple[bool, float, float]:
        """Waits for Ray; returns (whether this started Ray, seconds ``ray.init`` took, seconds
        waited here). Raises what ``connect_ray`` raises."""
        waited = time.perf_counter()
        self._join()
        waited = time.perf_counter() - waited
        if self._error is not None:
            raise self._error
        assert self._outcome is not None
        return (*self._outcome, waited)

    def close(self) -> None:
        self._join()
        try:
            if self._outcome is not None and self._outcome[0]:
                import ray

                self._outcome = (False, self._outcome[1])  # once
                ray.shutdown()
        finally:
            self._release.set()
            self._thread.join()
