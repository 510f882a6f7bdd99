"""Configurations, the one best and the intervals, checked against scipy.stats on known data."""

from __future__ import annotations

import math

import pytest
from _trials import study_trials, trial
from optuna.trial import TrialState
from scipy import stats

from poolnas.evidence import (
    BASELINE,
    BETTER,
    TOO_FEW,
    WITHIN_NOISE,
    WORSE,
    best_configuration,
    compare,
    configurations,
    difference,
    indistinguishable,
)

GAP = {"attention.pooling": "gap"}
SRP = {"attention.pooling": "srp-ms", "attention.lam": 0.2, "attention.M": 5.0}
MIX = {"attention.pooling": "mix"}


def test_configurations_group_seeds_and_drop_unfinished_trials():
    trials = study_trials([(GAP, [0.70, 0.72, 0.71]), (SRP, [0.80, 0.78])])
    trials.append(trial(99, SRP, 2, None, state=TrialState.FAIL))
    trials.append(trial(100, SRP, 3, float("inf")))
    configs = configurations(trials, "test_acc", "max")
    assert [c.n for c in configs] == [2, 3]
    srp, gap = configs
    assert srp.params == {"attention.pooling": "srp-ms", "attention.lam": 0.2, "attention.M": 5.0}
    assert srp.seeds == [0, 1] and srp.mean == pytest.approx(0.79)
    assert srp.std == pytest.approx(stats.tstd([0.80, 0.78]))
    assert gap.std == pytest.approx(stats.tstd([0.70, 0.72, 0.71]))


def test_single_seed_has_no_std_and_shows_a_dash():
    (c,) = configurations(study_trials([(GAP, [0.5])]), "test_acc", "max")
    assert c.n == 1 and c.std is None and c.std_text() == "–"


def test_best_is_the_best_mean_not_the_best_single_trial():
    # One lucky seed (0.90) must not beat a configuration that is better on average.
    trials = study_trials([(MIX, [0.90, 0.60, 0.60]), (SRP, [0.80, 0.79, 0.81])])
    assert best_configuration(trials, "max").params["attention.pooling"] == "srp-ms"
    assert best_configuration(trials, "min").params["attention.pooling"] == "mix"
    assert best_configuration([], "max") is None


def test_parameters_that_do_not_apply_are_left_out():
    # A gap trial that carries a λ param (a grid without `when:`) shows no λ.
    (c,) = configurations([trial(0, {"attention.pooling": "gap", "attention.lam": 0.4}, 0, 0.5)], "x", "max")
    assert c.params == {"attention.pooling": "gap"}


def test_rerun_of_a_seed_counts_once():
    trials = [trial(0, GAP, 0, 0.5), trial(1, GAP, 1, 0.6), trial(2, GAP, 0, 0.7)]
    (c,) = configurations(trials, "x", "max")
    assert sorted(c.seeds) == [0, 1] and c.n == 2 and c.mean == pytest.approx(0.65)


def test_paired_interval_matches_scipy_ttest_rel():
    a = [0.81, 0.79, 0.84, 0.80, 0.83]
    b = [0.78, 0.77, 0.80, 0.79, 0.80]
    configs = configurations(study_trials([(SRP, a), (GAP, b)]), "test_acc", "max")
    iv = difference(configs[0], configs[1])
    ref = stats.ttest_rel(a, b).confidence_interval(0.95)
    assert iv.method == "paired" and iv.n_pairs == 5
    assert iv.delta == pytest.approx(sum(x - y for x, y in zip(a, b, strict=True)) / 5)
    assert iv.low == pytest.approx(ref.low) and iv.high == pytest.approx(ref.high)


def test_paired_uses_only_shared_seeds():
    a, b = [0.81, 0.79, 0.84, 0.90], [0.78, 0.77, 0.80]
    configs = configurations(study_trials([(SRP, a), (GAP, b)], seeds=[[0, 1, 2, 7], [0, 1, 2]]),
                             "test_acc", "max")
    iv = difference(configs[0], configs[1])
    ref = stats.ttest_rel(a[:3], b).confidence_interval(0.95)
    assert iv.n_pairs == 3 and iv.low == pytest.approx(ref.low) and iv.high == pytest.approx(ref.high)


def test_welch_interval_matches_scipy_when_no_seed_is_shared():
    a, b = [0.81, 0.79, 0.84, 0.80], [0.70, 0.75, 0.72]
    configs = configurations(study_trials([(SRP, a), (GAP, b)], seeds=[[0, 1, 2, 3], [10, 11, 12]]),
                             "test_acc", "max")
    iv = difference(configs[0], configs[1])
    res = stats.ttest_ind(a, b, equal_var=False)
    ref = res.confidence_interval(0.95)
    assert iv.method == "welch" and iv.df == pytest.approx(res.df)
    assert iv.low == pytest.approx(ref.low) and iv.high == pytest.approx(ref.high)
    assert iv.delta == pytest.approx(sum(a) / 4 - sum(b) / 3)


def test_verdicts_follow_the_interval_and_the_mode():
    better = [0.81, 0.80, 0.82]
    noise = [0.705, 0.72, 0.69]
    base = [0.70, 0.71, 0.70]
    worse = [0.60, 0.61, 0.59]
    table = [(SRP, better), (MIX, noise), (GAP, base), ({"attention.pooling": "max"}, worse),
             ({"attention.pooling": "min"}, [0.9])]
    configs = configurations(study_trials(table), "test_acc", "max")
    verdict = {c.config.params["attention.pooling"]: c.verdict for c in compare(configs, GAP, "max")}
    assert verdict == {"srp-ms": BETTER, "mix": WITHIN_NOISE, "gap": BASELINE, "max": WORSE, "min": TOO_FEW}
    # For a loss (min), lower is better: the same numbers flip.
    configs = configurations(study_trials(table), "train_loss", "min")
    verdict = {c.config.params["attention.pooling"]: c.verdict for c in compare(configs, GAP, "min")}
    assert verdict["srp-ms"] == WORSE and verdict["max"] == BETTER


def test_baseline_matching_several_configurations_picks_the_best():
    table = [({"attention.pooling": "gap", "attention.reduction": 4.0}, [0.70, 0.70]),
             ({"attention.pooling": "gap", "attention.reduction": 16.0}, [0.75, 0.76]),
             (SRP, [0.8, 0.81])]
    rows = compare(configurations(study_trials(table), "x", "max"), GAP, "max")
    base = [r for r in rows if r.verdict == BASELINE]
    assert len(base) == 1 and base[0].config.params["attention.reduction"] == 16.0


def test_baseline_absent_raises():
    with pytest.raises(LookupError, match="attention.pooling=gap"):
        compare(configurations(study_trials([(SRP, [0.8])]), "x", "max"), GAP, "max")


def test_indistinguishable_from_the_best():
    table = [(SRP, [0.81, 0.80, 0.82]), (MIX, [0.80, 0.82, 0.79]), (GAP, [0.70, 0.71, 0.70])]
    near = indistinguishable(configurations(study_trials(table), "x", "max"), "max")
    assert [c.config.params["attention.pooling"] for c in near] == ["srp-ms", "mix"]


def test_json_keys():
    rows = compare(configurations(study_trials([(SRP, [0.8, 0.7]), (GAP, [0.6, 0.65])]), "x", "max"), GAP)
    doc = rows[0].to_dict()
    assert {"params", "n", "mean", "std", "delta", "ci_low", "ci_high", "verdict"} <= set(doc)
    assert math.isfinite(doc["ci_low"])


def test_mean_interval_matches_scipy():
    from poolnas.evidence import mean_interval

    vals = [0.81, 0.79, 0.84, 0.80]
    (c,) = configurations(study_trials([(SRP, vals)]), "x", "max")
    low, high = mean_interval(c)
    ref = stats.t.interval(0.95, len(vals) - 1, loc=sum(vals) / 4, scale=stats.sem(vals))
    assert (low, high) == pytest.approx(ref)
    (one,) = configurations(study_trials([(SRP, [0.8])]), "x", "max")
    assert mean_interval(one) is None


def test_trials_without_config_or_params_stand_alone():
    import optuna

    trials = [optuna.trial.create_trial(value=v) for v in (0.3, 0.9)]
    for i, t in enumerate(trials):
        t.number = i
    configs = configurations(trials, "x", "max")
    assert [c.n for c in configs] == [1, 1] and configs[0].mean == 0.9
