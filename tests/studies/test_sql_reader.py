"""poolnas.studies.sql_reader reads what Optuna stored, without Optuna: studies, directions, user
attributes and every trial's state, values, params and user attributes, on a real SQLite
study written by Optuna (single- and multi-objective, categorical list params, ±inf); a plain
sqlite:/// file through sqlite3 reads exactly what SQLAlchemy Core reads."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import optuna
import pytest
from sqlalchemy import create_engine, text

from poolnas.errors import ConfigError
from poolnas.studies.sql_reader import SqliteFile, SqlReader, json_value, open_reader, query_trials


def _fill(url: str) -> None:
    optuna.logging.set_verbosity(optuna.logging.ERROR)
    s = optuna.create_study(study_name="one", storage=url, direction="maximize")
    s.set_user_attr("objective", {"metric": "val_acc", "mode": "max"})
    for i in range(5):
        t = s.ask()
        t.suggest_categorical("attention.placement.stages", ["[1, 2]", "[3]"])
        t.suggest_int("attention.M", 1, 6)
        t.suggest_float("trainer.lr", 1e-3, 1.0, log=True)
        t.set_user_attr("config", {"seed": i, "attention": {"pooling": "gap"}})
        if i == 3:
            s.tell(t, state=optuna.trial.TrialState.FAIL)
        elif i == 4:
            s.tell(t, float("inf"))
        else:
            s.tell(t, 0.5 + i / 10)
    m = optuna.create_study(study_name="two", storage=url, directions=["maximize", "minimize"])
    t = m.ask()
    t.suggest_categorical("attention.pooling", ["gap", "max"])
    m.tell(t, [0.9, 1234.0])
    m.ask()  # left RUNNING


def test_reader_matches_optuna(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/s.db"
    _fill(url)
    reader = open_reader(url)
    assert isinstance(reader, SqlReader)
    storage = optuna.storages.RDBStorage(url)
    for summary in storage.get_all_studies():
        study = optuna.load_study(study_name=summary.study_name, storage=storage)
        lite = reader.study(study.study_name)
        assert [d.name for d in lite.directions] == [d.name for d in study.directions]
        assert lite.user_attrs == study.user_attrs
        got = reader.get_all_trials(reader.get_study_id_from_name(study.study_name))
        want = study.get_trials()
        assert [t.number for t in got] == [t.number for t in want]
        for g, w in zip(got, want, strict=True):
            assert g.state.name == w.state.name
            assert g.values == w.values
            assert g.params == w.params
            assert g.user_attrs == w.user_attrs


def test_missing_file_and_unknown_schema(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        open_reader(f"sqlite:///{tmp_path}/nope.db")
    assert not (tmp_path / "nope.db").exists()
    url = f"sqlite:///{tmp_path}/old.db"
    _fill(url)
    with create_engine(url).begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = 'v9.9.9'"))
    assert open_reader(url) is None  # the callers then read through Optuna
    other = tmp_path / "plain.db"
    with create_engine(f"sqlite:///{other}").begin() as conn:
        conn.execute(text("CREATE TABLE x (a INTEGER)"))
    with pytest.raises(ConfigError, match="not an Optuna database"):  # another application's
        open_reader(f"sqlite:///{other}")


def test_quick_readers_do_not_import_optuna(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/s.db"
    _fill(url)
    code = (f"import sys; from poolnas.cli import main; rc = main(['studies', '--storage', {url!r}]); "
            "print('optuna' in sys.modules, rc)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.stdout.strip().splitlines()[-1] == "False 0", out.stdout + out.stderr
    assert "one" in out.stdout and "two" in out.stdout


def test_sqlite3_reads_what_sqlalchemy_reads(tmp_path: Path) -> None:
    # A plain sqlite:/// URL is read with sqlite3: the same rows, values, types and orders as
    # SQLAlchemy Core's read of the same file (datetimes, ±inf, a RUNNING trial's NULLs, JSON).
    url = f"sqlite:///{tmp_path}/s.db"
    _fill(url)
    lite = open_reader(url)
    assert isinstance(lite, SqlReader) and isinstance(lite.engine, SqliteFile)
    core = SqlReader(create_engine(url), url)
    assert repr(lite.get_all_studies()) == repr(core.get_all_studies())
    for study in core.get_all_studies():
        ours, theirs = query_trials(lite.engine, study.study_id), query_trials(core.engine, study.study_id)
        assert [tuple(r) for r in ours[0]] == [tuple(r) for r in theirs[0]]
        assert repr([tuple(r) for r in ours[0]]) == repr([tuple(r) for r in theirs[0]])  # types too
        assert repr(ours[1:]) == repr(theirs[1:])  # dict orders and value types
        assert repr(lite.get_all_trials(study.study_id)) == repr(core.get_all_trials(study.study_id))
    assert any(r[4] is None for r in query_trials(lite.engine, 2)[0])  # the RUNNING trial


def test_sqlite3_path_answers_like_sqlalchemy(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/old.db"
    _fill(url)
    with create_engine(url).begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = 'v9.9.9'"))
    assert open_reader(url) is None
    with create_engine(url).begin() as conn:
        conn.execute(text("DROP TABLE alembic_version"))
    assert open_reader(url) is None  # no revision table: read through Optuna, which says what it is
    # a URL SQLAlchemy has to parse (a query) still goes through SQLAlchemy
    fresh = f"sqlite:///{tmp_path}/q.db"
    _fill(fresh)
    assert not isinstance(open_reader(fresh + "?timeout=5").engine, SqliteFile)


def test_a_report_reader_imports_no_sqlalchemy(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/s.db"
    _fill(url)
    code = ("import sys; from poolnas.studies.reader import load_study, read_quick; "
            f"d = load_study('one', {url!r}); q = read_quick('two', {url!r}); "
            "print(len(d.trials), len(q.trials), 'sqlalchemy' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.stdout.strip().splitlines()[-1] == "5 2 False", out.stdout + out.stderr


@pytest.mark.parametrize("text", [
    '{"a": [1, 2.5, null, true], "b": {"c": "é\\u00e9"}}', "0.1", "-3", '"x"', "null", "NaN", "-Infinity",
    "[]", " 1", "1 ", "\n[1]\n", b'{"a": 1}', "[1e400]", '{"a": 1, "a": 2}',
])
def test_json_value_is_json_loads(text) -> None:
    got, want = json_value(text), json.loads(text)
    assert repr(got) == repr(want)


@pytest.mark.parametrize("text", ["", "[1,", "1 2", "{'a': 1}", "[1]]", "tru", " "])
def test_json_value_refuses_what_json_loads_refuses(text) -> None:
    with pytest.raises(json.JSONDecodeError) as want:
        json.loads(text)
    with pytest.raises(json.JSONDecodeError) as got:
        json_value(text)
    assert str(got.value) == str(want.value)
