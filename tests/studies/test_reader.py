"""Reading a study once: the fast RDB reader equals Optuna's, grouping and stats."""

from __future__ import annotations

import math

import optuna
import pytest
from optuna.trial import TrialState

from poolnas.errors import ConfigError
from poolnas.records import flatten
from poolnas.studies import _rdb_read
from poolnas.studies._rdb_read import KNOWN_SCHEMAS, read_trials
from poolnas.studies.reader import label, load_study, summarize
from poolnas.testing import synthetic_studies as S


def test_fast_reader_equals_optuna(sqlite_url):
    storage = optuna.storages.RDBStorage(sqlite_url)
    study = S.create("read-me", storage)
    S.fill(study, [({"attention.pooling": "srp-ms", "attention.lam": 0.6, "attention.M": 3,
                     "attention.placement.stages": [2, 3]}, [0.7, 0.8])])
    S.add_trial(study, {"attention.pooling": "gap"}, 0, None, state=TrialState.FAIL)
    S.add_trial(study, {"attention.pooling": "gap"}, 1, float("-inf"))
    ours, theirs = read_trials(study, storage), study.get_trials(deepcopy=False)
    assert len(ours) == len(theirs) == 4
    for a, b in zip(ours, theirs, strict=True):
        assert (a.number, a.state, a.values, a.params, a.distributions, a.user_attrs, a.datetime_start,
                a._trial_id) == (b.number, b.state, b.values, b.params, b.distributions, b.user_attrs,
                                 b.datetime_start, b._trial_id)


def test_reader_knows_the_installed_optuna_schema(sqlite_url):
    # An Optuna upgrade that changes its schema fails here, not silently in a report.
    assert optuna.storages.RDBStorage(sqlite_url).get_current_version() in KNOWN_SCHEMAS


def test_unknown_schema_reads_through_optuna_and_says_so(sqlite_url, monkeypatch):
    storage = optuna.storages.RDBStorage(sqlite_url)
    study = S.create("other-schema", storage)
    S.fill(study, [({"attention.pooling": "gap"}, [0.5, 0.6])])
    monkeypatch.setattr(_rdb_read, "KNOWN_SCHEMAS", frozenset({"v9.9.9"}))
    with pytest.warns(RuntimeWarning, match="not one poolnas reads directly"):
        trials = read_trials(study, storage)
    assert [t.value for t in trials] == [0.5, 0.6]


def test_a_broken_known_schema_fails_loudly(sqlite_url):
    from sqlalchemy import text
    from sqlalchemy.exc import OperationalError

    storage = optuna.storages.RDBStorage(sqlite_url)
    study = S.create("broken", storage)
    S.fill(study, [({"attention.pooling": "gap"}, [0.5])])
    with storage.engine.begin() as conn:
        conn.execute(text("ALTER TABLE trial_params RENAME TO trial_params_gone"))
    with pytest.raises(OperationalError):
        read_trials(study, storage)


def test_in_memory_storage_falls_back():
    study = S.create("memory")
    S.fill(study, [({"attention.pooling": "gap"}, [0.5])])
    assert [t.number for t in read_trials(study)] == [0]


def test_load_study_names_the_close_ones(sqlite_url):
    S.create("srp-fig3-resnet56", sqlite_url)
    with pytest.raises(ConfigError) as err:
        load_study("srp-fig3-resnet65", sqlite_url)
    assert "did you mean 'srp-fig3-resnet56'" in str(err.value)
    data = load_study("srp-fig3-resnet56", optuna.storages.RDBStorage(sqlite_url))
    assert data.rows == [] and data.metric == "test_acc" and data.maximize


@pytest.mark.parametrize("make", ["single", "multi"])
def test_load_study_by_url_reads_as_through_optuna(sqlite_url, make):
    # a URL is read by SQL (no RDBStorage), an RDBStorage through Optuna: the same StudyData
    if make == "single":
        study = S.create("same", sqlite_url)
        S.fill(study, [({"attention.pooling": "srp-ms", "attention.lam": 0.6}, [0.7, 0.8]),
                       ({"attention.pooling": "gap"}, [0.6])])
        S.add_trial(study, {"attention.pooling": "gap"}, 1, None, state=TrialState.FAIL)
    else:
        S.create_multi("same", sqlite_url)
    by_sql = load_study("same", sqlite_url)
    by_optuna = load_study("same", optuna.storages.RDBStorage(sqlite_url))
    fields = ("name", "storage", "direction", "metric", "state_counts", "space", "user_attrs", "objectives")
    assert [getattr(by_sql, f) for f in fields] == [getattr(by_optuna, f) for f in fields]
    assert by_sql.storage == sqlite_url and by_sql.rows
    assert [(r.number, r.value, r.flat, r.state) for r in by_sql.records] == [
        (r.number, r.value, r.flat, r.state) for r in by_optuna.records]
    for a, b in zip(by_sql.trials, by_optuna.trials, strict=True):
        assert (a.number, a.state, a.values, a.params, a.distributions, a.user_attrs, a.datetime_start,
                a.datetime_complete, a._trial_id) == (b.number, b.state, b.values, b.params, b.distributions,
                                                      b.user_attrs, b.datetime_start, b.datetime_complete,
                                                      b._trial_id)
    assert type(by_sql.trials[0]) is type(by_optuna.trials[0])  # FrozenTrials, for Optuna's plots


def test_helpers():
    assert flatten({"a": {"b": 1, "c": [1, 2]}, "d": None}) == {"a.b": 1, "a.c": (1, 2), "d": None}
    assert [label(v) for v in (None, (1, 2), 0.5, "x")] == ["all", "1,2", "0.5", "x"]
    s = summarize([1.0, 2.0, 3.0])
    assert s.mean == 2.0 and s.std == pytest.approx(1.0) and s.n == 3
    assert summarize([4.0]) == (4.0, 0.0, 1) and math.isnan(summarize([]).mean)
