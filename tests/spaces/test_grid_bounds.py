"""Bounded grids (issue 21 item 6): a finite space's configurations are counted before any is
built (``when:`` respected) and a grid over MAX_GRID_CELLS is refused with one line, exit 2;
repeats and resources.cpu have bounds. The old code built three 1,000-value grids' 10^9 cells
(10 GB in 2 minutes) and raised MemoryError for ``int: [1, 1000000000]``."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from poolnas.errors import MAX_LINE
from poolnas.spaces import load_space
from poolnas.spaces._load import list_presets
from poolnas.spaces._space import MAX_GRID_CELLS, space_from_dict

BASE = {"model": {"arch": "resnet20", "num_classes": 10, "in_channels": 1},
        "trainer": {"dataset": "digits", "epochs": 1}}


def _validate(tmp_path: Path, doc: dict) -> subprocess.CompletedProcess:
    path = tmp_path / "space.yaml"
    path.write_text(yaml.safe_dump(doc))
    return subprocess.run([sys.executable, "-m", "poolnas", "space", "validate", str(path)],
                          capture_output=True, text=True, timeout=120)


def _one_line(out: subprocess.CompletedProcess, *words: str) -> None:
    assert out.returncode == 2, (out.returncode, out.stderr[-2000:])
    assert out.stderr.count("\n") == 1 and len(out.stderr) <= MAX_LINE + 80, out.stderr[:2000]
    assert all(w in out.stderr for w in words), out.stderr


def test_three_1000_value_grids_are_refused_in_one_line(tmp_path: Path) -> None:
    doc = {"study": "big", "sampler": "grid", "base": BASE, "space": {
        "trainer.lr": {"grid": [round(0.001 * (i + 1), 6) for i in range(1000)]},
        "trainer.weight_decay": {"grid": [round(1e-6 * i, 9) for i in range(1000)]},
        "trainer.momentum": {"grid": [round(0.0009 * i, 6) for i in range(1000)]}}}
    _one_line(_validate(tmp_path, doc), "more than 100,000 configurations", "trainer.lr (1,000)")


@pytest.mark.parametrize("sampler", ["grid", "bruteforce"])
def test_a_billion_value_int_range_under_a_finite_sampler(tmp_path: Path, sampler: str) -> None:
    doc = {"study": "m", "sampler": sampler, "base": BASE,
           "space": {"attention.reduction": {"int": [1, 1000000000]}}}
    _one_line(_validate(tmp_path, doc), "configurations", "attention.reduction (1,000,000,000)")


def test_a_billion_value_int_range_under_tpe_is_counted_not_built() -> None:
    doc = {"study": "m", "sampler": "tpe", "trials": 5, "base": BASE,
           "space": {"attention.reduction": {"int": [1, 1000000000]}}}
    space = space_from_dict(doc)
    assert space.num_configs() == 5 and space.grid_size() == 1_000_000_000


def test_the_count_respects_when_and_matches_the_built_grid() -> None:
    doc = {"study": "w", "sampler": "grid", "base": BASE, "space": {
        "attention.pooling": {"grid": ["gap", "srp-ss", "srp-ms"]},
        "attention.lam": {"grid": [0.2, 0.4, 0.6, 0.8], "when": {"attention.pooling": ["srp-ss", "srp-ms"]}},
        "attention.M": {"grid": [3, 5, 7], "when": {"attention.pooling": ["srp-ms"]}}}}
    space = space_from_dict(doc)
    assert space.grid_size() == len(space.grid()) == 1 + 4 + 4 * 3
    for name in list_presets():
        preset = load_space(name)
        if preset.is_finite():
            assert preset.grid_size() == len(preset.grid()) <= MAX_GRID_CELLS, name


@pytest.mark.parametrize(("field", "value", "word"), [
    ("repeats", 5000, "repeats"), ("repeats", {"min": 2, "max": 100000, "racing": True}, "repeats.max"),
    ("resources", {"cpu": 1e-6}, "resources.cpu"), ("resources", {"cpu": 1e9}, "resources.cpu")])
def test_repeats_and_cpu_bounds(tmp_path: Path, field: str, value: object, word: str) -> None:
    doc = {"study": "b", "sampler": "tpe", "trials": 2, "base": BASE,
           "space": {"attention.reduction": {"int": [2, 8]}}, field: value}
    _one_line(_validate(tmp_path, doc), word)
