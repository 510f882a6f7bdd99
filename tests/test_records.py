"""poolnas.records.trial_record: one record per stored trial, whatever reads it.

A poolnas trial (config, config_key, metrics in user attributes), a trial of a study poolnas
did not write (params only), a failed one, and the same trials read through Optuna and
through the SQL reader's LiteTrials (equal records). flatten against its definition."""

from __future__ import annotations

import math
from collections import OrderedDict
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import optuna
from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution
from optuna.trial import TrialState, create_trial

from poolnas.evidence import configurations
from poolnas.records import TrialAttrs, TrialRecord, config_key, flatten, trial_record
from poolnas.studies.reader import load_study, read_quick
from poolnas.studies.sql_reader import open_reader
from poolnas.testing import synthetic_studies as S

LISTS = CategoricalDistribution(["[1, 2]", "[3]", "a"])


def _poolnas_trial(seed: int = 3, value: float | None = 0.75, state: TrialState = TrialState.COMPLETE,
                   extra: dict[str, Any] | None = None) -> Any:
    config = S.make_config({"attention.pooling": "srp-ms", "attention.M": 5,
                            "attention.placement.stages": [1, 2]}, seed)
    attrs = {TrialAttrs.CONFIG: config, TrialAttrs.CONFIG_KEY: config_key(config),
             TrialAttrs.METRICS: {"test_acc": 0.75, "train_loss": 0.5}, TrialAttrs.N_PARAMS: 1234,
             TrialAttrs.CHECKPOINT: "/ckpt/t7.pt", TrialAttrs.WALL_TIME: 12.5, **(extra or {})}
    trial = create_trial(
        params={"attention.pooling": "srp-ms", "attention.placement.stages": "[1, 2]", "seed": seed},
        distributions={"attention.pooling": CategoricalDistribution(["gap", "srp-ms"]),
                       "attention.placement.stages": LISTS, "seed": IntDistribution(0, 100)},
        value=value if state == TrialState.COMPLETE else None, state=state, user_attrs=attrs)
    trial.number = 7
    return trial


def test_poolnas_trial() -> None:
    trial = _poolnas_trial()
    rec = trial_record(trial)
    config = trial.user_attrs[TrialAttrs.CONFIG]
    assert isinstance(rec, TrialRecord)
    assert (rec.number, rec.state, rec.values, rec.value) == (7, "COMPLETE", (0.75,), 0.75)
    assert rec.config is config and rec.config["seed"] == 3 and rec.seed == 3
    assert rec.flat["attention.pooling"] == "srp-ms" and rec.flat["seed"] == 3
    assert rec.flat["attention.placement.stages"] == (1, 2)  # lists as tuples, hashable
    assert rec.flat["attention.batch_attention.parts"] == ("channel", "local", "global")
    assert len(rec.flat) == len(flatten(config)) > 40
    assert rec.config_key == trial.user_attrs[TrialAttrs.CONFIG_KEY]
    assert rec.params == {"attention.pooling": "srp-ms", "attention.placement.stages": "[1, 2]", "seed": 3}
    assert rec.metrics == {"test_acc": 0.75, "train_loss": 0.5}
    assert (rec.n_params, rec.checkpoint, rec.wall_time, rec.fail_reason) == (1234, "/ckpt/t7.pt", 12.5, None)
    assert rec.user_attrs is trial.user_attrs
    # repeats over seeds share the key; a trial that lost its stored key gets the same one
    assert trial_record(_poolnas_trial(seed=9)).config_key == rec.config_key
    bare = _poolnas_trial(seed=9)
    del bare.user_attrs[TrialAttrs.CONFIG_KEY]
    assert trial_record(bare).config_key == rec.config_key


def test_trial_with_only_params() -> None:
    """A study poolnas did not write: the params are the configuration (seed apart)."""
    dists = {"x": FloatDistribution(0, 10), "c": LISTS, "seed": IntDistribution(0, 10)}
    one = trial_record(create_trial(params={"x": 2.0, "c": "[1, 2]", "seed": 4}, distributions=dists,
                                    value=0.4))
    assert one.config == {} and one.seed == 4 and one.value == 0.4
    assert one.flat == {"x": 2.0, "c": (1, 2)}  # no seed; a list stored as JSON text read back
    assert one.params == {"x": 2.0, "c": "[1, 2]", "seed": 4}  # as stored
    assert one.config_key == repr([("c", (1, 2)), ("x", 2.0)])
    assert (one.metrics, one.n_params, one.checkpoint, one.wall_time, one.fail_reason) == ({}, None, None,
                                                                                          None, None)
    other_seed = trial_record(create_trial(params={"x": 2.0, "c": "[1, 2]", "seed": 5}, distributions=dists,
                                           value=0.5))
    assert other_seed.config_key == one.config_key and other_seed.seed == 5
    lone = create_trial(params={}, distributions={}, value=0.9)
    lone.number = 6
    assert trial_record(lone).config_key == "trial 6"  # no params: it stands alone
    assert trial_record(lone).seed is None
    float_seed = create_trial(params={"seed": 1.0}, distributions={"seed": FloatDistribution(0, 2)}, value=1)
    assert trial_record(float_seed).seed is None  # a seed is an int


def test_failed_and_unfinished_trials() -> None:
    failed = trial_record(_poolnas_trial(state=TrialState.FAIL,
                                         extra={TrialAttrs.FAIL_REASON: "RuntimeError: out of memory"}))
    assert (failed.state, failed.values, failed.value) == ("FAIL", None, None)
    assert failed.fail_reason == "RuntimeError: out of memory"
    assert failed.seed == 3 and failed.config and failed.metrics["test_acc"] == 0.75
    infinite = trial_record(_poolnas_trial(value=math.inf))
    assert infinite.values == (math.inf,) and infinite.value is None  # stored, not a value to rank
    waiting = create_trial(state=TrialState.WAITING, params={}, distributions={})
    rec = trial_record(waiting)
    assert (rec.state, rec.values, rec.value, rec.config, rec.flat) == ("WAITING", None, None, {}, {})


def _fill(url: str) -> None:
    study = S.create("s", url)
    S.fill(study, [({"attention.pooling": "gap"}, [0.8, 0.81]),
                   ({"attention.pooling": "srp-ms", "attention.M": 3}, [0.85])])
    S.add_trial(study, {"attention.pooling": "gap"}, 5, None, state=TrialState.FAIL)
    study.add_trial(create_trial(state=TrialState.RUNNING, params={}, distributions={}))
    listed = optuna.create_study(study_name="p", storage=url)
    listed.add_trial(_poolnas_trial())
    listed.add_trial(_poolnas_trial(seed=4, state=TrialState.FAIL, extra={TrialAttrs.FAIL_REASON: "x"}))
    foreign = optuna.create_study(study_name="f", storage=url, directions=["minimize", "maximize"])
    dists = {"x": FloatDistribution(0, 10), "c": LISTS, "n": IntDistribution(0, 9)}
    foreign.add_trial(create_trial(params={"x": 1.5, "c": "[3]", "n": 4}, distributions=dists,
                                   values=[0.5, math.inf], user_attrs={"note": [1, 2]}))
    foreign.add_trial(create_trial(params={"x": 2.5, "c": "a", "n": 2}, distributions=dists,
                                   state=TrialState.FAIL, user_attrs={TrialAttrs.FAIL_REASON: "boom"}))
    foreign.enqueue_trial({"x": 3.0})


def test_lite_trial_gives_the_records_of_optuna(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 's.db'}"
    _fill(url)
    reader = open_reader(url)
    assert reader is not None
    for name in ("s", "p", "f"):
        lite = reader.get_all_trials(reader.get_study_id_from_name(name))
        frozen = optuna.load_study(study_name=name, storage=url).get_trials()
        assert len(lite) == len(frozen) >= 2
        for a, b in zip(lite, frozen, strict=True):
            assert trial_record(a) == trial_record(b)
        # the study readers hold the same records (the fast FrozenTrial path and the SQL one)
        want = [trial_record(t) for t in frozen]
        assert load_study(name, url).records == read_quick(name, url).records == want


def test_study_data_rows_are_its_complete_records(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 's.db'}"
    _fill(url)
    data = load_study("s", url)
    assert [r.number for r in data.records] == [t.number for t in data.trials]
    assert data.rows == [r for r in data.records if r.state == "COMPLETE" and r.value is not None]
    assert [r.number for r in data.rows] == [0, 1, 2]
    assert [r.state for r in data.records[3:]] == ["FAIL", "RUNNING"]
    assert data.state_counts == {"RUNNING": 1, "COMPLETE": 3, "PRUNED": 0, "FAIL": 1, "WAITING": 0}
    by_records = configurations(data.records, data.metric, data.mode)
    by_trials = configurations(data.trials, data.metric, data.mode)
    assert [(c.key, c.params, c.config, c.seeds, c.values, c.trials, c.flat) for c in by_records] == \
        [(c.key, c.params, c.config, c.seeds, c.values, c.trials, c.flat) for c in by_trials]
    assert all(c.runs and "seed" not in c.flat for c in by_records)


def _flatten_by_definition(doc: Any, prefix: str = "") -> dict[str, Any]:
    """flatten's definition, written the plain recursive way."""
    out: dict[str, Any] = {}
    if isinstance(doc, Mapping):
        for key, value in doc.items():
            name = f"{prefix}.{key}" if prefix else str(key)
            if isinstance(value, Mapping):
                out.update(_flatten_by_definition(value, name))
            else:
                out[name] = tuple(value) if isinstance(value, list) else value
    return out


def test_flatten_follows_its_definition() -> None:
    docs = [{}, {"a": 1}, {"a": {"b": [1, 2], "c": {"d": None}}, "e": (1,)},
            {"a.b": 1, "a": {"b": 2}}, {1: {2: 3.5}}, OrderedDict(x=OrderedDict(y=[1])),
            {"x": {}, "z": [[1], 2], "t": True}, [1, 2], 5, "text",
            S.make_config({"attention.pooling": "srp-ms", "attention.placement.stages": [2, 3]}, 1)]
    for doc in docs:
        for prefix in ("", "p"):
            got, want = flatten(doc, prefix), _flatten_by_definition(doc, prefix)
            assert list(got.items()) == list(want.items())
            assert [type(v) for v in got.values()] == [type(v) for v in want.values()]


def test_rows_of_a_study_poolnas_did_not_write(tmp_path: Path) -> None:
    """``export --format csv`` and ``poolnas.load(...).trials`` from the records: a trial without
    a poolnas config has no stored config_key (blank), its params as stored, seed included."""
    from poolnas.api import load
    from poolnas.dashboards.export import trials_csv

    url = f"sqlite:///{tmp_path / 's.db'}"
    _fill(url)
    assert trials_csv(load_study("f", url)) == (
        "number,state,value,config_key,group_mean,group_std,group_n,n_params,checkpoint,fail_reason,"
        "params.c,params.n,params.x,values.objective,values.objective_1\n"
        "0,COMPLETE,0.5,,,,,,,,[3],4,1.5,0.5,inf\n"
        "1,FAIL,,,,,,,,boom,a,2,2.5,,\n"
        "2,WAITING,,,,,,,,,,,,,\n")
    frame = load("f", url).trials
    assert list(frame.columns) == ["number", "state", "value", "values", "config_key", "seed", "c", "n", "x",
                                   "n_params", "wall_time", "fail_reason"]
    first = frame.iloc[0]
    assert (first["state"], first["value"], first["values"], first["c"], first["n"]) == (
        "COMPLETE", 0.5, [0.5, math.inf], "[3]", 4)
    assert first["config_key"] is None and first["seed"] is None
    assert list(frame["fail_reason"].fillna("")) == ["", "boom", ""]
