"""The command line itself: one-line errors with exit 2 for bad flags."""

from __future__ import annotations

import subprocess
import sys

import pytest

from poolnas.cli import main


def test_every_handler_exists() -> None:
    import importlib

    from poolnas.cli import _HANDLERS

    for key, target in _HANDLERS.items():
        module, func = target.split(":")
        assert callable(getattr(importlib.import_module(module), func)), key


@pytest.mark.parametrize(
    "argv",
    [
        ["sweep", "x.yaml", "--trials", "0"],
        ["sweep", "x.yaml", "--max-concurrent", "two"],
        ["dashboard", "--port", "70000"],
        ["export", "--study", "s", "--format", "xml"],
        ["train", "--config", "c.yaml", "--device", "tpu"],
        ["nosuchcommand"],
    ],
)
def test_bad_flags_exit_2_with_one_line(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(argv)
    assert info.value.code == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1, err


def test_console_script_runs() -> None:
    out = subprocess.run([sys.executable, "-m", "poolnas", "--version"], capture_output=True, text=True)
    assert out.returncode == 0 and out.stdout.startswith("poolnas ")
