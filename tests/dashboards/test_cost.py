"""Accuracy against cost: the figure's data, the report's Pareto section, the dashboard's
report route and ``poolnas export --pareto`` on a real multi-objective study (SQLite)."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from typing import Any
from wsgiref.util import setup_testing_defaults

import pytest
import yaml

from poolnas.cli import main
from poolnas.config import config_from_dict
from poolnas.dashboards.cost import _get_cost_info, has_cost, plot_cost
from poolnas.dashboards.report import render_report, report_figures
from poolnas.evidence import evidence_of, mean_interval
from poolnas.studies.reader import load_study
from poolnas.testing import synthetic_studies as S

FRONT = {"score", "srp-ms", "gap", "avgmax"}  # of (test_acc max, flops min) in S.MO_TABLE


@pytest.fixture
def mo_url(sqlite_url: str) -> str:
    S.create_multi("mo", sqlite_url)
    return sqlite_url


def _pooling(point: Any) -> str:
    return point.config.split("attention.pooling=")[1].split(",")[0]


def test_multi_objective_study_reads_with_first_objective_leading(mo_url) -> None:
    data = load_study("mo", mo_url)
    assert data.objectives == (("test_acc", "max"), ("flops", "min")) and data.multi_objective
    assert (data.metric, data.mode) == ("test_acc", "max") and len(data.rows) == 11
    assert evidence_of(data).best.params["attention.pooling"] == "score"
    assert data.state_counts["FAIL"] == 1


def test_cost_info_points_front_intervals_and_baseline(mo_url) -> None:
    data = load_study("mo", mo_url)
    info = _get_cost_info(data, "flops")
    assert [p.x for p in info.points] == sorted(p.x for p in info.points) and info.missing == 0
    assert {_pooling(p) for p in info.front} == FRONT
    by = {_pooling(p): p for p in info.points}
    gap = next(c for c in evidence_of(data).configs if c.params["attention.pooling"] == "gap")
    low, high = mean_interval(gap)
    assert by["gap"].baseline and by["gap"].y == pytest.approx(81.0)
    assert (by["gap"].low, by["gap"].high) == (pytest.approx(100 * low), pytest.approx(100 * high))
    assert by["avgmax"].low is None and by["avgmax"].n == 1  # one seed: no interval
    # against parameters: score (1400) and the most accurate at 1000 (srp-ms) only
    assert {_pooling(p) for p in _get_cost_info(data, "params").front} == {"score", "srp-ms"}
    fig = plot_cost(data, "flops")
    assert fig.layout.xaxis.type == info.axis_type == "linear"  # 0.9 to 2 M: a factor of 2.2
    names = [t.name for t in fig.data]
    # max and mix: dominated on the means, by none beyond noise (two seeds: wide intervals)
    assert "on the front" in names and "within noise of the front" in names and "dominated" not in names
    assert any(n.startswith("baseline") for n in names)
    star = next(t for t in fig.data if t.name == "on the front")
    assert sorted(star.x) == sorted(p.x for p in info.front if not p.baseline)
    with pytest.raises(ValueError):
        _get_cost_info(data, "watts")


def test_within_noise_does_not_dominate_and_small_cost_spreads_stay_small(sqlite_url) -> None:
    """Three seeds each at nearly one cost (mix's 18 parameters: 0.007%): B is more accurate
    than A only within noise, so A (avgmax) stays on the front within noise (open star); C is worse
    than both beyond noise. The axis is linear and at least ±5% wide: the points do not
    spread across the figure."""
    table = [({"attention.pooling": "avgmax"}, [0.80, 0.82, 0.81], 30.9e6, 271_807),
             ({"attention.pooling": "mix"}, [0.81, 0.82, 0.83], 31.0e6, 271_807),
             ({"attention.pooling": "max"}, [0.60, 0.62, 0.61], 31.0e6, 271_825)]
    S.create_multi("noise", sqlite_url, table=table)
    data = load_study("noise", sqlite_url)
    info = _get_cost_info(data, "params")
    by = {_pooling(p): p for p in info.points}
    assert by["mix"].on_front and by["mix"].noise_front
    assert not by["avgmax"].on_front and by["avgmax"].noise_front  # dominated on the means only
    assert not by["max"].on_front and not by["max"].noise_front  # worse beyond noise
    assert info.axis_type == "linear"
    low, high = info.x_range
    assert high - low >= 0.0999 * 271_816 and low < 271_807 and high > 271_825
    fig = plot_cost(data, "params")
    assert {t.name for t in fig.data} >= {"within noise of the front", "dominated"}
    assert fig.layout.xaxis.tickformat == "~s" and "e+" not in "".join(
        str(c[3]) for t in fig.data if t.customdata is not None for c in t.customdata)
    from poolnas.dashboards.cost import _axis

    assert _axis([1e6, 3.9e6])[0] == "linear" and _axis([1e6, 4e6]) == ("log", None)  # LOG_SPAN


def test_single_objective_study_without_cost_says_so(sqlite_url) -> None:
    S.fill(S.create("old", sqlite_url), [({"attention.pooling": "gap"}, [0.7, 0.72])])
    data = load_study("old", sqlite_url)
    assert not has_cost(data, "flops")
    figs = {f.key: f for f in report_figures(data)}
    assert figs["cost-flops"].figure is None and "kept no flops" in figs["cost-flops"].note
    assert "id='pareto-none'" in render_report(data, list(figs.values()))


def test_single_objective_study_with_cost_gets_the_scatter(sqlite_url) -> None:
    S.create_single_with_cost("so", sqlite_url)
    data = load_study("so", sqlite_url)
    assert not data.multi_objective
    assert {_pooling(p) for p in _get_cost_info(data, "flops").front} == FRONT
    assert {p.config.params["attention.pooling"] for p in evidence_of(data).front} == FRONT


def test_report_shows_the_pareto_set_and_cost_figures(mo_url, tmp_path) -> None:
    path = tmp_path / "mo.html"
    assert main(["report", "--study", "mo", "--storage", mo_url, "-o", str(path)]) == 0
    page = path.read_text()
    index = json.loads(page.split('id="poolnas-figures">')[1].split("</script>")[0])
    assert {"cost-flops", "cost-params"} <= set(index)
    assert "4 of 6 configurations are on the Pareto front of test_acc (max) against flops (min)" in page
    section = page.split('id="poolnas-pareto">')[1].split("</table>")[0]
    assert section.count("<tr>") == 1 + len(FRONT) and "attention.pooling=mix" not in section
    assert "multi-objective; best: the best mean of the first" in page
    assert page.index('id="cost"') < page.index("<h2>Summary</h2>")
    table = page.split("<h2>Configurations</h2>")[1].split("</table>")[0]
    assert "<th>FLOPs</th><th>front</th>" in table and table.count("<td>*</td>") == len(FRONT)
    assert "<td>1.000 M</td>" in table and "<td>1,400</td>" in table and "e+0" not in table + section
    # step times of 10-11 ms in ms; the synthetic runs kept no load: said so
    assert "<td>10.5 ms</td>" in section and "load is not known" in page


def test_dashboard_report_route_on_a_multi_objective_study(mo_url) -> None:
    from poolnas.dashboards.server import create_app
    from poolnas.storage import open_storage

    storage = open_storage(mo_url)
    app = create_app(storage)
    environ: dict[str, Any] = {"REQUEST_METHOD": "GET", "PATH_INFO": "/poolnas/report/mo",
                               "wsgi.input": io.BytesIO(b""), "CONTENT_LENGTH": "0"}
    setup_testing_defaults(environ)
    status: list[str] = []
    body = b"".join(app(environ, lambda s, h, exc=None: status.append(s)))
    assert status[0].startswith("200")
    assert b'id="fig-cost-flops"' in body and b"id='pareto-over'" in body
    sid = storage.get_study_id_from_name("mo")
    environ.update(PATH_INFO=f"/api/studies/{sid}/param_importances", **{"wsgi.input": io.BytesIO(b"")})
    body = b"".join(app(environ, lambda s, h, exc=None: status.append(s)))
    lists = json.loads(body)["param_importances"]  # one list per objective, the first computed
    assert status[-1].startswith("200") and len(lists) == 2 and lists[0][0]["name"] == "attention.pooling"


def test_export_pareto_writes_one_trainable_file_per_entry(mo_url, tmp_path, capsys) -> None:
    out = tmp_path / "front"
    assert main(["export", "--study", "mo", "--storage", mo_url, "--pareto", "-o", str(out)]) == 0
    files = sorted(out.iterdir())
    assert [f.name for f in files] == [f"pareto-0{i}.yaml" for i in range(1, 5)]
    poolings = []
    for f in files:
        text = f.read_text()
        assert text.startswith("# Pareto set entry") and "# cost (mean over seeds): params" in text
        config = config_from_dict(yaml.safe_load(text))  # a whole trial config, nothing else
        poolings.append(config.attention.pooling)
    assert set(poolings) == FRONT and poolings[0] == "score"  # best first in test_acc
    # the best seed's config (score: seed 0 has 0.90 > 0.89)
    assert yaml.safe_load(files[0].read_text())["seed"] == 0
    # again: refused without --force (exit 2, nothing changed), replaced with it
    (out / "pareto-09.yaml").write_text("stale\n")
    before = {f.name: f.read_text() for f in out.iterdir()}
    assert main(["export", "--study", "mo", "--storage", mo_url, "--pareto", "-o", str(out)]) == 2
    assert "--force" in capsys.readouterr().err
    assert {f.name: f.read_text() for f in out.iterdir()} == before
    assert main(["export", "--study", "mo", "--storage", mo_url, "--pareto", "-o", str(out), "--force"]) == 0
    assert sorted(f.name for f in out.iterdir()) == [f.name for f in files]


def test_export_top1_and_csv_on_a_multi_objective_study(mo_url, capsys) -> None:
    assert main(["export", "--study", "mo", "--storage", mo_url]) == 0
    assert config_from_dict(yaml.safe_load(capsys.readouterr().out)).attention.pooling == "score"
    assert main(["export", "--study", "mo", "--storage", mo_url, "--format", "csv"]) == 0
    import csv

    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    done = [r for r in rows if r["state"] == "COMPLETE"]
    assert len(rows) == 12 and len(done) == 11
    assert all(r["value"] == r["values.test_acc"] and float(r["values.flops"]) >= 9e5 for r in done)


def test_export_pareto_json_stdout_and_bad_input(mo_url, tmp_path, capsys) -> None:
    assert main(["export", "--study", "mo", "--storage", mo_url, "--pareto", "--format", "json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert len(doc) == len(FRONT) and all(e["pareto"] for e in doc)
    assert doc[0]["cost"]["flops"] == 2.0e6 and doc[0]["config"]["attention"]["pooling"] == "score"
    assert main(["export", "--study", "mo", "--storage", mo_url, "--pareto"]) == 0
    docs = list(yaml.safe_load_all(capsys.readouterr().out))  # one document per entry
    assert [d["attention"]["pooling"] for d in docs] == [e["config"]["attention"]["pooling"] for e in doc]
    assert main(["export", "--study", "mo", "--storage", mo_url, "--pareto", "--format", "csv"]) == 2
    afile = tmp_path / "a.yaml"
    afile.write_text("x\n")
    assert main(["export", "--study", "mo", "--storage", mo_url, "--pareto", "-o", str(afile)]) == 2
    assert afile.read_text() == "x\n"
    assert "expected a folder" in capsys.readouterr().err


@pytest.mark.integration
def test_an_exported_pareto_entry_trains_with_poolnas_train(mo_url, tmp_path) -> None:
    out = tmp_path / "front"
    assert main(["export", "--study", "mo", "--storage", mo_url, "--pareto", "-o", str(out)]) == 0
    entry = out / "pareto-02.yaml"  # srp-ms, digits, tiny subsets
    env = {k: v for k, v in os.environ.items() if k != "POOLNAS_STORAGE"}
    res = subprocess.run([sys.executable, "-m", "poolnas", "train", "--config", str(entry), "--epochs", "1",
                          "--out", str(tmp_path / "run"), "--no-progress"], cwd=tmp_path, env=env,
                         capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stderr
    doc = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert doc["epochs"] == 1 and 0.0 <= doc["metrics"]["test_acc"] <= 1.0
    saved = yaml.safe_load((tmp_path / "run" / "config.yaml").read_text())
    assert saved["attention"]["pooling"] == "srp-ms" and saved["attention"]["M"] == 5
