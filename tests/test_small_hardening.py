"""Smaller hardening (issue 21 item 12): YAML and JSON duplicate keys refused naming the line;
a 5,000-digit integer is one line, exit 2; CSV cells that a spreadsheet would run as formulas
are neutralised; a writable dashboard on a non-loopback address needs an explicit flag;
optuna-dashboard's importances answer 200 when every trial has the same value."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
import threading
import urllib.request
from pathlib import Path

import optuna
import pytest
from optuna.distributions import CategoricalDistribution

from poolnas.cli import main
from poolnas.errors import MAX_LINE
from poolnas.records import StudyAttrs, TrialAttrs
from poolnas.testing import synthetic_studies as S


def _validate(path: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "poolnas", "space", "validate", str(path)],
                          capture_output=True, text=True, timeout=120)


def _one_line(out: subprocess.CompletedProcess, *words: str) -> None:
    assert out.returncode == 2, out.stderr[-2000:]
    assert out.stderr.count("\n") == 1 and len(out.stderr) <= MAX_LINE + 80, out.stderr[:2000]
    assert all(w in out.stderr for w in words), out.stderr


def test_duplicate_keys_are_refused_naming_the_line(tmp_path: Path) -> None:
    path = tmp_path / "dup.yaml"
    path.write_text("study: a\nsampler: random\ntrials: 2\nspace:\n  attention.reduction: {int: [2, 8]}\n"
                    "  attention.reduction: {int: [4, 16]}\n")
    _one_line(_validate(path), "line 6", "attention.reduction", "duplicate key (first at line 5)")
    top = tmp_path / "top.yaml"
    top.write_text("study: a\ntrials: 2\nstudy: b\n")
    _one_line(_validate(top), "line 3", "'study'")
    js = tmp_path / "dup.json"
    js.write_text('{"study": "a", "trials": 2, "study": "b"}')
    _one_line(_validate(js), "duplicate key", "'study'")


@pytest.mark.parametrize("suffix", ["yaml", "json"])
def test_a_5000_digit_integer_is_one_line(tmp_path: Path, suffix: str) -> None:
    path = tmp_path / f"big.{suffix}"
    big = "9" * 5000
    text = f"study: a\ntrials: {big}\n" if suffix == "yaml" else f'{{"study": "a", "trials": {big}}}'
    path.write_text(text)
    _one_line(_validate(path), "digits")


def test_csv_formula_injection_is_neutralised(sqlite_url: str, tmp_path: Path) -> None:
    study = optuna.create_study(study_name="csv", storage=sqlite_url)
    study.set_user_attr(StudyAttrs.OBJECTIVE, {"metric": "test_acc", "mode": "max"})
    hostile = ['=HYPERLINK("http://x","y")', "+1+1", "-2+3", "@SUM(A1)", "\tx"]
    for i, text in enumerate(hostile):
        study.add_trial(optuna.trial.create_trial(
            params={"attention.pooling": text}, value=0.5 + i / 100,
            distributions={"attention.pooling": CategoricalDistribution(hostile)},
            user_attrs={TrialAttrs.FAIL_REASON: text, TrialAttrs.METRICS: {"=cmd|' /C calc'!A0": -1.5}}))
    out = tmp_path / "t.csv"
    assert main(["export", "--study", "csv", "--storage", sqlite_url, "-o", str(out)]) == 0
    rows = list(csv.reader(io.StringIO(out.read_text())))
    cells = [c for row in rows for c in row]
    assert not [c for c in cells if c[:1] in ("=", "+", "@", "\t")], cells
    assert not [c for c in cells if c.startswith("-") and not _number(c)], cells
    assert "'=HYPERLINK(\"http://x\",\"y\")" in cells and "-1.5" in cells  # numbers stay numbers


def _number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def test_a_writable_dashboard_on_every_interface_needs_an_explicit_flag(sqlite_url: str, capsys) -> None:
    S.create("d", sqlite_url)
    assert main(["dashboard", "--storage", sqlite_url, "--host", "0.0.0.0", "--allow-write"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--i-know-its-public" in err and "--host" in err


def test_importances_answer_when_every_trial_has_the_same_value(sqlite_url: str) -> None:
    from poolnas.dashboards.server import make_dashboard_server
    from poolnas.storage import open_storage

    study = S.create("same", sqlite_url)
    S.fill(study, [({"attention.pooling": p}, [0.5, 0.5]) for p in ("gap", "max", "mix")])
    server = make_dashboard_server(open_storage(sqlite_url, create=False), port=0)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        sid = open_storage(sqlite_url, create=False).get_study_id_from_name("same")
        url = f"http://127.0.0.1:{server.server_port}/api/studies/{sid}/param_importances"
        with urllib.request.urlopen(url, timeout=60) as resp:
            assert resp.status == 200
            assert json.loads(resp.read()) == {"param_importances": [[]]}
    finally:
        server.shutdown()
        server.server_close()
