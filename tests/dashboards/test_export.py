"""Export: ranking by the mean over seeds, the document shapes, CSV, the CLI, and the
export -> train round trip."""

from __future__ import annotations

import csv
import io
import json

import pytest
import yaml
from optuna.trial import TrialState

from poolnas.cli import main
from poolnas.config import load_trial_config
from poolnas.dashboards import format_entries, rank_configurations, trials_csv
from poolnas.models import build_model, count_parameters
from poolnas.studies import from_study
from poolnas.testing import synthetic_studies as S

LUCKY = {"attention.pooling": "srp-ss", "attention.lam": 0.4}  # one great seed, two bad
STEADY = {"attention.pooling": "srp-ms", "attention.lam": 0.6, "attention.M": 5}
WEAK = {"attention.pooling": "gap"}


def _fill(study):
    S.fill(study, [(LUCKY, [0.95, 0.60, 0.61]), (STEADY, [0.80, 0.82, 0.84]), (WEAK, [0.5, 0.5])])
    S.add_trial(study, STEADY, 3, None, state=TrialState.FAIL)


@pytest.fixture
def study(sqlite_url):
    s = S.create("export-me", sqlite_url)
    _fill(s)
    return s


def test_ranked_by_mean_over_seeds(study):
    entries = rank_configurations(from_study(study))
    assert [e.config["attention"]["pooling"] for e in entries] == ["srp-ms", "srp-ss", "gap"]
    best = entries[0]
    assert best.mean == pytest.approx(0.82) and best.std == pytest.approx(0.02) and best.n == 3
    assert best.seeds == [0, 1, 2] and best.config["seed"] == 2  # the best run's own config
    assert best.metrics["test_acc"]["mean"] == pytest.approx(0.82)
    assert best.n_params == 1000
    assert [e.rank for e in entries] == [1, 2, 3]


def test_minimize_ranks_the_other_way(sqlite_url):
    s = S.create("loss", sqlite_url, metric="train_loss", mode="min")
    _fill(s)
    assert rank_configurations(from_study(s), 1)[0].config["attention"]["pooling"] == "gap"


def test_top1_yaml_is_a_trial_config_with_comments(study, sqlite_url, tmp_path):
    out = tmp_path / "best.yaml"
    assert main(["export", "--study", "export-me", "--storage", sqlite_url, "-o", str(out)]) == 0
    text = out.read_text()
    assert text.startswith("# poolnas export: study 'export-me', rank 1 of 3")
    assert "mean 0.82 ± 0.02 (std) over 3 run(s)" in text
    config = load_trial_config(out)  # what `poolnas train --config best.yaml` reads
    assert config.attention.pooling == "srp-ms" and config.attention.M == 5


def test_header_names_the_run_it_reproduces(study, sqlite_url, tmp_path):
    """The file holds one run's config: the header names that trial, its seed and its value,
    and the configuration mean it stands for (issue 22 item 10)."""
    data = from_study(study)
    best = rank_configurations(data, 1)[0]
    run = next(t for t in study.get_trials() if t.number == best.trial)
    assert run.params["seed"] == best.seed == 2 and run.values[0] == pytest.approx(0.84)
    text = format_entries(data, [best], "yaml")
    assert (f"# reproduces trial {best.trial} (seed 2): test_acc 0.84; the configuration it "
            "stands for: mean 0.82 ± 0.02 (std) over 3 seed(s)\n") in text
    assert yaml.safe_load(text)["seed"] == 2  # the file trains that seed again
    doc = json.loads(format_entries(data, [best], "json"))[0]
    assert doc["reproduces"] == {"trial": best.trial, "seed": 2, "value": pytest.approx(0.84)}


def test_topk_yaml_and_json_are_lists(study, sqlite_url, tmp_path, capsys):
    data = from_study(study)
    entries = rank_configurations(data, 2)
    docs = [yaml.safe_load(format_entries(data, entries, "yaml")),
            json.loads(format_entries(data, entries, "json"))]
    for doc in docs:
        assert [d["rank"] for d in doc] == [1, 2]
        assert doc[0]["objective"] == {"metric": "test_acc", "mode": "max", "mean": pytest.approx(0.82),
                                       "std": pytest.approx(0.02), "n": 3}
        assert doc[0]["config"]["attention"]["pooling"] == "srp-ms"
    assert main(["export", "--study", "export-me", "--storage", sqlite_url, "--top", "5",
                 "--format", "json"]) == 0
    assert len(json.loads(capsys.readouterr().out)) == 3  # fewer configurations than asked


def test_csv_has_every_trial(study, sqlite_url, tmp_path):
    out = tmp_path / "all.csv"
    assert main(["export", "--study", "export-me", "--storage", sqlite_url, "-o", str(out)]) == 0
    rows = list(csv.DictReader(io.StringIO(out.read_text())))
    assert len(rows) == 9 and {r["state"] for r in rows} == {"COMPLETE", "FAIL"}
    steady = [r for r in rows if r["attention.pooling"] == "srp-ms" and r["state"] == "COMPLETE"]
    assert [float(r["group_mean"]) for r in steady] == pytest.approx([0.82] * 3)
    assert rows[0]["attention.placement.stages"] == "" and "metrics.test_acc" in rows[0]
    assert trials_csv(from_study(study)) == out.read_text()
    gap = next(r for r in rows if r["attention.pooling"] == "gap")
    assert gap["attention.lam"] == "" and gap["attention.M"] == ""  # not applicable: blank
    assert steady[0]["attention.lam"] != ""


def test_bad_input_exits_2(study, sqlite_url, tmp_path, capsys):
    url = sqlite_url
    assert main(["export", "--study", "export-mee", "--storage", url]) == 2
    err = capsys.readouterr().err
    assert "did you mean 'export-me'" in err and err.count("\n") == 1
    assert main(["export", "--study", "export-me", "--storage", url, "-o",
                 str(tmp_path / "no" / "x.yaml")]) == 2
    for bad in (["--top", "0"], ["--format", "xml"]):
        with pytest.raises(SystemExit) as exc:  # argparse: one line, exit 2
            main(["export", "--study", "export-me", "--storage", url, *bad])
        assert exc.value.code == 2
    assert not (tmp_path / "no").exists()


def test_empty_study_exits_1(sqlite_url, capsys):
    S.create("empty", sqlite_url)
    assert main(["export", "--study", "empty", "--storage", sqlite_url]) == 1
    assert "no complete trials" in capsys.readouterr().err


def test_export_train_round_trip_builds_the_same_model(sqlite_url, tmp_path):
    s = S.create("round-trip", sqlite_url)
    values = {"attention.pooling": "srp-ms", "attention.lam": 0.6, "attention.M": 3,
              "attention.reduction": 4, "attention.placement.stages": [2, 3]}
    S.fill(s, [(values, [0.9, 0.91]), (WEAK, [0.5])])
    out = tmp_path / "best.yaml"
    assert main(["export", "--study", "round-trip", "--storage", sqlite_url, "-o", str(out)]) == 0
    exported = load_trial_config(out)
    original = load_trial_config(_write(tmp_path / "orig.yaml", S.make_config(values, seed=1)))
    assert exported == original
    a, b = build_model(exported), build_model(original)
    assert count_parameters(a) == count_parameters(b) > 0
    assert str(a) == str(b)


def _write(path, doc):
    path.write_text(yaml.safe_dump(doc))
    return path
