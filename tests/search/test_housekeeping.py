"""``poolnas studies delete | rename | copy`` on real SQLite and PostgreSQL: --yes, one-line
errors, nothing changed on a refusal, the driver lease respected (issue 22 item 5)."""

from __future__ import annotations

import optuna
import pytest

from poolnas.cli import main
from poolnas.search._lease import DriverLease
from poolnas.storage import open_storage
from poolnas.testing import synthetic_studies as S

GAP = {"attention.pooling": "gap"}
MAX = {"attention.pooling": "max"}


@pytest.fixture
def two(sqlite_url):
    for name in ("keep", "wrong-space"):
        s = S.create(name, sqlite_url)
        S.fill(s, [(GAP, [0.5, 0.52]), (MAX, [0.6, 0.61])])
    return sqlite_url


def _names(url: str) -> list[str]:
    return sorted(s.study_name for s in optuna.get_all_study_summaries(url))


def _rows(url: str, name: str) -> list[tuple]:
    study = optuna.load_study(study_name=name, storage=url)
    return [(t.number, t.state.name, t.values, t.params, t.user_attrs) for t in study.get_trials()]


def test_delete_needs_yes_and_deletes_only_that_study(two, capsys):
    before = _rows(two, "wrong-space")
    assert main(["studies", "delete", "wrong-space", "--storage", two]) == 2
    err = capsys.readouterr().err
    assert "would delete study 'wrong-space' and its 4 trials" in err and "--yes" in err
    assert err.count("\n") == 1 and _rows(two, "wrong-space") == before  # nothing changed
    assert main(["studies", "delete", "wrong-space", "--storage", two, "--yes"]) == 0
    assert "deleted study 'wrong-space' (4 trials)" in capsys.readouterr().out
    assert _names(two) == ["keep"] and len(_rows(two, "keep")) == 4


def test_rename_keeps_trials_and_attributes(two, capsys):
    before = _rows(two, "wrong-space")
    attrs = optuna.load_study(study_name="wrong-space", storage=two).user_attrs
    assert main(["studies", "--storage", two, "rename", "wrong-space", "first-try", "--yes"]) == 0
    assert _names(two) == ["first-try", "keep"]
    assert _rows(two, "first-try") == before
    assert optuna.load_study(study_name="first-try", storage=two).user_attrs == attrs
    capsys.readouterr()
    assert main(["compare", "--study", "first-try", "--storage", two]) == 0  # still readable


@pytest.mark.parametrize("argv, words", [
    (["rename", "keep", "wrong-space", "--yes"], "NEW: 'wrong-space' is not accepted; a study of that name"),
    (["rename", "kep", "other", "--yes"], "no such study in sqlite:///"),
    (["delete", "wrong-spac", "--yes"], "(did you mean 'wrong-space'?)"),
    (["copy", "keep", "--to", "sqlite:///{db}"], "is the study's own database; give --as NEW"),
    (["copy", "keep", "--to", "sqlite:///{db}", "--as", "wrong-space"], "--as: 'wrong-space' is not"),
])
def test_one_line_errors_change_nothing(two, capsys, argv, words):
    db = two.removeprefix("sqlite:///")
    before = {n: _rows(two, n) for n in _names(two)}
    assert main(["studies", *[a.format(db=db) for a in argv], "--storage", two]) == 2
    err = capsys.readouterr().err
    assert words in err and err.count("\n") == 1, err
    assert {n: _rows(two, n) for n in _names(two)} == before


def test_a_live_driver_holds_the_study(two, capsys):
    lease = DriverLease(open_storage(two).engine, "keep", heartbeat_s=1.0, grace_s=30.0)
    lease.acquire()  # this process: a live driver on this machine
    try:
        before = _rows(two, "keep")
        for argv in (["delete", "keep", "--yes"], ["rename", "keep", "other", "--yes"],
                     ["copy", "keep", "--to", two, "--as", "copied"]):
            assert main(["studies", *argv, "--storage", two]) == 2
            err = capsys.readouterr().err
            assert "it has a live driver" in err and err.count("\n") == 1
        assert _rows(two, "keep") == before and _names(two) == ["keep", "wrong-space"]
    finally:
        lease.release()
    assert main(["studies", "delete", "keep", "--yes", "--storage", two]) == 0  # released: it goes


def test_copy_to_a_new_sqlite_file_and_to_postgresql(two, tmp_path, postgres_url, capsys):
    target = f"sqlite:///{tmp_path}/shared.db"
    assert main(["studies", "copy", "keep", "--to", target, "--storage", two]) == 0
    assert "copied study 'keep' (4 trials)" in capsys.readouterr().out
    assert _rows(target, "keep") == _rows(two, "keep")
    assert main(["compare", "--study", "keep", "--storage", target, "--format", "json"]) == 0
    copied = capsys.readouterr().out
    assert main(["compare", "--study", "keep", "--storage", two, "--format", "json"]) == 0
    assert copied == capsys.readouterr().out  # the same verdicts from the copy
    assert main(["studies", "copy", "keep", "--to", target, "--storage", two]) == 2  # taken there
    name = f"hk-{tmp_path.name}"[:60]
    from sqlalchemy.engine import make_url

    url = make_url(postgres_url)
    with_password = url.set(password="s3cret-pw").render_as_string(hide_password=False)  # trust auth
    assert main(["studies", "copy", "keep", "--to", with_password, "--as", name, "--storage", two]) == 0
    out = capsys.readouterr().out
    assert f"as '{name}'" in out and "s3cret-pw" not in out  # the URL is printed redacted
    assert _rows(postgres_url, name) == _rows(two, "keep")
    assert main(["studies", "delete", name, "--storage", postgres_url, "--yes"]) == 0
