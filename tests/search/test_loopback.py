"""A default local sweep's Ray listens on loopback only: the listening TCP and UDP sockets of a
real ``poolnas sweep`` process tree (the driver, gcs_server, raylet, agents, trial workers),
read from /proc while a trial runs."""

from __future__ import annotations

import ipaddress
import os
import shutil
import socket
import struct
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest
from _procs import kill_under, wait_running
from _sweep_spaces import env_without_storage, grid_space, write_space

pytestmark = pytest.mark.integration

_LISTEN = {"tcp": "0A", "tcp6": "0A", "udp": "07", "udp6": "07"}  # TCP LISTEN; UDP bound


def _tree(root: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as f:
                    ppid = int(f.read().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(ppid, []).append(int(entry))
    found, todo = [], [root]
    while todo:
        pid = todo.pop()
        found.append(pid)
        todo.extend(children.get(pid, []))
    return found


def _socket_inodes(pid: int) -> set[int]:
    inodes = set()
    try:
        fds = os.listdir(f"/proc/{pid}/fd")
    except OSError:
        return inodes
    for fd in fds:
        try:
            target = os.readlink(f"/proc/{pid}/fd/{fd}")
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(int(target[8:-1]))
    return inodes


def _address(text: str, v6: bool) -> tuple[str, int]:
    host, port = text.split(":")
    raw = bytes.fromhex(host)
    # /proc prints each 32-bit word in host order (little-endian here)
    raw = b"".join(struct.pack("<I", struct.unpack(">I", raw[i:i + 4])[0])
                   for i in range(0, len(raw), 4))
    return socket.inet_ntop(socket.AF_INET6 if v6 else socket.AF_INET, raw), int(port, 16)


def listening_sockets(root: int) -> list[tuple[int, str, str, str, int]]:
    """(pid, process name, protocol, address, port) of every listening socket in the tree."""
    table: dict[int, tuple[str, str, int]] = {}
    for proto, state in _LISTEN.items():
        with open(f"/proc/net/{proto}") as f:
            next(f)
            for line in f:
                cols = line.split()
                if cols[3] == state:
                    table[int(cols[9])] = (proto, *_address(cols[1], proto.endswith("6")))
    found = []
    for pid in _tree(root):
        try:
            with open(f"/proc/{pid}/comm") as f:
                name = f.read().strip()
        except OSError:
            continue
        found += [(pid, name, *table[i]) for i in _socket_inodes(pid) if i in table]
    return found


def _loopback(address: str) -> bool:
    ip = ipaddress.ip_address(address)
    mapped = getattr(ip, "ipv4_mapped", None)
    return ip.is_loopback or (mapped is not None and mapped.is_loopback)


def test_proc_listing_sees_a_socket_on_all_interfaces() -> None:
    """The listing itself: a socket on 0.0.0.0 and one on 127.0.0.1 of this process."""
    with socket.socket() as wide, socket.socket() as narrow:
        wide.bind(("0.0.0.0", 0))
        narrow.bind(("127.0.0.1", 0))
        wide.listen()
        narrow.listen()
        mine = {(addr, port) for _, _, _, addr, port in listening_sockets(os.getpid())}
        assert ("0.0.0.0", wide.getsockname()[1]) in mine
        assert ("127.0.0.1", narrow.getsockname()[1]) in mine
        assert not _loopback("0.0.0.0") and not _loopback("::") and _loopback("::ffff:127.0.0.1")


def test_the_switch_is_set_for_ray_only_and_not_left_for_child_processes() -> None:
    code = ("import os\n"
            "from poolnas.search._ray import local_ray_on_loopback\n"
            "ok = local_ray_on_loopback()\n"
            "import ray\n"
            "print(ok, os.environ.get('RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER'),"
            " ray.util.get_node_ip_address())\n")
    env = env_without_storage()
    env.pop("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", None)
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                         timeout=120, check=True).stdout.split()
    assert out == ["True", "None", "127.0.0.1"]


def _sockets_of_a_sweep(tmp_path: Path, study: str, argv: list[str]) -> set[tuple]:
    """Runs ``argv`` (a sweep of ``study`` into ``tmp_path/s.db``) and lists the listening
    sockets of its process tree while a trial runs: {(name, protocol, address, port)}."""
    url = f"sqlite:///{tmp_path}/s.db"
    ray_tmp = tempfile.mkdtemp(prefix="plb", dir="/tmp")
    env = env_without_storage()
    env["RAY_TMPDIR"] = ray_tmp
    env.pop("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", None)  # the sweep's own default
    proc = subprocess.Popen(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)
    try:
        wait_running(proc, url, study)
        found: set[tuple] = set()
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and proc.poll() is None:
            found |= {row[1:] for row in listening_sockets(proc.pid)}
            names = {row[0] for row in found}
            workers = {n for n in names if n.startswith("ray::") and "RuntimeEnv" not in n}
            if {"gcs_server", "raylet"} <= names and workers:
                break
            time.sleep(0.3)
        out, err = proc.communicate(timeout=600)
    finally:
        if proc.poll() is None:
            proc.kill()
        kill_under(ray_tmp)  # this sweep's own Ray, nothing else
        shutil.rmtree(ray_tmp, ignore_errors=True)
    assert proc.returncode == 0, err[-3000:]
    names = {row[0] for row in found}
    assert {"gcs_server", "raylet", "python"} <= names, found  # the driver's core worker too
    assert any(n.startswith("ray::") and "RuntimeEnv" not in n for n in names), found
    return found


def _loopback_space(tmp_path: Path, study: str) -> Path:
    doc = grid_space(study, epochs=3, pooling=["gap"])
    doc["base"]["trainer"]["train_subset"] = 384  # a trial of seconds: its worker is listed
    return write_space(tmp_path, doc)


def test_a_default_local_sweep_listens_on_loopback_only(tmp_path: Path) -> None:
    space = _loopback_space(tmp_path, "loopback")
    found = _sockets_of_a_sweep(tmp_path, "loopback", [
        sys.executable, "-m", "poolnas", "sweep", str(space), "--storage",
        f"sqlite:///{tmp_path}/s.db", "--quiet"])
    wide = sorted(row for row in found if not _loopback(row[2]))
    assert not wide, f"listening beyond loopback: {wide}"


def test_a_script_that_imports_ray_first_gets_a_loopback_ray(tmp_path: Path) -> None:
    """Ray imported before the sweep (a notebook, a benchmark) read its local-only switch
    already; the sweep's local Ray listens on loopback all the same (issue 21 item 11)."""
    space = _loopback_space(tmp_path, "ray-first")
    code = ("import ray\n"  # first: Ray reads RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER here
            "import sys\n"
            "from poolnas.search import run_sweep\n"
            "res = run_sweep(sys.argv[1], storage=sys.argv[2], quiet=True)\n"
            "assert res.counts.get('COMPLETE') == 1, res.counts\n")
    found = _sockets_of_a_sweep(tmp_path, "ray-first", [
        sys.executable, "-c", code, str(space), f"sqlite:///{tmp_path}/s.db"])
    wide = sorted(row for row in found if not _loopback(row[2]))
    assert not wide, f"listening beyond loopback: {wide}"
