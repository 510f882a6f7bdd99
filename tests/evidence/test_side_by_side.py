"""``compare --metric`` (any stored metric, its own mode) and ``compare --study A --study B``
(studies side by side with the same verdicts; refused when their bases differ), in the CLI
and the Python API, on real SQLite studies written as the sweep writes them (issue 22 items
2-3)."""

from __future__ import annotations

import json
import statistics

import pytest
from optuna.trial import TrialState

import poolnas
from poolnas.cli import main
from poolnas.errors import ConfigError
from poolnas.testing import synthetic_studies as S

GAP = {"attention.pooling": "gap"}
MAX = {"attention.pooling": "max"}
SRP = {"attention.pooling": "srp-ms"}
GAP_ACC = [0.80, 0.83, 0.81, 0.84]
MAX_ACC = [0.78, 0.80, 0.79, 0.82]
SRP_ACC = [0.86, 0.88, 0.87, 0.90]


def _paired(a: list[float], b: list[float]) -> float:
    return statistics.fmean(x - y for x, y in zip(a, b, strict=True))


def _space(name: str, poolings: list[str]) -> dict:
    return {"study": name, "space": {"attention.pooling": {"grid": poolings}},
            "baseline": {"attention.pooling": "gap"}}


@pytest.fixture
def url(sqlite_url):
    a = S.create("gap-max", sqlite_url, space=_space("gap-max", ["gap", "max"]))
    S.fill(a, [(GAP, GAP_ACC), (MAX, MAX_ACC)])
    b = S.create("gap-srp", sqlite_url, space=_space("gap-srp", ["gap", "srp-ms"]))
    S.fill(b, [(GAP, GAP_ACC), (SRP, SRP_ACC)])
    S.add_trial(b, SRP, 9, None, state=TrialState.FAIL)  # not counted
    return sqlite_url


def _json(capsys, argv: list[str]) -> dict:
    assert main(["compare", *argv, "--format", "json"]) == 0
    return json.loads(capsys.readouterr().out)


def _by_pooling(doc: dict) -> dict[str, dict]:
    return {c["params"]["attention.pooling"]: c for c in doc["configurations"]}


def test_two_studies_side_by_side(url, capsys):
    doc = _json(capsys, ["--study", "gap-max", "--study", "gap-srp", "--storage", url])
    confs = _by_pooling(doc)
    assert set(confs) == {"gap", "max", "srp-ms"}  # the second --study no longer replaces the first
    assert confs["gap"]["params"]["study"] == "gap-max+gap-srp"  # ran in both: seeds pooled once
    assert confs["max"]["params"]["study"] == "gap-max" and confs["srp-ms"]["params"]["study"] == "gap-srp"
    assert confs["gap"]["n"] == 4 and confs["gap"]["verdict"] == "baseline"
    # the same verdict machinery: Δ is the mean paired difference over the shared seeds
    assert confs["srp-ms"]["delta"] == pytest.approx(_paired(SRP_ACC, GAP_ACC))
    assert confs["max"]["delta"] == pytest.approx(_paired(MAX_ACC, GAP_ACC))
    single = _by_pooling(_json(capsys, ["--study", "gap-srp", "--storage", url]))
    # the same Δ as in its own study (the verdict's family is larger side by side: 2 comparisons)
    assert single["srp-ms"]["delta"] == pytest.approx(confs["srp-ms"]["delta"])
    assert single["srp-ms"]["n"] == confs["srp-ms"]["n"] == 4
    assert doc["study"] == "gap-max + gap-srp"
    assert main(["compare", "--study", "gap-max", "--study", "gap-srp", "--storage", url]) == 0
    table = capsys.readouterr().out
    assert "study gap-max + gap-srp: 3 configurations" in table and "gap-max+gap-srp" in table


def test_bases_that_differ_are_refused_in_one_line(url, capsys):
    other = S.create("longer", url, space=_space("longer", ["gap", "srp-ms"]))
    for seed, acc in enumerate(GAP_ACC):
        S.add_trial(other, {**GAP, "trainer.epochs": 5}, seed, acc)
    assert main(["compare", "--study", "gap-max", "--study", "longer", "--storage", url]) == 2
    err = capsys.readouterr().err
    assert "--study: 'longer' is not accepted; its base differs from study 'gap-max'" in err
    assert "trainer.epochs 2 vs 5" in err and "attention.pooling" in err and err.count("\n") == 1
    assert main(["compare", "--study", "gap-max", "--study", "gap-max", "--storage", url]) == 2
    assert "given twice" in capsys.readouterr().err


def test_any_stored_metric_with_its_own_mode(url, capsys):
    doc = _json(capsys, ["--study", "gap-srp", "--storage", url, "--metric", "train_loss"])
    assert (doc["metric"], doc["mode"]) == ("train_loss", "min")
    confs = _by_pooling(doc)
    assert confs["srp-ms"]["mean"] == pytest.approx(1 - statistics.fmean(SRP_ACC))
    assert confs["srp-ms"]["delta"] == pytest.approx(-_paired(SRP_ACC, GAP_ACC))
    order = [c["params"]["attention.pooling"] for c in doc["configurations"]]
    assert order == ["srp-ms", "gap"]  # min first
    assert any("compared on train_loss (min); the sweep selected on test_acc" in n for n in doc["notes"])
    flipped = _json(capsys, ["--study", "gap-srp", "--storage", url, "--metric", "train_loss",
                             "--mode", "max"])
    assert [c["params"]["attention.pooling"] for c in flipped["configurations"]] == ["gap", "srp-ms"]
    same = _json(capsys, ["--study", "gap-srp", "--storage", url, "--metric", "test_acc"])
    assert same["mode"] == "max" and _by_pooling(same)["srp-ms"]["delta"] == pytest.approx(0.0575)
    cost = _json(capsys, ["--study", "gap-srp", "--storage", url, "--metric", "params"])
    assert cost["mode"] == "min" and _by_pooling(cost)["gap"]["mean"] == 1000


@pytest.mark.parametrize("argv, words", [
    (["--metric", "val_loss"], "--metric: 'val_loss' is not accepted; no finished trial of the study kept"),
    (["--metric", "epochz"], "expected one of: test_acc, val_acc, train_loss, params"),
])
def test_unknown_metric_is_one_line(url, capsys, argv, words):
    assert main(["compare", "--study", "gap-srp", "--storage", url, *argv]) == 2
    err = capsys.readouterr().err
    assert words in err and err.count("\n") == 1, err


def test_python_api_side_by_side_and_metric(url):
    table = poolnas.compare(["gap-max", "gap-srp"], storage=url)
    assert set(table["study"]) == {"gap-max+gap-srp", "gap-max", "gap-srp"}
    row = table[table["attention.pooling"] == "srp-ms"].iloc[0]
    assert row["delta"] == pytest.approx(0.0575) and row["n"] == 4
    a, b = poolnas.load("gap-max", storage=url), poolnas.load("gap-srp", storage=url)
    assert poolnas.compare([a, b])["delta"].tolist() == pytest.approx(table["delta"].tolist(), nan_ok=True)
    with pytest.raises(ConfigError) as err:  # was AttributeError
        poolnas.compare(a, baseline=b)
    assert "poolnas.compare([study_a, study_b])" in str(err.value)
    loss = poolnas.compare(b, metric="train_loss")
    assert loss["attention.pooling"].tolist() == ["srp-ms", "gap"]
    assert loss["mean"].iloc[0] == pytest.approx(1 - statistics.fmean(SRP_ACC))
