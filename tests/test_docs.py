"""Docs that cannot drift from the code: every long flag of every ``poolnas`` command is in
README.md's "The command line" synopsis, on that command's line; ``poolnas --help`` names no
file the repository lacks."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from poolnas.cli import _HANDLERS, main

ROOT = Path(__file__).resolve().parents[1]
COMMANDS = sorted(_HANDLERS)  # "sweep", ..., "space validate", "model show"


def _help(capsys: pytest.CaptureFixture[str], argv: list[str]) -> str:
    with pytest.raises(SystemExit) as info:
        main([*argv, "--help"])
    assert info.value.code == 0
    return capsys.readouterr().out


def _synopsis() -> dict[str, str]:
    """The README's command-line block: command -> the text of its lines (continuations and
    the ``|``-separated commands on one line included; a command may have several lines)."""
    text = (ROOT / "README.md").read_text()
    section = text.split("\n## The command line\n", 1)[1].split("\n## ", 1)[0]
    block = section.split("```\n", 2)[1]
    entries: list[str] = []
    for line in block.splitlines():
        if line.startswith("poolnas "):
            entries.extend(part.strip() for part in line.split(" | "))
        elif line.strip() and entries:
            entries[-1] += " " + line.strip()
    out: dict[str, str] = {}
    for entry in entries:
        command = next((c for c in COMMANDS if re.match(rf"poolnas {c}(\s|$)", entry)), None)
        if command is not None:
            out[command] = out.get(command, "") + " " + entry
    return out


def _long_flags(help_text: str) -> set[str]:
    options = help_text.split("options:", 1)[1]
    return set(re.findall(r"(?<![\w-])--[a-z][a-z-]*", options)) - {"--help"}


def test_the_synopsis_has_every_command():
    assert set(_synopsis()) == set(COMMANDS)


@pytest.mark.parametrize("command", COMMANDS)
def test_every_flag_of_the_help_is_in_the_readme(command, capsys):
    flags = _long_flags(_help(capsys, command.split()))
    line = _synopsis()[command]
    missing = sorted(f for f in flags if not re.search(rf"{re.escape(f)}(?![\w-])", line))
    assert not missing, f"README.md 'The command line': poolnas {command} lacks {missing}"


def test_the_flag_reader_sees_the_flags(capsys):
    # the check above would pass vacuously if the help's format changed: it must find them
    assert {"--resume", "--report", "--quiet", "--ray-address"} <= _long_flags(_help(capsys, ["sweep"]))


def test_top_level_help_names_only_files_that_exist(capsys):
    text = _help(capsys, [])
    for name in re.findall(r"[\w./-]+\.(?:md|ya?ml|py|toml)\b", text):
        assert (ROOT / name).exists(), f"poolnas --help names {name}, which the repository lacks"
    assert "DESIGN.md" not in text
