"""Search without Ray: failure reasons, study set-up and recovery, `poolnas studies`, and the
command's one-line errors (bad URL, unreachable database, study with another space)."""

from __future__ import annotations

import math
import socket
from pathlib import Path

import optuna
import pytest
from _sweep_spaces import grid_space, write_space
from optuna.trial import TrialState

from poolnas.cli import main
from poolnas.dashboards.listing import format_studies, list_studies
from poolnas.errors import ConfigError, NonFiniteLossError
from poolnas.records import INTERRUPTED, StudyAttrs, TrialAttrs, enqueued_params
from poolnas.search._prepare import prepare_study
from poolnas.search._sampling import sample
from poolnas.search._trainable import failure_reason
from poolnas.spaces import create_sampler, space_from_dict
from poolnas.storage import open_storage

optuna.logging.set_verbosity(optuna.logging.WARNING)


def _tpe_space(study: str = "tpe") -> dict:
    doc = grid_space(study)
    doc.update(sampler="random", trials=4, repeats=2)
    doc["space"] = {"attention.reduction": {"int": [2, 16]}}
    return doc


def test_failure_reasons_name_nan_oom_and_the_exception() -> None:
    assert failure_reason(NonFiniteLossError(2, 5, math.nan)).startswith("nan: loss became nan")
    assert failure_reason(MemoryError()).startswith("out of memory")
    assert failure_reason(RuntimeError("CUDA out of memory. Tried")).startswith("out of memory")
    assert failure_reason(ValueError("bad\nsecond line")) == "ValueError: bad"


def test_new_study_gets_its_attributes_and_budget(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/s.db"
    space = space_from_dict(_tpe_space())
    plan = prepare_study(open_storage(url), url, space, study_name="tpe", trials=None,
                         resume=False, sampler=create_sampler(space))
    assert plan.created and plan.runs_target == 8 and plan.remaining == 8
    attrs = plan.study.user_attrs
    assert attrs[StudyAttrs.OBJECTIVE] == {"metric": "val_acc", "mode": "max"}
    assert attrs[StudyAttrs.SPACE]["study"] == "tpe" and attrs[StudyAttrs.VERSION]


def test_running_trials_are_marked_failed_and_queued_again(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/s.db"
    space = space_from_dict(_tpe_space())
    storage = open_storage(url)
    plan = prepare_study(storage, url, space, study_name="tpe", trials=None, resume=False,
                         sampler=create_sampler(space))
    done = plan.study.ask()
    sample(space, done)
    plan.study.tell(done, 0.5)
    left = plan.study.ask()  # a trial a killed driver left RUNNING
    params, seed = sample(space, left)
    plan = prepare_study(storage, url, space, study_name="tpe", trials=None, resume=True,
                         sampler=create_sampler(space))
    trials = plan.study.get_trials()
    assert plan.recovered == 1
    assert trials[1].state == TrialState.FAIL
    assert trials[1].user_attrs[TrialAttrs.FAIL_REASON].startswith(INTERRUPTED)
    waiting = [t for t in trials if t.state == TrialState.WAITING]
    assert len(waiting) == 1 and waiting[0].user_attrs[TrialAttrs.RETRY_OF] == 1
    assert enqueued_params(waiting[0]) == params and params["seed"] == seed
    assert plan.remaining == 7  # 8 runs, one finished; the interrupted one does not count
    again = plan.study.ask()  # the retry comes first, with the same parameters
    assert sample(space, again) == (params, seed)


def test_study_with_another_space_is_refused_and_nothing_is_written(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/s.db"
    storage = open_storage(url)
    space = space_from_dict(grid_space("g"))
    prepare_study(storage, url, space, study_name="g", trials=None, resume=False,
                  sampler=create_sampler(space))
    other = space_from_dict(grid_space("g", pooling=["gap", "min"]))
    before = storage.get_all_trials(storage.get_study_id_from_name("g"))
    with pytest.raises(ConfigError, match="exists .* with another space"):
        prepare_study(storage, url, other, study_name="g", trials=None, resume=False,
                      sampler=create_sampler(other))
    assert storage.get_all_trials(storage.get_study_id_from_name("g")) == before
    # the same space with another budget is the same study
    same = grid_space("g")
    same["trials"] = 1
    space2 = space_from_dict(same)
    prepare_study(storage, url, space2, study_name="g", trials=None, resume=True,
                  sampler=create_sampler(space2))
    with pytest.raises(ConfigError, match="no such study"):
        prepare_study(storage, url, space, study_name="nope", trials=None, resume=True,
                      sampler=create_sampler(space))


def test_studies_lists_counts_per_state_and_best(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    url = f"sqlite:///{tmp_path}/s.db"
    study = optuna.create_study(study_name="a", storage=url, direction="maximize")
    study.set_user_attr(StudyAttrs.OBJECTIVE, {"metric": "val_acc", "mode": "max"})
    for value in (0.3, 0.9):
        study.add_trial(optuna.trial.create_trial(value=value, state=TrialState.COMPLETE))
    study.add_trial(optuna.trial.create_trial(state=TrialState.FAIL))
    study.add_trial(optuna.trial.create_trial(state=TrialState.PRUNED, value=0.1))
    optuna.create_study(study_name="b", storage=url)
    rows = {r.name: r for r in list_studies(open_storage(url))}
    assert rows["a"].counts["COMPLETE"] == 2 and rows["a"].counts["FAIL"] == 1
    assert rows["a"].counts["PRUNED"] == 1 and rows["a"].best == 0.9 and rows["a"].best_trial == 1
    assert rows["b"].best is None
    assert "90.00% (trial 1)" in format_studies(list(rows.values()))
    assert main(["studies", "--storage", url]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[0].split()[:3] == ["study", "trials", "complete"]
    assert "a" in out and "val_acc (max)" in out


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_bad_url_and_unreachable_database_are_one_line_exit_2(
        tmp_path: Path, capsys: pytest.CaptureFixture, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    space = write_space(tmp_path, grid_space("cli"))
    assert main(["sweep", str(space), "--storage", "ftp://u:hunter2@h/db"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "storage" in err and "hunter2" not in err
    url = f"postgresql+psycopg://sweeper:hunter2@127.0.0.1:{_closed_port()}/db"
    assert main(["sweep", str(space), "--storage", url]) == 2
    captured = capsys.readouterr()
    assert captured.err.count("\n") == 1 and "cannot open storage" in captured.err
    assert "hunter2" not in captured.err + captured.out
    assert main(["studies", "--storage", url]) == 2
    assert "hunter2" not in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == [space]  # nothing written


def test_cluster_that_cannot_be_reached_is_one_line_exit_2(
        tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    space = write_space(tmp_path, grid_space("cli"))
    url = f"sqlite:///{tmp_path}/s.db"
    code = main(["sweep", str(space), "--storage", url, "--ray-address", f"127.0.0.1:{_closed_port()}"])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and "cannot reach the Ray cluster" in err
    assert list(tmp_path.iterdir()) == [space]  # nothing written
