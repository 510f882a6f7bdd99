"""Bad data is found before anything starts (issue 21 item 10): a sweep whose space can reach a
dataset that is not there (CIFAR without its folder, as the base or as one searched value)
exits 2 with one line naming trainer.data_dir, before the database is created or Ray starts."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from _sweep_spaces import base_config, env_without_storage

from poolnas.errors import MAX_LINE, ConfigError
from poolnas.search._data import check_space_data
from poolnas.spaces import space_from_dict


def _space(tmp_path: Path, **over: object) -> dict:
    base = base_config()
    base["trainer"].update(data_dir=str(tmp_path / "no-data"), **over)
    return {"study": "data", "sampler": "random", "trials": 2, "base": base,
            "space": {"attention.reduction": {"int": [2, 8]}}}


@pytest.mark.parametrize("searched", [False, True])
def test_a_sweep_without_its_data_exits_2_before_writing(tmp_path: Path, searched: bool) -> None:
    doc = _space(tmp_path, **({} if searched else {"dataset": "cifar10"}))
    if searched:
        doc["base"]["model"]["num_classes"] = 10
        doc["space"]["trainer.dataset"] = {"choice": ["digits", "cifar10"]}
    path = tmp_path / "space.yaml"
    path.write_text(yaml.safe_dump(doc))
    proc = subprocess.run([sys.executable, "-m", "poolnas", "sweep", str(path), "--storage",
                           f"sqlite:///{tmp_path}/s.db", "--quiet"], cwd=tmp_path, env=env_without_storage(),
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 2, proc.stderr[-2000:]
    assert proc.stderr.count("\n") == 1 and len(proc.stderr) <= MAX_LINE + 200, proc.stderr
    assert "trainer.data_dir" in proc.stderr and "cifar-10-batches-py" in proc.stderr
    assert ("trainer.dataset=cifar10" in proc.stderr) == searched
    assert not (tmp_path / "s.db").exists()


def test_present_data_passes(tmp_path: Path) -> None:
    check_space_data(space_from_dict(_space(tmp_path)))  # digits: inside scikit-learn
    (tmp_path / "no-data" / "cifar-10-batches-py").mkdir(parents=True)
    check_space_data(space_from_dict(_space(tmp_path, dataset="cifar10")))
    with pytest.raises(ConfigError, match="trainer.data_dir"):
        check_space_data(space_from_dict(_space(tmp_path, dataset="cifar100")))


def test_the_report_names_why_trials_failed(sqlite_url: str) -> None:
    import optuna

    from poolnas.dashboards.report import render_report
    from poolnas.records import TrialAttrs
    from poolnas.studies.reader import load_study
    from poolnas.testing import synthetic_studies as S

    study = S.create("failing", sqlite_url)
    for _ in range(3):
        study.add_trial(optuna.trial.create_trial(
            state=optuna.trial.TrialState.FAIL,
            user_attrs={TrialAttrs.FAIL_REASON: "ConfigError: trainer.data_dir: '/x' <b>missing</b>"}))
    page = render_report(load_study("failing", sqlite_url))
    assert "No complete trials yet" in page and "3 failed trials" in page
    shown = "ConfigError: trainer.data_dir: &#x27;/x&#x27; &lt;b&gt;missing&lt;/b&gt;"
    assert f"3 × <code>{shown}</code>" in page


def test_studies_says_why_no_trial_finished(sqlite_url: str, capsys) -> None:
    import optuna

    from poolnas.cli import main
    from poolnas.records import TrialAttrs
    from poolnas.testing import synthetic_studies as S

    study = S.create("nodata", sqlite_url)
    for reason in ("ConfigError: trainer.data_dir: '/x'", "ConfigError: trainer.data_dir: '/x'",
                   "interrupted: the sweep stopped"):
        study.add_trial(optuna.trial.create_trial(state=optuna.trial.TrialState.FAIL,
                                                  user_attrs={TrialAttrs.FAIL_REASON: reason}))
    assert main(["studies", "--storage", sqlite_url]) == 0
    out = capsys.readouterr().out
    assert "nodata: no trial finished; 3 failed, most often: ConfigError: trainer.data_dir: '/x'" in out
