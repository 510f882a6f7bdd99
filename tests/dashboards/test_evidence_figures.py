"""The evidence in the report, the figures and the export: one best, the verdict, Δ colour
scales centred on the baseline, within-noise marks, blank parameters, no "± 0.00"."""

from __future__ import annotations

import json
import re

import pytest
from scipy import stats

from poolnas.cli import main
from poolnas.dashboards import render_report
from poolnas.dashboards.export import format_entries, rank_configurations
from poolnas.dashboards.srp_heatmap import _get_srp_heatmap_info, plot_srp_heatmap
from poolnas.dashboards.srp_lambda import plot_srp_lambda
from poolnas.dashboards.verdict import _get_verdict_info
from poolnas.evidence import TEST_DATA_NOTE
from poolnas.records import TrialAttrs
from poolnas.studies import from_study
from poolnas.testing import synthetic_studies as S

GAP = [0.700, 0.710, 0.705]
SPACE = {"study": "ev", "baseline": {"attention.pooling": "gap"}}


def _ms(lam, m):
    return {"attention.pooling": "srp-ms", "attention.lam": lam, "attention.M": m}


@pytest.fixture(scope="module")
def study():
    s = S.create("ev", space=SPACE)
    S.fill(s, [({"attention.pooling": "gap"}, GAP),
               (_ms(0.2, 1), [0.760, 0.775, 0.770]),   # best
               (_ms(0.2, 5), [0.765, 0.770, 0.760]),   # within noise of the best
               (_ms(0.6, 1), [0.700, 0.705, 0.712]),   # within noise of gap
               (_ms(0.6, 5), [0.650, 0.655, 0.660]),   # worse than gap
               ({"attention.pooling": "max"}, [0.69])])  # one seed: n too small
    return s


def _verdict_text(page: str) -> str:
    block = re.search(r'<div id="poolnas-verdict">(.*?)</div>', page, re.S).group(1)
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", block))


def test_report_verdict_names_baseline_winners_and_near_best(study):
    page = render_report(from_study(study))
    assert page.index('id="verdict"') < page.index("<h2>Summary</h2>")  # the answer first
    text = _verdict_text(page)
    assert "Baseline (space file): attention.pooling=gap : 70.50% ± " in text
    better = text.split("Better than the baseline")[1].split("Best and those")[0]
    assert "lam=0.2, attention.M=1" in better and "lam=0.2, attention.M=5" in better
    assert "lam=0.6" not in better and "max" not in better
    # simultaneous over the 4 configurations with an interval (max ran one seed): each at 1 - 0.05 / 4
    ref = stats.ttest_rel([0.760, 0.775, 0.770], GAP).confidence_interval(1 - 0.05 / 4)
    assert f"[+{100 * ref.low:.2f}, +{100 * ref.high:.2f}]" in better
    assert "Family: the 4 configurations compared with the baseline" in text
    best = text.split("Best:")[1]
    assert best.lstrip().startswith("attention.pooling=srp-ms, attention.lam=0.2, attention.M=1")
    assert "lam=0.2, attention.M=5" in best.split("(std, n=3; a mean over seeds).")[1]  # within noise of it
    assert "ran one seed" in text and TEST_DATA_NOTE.split(",")[0] in text


def test_report_table_blanks_what_does_not_apply_and_dashes_single_seeds(study):
    page = render_report(from_study(study))
    table = re.search(r"<h2>Configurations</h2>.*?(<table>.*?</table>)", page, re.S).group(1)
    rows = [re.findall(r"<t[dh]>(.*?)</t[dh]>", r) for r in re.findall(r"<tr>(.*?)</tr>", table)]
    head = rows[0]
    lam, std, verdict = head.index("attention.lam"), head.index("std"), head.index("verdict")
    by_pooling = {r[head.index("attention.pooling")]: r for r in rows[1:]}
    assert by_pooling["gap"][lam] == "" and by_pooling["max"][lam] == ""  # no λ for gap
    assert by_pooling["max"][std] == "–" and "0.00" not in by_pooling["max"][std]
    assert by_pooling["max"][verdict] == "n too small" and by_pooling["gap"][verdict] == "baseline"
    assert rows[1][head.index("attention.pooling")] == "srp-ms"  # the best mean


def test_heatmap_colour_is_delta_from_the_baseline_centred_on_it(study):
    data = from_study(study)
    info = _get_srp_heatmap_info(data)
    (panel,) = info.panels
    assert info.reference == "baseline attention.pooling=gap"
    i1, i5 = panel.M.index(1), panel.M.index(5)
    j2, j6 = panel.lam.index(0.2), panel.lam.index(0.6)
    assert panel.delta[i1][j2] == pytest.approx(panel.mean[i1][j2] - 70.5)
    assert panel.delta[i5][j6] < 0 < panel.delta[i1][j2]
    assert panel.near_best[i1][j2] and panel.near_best[i5][j2] and not panel.near_best[i5][j6]
    trace = plot_srp_heatmap(data).data[0]
    assert trace.zmid == 0 and trace.zmin == -trace.zmax
    assert trace.zmax == pytest.approx(max(abs(d) for row in panel.delta for d in row if d is not None))
    assert "★" in trace.text[i1][j2] and "★" not in trace.text[i5][j6]


def test_line_figure_marks_near_best_and_colours_delta():
    s = S.create("ev-lines", space={"study": "ev-lines", "baseline": {"attention.pooling": "gap"}})
    S.fill(s, [({"attention.pooling": "gap"}, GAP)] +
           [({"attention.pooling": "srp-ss", "attention.lam": lam},
             [0.70 + lam / 10, 0.705 + lam / 10, 0.70 + lam / 10])
            for lam in (0.2, 0.5, 0.9)])
    fig = plot_srp_lambda(from_study(s))
    line = next(t for t in fig.data if t.mode == "lines+markers")
    assert list(line.marker.symbol) == ["circle", "circle", "star"]
    assert line.marker.cmid == 0 and line.marker.color[2] > 0
    assert any(shape.y0 is not None for shape in fig.layout.shapes)  # the baseline's band


def test_verdict_figure_every_seed_a_dot(study):
    info = _get_verdict_info(from_study(study))
    assert info.x_key == "attention.pooling"
    assert len(info.dots) == 16  # every run
    cols = {c.x: c for c in info.columns}
    assert cols["srp-ms"].near_best and cols["srp-ms"].n == 3 and cols["max"].low is None
    srp = [0.760, 0.775, 0.770]
    # the verdict's interval (simultaneous over 4 comparisons), placed on the baseline's mean
    ref = stats.ttest_rel(srp, GAP).confidence_interval(1 - 0.05 / 4)
    base = 100 * sum(GAP) / 3
    assert (cols["srp-ms"].low, cols["srp-ms"].high) == pytest.approx(
        (base + 100 * ref.low, base + 100 * ref.high))
    assert cols["srp-ms"].mean == pytest.approx(100 * sum(srp) / 3) and cols["srp-ms"].verdict == "better"
    assert cols["srp-ms"].n_pairs == 3 and cols["gap"].low is None
    assert info.baseline[1] == pytest.approx(70.5)


def test_export_uses_the_one_best_and_says_test_data(study):
    data = from_study(study)
    top = rank_configurations(data, 1)[0]
    assert top.config["attention"]["lam"] == 0.2 and top.config["attention"]["M"] == 1 and top.n == 3
    text = format_entries(data, rank_configurations(data, 1), "yaml")
    assert "reported on test data" in text and "not selected" in text
    lucky = next(e for e in rank_configurations(data) if e.config["attention"]["pooling"] == "max")
    assert lucky.std is None
    assert "(one run, no std)" in format_entries(data, [lucky], "yaml")
    assert json.loads(format_entries(data, [lucky], "json"))[0]["objective"]["std"] is None


def test_old_stored_config_does_not_break_report_or_export(sqlite_url, tmp_path):
    import optuna
    import yaml

    from poolnas.records import config_key

    s = S.create("old", sqlite_url)
    for seed, value in ((0, 0.7), (1, 0.72)):
        old = S.make_config({"attention.pooling": "gap"}, seed)
        old["attention"]["removed_field"] = 1  # a field a later schema dropped; no config_version
        s.add_trial(optuna.trial.create_trial(value=value, user_attrs={
            TrialAttrs.CONFIG: old, TrialAttrs.CONFIG_KEY: config_key(old)}))
    out = tmp_path / "r.html"
    assert main(["report", "--study", "old", "--storage", sqlite_url, "-o", str(out)]) == 0
    assert "attention.removed_field reset to the default" in out.read_text()
    best = tmp_path / "best.yaml"
    assert main(["export", "--study", "old", "--storage", sqlite_url, "-o", str(best)]) == 0
    text = best.read_text()
    assert "attention.removed_field reset to the default" in text
    assert "removed_field" not in yaml.safe_dump(yaml.safe_load(text))


def test_chance_accuracy_study_says_so():
    s = S.create("chance")
    S.fill(s, [({"attention.pooling": p}, [0.10, 0.11]) for p in ("gap", "mix")])
    page = render_report(from_study(s))
    assert "sits at chance accuracy" in _verdict_text(page)


def _get(app, path):
    import io

    out = {}

    def start(status, headers, exc_info=None):
        out["status"] = status

    environ = {"REQUEST_METHOD": "GET", "PATH_INFO": path, "QUERY_STRING": "", "SERVER_NAME": "x",
               "SERVER_PORT": "80", "wsgi.input": io.BytesIO(b""), "wsgi.url_scheme": "http"}
    body = b"".join(app(environ, start))
    return out["status"], body


def test_dashboard_importances_agree_with_the_report(sqlite_url):
    from poolnas.dashboards import optuna_plots
    from poolnas.dashboards.server import create_app
    from poolnas.storage import open_storage

    s = S.create("imp", sqlite_url)
    S.fill(s, [(_ms(lam, m), [0.5 + lam / 2 + m / 100, 0.51 + lam / 2])
               for lam in (0.2, 0.6, 1.0) for m in (1, 3)])
    storage = open_storage(sqlite_url)
    sid = storage.get_study_id_from_name("imp")
    status, body = _get(create_app(storage), f"/api/studies/{sid}/param_importances")
    assert status.startswith("200")
    served = {r["name"]: r["importance"] for r in json.loads(body)["param_importances"][0]}
    assert "seed" not in served and set(served) == {"attention.lam", "attention.M"}
    fig = next(p for p in optuna_plots(from_study(s)) if p.key == "importances").figure
    drawn = dict(zip([str(n) for n in fig.data[0].y], fig.data[0].x, strict=True))
    assert served == pytest.approx(drawn, abs=0.01)  # the plot rounds to two decimals
    assert _get(create_app(storage), "/api/studies/999/param_importances")[0].startswith("404")


def test_verdict_figure_without_pooling_types_uses_the_parameter_that_matters_most():
    s = S.create("ev-lam")
    # λ moves accuracy by 10 points, M by 1: the figure is drawn per λ.
    S.fill(s, [(_ms(lam, m), [0.6 + lam / 10 + m / 1000, 0.61 + lam / 10 + m / 1000])
               for lam in (0.2, 0.6, 1.0) for m in (1, 5)])
    info = _get_verdict_info(from_study(s))
    assert info.x_key == "attention.lam" and [c.x for c in info.columns] == ["0.2", "0.6", "1"]
    assert all("M=5" in c.config for c in info.columns)  # the best configuration at each λ
