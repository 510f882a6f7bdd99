"""Private temporary folders for Ray Tune's experiment files (``poolnas-tune-*``).

Each holds a pid file naming the driver that made it. A sweep removes its own folder when it
ends; a driver killed with SIGKILL cannot, so every sweep first removes the folders whose
driver is gone (same host, pid not running, or running but started at another time).
"""

from __future__ import annotations

import os
import shutil
import socket
import tempfile

__all__ = ["PREFIX", "make_private_dir", "remove_stale_dirs"]

PREFIX = "poolnas-tune-"
PID_FILE = "poolnas-driver.pid"


def _start_time(pid: int) -> str:
    """The process's start time in clock ticks after boot (Linux), else ""."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[19]
    except (OSError, IndexError):
        return ""


def _alive(pid: int, started: str) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return not started or not _start_time(pid) or _start_time(pid) == started


def _stale(folder: str) -> bool:
    try:
        with open(os.path.join(folder, PID_FILE)) as f:
            host, pid, started = (f.read().split() + ["", "", ""])[:3]
        return host == socket.gethostname() and not _alive(int(pid), started)
    except (OSError, ValueError):
        return False  # no pid file (an older poolnas, or being made): not ours to judge


def remove_stale_dirs(parent: str | None = None) -> list[str]:
    """Remove the ``poolnas-tune-*`` folders of drivers that are gone; returns their paths."""
    parent = parent or tempfile.gettempdir()
    removed = []
    try:
        names = os.listdir(parent)
    except OSError:
        return removed
    for name in names:
        path = os.path.join(parent, name)
        if name.startswith(PREFIX) and os.path.isdir(path) and _stale(path):
            shutil.rmtree(path, ignore_errors=True)
            removed.append(path)
    return removed


def make_private_dir() -> str:
    """A new ``poolnas-tune-*`` folder (mode 0700) with this driver's pid file, after removing
    stale ones."""
    remove_stale_dirs()
    folder = tempfile.mkdtemp(prefix=PREFIX)
    pid = os.getpid()
    with open(os.path.join(folder, PID_FILE), "w") as f:
        f.write(f"{socket.gethostname()} {pid} {_start_time(pid)}\n")
    return folder
