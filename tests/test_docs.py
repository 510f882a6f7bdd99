"""Docs that cannot drift from the code: every long flag of every ``poolnas`` command is in
README.md's "The command line" synopsis, on that command's line; ``poolnas --help``, the docs
and the sources name no file or doc link the repository lacks, and cite no notes kept outside
it."""

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
        # the longest command first: "poolnas studies delete" is not "poolnas studies"
        command = next((c for c in sorted(COMMANDS, key=len, reverse=True)
                        if re.match(rf"poolnas {c}(\s|$)", entry)), None)
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


# A path the docs name: a file or folder of the repository (a glob or a placeholder is not one).
_PATH = re.compile(r"(?<![\w./-])((?:poolnas|tests|docs|benchmarks|scripts|examples)/[\w./-]*[\w/])")
_LINK = re.compile(r"\]\(([^)\s]+)\)")


def _doc_files() -> list[Path]:
    return [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]


def _source_files() -> list[Path]:
    folders = ("poolnas", "tests", "benchmarks", "scripts")
    return sorted(p for folder in folders for p in (ROOT / folder).rglob("*")
                  if p.suffix in (".py", ".sh", ".yaml", ".toml", ".md") and ".venv" not in p.parts)


def _dangling_paths(text: str) -> list[str]:
    out = []
    for name in _PATH.findall(text):
        name = name.rstrip(".")
        if any(c in name for c in "*{}<>") or name.endswith("/..."):
            continue
        if not (ROOT / name).exists():
            out.append(name)
    return out


@pytest.mark.parametrize("doc", _doc_files(), ids=lambda p: p.name)
def test_docs_name_only_paths_and_links_that_exist(doc):
    text = doc.read_text(encoding="utf-8")
    missing = _dangling_paths(text)
    for target in _LINK.findall(text):
        if re.match(r"[a-z]+:", target) or target.startswith("#"):
            continue  # a URL or an anchor in the same page
        if not (doc.parent / target.split("#", 1)[0]).exists():
            missing.append(target)
    assert not missing, f"{doc.relative_to(ROOT)} names {sorted(set(missing))}, which the repository lacks"


def test_sources_name_only_docs_that_exist():
    missing = []
    for path in _source_files():
        if path.name == "test_docs.py":
            continue  # its own examples
        text = path.read_text(encoding="utf-8", errors="replace")
        for name in re.findall(r"(?<![\w./-])((?:docs/)?[\w-]+\.md)\b", text):
            if name.startswith("docs/") or name == "README.md":
                if not (ROOT / name).exists():
                    missing.append(f"{path.relative_to(ROOT)}: {name}")
    assert not missing, missing


def test_the_repository_stands_alone():
    """No file cites notes kept outside the repository."""
    outside = re.compile(r"DESIGN\.md|NOTES\.md|\.\./shared")
    hits = [str(p.relative_to(ROOT)) for p in [*_source_files(), *_doc_files()]
            if p.name != "test_docs.py" and outside.search(p.read_text(encoding="utf-8", errors="replace"))]
    assert not hits, f"these files cite notes outside the repository: {hits}"


def test_the_reference_checker_sees_a_dangling_path():
    # the checks above would pass vacuously if the pattern matched nothing
    assert _dangling_paths("see poolnas/config.py and docs/nowhere.md") == ["docs/nowhere.md"]
