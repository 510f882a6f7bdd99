"""The quick commands import none of the heavy libraries (issue 13 item 7): ``space validate``,
``studies``, ``export`` and ``compare`` run in a fresh interpreter through ``poolnas.cli.main``
and report which of torch, ray, plotly, pandas, sklearn ended up in ``sys.modules``.
(Times are measured by benchmarks/bench_cold_start.py, not asserted here.)"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from poolnas.testing import synthetic_studies as S

pytestmark = pytest.mark.integration

HEAVY = ("torch", "ray", "plotly", "pandas", "sklearn")

_PROBE = """
import json, sys
from poolnas.cli import main
rc = main(sys.argv[1:])
loaded = sorted({m.split('.')[0] for m in sys.modules} & set(json.loads(sys.stdin.read())))
print(json.dumps({"rc": rc, "loaded": loaded}))
"""


def _imported(argv: list[str], cwd: Path, watch: tuple[str, ...] = HEAVY) -> tuple[int, list[str]]:
    env = {k: v for k, v in os.environ.items() if k != "POOLNAS_STORAGE"}
    out = subprocess.run([sys.executable, "-c", _PROBE, *argv], input=json.dumps(watch), cwd=cwd,
                         env=env, capture_output=True, text=True, timeout=120)
    doc = json.loads(out.stdout.strip().splitlines()[-1])
    return doc["rc"], doc["loaded"]


@pytest.fixture(scope="module")
def study_url(tmp_path_factory) -> str:
    url = f"sqlite:///{tmp_path_factory.mktemp('cold') / 'studies.db'}"
    S.fill(S.create("cold", url), [({"attention.pooling": p}, [0.7 + i / 100, 0.71 + i / 100, 0.72])
                                   for i, p in enumerate(("gap", "max"))])
    return url


def test_space_validate_imports_no_torch_and_no_optuna(tmp_path: Path) -> None:
    space = tmp_path / "space.yaml"
    space.write_text("extends: quickstart\nstudy: cold-space\n")
    for argv in (["space", "validate", "quickstart"], ["space", "validate", str(space)]):
        rc, loaded = _imported(argv, tmp_path, (*HEAVY, "optuna", "sqlalchemy"))
        assert rc == 0 and loaded == [], (argv, loaded)


def test_a_model_check_still_runs_without_torch(tmp_path: Path) -> None:
    space = tmp_path / "bad.yaml"  # stage 4 does not exist on resnet20: found by the model check
    space.write_text("extends: quickstart\nstudy: bad\nbase:\n  attention:\n    placement:\n"
                     "      stages: [4]\n")
    rc, loaded = _imported(["space", "validate", str(space)], tmp_path)
    assert rc == 2 and loaded == []


@pytest.mark.parametrize("argv", [["studies"], ["export", "--study", "cold"], ["compare", "--study", "cold"]],
                         ids=lambda a: a[0])
def test_storage_commands_import_no_heavy_library(argv: list[str], study_url: str, tmp_path: Path) -> None:
    # nor Optuna (poolnas.studies.sql_reader reads the tables) nor scipy/numpy (poolnas.evidence._tdist),
    # nor SQLAlchemy (a sqlite:/// file is read with sqlite3)
    rc, loaded = _imported([*argv, "--storage", study_url], tmp_path,
                           (*HEAVY, "optuna", "scipy", "numpy", "sqlalchemy"))
    assert rc == 0 and loaded == [], (argv, loaded)
