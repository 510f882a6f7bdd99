"""Against a study written by the real sweep (Ray Tune + Optuna storage, no training):
the contract between poolnas.search and the dashboards holds."""

from __future__ import annotations

import functools

import pytest
import yaml

import poolnas.search.sweep as search
import poolnas.testing.fake_trials as fake
from poolnas.cli import main
from poolnas.config import load_trial_config
from poolnas.dashboards import applicable_figures, rank_configurations
from poolnas.dashboards.srp_lambda import _get_srp_lambda_info
from poolnas.studies import load_study

pytestmark = pytest.mark.integration

SPACE = {
    "study": "contract-fig2",
    "objective": {"metric": "test_acc", "mode": "max"},
    "sampler": "grid",
    "repeats": 2,
    "scheduler": {"type": "fifo"},
    "resources": {"cpu": 1, "gpu": 0},
    "base": {"model": {"arch": "resnet20", "num_classes": 10, "in_channels": 1},
             "attention": {"pooling": "srp-ss", "reduction": 4},
             "trainer": {"dataset": "digits", "epochs": 2, "batch_size": 16}},
    "space": {"attention.lam": {"grid": [0.4, 0.8]}, "attention.schedule": {"grid": ["fixed", "linear"]}},
}


def test_report_and_export_of_a_real_sweep(tmp_path):
    space = tmp_path / "space.yaml"
    space.write_text(yaml.safe_dump(SPACE))
    url = f"sqlite:///{tmp_path / 'sweep.db'}"
    search.run_sweep(str(space), storage=url, trial_fn=functools.partial(fake.sleep_trial, epoch_s=0.0),
                     num_cpus=2, quiet=True)
    data = load_study("contract-fig2", url)
    assert len(data.rows) == 8 and applicable_figures(data) == ["srp-fig2", "srp-fig7"]
    series = {s.name: s for s in _get_srp_lambda_info(data).series}
    assert set(series) == {"fixed λ, one branch", "scheduled λ, one branch"}
    assert all(n == [2, 2] for n in (s.n for s in series.values()))  # 2 seeds per point
    out = tmp_path / "r.html"
    assert main(["report", "--study", "contract-fig2", "--storage", url, "-o", str(out)]) == 0
    assert 'id="fig-srp-fig2"' in out.read_text()
    best = tmp_path / "best.yaml"
    assert main(["export", "--study", "contract-fig2", "--storage", url, "-o", str(best)]) == 0
    top = rank_configurations(data, 1)[0]
    assert load_trial_config(best).to_dict() == top.config and top.n == 2
