"""A corpus of malformed space files: each exits 2 with one line naming the field."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from poolnas.cli import main

CORPUS = sorted((Path(__file__).parent / "malformed").glob("*.yaml"))


def _expected_field(path: Path) -> str:
    for line in path.read_text().splitlines():
        if line.startswith("# field: "):
            return line[len("# field: "):].strip()
    raise AssertionError(f"{path.name} has no '# field:' comment")


def test_corpus_size():
    assert len(CORPUS) >= 25
    for path in CORPUS:
        assert path.read_text().startswith("# breaks: "), path.name


@pytest.mark.parametrize("path", CORPUS, ids=[p.stem for p in CORPUS])
def test_malformed_exits_2(path, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(["space", "validate", str(path)]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1, captured.err
    assert _expected_field(path) in lines[0]
    assert "is not accepted" in lines[0]
    assert os.listdir(tmp_path) == []  # nothing written
