"""``poolnas report --metric NAME [--mode max|min]``: the verdict, the forest plot, the verdict
figure, the cost section and the configurations table on a stored metric other than the
objective, resolved as ``poolnas compare --metric`` resolves it; Optuna's plots stay on the
objective and say so. End to end on real SQLite studies."""

from __future__ import annotations

import json
import re

import optuna
import pytest
from optuna.distributions import CategoricalDistribution, IntDistribution

from poolnas.cli import main
from poolnas.records import TrialAttrs, config_key
from poolnas.testing import synthetic_studies as S

# per pooling: (test_acc, train_loss); mix is the most accurate, max has the lowest loss
TABLE = {"gap": (0.60, 0.30), "max": (0.62, 0.20), "mix": (0.70, 0.50)}


@pytest.fixture()
def url(sqlite_url: str) -> str:
    study = S.create("metric-report", sqlite_url)
    pooling = CategoricalDistribution(sorted(TABLE))
    for pool, (acc, loss) in TABLE.items():
        for seed in range(3):
            config = S.make_config({"attention.pooling": pool}, seed)
            jitter = (seed - 1) * 0.002
            study.add_trial(optuna.trial.create_trial(
                params={"attention.pooling": pool, "seed": seed},
                distributions={"attention.pooling": pooling, "seed": IntDistribution(0, 100)},
                value=acc + jitter,
                user_attrs={TrialAttrs.CONFIG: config, TrialAttrs.CONFIG_KEY: config_key(config),
                            TrialAttrs.METRICS: {"test_acc": acc + jitter, "train_loss": loss - jitter},
                            TrialAttrs.N_PARAMS: 1000}))
    return sqlite_url


def _report(url: str, tmp_path, *extra: str) -> str:
    out = tmp_path / "r.html"
    assert main(["report", "--study", "metric-report", "--storage", url, "-o", str(out), "--force",
                 *extra]) == 0
    return out.read_text()


def _text(page: str, element_id: str) -> str:
    match = re.search(rf"id='{element_id}'>(.*?)</p>", page, re.S)
    assert match, element_id
    return re.sub(r"<[^>]+>", "", match.group(1))


def test_report_on_a_metric_with_mode_min(url, tmp_path, capsys) -> None:
    page = _report(url, tmp_path, "--metric", "train_loss")
    best = _text(page, "verdict-best")
    assert "attention.pooling=max" in best and "0.20 ±" in best and "%" not in best  # lowest loss, no %
    assert "compared on</td><td>train_loss (min)" in page
    assert "The answer on train_loss" in page and "Δ train_loss vs the baseline" in page
    assert "<th>train_loss mean</th>" in page and "Ranked by the mean of train_loss" in page
    assert "Metric against cost: train_loss vs params" in page
    # Optuna's plots (and the paper figures) stay on the objective and say so
    assert "Optimization history (on the study&#x27;s objective, test_acc, not train_loss)" in page
    assert "the study's objective,\ntest_acc (max), not --metric train_loss.</p>" in page
    # the same answer as compare --metric train_loss
    capsys.readouterr()
    assert main(["compare", "--study", "metric-report", "--storage", url, "--metric", "train_loss",
                 "--format", "json"]) == 0
    compared = json.loads(capsys.readouterr().out)
    assert (compared["metric"], compared["mode"]) == ("train_loss", "min")
    rows = [re.findall(r"<td>(.*?)</td>", r) for r in re.findall(r"<tr>(.*?)</tr>", page)]
    for conf in compared["configurations"]:  # each configuration's mean and verdict, as compare has them
        pool = conf["params"]["attention.pooling"]
        (row,) = [r for r in rows if len(r) > 10 and r[0].isdigit() and r[1] == pool]
        assert row[2:4] == [str(conf["n"]), f"{conf['mean']:.2f}"] and conf["verdict"] in row


def test_report_default_and_mode_override(url, tmp_path) -> None:
    page = _report(url, tmp_path)  # the objective: mix, in percent
    assert "attention.pooling=mix" in _text(page, "verdict-best") and "70.00%" in _text(page, "verdict-best")
    assert "compared on" not in page and "The answer on test_acc" in page
    page = _report(url, tmp_path, "--metric", "train_loss", "--mode", "max")  # the highest loss
    assert "attention.pooling=mix" in _text(page, "verdict-best") and "train_loss (max)" in page


def test_report_refuses_a_metric_the_study_did_not_keep(url, tmp_path, capsys) -> None:
    out = tmp_path / "bad.html"
    capsys.readouterr()
    assert main(["report", "--study", "metric-report", "--storage", url, "-o", str(out),
                 "--metric", "train_los", "--png", str(tmp_path / "png")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--metric" in err and "'train_los'" in err
    assert "train_loss" in err and "test_acc" in err  # the accepted names
    assert not out.exists() and not (tmp_path / "png").exists()  # nothing written
    # exactly compare's line for the same mistake
    assert main(["compare", "--study", "metric-report", "--storage", url, "--metric", "train_los"]) == 2
    assert capsys.readouterr().err == err
