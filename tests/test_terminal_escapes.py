"""Terminal output carries no raw control sequences and no unbounded cell (issue 21 item 7): a
study name or a value with ``\\x1b[2J``, an OSC title sequence, BEL or a newline is shown escaped
by ``studies``, ``compare``, the sweep summary and the live view, and a 10 kB name is cut."""

from __future__ import annotations

import io

import pytest

from poolnas.cli import main
from poolnas.errors import MAX_CELL, terminal_cell, terminal_text
from poolnas.testing import synthetic_studies as S

HOSTILE = "\x1b[2J\x1b]0;pwned\x07evil\nname\r\x9b31m"
CONTROL = [chr(c) for c in range(0x20) if c != 0x0A] + ["\x7f", "\x9b"]


def _clean(text: str) -> None:
    assert not [c for c in text if c in CONTROL], repr(text[:300])


def test_terminal_text_and_cell() -> None:
    shown = terminal_cell(HOSTILE)
    _clean(shown)
    assert "\n" not in shown and "\\x1b[2J" in shown and "evil\\nname" in shown
    assert len(terminal_cell("x" * 10_000)) == MAX_CELL
    assert terminal_text("a\nb", keep_newlines=True) == "a\nb"


@pytest.fixture
def hostile_url(sqlite_url: str) -> str:
    for name in (HOSTILE, "y" * 10_000, "plain"):
        study = S.create(name, sqlite_url)
        S.fill(study, [({"attention.pooling": "gap"}, [0.5, 0.6]),
                       ({"attention.pooling": "max"}, [0.7, 0.8])])
    return sqlite_url


def test_studies_escapes_names_and_caps_widths(hostile_url: str, capsys) -> None:
    assert main(["studies", "--storage", hostile_url]) == 0
    out = capsys.readouterr().out
    _clean(out)
    lines = out.strip().splitlines()
    assert len(lines) == 4, lines  # the header and three studies: a newline in a name splits none
    assert max(map(len, lines)) < 400
    assert any("\\x1b[2J" in line for line in lines)


def test_compare_escapes_the_study_name(hostile_url: str, capsys) -> None:
    main(["compare", "--study", HOSTILE, "--storage", hostile_url, "--baseline", "attention.pooling=gap"])
    captured = capsys.readouterr()
    _clean(captured.out)
    assert "\\x1b[2J" in captured.out


def test_the_live_view_escapes_a_fail_reason() -> None:
    from poolnas.search._live import LiveView

    stream = io.StringIO()
    live = LiveView(study="s", metric="val_acc", mode="max", target=2, counts={}, best=None,
                    stream=stream, enabled=True, epochs=1)
    live.note(f"x {terminal_cell(HOSTILE)}")
    live.told("FAIL", None, 0, HOSTILE)
    live.close()
    _clean(stream.getvalue().replace("\r", "").replace("\x1b[K", ""))
    assert "\\x1b[2J" in stream.getvalue()
