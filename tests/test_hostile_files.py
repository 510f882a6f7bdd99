"""Hostile space and config files (issue 11 item 7) through the real ``poolnas`` entry point:
one short line on stderr, exit 2, and no runaway memory or time."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from poolnas.config import MAX_DOCUMENT_NODES, MAX_FILE_BYTES, MAX_YAML_ALIASES, load_config_file
from poolnas.errors import MAX_LINE, ConfigError

pytestmark = pytest.mark.integration

# Every command that reads a space file or a trial config.
READERS = (["space", "validate"], ["train", "--config"], ["model", "show"], ["sweep"])


def _poolnas(args: list[str], cwd: Path) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "POOLNAS_STORAGE"}
    return subprocess.run([sys.executable, "-m", "poolnas", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=120)


def _alias_bomb(levels: int = 8) -> str:
    """A billion laughs: ~350 bytes that expand to 9**levels strings, the last alias in a
    field whose value an error message would print."""
    lines = ['  a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    names = "abcdefghijkl"[:levels]
    lines += [f"  {n}: &{n} [" + ",".join([f"*{p}"] * 9) + "]"
              for p, n in zip(names, names[1:], strict=False)]
    return "study: bomb\nzz:\n" + "\n".join(lines) + f"\nsampler: *{names[-1]}\n"


def _assert_one_short_line(out: subprocess.CompletedProcess, *words: str) -> None:
    assert out.returncode == 2, out.stderr[:2000]
    assert out.stderr.count("\n") == 1 and len(out.stderr) <= MAX_LINE + 80, out.stderr[:2000]
    assert "Traceback" not in out.stderr
    for word in words:
        assert word in out.stderr, out.stderr


@pytest.fixture(scope="module")
def files(tmp_path_factory) -> Path:
    d = tmp_path_factory.mktemp("hostile")
    (d / "bomb.yaml").write_text(_alias_bomb())
    (d / "garbage.yaml").write_bytes(bytes(range(128, 256)) * 16)
    (d / "nul.yaml").write_text("study: a\x00b\n")
    (d / "empty.yaml").write_text("")
    (d / "blank.yaml").write_text("\n  \n")
    (d / "folder.yaml").mkdir()
    # Over the size bound: a 2 MiB list (the 50 MB list ran for minutes).
    (d / "big.yaml").write_text("study: big\nspace:\n  attention.lam:\n    grid:\n"
                                + "      - 0.5\n" * (2 * MAX_FILE_BYTES // 12))
    (d / "deep.json").write_text("[" * 200_000 + "]" * 200_000)
    return d


CASES = {
    "bomb.yaml": ["values", "aliases"],
    "garbage.yaml": ["not a text file", "UTF-8"],
    "nul.yaml": ["not a text file", "NUL"],
    "empty.yaml": ["the file is empty"],
    "blank.yaml": ["the file is empty"],
    "folder.yaml": ["is a folder"],
    "big.yaml": ["KiB"],
    "deep.json": ["nested too deeply"],
}
# Each file through `space validate`; the worst two through every other reader as well.
PAIRS = [(READERS[0], name) for name in CASES] + [
    (argv, name) for argv in READERS[1:] for name in ("bomb.yaml", "garbage.yaml")]


@pytest.mark.parametrize(("argv", "name"), PAIRS, ids=lambda v: v if isinstance(v, str) else v[0])
def test_hostile_file_is_one_line_exit_2(argv: list[str], name: str, files: Path) -> None:
    words = CASES[name]
    out = _poolnas([*argv, str(files / name)], files)
    _assert_one_short_line(out, *words)
    assert sorted(p.name for p in files.iterdir()) == sorted(
        ["bomb.yaml", "garbage.yaml", "nul.yaml", "empty.yaml", "blank.yaml", "folder.yaml", "big.yaml",
         "deep.json"])  # nothing written (no poolnas.db, no output folder)


def test_alias_bomb_is_refused_before_it_is_expanded(tmp_path: Path) -> None:
    path = tmp_path / "bomb.yaml"
    path.write_text(_alias_bomb(levels=12))  # 9**12 strings if anything expanded it
    with pytest.raises(ConfigError) as err:
        load_config_file(path)
    assert len(str(err.value)) < MAX_LINE and f"at most {MAX_DOCUMENT_NODES}" in str(err.value)


def test_many_aliases_are_refused_but_a_few_are_fine(tmp_path: Path) -> None:
    few = tmp_path / "few.yaml"
    few.write_text("x: &x {epochs: 2}\na: *x\nb: *x\nc: {<<: *x, lr: 0.1}\n")
    assert load_config_file(few) == {"x": {"epochs": 2}, "a": {"epochs": 2}, "b": {"epochs": 2},
                                     "c": {"epochs": 2, "lr": 0.1}}
    many = tmp_path / "many.yaml"
    many.write_text("x: &x 1\ny: [" + ", ".join(["*x"] * (MAX_YAML_ALIASES + 1)) + "]\n")
    with pytest.raises(ConfigError, match="aliases"):
        load_config_file(many)


def test_long_values_in_errors_are_cut(tmp_path: Path) -> None:
    path = tmp_path / "long.yaml"
    path.write_text("study: s\nsampler: " + "x" * 100_000 + "\n")
    out = _poolnas(["space", "validate", str(path)], tmp_path)
    _assert_one_short_line(out, "sampler")


def test_a_file_at_the_size_bound_still_loads(tmp_path: Path) -> None:
    path = tmp_path / "ok.yaml"
    body = "a: 1\n"
    path.write_text(body + "#" * (MAX_FILE_BYTES - len(body) - 1) + "\n")
    assert load_config_file(path) == {"a": 1}
