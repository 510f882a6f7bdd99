"""``poolnas dashboard`` writes nothing (issue 11 item 8b): the real command in a subprocess
on a real SQLite study, pages fetched over HTTP, then the database compared byte for byte;
and in real headless Chromium, the UI's write controls are hidden when read-only."""

from __future__ import annotations

import hashlib
import os
import re
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

import optuna
import pytest
from test_browser import _check_figures, _errors, _wait, browser  # noqa: F401 - fixture

from poolnas.dashboards.server import make_dashboard_server
from poolnas.storage import open_storage
from poolnas.testing import synthetic_studies as S

pytestmark = pytest.mark.integration


def _digest(db: Path) -> dict[str, str]:
    """Hashes of the database file and its WAL/SHM companions that exist."""
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(db.parent.glob(db.name + "*"))}


def _system_attrs(url: str) -> dict:
    storage = optuna.storages.RDBStorage(url, skip_table_creation=True)
    try:
        return {name: storage.get_study_system_attrs(storage.get_study_id_from_name(name))
                for name in optuna.study.get_all_study_names(storage)}
    finally:
        storage.engine.dispose()


def _study_id(url: str, name: str = "ro-srp") -> int:
    storage = optuna.storages.RDBStorage(url, skip_table_creation=True)
    try:
        return storage.get_study_id_from_name(name)
    finally:
        storage.engine.dispose()


@pytest.fixture
def study_db(tmp_path: Path) -> tuple[Path, str]:
    db = tmp_path / "studies.db"
    url = f"sqlite:///{db}"
    study = S.create("ro-srp", url)
    S.fill(study, [({"attention.pooling": "srp-ss", "attention.lam": lam}, [0.6 + lam / 10, 0.61])
                   for lam in (0.4, 0.8)])
    study.set_user_attr("note", "kept")
    del study
    return db, url


def _start(args: list[str], cwd: Path) -> tuple[subprocess.Popen, str]:
    env = {k: v for k, v in os.environ.items() if k != "POOLNAS_STORAGE"}
    proc = subprocess.Popen([sys.executable, "-m", "poolnas", "dashboard", *args], cwd=cwd, env=env,
                            stderr=subprocess.PIPE, text=True)
    lines = []
    for line in proc.stderr:  # the command prints its address once it listens
        lines.append(line)
        m = re.search(r"http://127\.0\.0\.1:(\d+)/dashboard", line)
        if m:
            threading.Thread(target=proc.stderr.read, daemon=True).start()  # keep draining
            return proc, f"http://127.0.0.1:{m.group(1)}"
    proc.wait(timeout=30)
    raise AssertionError("dashboard did not start: " + "".join(lines))


def _get(url: str) -> tuple[int, bytes]:
    with urllib.request.urlopen(url, timeout=60) as resp:
        return resp.status, resp.read()


def test_starting_and_browsing_the_dashboard_leaves_the_database_byte_identical(study_db, tmp_path):
    db, url = study_db
    before, attrs_before = _digest(db), _system_attrs(url)
    proc, base = _start(["--storage", url, "--port", "0"], tmp_path)
    try:
        sid = _study_id(url)
        for path in ("/dashboard", f"/dashboard/studies/{sid}", "/api/studies", f"/api/studies/{sid}",
                     "/poolnas/", "/poolnas/report/ro-srp", f"/poolnas/study/{sid}", "/poolnas/dashboard.js"):
            status, body = _get(base + path)
            assert status == 200 and body, path
        assert b'id="fig-srp-fig2"' in _get(f"{base}/poolnas/study/{sid}")[1]  # redirect to the report
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    assert _system_attrs(url) == attrs_before  # no dashboard:plot_data / note attributes
    assert _digest(db) == before


def test_dashboard_on_a_taken_port_exits_2_and_writes_nothing(study_db, tmp_path):
    db, url = study_db
    before = _digest(db)
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        env = {k: v for k, v in os.environ.items() if k != "POOLNAS_STORAGE"}
        out = subprocess.run([sys.executable, "-m", "poolnas", "dashboard", "--storage", url, "--port",
                              str(taken.getsockname()[1])], cwd=tmp_path, env=env,
                             capture_output=True, text=True, timeout=120)
    assert out.returncode == 2 and out.stderr.count("\n") == 1 and "--port" in out.stderr
    assert _digest(db) == before


# --- the UI in Chromium -----------------------------------------------------------------

_WRITE_CONTROLS = """
const icons = ['AddBoxIcon', 'DriveFileRenameOutlineIcon', 'DeleteIcon', 'EditIcon'];
const out = {};
for (const name of icons) {
  const btns = Array.from(document.querySelectorAll('svg[data-testid="' + name + '"]'))
      .map(s => s.closest('button')).filter(b => b);
  out[name] = btns.map(b => b.offsetParent !== null && !b.disabled);
}
return out;
"""


def _serve(url: str, allow_write: bool):
    storage = open_storage(url, create=False)
    srv = make_dashboard_server(storage, "127.0.0.1", 0, allow_write=allow_write)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    return srv, f"http://127.0.0.1:{srv.server_port}", storage


def _controls(driver, path_icons: dict[str, list[str]], base: str) -> dict[str, list[bool]]:
    seen: dict[str, list[bool]] = {}
    for path, icons in path_icons.items():
        driver.get(base + path)
        # Wait until React drew the controls (present in the DOM, shown or hidden).
        state = _wait(lambda icons=icons: (s := driver.execute_script(_WRITE_CONTROLS))
                      and all(s[i] for i in icons) and s, 60)
        assert state, (path, driver.execute_script(_WRITE_CONTROLS))
        for icon in icons:
            seen[icon] = state[icon]
    return seen


@pytest.mark.browser
def test_read_only_dashboard_hides_write_controls_and_links_the_report(browser, study_db):  # noqa: F811
    db, url = study_db
    before = _digest(db)
    sid = _study_id(url)
    pages = {"/dashboard": ["AddBoxIcon", "DriveFileRenameOutlineIcon", "DeleteIcon"],
             f"/dashboard/studies/{sid}/note": ["EditIcon"]}
    srv, base, _ = _serve(url, allow_write=True)
    try:  # with --allow-write the controls are there and usable
        shown = _controls(browser, pages, base)
        assert all(all(v) for v in shown.values()), shown
    finally:
        srv.shutdown()
        srv.server_close()
    srv, base, _ = _serve(url, allow_write=False)
    try:
        hidden = _controls(browser, pages, base)
        assert not any(any(v) for v in hidden.values()), hidden
        # The bar links the study's report: follow it and see the paper figures drawn.
        browser.get(f"{base}/dashboard/studies/{sid}")
        link = _wait(lambda: browser.execute_script(
            "const a = document.querySelector('#poolnas-bar a[href^=\"/poolnas/study/\"]'); "
            "return a && a.href"), 60)
        assert link and "read-only" in browser.find_element("id", "poolnas-bar").text
        browser.get(link)
        assert "/poolnas/report/ro-srp" in browser.current_url
        _check_figures(browser)
        assert _errors(browser) == []
    finally:
        srv.shutdown()
        srv.server_close()
    time.sleep(0.2)
    assert _digest(db) == before
