"""A real multi-node Ray cluster on loopback, started with ``ray start`` as README's
"Running on a cluster" says: a head and worker nodes, token authentication on.

Every node is its own ``ray start`` process group (``start_new_session``); the daemons it
leaves behind (GCS, raylet, agents, workers) keep that group, so ``stop()`` ends exactly the
processes this cluster started, by their PIDs, and never another Ray on the machine
(``ray stop`` would end them all).
"""

from __future__ import annotations

import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

RAY = str(Path(sys.executable).with_name("ray"))
POOLNAS = str(Path(sys.executable).with_name("poolnas"))
LOOPBACK = "127.0.0.1"
# Ray's object store refuses less than 75 MB; keep /dev/shm use small on a shared machine.
OBJECT_STORE_BYTES = 100_000_000


def free_port() -> int:
    """A TCP port free on loopback right now."""
    with socket.socket() as s:
        s.bind((LOOPBACK, 0))
        return int(s.getsockname()[1])


def node_port_flags() -> list[str]:
    """Fresh ports for everything a node listens on, so that two nodes on one host (and
    other people's Ray on this machine) never collide on Ray's fixed defaults."""
    return [
        f"--node-manager-port={free_port()}",
        f"--object-manager-port={free_port()}",
        f"--dashboard-agent-listen-port={free_port()}",
        f"--dashboard-agent-grpc-port={free_port()}",
        f"--runtime-env-agent-port={free_port()}",
        f"--metrics-export-port={free_port()}",
    ]


def ray_env(token: str | None, *, mode: str | None = "token") -> dict[str, str]:
    """The environment of a Ray node or driver: RAY_AUTH_MODE and RAY_AUTH_TOKEN (None:
    unset), nothing inherited that could point Ray elsewhere."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("RAY_") and k != "POOLNAS_STORAGE"}
    if mode is not None:
        env["RAY_AUTH_MODE"] = mode
    if token is not None:
        env["RAY_AUTH_TOKEN"] = token
    return env


@dataclass
class NodeStart:
    """One ``ray start``: its process group, exit status and output."""

    pgid: int
    returncode: int
    output: str


def _pgid_members(pgids: set[int]) -> list[int]:
    """PIDs of live processes in these process groups, plus their descendants."""
    parents: dict[int, int] = {}
    members: set[int] = set()
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2:].split()  # after "pid (comm) "
        state, ppid, pgid = fields[0], int(fields[1]), int(fields[2])
        if state == "Z":
            continue
        parents[int(entry)] = ppid
        if pgid in pgids:
            members.add(int(entry))
    grew = True
    while grew:  # children that moved to a group of their own still belong to us
        grew = False
        for pid, ppid in parents.items():
            if ppid in members and pid not in members:
                members.add(pid)
                grew = True
    return sorted(members)


@dataclass
class LoopbackCluster:
    """A head and worker nodes on 127.0.0.1 with token authentication."""

    token: str = field(default_factory=lambda: secrets.token_hex(32))
    temp_root: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="pnray-", dir="/tmp")))
    port: int = field(default_factory=free_port)
    cpus_per_node: int = 1
    pgids: set[int] = field(default_factory=set)

    @property
    def address(self) -> str:
        return f"{LOOPBACK}:{self.port}"

    def env(self) -> dict[str, str]:
        return ray_env(self.token)

    def ray_start(self, args: list[str], *, env: dict[str, str] | None = None,
                  timeout: float = 120.0) -> NodeStart:
        """Run ``ray start ARGS`` in a process group of its own; remember the group."""
        proc = subprocess.Popen([RAY, "start", *args], env=env or self.env(), text=True,
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                start_new_session=True)
        self.pgids.add(proc.pid)  # the session leader's PID is the group's id
        out, _ = proc.communicate(timeout=timeout)
        return NodeStart(proc.pid, proc.returncode, out)

    def head_args(self) -> list[str]:
        """README's head command (``ray start --head ...``), plus this test's own ports and
        temp dir."""
        return ["--head", f"--node-ip-address={LOOPBACK}", f"--port={self.port}",
                f"--num-cpus={self.cpus_per_node}", "--num-gpus=0",
                "--include-dashboard=false", f"--dashboard-port={free_port()}",
                "--disable-usage-stats", f"--object-store-memory={OBJECT_STORE_BYTES}",
                f"--temp-dir={self.temp_root / 'head'}", *node_port_flags()]

    def worker_args(self, name: str) -> list[str]:
        """README's worker command (``ray start --address=HEAD ...``), plus this test's own
        ports and temp dir."""
        return [f"--address={self.address}", f"--node-ip-address={LOOPBACK}",
                f"--num-cpus={self.cpus_per_node}", "--num-gpus=0",
                "--disable-usage-stats", f"--object-store-memory={OBJECT_STORE_BYTES}",
                f"--temp-dir={self.temp_root / name}", *node_port_flags()]

    def start_head(self) -> None:
        res = self.ray_start(self.head_args())
        if res.returncode != 0:
            raise RuntimeError(f"ray start --head failed ({res.returncode}):\n{res.output[-3000:]}")

    def add_worker(self, name: str) -> None:
        res = self.ray_start(self.worker_args(name))
        if res.returncode != 0:
            raise RuntimeError(f"ray start --address failed ({res.returncode}):\n{res.output[-3000:]}")

    def processes(self, pgid: int | None = None) -> list[int]:
        """Live processes of this cluster (of one ``ray start`` when ``pgid`` is given)."""
        return _pgid_members(self.pgids if pgid is None else {pgid})

    def stop(self, grace_s: float = 3.0) -> None:
        """SIGTERM this cluster's processes, SIGKILL what is left after ``grace_s``."""
        for sig in (signal.SIGTERM, signal.SIGKILL):
            for pid in self.processes():
                try:
                    os.kill(pid, sig)
                except ProcessLookupError:
                    pass
            deadline = time.monotonic() + grace_s
            while self.processes() and time.monotonic() < deadline:
                time.sleep(0.2)
            if not self.processes():
                break
        shutil.rmtree(self.temp_root, ignore_errors=True)


def nodes_that_ran(actor_class: str, temp_root: Path) -> set[str]:
    """Names of this cluster's nodes (their --temp-dir folder) whose Ray worker logs show an
    actor of ``actor_class``: Ray's own record of where work ran, independent of poolnas."""
    from ray._private.ray_constants import LOG_PREFIX_ACTOR_NAME

    marker = f"{LOG_PREFIX_ACTOR_NAME}{actor_class}"
    found: set[str] = set()
    for log in temp_root.glob("*/session_latest/logs/worker-*.out"):
        with open(log, errors="replace") as f:
            if marker in f.read(4096):
                found.add(log.relative_to(temp_root).parts[0])
    return found


# Run inside a driver process: the cluster's nodes, and the node each of N one-CPU tasks ran on.
PROBE = r"""
import json, sys, time
import ray
ray.init(address=sys.argv[1], log_to_driver=False)

@ray.remote(num_cpus=1)
def where():
    time.sleep(1.0)  # long enough that the tasks overlap and must use both nodes
    return ray.get_runtime_context().get_node_id()

nodes = [n["NodeID"] for n in ray.nodes() if n["Alive"]]
ran_on = ray.get([where.remote() for _ in range(int(sys.argv[2]))])
print(json.dumps({"nodes": nodes, "ran_on": ran_on}))
"""
