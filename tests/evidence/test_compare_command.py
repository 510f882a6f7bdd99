"""`poolnas compare` on a real SQLite study: table, JSON against scipy, exit status 2 for bad input."""

from __future__ import annotations

import json

import pytest
from scipy import stats

from poolnas.cli import main
from poolnas.testing import synthetic_studies as synthetic

GAP = [0.700, 0.710, 0.705]
SRP = [0.760, 0.775, 0.770]
MIX = [0.705, 0.700, 0.712]


@pytest.fixture
def study_url(sqlite_url):
    study = synthetic.create("cmp", sqlite_url, space={"study": "cmp", "baseline": {"attention.pooling": "gap"}})
    synthetic.fill(study, [
        ({"attention.pooling": "gap"}, GAP),
        ({"attention.pooling": "srp-ms", "attention.lam": 0.6, "attention.M": 5}, SRP),
        ({"attention.pooling": "mix"}, MIX),
        ({"attention.pooling": "max"}, [0.69]),
    ])
    return sqlite_url


@pytest.mark.integration
def test_json_numbers_are_scipy_paired_intervals(study_url, capsys):
    assert main(["compare", "--study", "cmp", "--storage", study_url, "--format", "json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["baseline"]["params"] == {"attention.pooling": "gap"}
    rows = {r["params"]["attention.pooling"]: r for r in doc["configurations"]}
    assert list(rows) == ["srp-ms", "mix", "gap", "max"]  # best mean first
    srp = rows["srp-ms"]
    ref = stats.ttest_rel(SRP, GAP).confidence_interval(0.95)
    assert srp["ci_low"] == pytest.approx(ref.low) and srp["ci_high"] == pytest.approx(ref.high)
    assert srp["verdict"] == "better" and srp["n"] == 3 and srp["std"] == pytest.approx(stats.tstd(SRP))
    assert srp["params"] == {"attention.pooling": "srp-ms", "attention.lam": 0.6, "attention.M": 5}
    assert rows["mix"]["verdict"] == "within noise"
    assert rows["gap"]["verdict"] == "baseline"
    assert rows["max"]["verdict"] == "n too small" and rows["max"]["std"] is None
    for r in doc["configurations"]:
        assert {"params", "n", "mean", "std", "delta", "ci_low", "ci_high", "verdict"} <= set(r)
    assert any("test data" in n for n in doc["notes"])  # synthetic studies maximise test_acc


@pytest.mark.integration
def test_table_shows_percent_blank_params_and_dash_std(study_url, capsys):
    assert main(["compare", "--study", "cmp", "--storage", study_url]) == 0
    out = capsys.readouterr().out
    assert "baseline attention.pooling=gap" in out and "from space file" in out
    srp_line = next(line for line in out.splitlines() if "srp-ms" in line)
    delta = 100 * (sum(SRP) - sum(GAP)) / 3
    assert f"+{delta:.2f}" in srp_line and "better" in srp_line
    max_line = next(line for line in out.splitlines() if line.split()[1:2] == ["max"])
    assert "–" in max_line and "0.00" not in max_line and "n too small" in max_line
    gap_line = next(line for line in out.splitlines() if " gap " in f" {line} ")
    assert "0.6" not in gap_line.split("gap")[1].split()[0]  # no λ for gap


@pytest.mark.integration
def test_baseline_flag_overrides_and_bad_input_exits_2(study_url, capsys):
    assert main(["compare", "--study", "cmp", "--storage", study_url, "--baseline", "attention.pooling=mix",
                 "--format", "json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["baseline"]["params"] == {"attention.pooling": "mix"} and doc["baseline"]["source"] == "--baseline"
    for bad, needle in [(["attention.pooling=score"], "ran no configuration"),
                        (["attention.poolin=gap"], "did you mean"),
                        (["pooling"], "KEY=VALUE")]:
        assert main(["compare", "--study", "cmp", "--storage", study_url, "--baseline", *bad]) == 2
        err = capsys.readouterr().err.strip()
        assert len(err.splitlines()) == 1 and needle in err and "--baseline" in err
    assert main(["compare", "--study", "nope", "--storage", study_url]) == 2
