"""Every reader on a real multi-objective Optuna study (SQLite): the objectives helper,
`poolnas compare` (table and JSON: cost, pareto), `studies`, `poolnas.load`, and the Pareto
set of the stored study against a brute-force computation from Optuna's own trial values."""

from __future__ import annotations

import json
import math
from collections import defaultdict

import optuna
import pytest
from optuna.study import StudyDirection

from poolnas.cli import main
from poolnas.evidence.pareto import front_objectives
from poolnas.records import study_objectives
from poolnas.testing import synthetic_studies as synthetic


@pytest.fixture
def mo_url(sqlite_url):
    synthetic.create_multi("mo", sqlite_url)
    return sqlite_url


def test_study_objectives_from_dict_list_and_directions() -> None:
    one = study_objectives({"metric": "val_acc", "mode": "max"}, [StudyDirection.MAXIMIZE])
    assert one == [("val_acc", "max")]
    assert study_objectives(synthetic.MO_OBJECTIVES, [StudyDirection.MAXIMIZE, StudyDirection.MINIMIZE]) == [
        ("test_acc", "max"), ("flops", "min")]
    # no attribute (not a poolnas study): names from the directions' count, modes from them
    assert study_objectives(None, [StudyDirection.MINIMIZE, StudyDirection.MAXIMIZE]) == [
        ("objective", "min"), ("objective_1", "max")]
    assert study_objectives({"metric": "loss"}, ["MINIMIZE"]) == [("loss", "min")]
    assert study_objectives(None) == [("objective", "max")]
    assert front_objectives([("test_acc", "max")]) == [("test_acc", "max"), ("flops", "min")]
    assert front_objectives([("a", "max"), ("b", "min")]) == [("a", "max"), ("b", "min")]


def _brute_front(url: str) -> set[str]:
    """Config keys on the front of the stored study, from Optuna's trial.values alone."""
    study = optuna.load_study(study_name="mo", storage=url)
    assert len(study.directions) == 2  # a multi-objective study, read back by optuna
    with pytest.raises(RuntimeError):
        _ = study.direction
    runs: dict[str, list[list[float]]] = defaultdict(list)
    for t in study.trials:
        if t.state.name == "COMPLETE":
            runs[t.user_attrs["config_key"]].append(list(t.values))
    means = {k: [math.fsum(v[i] for v in vs) / len(vs) for i in range(2)] for k, vs in runs.items()}
    front = set()
    for k, (acc, flops) in means.items():
        beaten = any(a >= acc and f <= flops and (a > acc or f < flops)
                     for j, (a, f) in means.items() if j != k)
        if not beaten:
            front.add(k)
    return front


@pytest.mark.integration
def test_compare_json_on_a_multi_objective_study(mo_url, capsys) -> None:
    assert main(["compare", "--study", "mo", "--storage", mo_url, "--format", "json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["objectives"] == synthetic.MO_OBJECTIVES and doc["pareto_over"] == synthetic.MO_OBJECTIVES
    confs = doc["configurations"]
    assert confs[0]["params"]["attention.pooling"] == "score"  # best = best mean of the first objective
    assert {c["config_key"] for c in confs if c["pareto"]} == _brute_front(mo_url)
    pools = {c["params"]["attention.pooling"]: c for c in confs}
    assert {p for p, c in pools.items() if c["pareto"]} == {"score", "srp-ms", "gap", "avgmax"}
    assert pools["score"]["cost"] == {"params": 1400.0, "flops": 2.0e6, "train_step_ms": 10.5,
                                      "infer_ms": 2.25}
    assert pools["gap"]["verdict"] == "baseline" and pools["avgmax"]["verdict"] == "n too small"


@pytest.mark.integration
def test_compare_table_has_cost_columns_and_front_marker(mo_url, capsys) -> None:
    assert main(["compare", "--study", "mo", "--storage", mo_url]) == 0
    out = capsys.readouterr().out.splitlines()
    assert "test_acc (max), flops (min)" in out[0]
    head = out[1].split()
    assert head[-3:] == ["params", "GMACs", "front"]
    rows = {line.split()[1]: line for line in out[2:8]}
    assert rows["score"].rstrip().endswith("1,400   0.002   *")
    assert not rows["mix"].rstrip().endswith("*") and rows["gap"].rstrip().endswith("*")


@pytest.mark.integration
def test_single_objective_front_is_objective_against_flops(sqlite_url, capsys) -> None:
    synthetic.create_single_with_cost("so1", sqlite_url)
    assert main(["compare", "--study", "so1", "--storage", sqlite_url, "--format", "json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["pareto_over"] == [{"metric": "test_acc", "mode": "max"}, {"metric": "flops", "mode": "min"}]
    on = {c["params"]["attention.pooling"] for c in doc["configurations"] if c["pareto"]}
    assert on == {"score", "srp-ms", "gap", "avgmax"}


@pytest.mark.integration
def test_studies_and_load_read_a_multi_objective_study(mo_url, capsys) -> None:
    import poolnas

    assert main(["studies", "--storage", mo_url]) == 0
    out = capsys.readouterr().out
    assert "mo" in out and "test_acc (max), flops (min)" in out and "89.50%" in out
    res = poolnas.load("mo", storage=mo_url)
    assert res.objectives == [("test_acc", "max"), ("flops", "min")]
    assert res.best.params["attention.pooling"] == "score"
    frame = res.configurations
    assert set(frame.loc[frame["pareto"], "config_key"]) == _brute_front(mo_url)
    assert frame.loc[0, "cost.flops"] == 2.0e6
    complete = res.trials[res.trials["state"] == "COMPLETE"]
    assert all(len(v) == 2 and v[0] == x for v, x in zip(complete["values"], complete["value"], strict=True))


@pytest.mark.integration
def test_compare_on_a_study_without_cost_says_there_is_no_front(sqlite_url, capsys) -> None:
    synthetic.fill(synthetic.create("old", sqlite_url), [({"attention.pooling": "gap"}, [0.7, 0.72]),
                                                         ({"attention.pooling": "max"}, [0.6, 0.61])])
    assert main(["compare", "--study", "old", "--storage", sqlite_url]) == 0
    out = capsys.readouterr().out
    assert "front: none, no configuration kept every one of test_acc (max) against flops (min)" in out
    assert main(["compare", "--study", "old", "--storage", sqlite_url, "--format", "json"]) == 0
    confs = json.loads(capsys.readouterr().out)["configurations"]
    assert all(not c["pareto"] and c["cost"]["flops"] is None and c["cost"]["params"] == 1000.0
               for c in confs)
