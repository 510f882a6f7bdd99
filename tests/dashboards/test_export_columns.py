"""Every column of every export format (yaml, json, csv, pareto) against values worked out by
hand from the synthetic table (poolnas.testing.synthetic_studies.MO_TABLE), so a field that
goes missing or blank (as ``group_n`` once did in the CSV) fails here."""

from __future__ import annotations

import csv
import io
import json
import math
import statistics

import pytest
import yaml

from poolnas.dashboards.export import (
    format_entries,
    format_pareto,
    pareto_entries,
    pareto_files,
    rank_configurations,
    trials_csv,
)
from poolnas.records import config_key, flatten
from poolnas.studies import from_study
from poolnas.testing import synthetic_studies as S

ENTRY_KEYS = {"rank", "config_key", "objective", "reproduces", "metrics", "seeds", "trials", "n_params",
              "checkpoint", "notes", "cost", "pareto", "config"}
FIXED = ["number", "state", "value", "config_key", "group_mean", "group_std", "group_n", "n_params",
         "checkpoint", "fail_reason"]
# the config fields blank for other poolings (docs/evidence.md)
NOT_APPLICABLE = {"attention.lam": ("srp-ss", "srp-ms"), "attention.schedule": ("srp-ss", "srp-ms"),
                  "attention.M": ("srp-ms",), "attention.mix_alpha": ("mix",), "attention.paths": ("score",)}
METRICS = ["flops", "infer_ms", "params", "test_acc", "train_loss", "train_step_ms", "val_acc"]


def _expected_trials() -> list[dict]:
    """One dict per trial of MO_TABLE in the order the study holds them."""
    out = []
    for values, accs, flops, params in S.MO_TABLE:
        for seed, acc in enumerate(accs):
            config = S.make_config(values, seed, S.MO_BASE)
            out.append({"values": values, "seed": seed, "acc": acc, "flops": flops, "params": params,
                        "accs": accs, "config": config, "key": config_key(config)})
    return out


def _stats(accs: list[float]) -> tuple[float, float | None, int]:
    return statistics.mean(accs), (statistics.stdev(accs) if len(accs) > 1 else None), len(accs)


@pytest.fixture
def single(sqlite_url):
    return from_study(S.create_single_with_cost("cols", sqlite_url))


@pytest.fixture
def multi(sqlite_url):
    return from_study(S.create_multi("cols-mo", sqlite_url))


def _check_entry_doc(doc: dict, rank: int, values: dict, accs: list[float], flops: float, params: int,
                     pareto: bool, trials: list[int]) -> None:
    assert set(doc) == ENTRY_KEYS
    mean, std, n = _stats(accs)
    best_seed = max(range(len(accs)), key=lambda s: (accs[s], -s))
    config = S.make_config(values, best_seed, S.MO_BASE)
    assert doc["rank"] == rank
    assert doc["reproduces"] == {"trial": trials[best_seed], "seed": best_seed, "value": accs[best_seed]}
    assert doc["config"] == config and doc["config_key"] == config_key(config)
    assert doc["objective"] == {"metric": "test_acc", "mode": "max", "mean": pytest.approx(mean),
                                "std": None if std is None else pytest.approx(std), "n": n}
    seeds = list(range(len(accs)))
    metric_runs = {"test_acc": accs, "val_acc": accs, "train_loss": [1.0 - a for a in accs],
                   "params": [params] * n, "flops": [flops] * n,
                   "train_step_ms": [10.0 + s for s in seeds], "infer_ms": [2.0 + s / 2 for s in seeds]}
    assert set(doc["metrics"]) == set(METRICS)
    for name, runs in metric_runs.items():
        m, s, _ = _stats(runs)
        assert doc["metrics"][name]["mean"] == pytest.approx(m), name
        assert doc["metrics"][name]["std"] == (None if s is None else pytest.approx(s)), name
    assert doc["seeds"] == seeds and doc["trials"] == trials
    assert doc["n_params"] == params and doc["checkpoint"] is None
    assert len(doc["notes"]) == 1 and doc["notes"][0].startswith("These grids are reported on test data")
    assert doc["cost"] == {"params": pytest.approx(params), "flops": pytest.approx(flops),
                           "train_step_ms": pytest.approx(statistics.mean(metric_runs["train_step_ms"])),
                           "infer_ms": pytest.approx(statistics.mean(metric_runs["infer_ms"]))}
    assert doc["pareto"] is pareto


# by mean test_acc: score .895, srp-ms .87, mix .845, gap .81, max .785, avgmax .70;
# on the front of test_acc (max) against flops (min): score, srp-ms, gap, avgmax
RANKED = [(4, [8, 9], True), (2, [4, 5], True), (3, [6, 7], False), (0, [0, 1], True), (1, [2, 3], False),
          (5, [10], True)]


@pytest.mark.parametrize("fmt", ["json", "yaml"])
def test_every_field_of_a_ranked_list(single, fmt):
    text = format_entries(single, rank_configurations(single), fmt)
    docs = json.loads(text) if fmt == "json" else yaml.safe_load(text)
    assert len(docs) == len(RANKED)
    for rank, (doc, (row, trials, pareto)) in enumerate(zip(docs, RANKED, strict=True), start=1):
        values, accs, flops, params = S.MO_TABLE[row]
        _check_entry_doc(doc, rank, values, accs, flops, params, pareto, trials)


def test_top1_yaml_is_the_config_and_its_comments(single):
    text = format_entries(single, rank_configurations(single, 1), "yaml")
    comments = [line[2:] for line in text.splitlines() if line.startswith("# ")]
    values, accs, flops, params = S.MO_TABLE[4]
    assert yaml.safe_load(text) == S.make_config(values, 0, S.MO_BASE)
    key = config_key(S.make_config(values, 0, S.MO_BASE))
    assert comments == [
        f"poolnas export: study 'cols', rank 1 of 6 configurations (config_key {key})",
        f"reproduces trial 8 (seed 0): test_acc 0.9; the configuration it stands for: mean 0.895 "
        f"± {statistics.stdev(accs):.3g} (std) over 2 seed(s)",
        f"objective test_acc (max): mean 0.895 ± {statistics.stdev(accs):.3g} (std) over 2 run(s); "
        "seeds [0, 1]; trials [8, 9]",
        "flops: mean 2e+06 ± 0 (std)",
        "infer_ms: mean 2.25 ± 0.354 (std)",
        "params: mean 1400 ± 0 (std)",
        f"test_acc: mean 0.895 ± {statistics.stdev(accs):.3g} (std)",
        f"train_loss: mean 0.105 ± {statistics.stdev(accs):.3g} (std)",
        "train_step_ms: mean 10.5 ± 0.707 (std)",
        f"val_acc: mean 0.895 ± {statistics.stdev(accs):.3g} (std)",
        "n_params: 1400; checkpoint: None",
        "cost (mean over seeds): params 1400; flops 2e+06; train_step_ms 10.5; infer_ms 2.25",
        *TEST_DATA_NOTE,
        "Train it again: poolnas train --config <this file>",
    ]


TEST_DATA_NOTE = [
    "note: These grids are reported on test data, as the papers report them, not selected on it: the",
    "objective is test_acc (the paper presets set trainer.val_fraction: 0), so the best",
    "configuration's accuracy is the best of the grid on the test set, an optimistic estimate rather",
    "than a held-out one.",
]


def _csv_rows(text: str) -> tuple[list[str], list[dict]]:
    reader = csv.DictReader(io.StringIO(text))
    return list(reader.fieldnames or []), list(reader)


def _blank(v) -> str:
    return "" if v is None else str(v)


def _check_csv_row(row: dict, number: int, t: dict, config_columns: list[str]) -> None:
    mean, std, n = _stats(t["accs"])
    assert row["number"] == str(number) and row["state"] == "COMPLETE"
    assert float(row["value"]) == pytest.approx(t["acc"])
    assert row["config_key"] == t["key"]
    assert float(row["group_mean"]) == pytest.approx(mean)
    assert row["group_std"] == "" if std is None else float(row["group_std"]) == pytest.approx(std)
    assert row["group_n"] == str(n)
    assert row["n_params"] == str(t["params"]) and row["checkpoint"] == "" and row["fail_reason"] == ""
    metrics = {"test_acc": t["acc"], "val_acc": t["acc"], "train_loss": 1.0 - t["acc"], "params": t["params"],
               "flops": t["flops"], "train_step_ms": 10.0 + t["seed"], "infer_ms": 2.0 + t["seed"] / 2}
    for name, value in metrics.items():
        assert float(row[f"metrics.{name}"]) == pytest.approx(value), name
    flat = flatten(t["config"])
    pooling = t["values"]["attention.pooling"]
    for col in config_columns:
        value = flat.get(col)
        if col in NOT_APPLICABLE and pooling not in NOT_APPLICABLE[col]:
            assert row[col] == "", col  # not applicable to this pooling: blank
        elif isinstance(value, tuple):
            assert json.loads(row[col]) == list(value), col
        else:
            assert row[col] == _blank(value), col


def test_every_column_of_the_csv(single):
    header, rows = _csv_rows(trials_csv(single))
    expected = _expected_trials()
    config_columns = sorted({k for t in expected for k in flatten(t["config"])})
    assert header == FIXED + sorted([f"metrics.{m}" for m in METRICS] + config_columns)
    for number, (row, t) in enumerate(zip(rows, expected, strict=True)):
        _check_csv_row(row, number, t, config_columns)


def test_every_column_of_a_multi_objective_csv(multi):
    header, rows = _csv_rows(trials_csv(multi))
    expected = _expected_trials()
    config_columns = sorted({k for t in expected for k in flatten(t["config"])})
    values_columns = ["values.flops", "values.test_acc"]
    assert header == FIXED + sorted([f"metrics.{m}" for m in METRICS] + config_columns + values_columns)
    assert len(rows) == len(expected) + 1
    for number, (row, t) in enumerate(zip(rows[:-1], expected, strict=True)):
        _check_csv_row(row, number, t, config_columns)
        assert float(row["values.test_acc"]) == pytest.approx(t["acc"])
        assert float(row["values.flops"]) == pytest.approx(t["flops"])
    failed = rows[-1]
    assert failed["state"] == "FAIL" and failed["value"] == "" and failed["values.test_acc"] == ""
    assert failed["values.flops"] == "" and failed["group_n"] == "2"  # its configuration (gap) has 2 runs
    assert math.isclose(float(failed["group_mean"]), 0.81)


def test_every_field_of_the_pareto_set(multi):
    entries = pareto_entries(multi)
    # the front of test_acc (max) against flops (min), best first in test_acc
    front = [(4, [8, 9]), (2, [4, 5]), (0, [0, 1]), (5, [10])]
    ranks = [1, 2, 4, 6]
    docs = json.loads(format_pareto(multi, entries, "json"))
    assert len(docs) == len(front)
    for doc, rank, (row, trials) in zip(docs, ranks, front, strict=True):
        values, accs, flops, params = S.MO_TABLE[row]
        _check_entry_doc(doc, rank, values, accs, flops, params, True, trials)
    files = pareto_files(multi, entries)
    assert [name for name, _ in files] == [f"pareto-0{i}.yaml" for i in range(1, 5)]
    for i, ((_, text), (row, trials)) in enumerate(zip(files, front, strict=True), start=1):
        values, accs, _, _ = S.MO_TABLE[row]
        best_seed = max(range(len(accs)), key=lambda s: (accs[s], -s))
        assert yaml.safe_load(text) == S.make_config(values, best_seed, S.MO_BASE)
        assert text.startswith(f"# Pareto set entry {i} of 4: on the front of test_acc (max) against "
                               "flops (min)")
        assert f"trials {trials}" in text
    documents = list(yaml.safe_load_all(format_pareto(multi, entries, "yaml")))
    assert documents == [yaml.safe_load(text) for _, text in files]
