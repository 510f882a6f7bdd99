"""A storage password in any URL form stays secret (issue 21 items 1-2), on a real PostgreSQL:

- the password in the URL's query (``?password=``) or in a libpq ``options`` string is never
  printed: the sweep summary, the ``--resume`` error line, ``report``'s HTML, the dashboard's
  start line and its ``/poolnas/`` page;
- with ``$POOLNAS_STORAGE`` holding the URL, no process of the local Ray (GCS, raylet, agents,
  trial workers) has it in its environment (``/proc/<pid>/environ``), read while a trial runs.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import pytest
from _procs import kill_under, pids_under, wait_running
from _sweep_spaces import env_without_storage, grid_space, write_space

from poolnas.storage import redact_url

pytestmark = [pytest.mark.integration]

DRIVER = str(Path(__file__).with_name("_drive_sweep.py"))
PASSWORD = "pw-Qz71-query"


def _poolnas(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "poolnas", *args], env=env, capture_output=True,
                          text=True, timeout=300)


def test_redact_url_hides_every_form_of_the_password() -> None:
    for url in (f"postgresql+psycopg://u:{PASSWORD}@h/db",
                f"postgresql+psycopg://u@h/db?password={PASSWORD}&sslmode=require",
                f"postgresql+psycopg://u@h/db?options=-c%20password%3D{PASSWORD}",
                f"mysql+pymysql://u@h/db?passwd={PASSWORD}",
                f"postgresql+psycopg://u@h/db?password={PASSWORD}&password={PASSWORD}x",
                f"not a url://u:{PASSWORD}@h/db"):
        shown = redact_url(url)
        assert PASSWORD not in shown and "***" in shown, (url, shown)
    assert redact_url("sqlite:///a.db") == "sqlite:///a.db"
    assert "sslmode=require" in redact_url(f"postgresql+psycopg://u@h/db?password={PASSWORD}&sslmode=require")


def _environ(pid: int) -> bytes:
    try:
        with open(f"/proc/{pid}/environ", "rb") as f:
            return f.read()
    except OSError:
        return b""


def _cmdline(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return f.read().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


def test_a_password_in_the_query_is_printed_nowhere_and_ray_never_sees_it(
        postgres_server, tmp_path: Path) -> None:
    plain = postgres_server.create_database("querypw", user="qkeeper", password=PASSWORD)
    url = plain.replace(f":{PASSWORD}@", "@") + f"?password={PASSWORD}"  # psycopg takes it
    root = Path(tempfile.mkdtemp(prefix="prq", dir="/tmp"))  # short: Ray's socket paths
    ray_tmp = root / "ray"
    ray_tmp.mkdir()
    env = dict(env_without_storage(), RAY_TMPDIR=str(ray_tmp), POOLNAS_STORAGE=url)
    doc = grid_space("qpw", epochs=3)
    doc.update(sampler="random", trials=2)
    doc["space"] = {"attention.reduction": {"int": [2, 64]}}
    space = write_space(tmp_path, doc)
    out, err = tmp_path / "out", tmp_path / "err"
    try:
        with open(out, "w") as so, open(err, "w") as se:
            proc = subprocess.Popen([sys.executable, DRIVER, "1", "sweep", str(space), "--quiet",
                                     "--report", str(tmp_path / "r.html")],
                                    env=env, stdout=so, stderr=se, text=True)
        try:
            wait_running(proc, url, "qpw")
            time.sleep(1.5)  # the trial's worker is up
            pids = [p for p in pids_under(str(ray_tmp)) if p != proc.pid]
            names = {_cmdline(p).split(" ")[0].rsplit("/", 1)[-1] for p in pids}
            assert any("gcs_server" in n for n in names) and any("raylet" in n for n in names), names
            assert any("ray::" in _cmdline(p) or "default_worker" in _cmdline(p) for p in pids)
            holding = [(p, _cmdline(p)[:80]) for p in pids if PASSWORD.encode() in _environ(p)]
            assert holding == []
            assert PASSWORD.encode() in _environ(proc.pid)  # the driver keeps it: it writes
            proc.wait(timeout=300)
        finally:
            if proc.poll() is None:
                proc.kill()
            kill_under(str(ray_tmp))
        printed = out.read_text() + err.read_text()
        assert proc.returncode == 0, printed[-2000:]
        assert "study qpw in postgresql+psycopg://qkeeper@" in printed and "password=***" in printed
        assert PASSWORD not in printed
        assert PASSWORD not in (tmp_path / "r.html").read_text()

        env_cli = dict(env_without_storage(), POOLNAS_STORAGE=url)
        resumed = _poolnas("sweep", str(space), "--study", "nosuch", "--resume", env=env_cli)
        assert resumed.returncode == 2 and "no such study" in resumed.stderr
        assert PASSWORD not in resumed.stdout + resumed.stderr
        opts = plain.replace(f":{PASSWORD}@", "@") + f"?options=-c%20password%3D{PASSWORD}"
        bad = _poolnas("report", "--study", "nosuch", "--storage", opts, "-o", str(tmp_path / "x.html"),
                       env=env_cli)
        assert bad.returncode != 0 and PASSWORD not in bad.stdout + bad.stderr
        assert _poolnas("studies", env=env_cli).returncode == 0

        dash = subprocess.Popen([sys.executable, "-m", "poolnas", "dashboard", "--port", "0"],
                                env=env_cli, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            line = dash.stderr.readline()
            assert PASSWORD not in line and "password=***" in line, line
            port = re.search(r"127\.0\.0\.1:(\d+)/", line).group(1)
            page = urllib.request.urlopen(f"http://127.0.0.1:{port}/poolnas/", timeout=60).read().decode()
            assert "qpw" in page and "password=***" in page and PASSWORD not in page
        finally:
            dash.kill()
            dash.wait(timeout=30)
    finally:
        shutil.rmtree(root, ignore_errors=True)
