"""``cyclic_gc_paused``: the cyclic collector is off inside the block and as it was after it
(raising or not); ``poolnas report`` called in-process leaves it as it found it."""

from __future__ import annotations

import gc

import pytest

from poolnas.cli import main
from poolnas.process_settings import cyclic_gc_paused
from poolnas.testing import synthetic_studies as S


def test_off_inside_and_restored_after() -> None:
    assert gc.isenabled()
    with cyclic_gc_paused():
        assert not gc.isenabled()
    assert gc.isenabled()
    with pytest.raises(RuntimeError), cyclic_gc_paused():
        raise RuntimeError("boom")
    assert gc.isenabled()


def test_a_caller_that_had_it_off_keeps_it_off() -> None:
    gc.disable()
    try:
        with cyclic_gc_paused():
            assert not gc.isenabled()
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_report_command_restores_the_collector(sqlite_url, tmp_path) -> None:
    S.fill(S.create("gc", sqlite_url), [({"attention.pooling": p}, [0.5 + i / 10, 0.52])
                                        for i, p in enumerate(["gap", "max"])])
    assert main(["report", "--study", "gc", "--storage", sqlite_url, "-o", str(tmp_path / "r.html")]) == 0
    assert gc.isenabled()
    assert main(["report", "--study", "nope", "--storage", sqlite_url, "-o", str(tmp_path / "s.html")]) == 2
    assert gc.isenabled()
