"""``poolnas export -o`` onto an existing file refuses unless ``--force`` (issue 11 item 8a),
through the real entry point."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from poolnas.testing import synthetic_studies as S

pytestmark = pytest.mark.integration


def _export(args: list[str], cwd: Path) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "POOLNAS_STORAGE"}
    return subprocess.run([sys.executable, "-m", "poolnas", "export", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=120)


def test_export_refuses_to_overwrite_without_force(sqlite_url, tmp_path):
    S.fill(S.create("exp", sqlite_url), [({"attention.pooling": "gap"}, [0.7, 0.72])])
    out = tmp_path / "best.yaml"
    out.write_text("my notes\n")
    args = ["--study", "exp", "--storage", sqlite_url, "-o", str(out)]
    res = _export(args, tmp_path)
    assert res.returncode == 2 and res.stderr.count("\n") == 1
    assert "--force" in res.stderr and str(out) in res.stderr
    assert out.read_text() == "my notes\n"  # untouched
    res = _export([*args, "--force"], tmp_path)
    assert res.returncode == 0, res.stderr
    assert "poolnas export" in out.read_text() and "attention:" in out.read_text()
    fresh = tmp_path / "new.json"  # a new file needs no --force
    res = _export(["--study", "exp", "--storage", sqlite_url, "-o", str(fresh)], tmp_path)
    assert res.returncode == 0 and fresh.read_text().startswith("[")
