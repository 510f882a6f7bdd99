"""One rule for study names (issue 21 item 3): ``--study``, a space file's ``study:`` and the
Python API refuse a name that is a path (``../../x``, ``/abs/dir``, ``..``) with one line, exit
2, before anything is written; Ray Tune's experiment folder stays inside its parent."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from _sweep_spaces import env_without_storage, grid_space, write_space

from poolnas.errors import ConfigError
from poolnas.records import check_study_name
from poolnas.search import run_sweep
from poolnas.search._tune import experiment_name
from poolnas.spaces import space_from_dict

BAD = ["../../x", "/tmp/abs-dir", "..", ".", ".hidden", "a/b", "a\\b", "x" * 129, "", "a\nb",
       "\x1b[2J"]


@pytest.mark.parametrize("name", BAD)
def test_bad_names_are_refused_everywhere(name: str) -> None:
    with pytest.raises(ConfigError, match="^study:"):
        check_study_name(name)
    doc = grid_space("ok")
    doc["study"] = name
    with pytest.raises(ConfigError):
        space_from_dict(doc)


def test_good_names_pass() -> None:
    for name in ("srp-fig3", "a.b_c-1", "x" * 128, "0"):
        assert check_study_name(name) == name


def test_the_python_api_refuses_a_path_before_writing(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/s.db"
    with pytest.raises(ConfigError, match="study"):
        run_sweep(space_from_dict(grid_space("ok")), storage=url, study=f"{tmp_path}/outside", quiet=True)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("study", ["../../escaped", "/tmp/poolnas-abs-study"])
def test_cli_study_that_is_a_path_exits_2_writing_nothing(tmp_path: Path, study: str) -> None:
    space = write_space(tmp_path, grid_space("ok"))
    work = tmp_path / "w" / "a" / "b"
    work.mkdir(parents=True)
    before = sorted(p for p in tmp_path.rglob("*"))
    proc = subprocess.run([sys.executable, "-m", "poolnas", "sweep", str(space), "--study", study,
                           "--storage", f"sqlite:///{work}/s.db", "--quiet"], cwd=work,
                          env=dict(env_without_storage(), POOLNAS_RESULTS_DIR=str(work)),
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 2, proc.stderr[-2000:]
    assert len(proc.stderr.strip().splitlines()) == 1 and "study:" in proc.stderr
    assert sorted(p for p in tmp_path.rglob("*")) == before
    assert not os.path.exists("/tmp/poolnas-abs-study")


def test_the_experiment_folder_stays_inside_its_parent(tmp_path: Path) -> None:
    assert experiment_name(str(tmp_path), "s1") == "s1"
    (tmp_path / "link").symlink_to("/tmp")
    with pytest.raises(ConfigError):
        experiment_name(str(tmp_path), "link")  # a symlink out of the folder
    with pytest.raises(ConfigError):
        experiment_name(str(tmp_path), "../x")
