"""`poolnas compare` on a real SQLite study: table, JSON against scipy, exit status 2 for bad input."""

from __future__ import annotations

import json

import pytest
from scipy import stats

from poolnas.cli import main
from poolnas.errors import ConfigError
from poolnas.testing import synthetic_studies as synthetic

GAP = [0.700, 0.710, 0.705]
SRP = [0.760, 0.775, 0.770]
MIX = [0.705, 0.700, 0.712]


@pytest.fixture
def study_url(sqlite_url):
    study = synthetic.create("cmp", sqlite_url,
                             space={"study": "cmp", "baseline": {"attention.pooling": "gap"}})
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
    # the family: srp-ms and mix (max ran one seed: no interval); each at 1 - 0.05 / 2
    assert doc["family"]["size"] == 2 and doc["family"]["looks"] == 1
    assert set(doc["family"]["config_keys"]) == {rows["srp-ms"]["config_key"], rows["mix"]["config_key"]}
    assert "Bonferroni" in doc["method"]
    ref = stats.ttest_rel(SRP, GAP).confidence_interval(1 - 0.05 / 2)
    assert srp["ci_low"] == pytest.approx(ref.low) and srp["ci_high"] == pytest.approx(ref.high)
    d = [a - b for a, b in zip(SRP, GAP, strict=True)]
    se = stats.tstd(d) / 3 ** 0.5
    assert srp["mde"] == pytest.approx((stats.t.ppf(1 - 0.05 / 4, 2) + stats.t.ppf(0.8, 2)) * se)
    assert srp["n_pairs"] == 3 and rows["max"]["mde"] is None
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
    assert "family: the 2 configurations compared with the baseline" in out
    assert "n_pairs" in out and "mde (80%)" in out and "within noise: no difference of ±mde" in out
    max_line = next(line for line in out.splitlines() if line.split()[1:2] == ["max"])
    assert "–" in max_line and "0.00" not in max_line and "n too small" in max_line
    gap_line = next(line for line in out.splitlines() if " gap " in f" {line} ")
    assert "0.6" not in gap_line.split("gap")[1].split()[0]  # no λ for gap


@pytest.mark.integration
def test_baseline_flag_overrides_and_bad_input_exits_2(study_url, capsys):
    assert main(["compare", "--study", "cmp", "--storage", study_url, "--baseline", "attention.pooling=mix",
                 "--format", "json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert (doc["baseline"]["params"] == {"attention.pooling": "mix"}
            and doc["baseline"]["source"] == "--baseline")
    for bad, needle in [(["attention.pooling=score"], "ran no configuration"),
                        (["attention.poolin=gap"], "did you mean"),
                        (["pooling"], "KEY=VALUE")]:
        assert main(["compare", "--study", "cmp", "--storage", study_url, "--baseline", *bad]) == 2
        err = capsys.readouterr().err.strip()
        assert len(err.splitlines()) == 1 and needle in err and "--baseline" in err
    assert main(["compare", "--study", "nope", "--storage", study_url]) == 2


@pytest.mark.integration
def test_margin_and_plan(study_url, capsys):
    cmd = ["compare", "--study", "cmp", "--storage", study_url]
    assert main([*cmd, "--margin", "0.5", "--format", "json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    rows = {r["params"]["attention.pooling"]: r for r in doc["configurations"]}
    assert rows["mix"]["verdict"] == "equivalent" and doc["margin"] == 0.5
    assert rows["srp-ms"]["verdict"] == "better"  # a difference outranks the margin
    assert main([*cmd, "--plan", "0.01", "--format", "json"]) == 0
    plan = json.loads(capsys.readouterr().out)["plan"]
    assert plan["family"] == 3 and plan["seeds"] >= 2 and plan["trials"] == plan["seeds"] * 4
    assert main(["compare", "--study", "cmp", "--storage", study_url, "--plan", "0.01"]) == 0
    assert "seeds per configuration" in capsys.readouterr().out
    for flag, bad in (("--margin", "-1"), ("--plan", "abc"), ("--margin", "nan")):
        assert main(["compare", "--study", "cmp", "--storage", study_url, flag, bad]) == 2
        err = capsys.readouterr().err.strip()
        assert len(err.splitlines()) == 1 and flag in err and bad in err


@pytest.mark.integration
def test_python_api_carries_family_mde_and_plans(study_url):
    from poolnas import api

    res = api.load("cmp", study_url)
    frame = res.configurations
    srp = frame[frame["attention.pooling"] == "srp-ms"].iloc[0]
    assert srp["n_pairs"] == 3 and srp["mde"] > 0 and res.family["size"] == 2
    plan = res.plan(0.01)
    assert plan.seeds == api.plan("cmp", 0.01, study_url).seeds and plan.family == 3
    with pytest.raises(ConfigError, match="delta"):
        res.plan(-1.0)
