"""A sweep's process-wide settings (environment variables, logger levels, Optuna's log level)
hold only while it runs and are restored afterwards (issue 16: library code sets no process
state behind its caller's back)."""

from __future__ import annotations

import functools
import logging
import os
from pathlib import Path

import optuna
import pytest
from _sweep_spaces import grid_space

from poolnas.process_settings import environ, logger_levels, optuna_verbosity
from poolnas.search._ray import _RAY_LOGGERS, _TRIAL_ERROR_LOGGERS, _TUNE_ENV, quiet_ray_logs

LOGGERS = (*_RAY_LOGGERS, *_TRIAL_ERROR_LOGGERS)


def _state() -> tuple[dict[str, str | None], dict[str, int], int]:
    env = {name: os.environ.get(name) for name in (*_TUNE_ENV, "POOLNAS_X")}
    return env, {n: logging.getLogger(n).level for n in LOGGERS}, optuna.logging.get_verbosity()


def test_environ_sets_for_the_block_and_restores_set_and_unset_variables(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("POOLNAS_A", "user")
    monkeypatch.setenv("POOLNAS_KEEP", "user")
    monkeypatch.delenv("POOLNAS_B", raising=False)
    with environ({"POOLNAS_A": "1", "POOLNAS_B": "2", "POOLNAS_KEEP": "3"}, keep_user=("POOLNAS_KEEP",)):
        assert (os.environ["POOLNAS_A"], os.environ["POOLNAS_B"]) == ("1", "2")
        assert os.environ["POOLNAS_KEEP"] == "user"
    assert os.environ["POOLNAS_A"] == "user" and "POOLNAS_B" not in os.environ
    with pytest.raises(RuntimeError), environ({"POOLNAS_B": "2"}):
        raise RuntimeError
    assert "POOLNAS_B" not in os.environ


def test_logger_levels_restore_what_the_block_or_anyone_in_it_changed() -> None:
    lg = logging.getLogger("poolnas.test.settings")
    lg.setLevel(logging.NOTSET)
    with logger_levels({"poolnas.test.settings": logging.ERROR}):
        assert lg.level == logging.ERROR
        lg.setLevel(logging.DEBUG)  # as ray.init(logging_level=...) does to "ray"
    assert lg.level == logging.NOTSET


def test_optuna_verbosity_is_restored() -> None:
    before = optuna.logging.get_verbosity()
    with optuna_verbosity(optuna.logging.ERROR):
        assert optuna.logging.get_verbosity() == optuna.logging.ERROR
    assert optuna.logging.get_verbosity() == before


def test_quiet_ray_logs_quiets_ray_and_tune_only_inside(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("POOLNAS_DEBUG", raising=False)
    monkeypatch.setenv("TUNE_DISABLE_AUTO_CALLBACK_LOGGERS", "0")  # the user's: kept
    monkeypatch.delenv("RAY_AIR_NEW_OUTPUT", raising=False)
    before = _state()
    with quiet_ray_logs():
        assert os.environ["RAY_AIR_NEW_OUTPUT"] == "0"
        assert os.environ["TUNE_DISABLE_STRICT_METRIC_CHECKING"] == "1"
        assert os.environ["TUNE_DISABLE_AUTO_CALLBACK_LOGGERS"] == "0"
        assert logging.getLogger("ray.tune").level == logging.ERROR
        assert logging.getLogger("ray.tune.tune").level == logging.CRITICAL
    assert _state() == before


def test_quiet_ray_logs_leaves_the_loggers_with_poolnas_debug(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("POOLNAS_DEBUG", "1")
    with logger_levels({"ray.tune": logging.INFO}), quiet_ray_logs():
        assert logging.getLogger("ray.tune").level == logging.INFO


@pytest.mark.integration
@pytest.mark.usefixtures("ray_local")
def test_run_sweep_leaves_the_process_state_as_it_found_it(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import ray.tune  # noqa: F401 - importing it configures Ray Data's logger (Ray's own doing)

    from poolnas.search import run_sweep
    from poolnas.testing.fake_trials import sleep_trial

    monkeypatch.delenv("POOLNAS_DEBUG", raising=False)
    monkeypatch.setenv("RAY_AIR_NEW_OUTPUT", "1")
    monkeypatch.delenv("TUNE_DISABLE_STRICT_METRIC_CHECKING", raising=False)
    with optuna_verbosity(optuna.logging.INFO), logger_levels({n: logging.INFO for n in LOGGERS}):
        before = _state()
        res = run_sweep(space_from(grid_space("settings")), storage=f"sqlite:///{tmp_path}/s.db",
                        trial_fn=functools.partial(sleep_trial, epoch_s=0.05), quiet=True)
        assert res.counts == {"COMPLETE": 2}
        assert _state() == before


def space_from(doc: dict) -> object:
    from poolnas.spaces import space_from_dict

    return space_from_dict(doc)
