"""The HTML report without a browser: sections, self-containment, redaction, Optuna guards."""

from __future__ import annotations

import re

import pytest

from poolnas.cli import main
from poolnas.dashboards import optuna_plots, render_report, write_report
from poolnas.studies import from_study
from poolnas.testing import synthetic_studies as S


@pytest.fixture(scope="module")
def srp_study():
    study = S.create("srp-report",
                     space={"study": "srp-report", "space": {"attention.lam": {"grid": [0.4, 0.8]}}})
    S.fill(study, [({"attention.pooling": p, "attention.lam": lam, "attention.M": 3}, [0.5 + lam / 10, 0.52])
                   for p in ("srp-ss", "srp-ms") for lam in (0.4, 0.8)])
    return study


def test_report_sections_and_figures(srp_study):
    data = from_study(srp_study, "postgresql+psycopg://poolnas:s3cret@db.example/poolnas")
    page = render_report(data)
    from plotly.offline import get_plotlyjs

    assert page.count(get_plotlyjs()[:500]) == 1  # plotly.js embedded once
    assert "s3cret" not in page and "poolnas:***@db.example" in page
    ours = page.replace(get_plotlyjs(), "")  # nothing outside plotly.js loads from the network
    assert not re.search(r"<script[^>]+src=", ours) and not re.search(r"(src|href)=[\"']?https?:", ours)
    for key in ("fig-srp-fig2", "fig-srp-fig3", "fig-srp-fig7", "fig-optuna-history", "fig-optuna-slice"):
        assert f'id="{key}"' in page
    assert "attention.lam:" in page  # the space
    assert "<td>complete</td>" not in page and "  complete" in page
    assert "SPEM: accuracy vs fixed α" in page  # listed as not applicable


def test_optuna_plot_guards():
    study = S.create("one-trial")
    S.fill(study, [({"attention.pooling": "gap"}, [0.5])])
    plots = {p.key: p for p in optuna_plots(from_study(study))}
    assert plots["history"].figure is not None
    assert plots["importances"].figure is None and "varies" in plots["importances"].skipped
    empty = {p.key: p for p in optuna_plots(from_study(S.create("none")))}
    assert all(p.figure is None and p.skipped == "no complete trials yet" for p in empty.values())


@pytest.mark.parametrize("level", ["DEBUG", "INFO", "ERROR"])
def test_optuna_plots_leave_the_callers_log_level(srp_study, level):
    import optuna

    saved = optuna.logging.get_verbosity()
    optuna.logging.set_verbosity(getattr(optuna.logging, level))
    try:
        plots = optuna_plots(from_study(srp_study))
        assert optuna.logging.get_verbosity() == getattr(optuna.logging, level)
    finally:
        optuna.logging.set_verbosity(saved)
    assert any(p.figure is not None for p in plots)


def test_optuna_plots_sample_large_studies(srp_study):
    data = from_study(srp_study)
    plots = {p.key: p for p in optuna_plots(data, max_trials=4, max_parallel_trials=3, webgl_above=2)}
    # the parallel coordinate (one plotly line per trial) draws fewer: 3 of the 4
    assert "(3 of 8 trials" in plots["parallel"].title
    assert sum(1 for t in plots["parallel"].figure.data if t.mode == "lines") == 3
    assert "(4 of 8 trials" in plots["slice"].title and plots["history"].figure.data[0].type == "scattergl"
    assert "(4 of 8 trials" in plots["history"].title
    assert "on all 8 trials" in plots["importances"].title  # numpy ANOVA: every trial, no sample
    # 4 trials; pooling and lam vary (seed never)
    assert sum(len(t.x) for t in plots["slice"].figure.data) == 4 * 2
    # the history keeps every trial that set a new best and shows the study's own trial numbers
    values = {t.number: t.values[0] for t in data.trials}
    records = [n for n in sorted(values) if values[n] > max([values[m] for m in values if m < n], default=-1)]
    drawn, best_line = plots["history"].figure.data[0], plots["history"].figure.data[1]
    assert set(records) <= set(drawn.x) and set(drawn.x) <= set(values)
    assert [values[n] for n in drawn.x] == list(drawn.y)
    assert list(best_line.y) == [max(values[m] for m in values if m <= n) for n in best_line.x]


def test_write_report_and_cli(sqlite_url, tmp_path, capsys):
    study = S.create("cli-report", sqlite_url)
    S.fill(study, [({"attention.pooling": "srp-ss", "attention.lam": lam}, [0.6 + lam / 10])
                   for lam in (0.2, 0.6)])
    path = write_report("cli-report", sqlite_url, tmp_path / "r.html")
    assert path.read_text().count("Plotly.newPlot") >= 3
    out = tmp_path / "cli.html"
    assert main(["report", "--study", "cli-report", "--storage", sqlite_url, "-o", str(out)]) == 0
    assert out.stat().st_size > 1_000_000  # plotly.js inside
    assert main(["report", "--study", "nope", "--storage", sqlite_url, "-o", str(out), "--force"]) == 2
    assert main(["report", "--study", "cli-report", "--storage", sqlite_url, "-o", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "nope" in err and "expected a file path" in err


def test_png_export_without_chromium_says_why(sqlite_url, tmp_path, monkeypatch, capsys):
    import plotly.io as pio

    def no_browser(*args, **kwargs):
        raise RuntimeError("Kaleido requires Google Chrome to be installed.")

    monkeypatch.setattr(pio, "write_images", no_browser)
    study = S.create("png", sqlite_url)
    S.fill(study, [({"attention.pooling": "gap"}, [0.5])])
    out = tmp_path / "r.html"
    assert main(["report", "--study", "png", "--storage", sqlite_url, "-o", str(out),
                 "--png", str(tmp_path / "p")]) == 1
    err = capsys.readouterr().err
    assert out.is_file() and "PNG export skipped" in err and "Chromium" in err and "Google Chrome" in err


def test_seed_is_never_plotted_and_contour_follows_importances():
    # Three params; "seed" varies too. The importances rank the params; the contour takes the
    # two most important (max_contour_params=2), which must come from the importance plot.
    study = S.create("rank-contour")
    for lam in (0.2, 0.4, 0.6, 0.8):
        for m in (1, 3):
            for red in (4, 16):
                S.fill(study, [({"attention.pooling": "srp-ms", "attention.lam": lam, "attention.M": m,
                                 "attention.reduction": red},
                                [0.5 + lam / 2 + m / 1000 + 0.01 * (red == 4), 0.51 + lam / 2])])
    plots = {p.key: p for p in optuna_plots(from_study(study), max_contour_params=2)}
    importances = plots["importances"].figure
    names = [str(n) for n in importances.data[0].y]
    assert "seed" not in names and "seed" not in plots["contour"].title
    for key in ("slice", "parallel"):
        assert "seed" not in str(plots[key].figure.to_plotly_json())
    top2 = names[::-1][:2]  # the bars run from the least to the most important
    assert plots["contour"].title.startswith(f"Contour ({', '.join(top2)})")
    assert "attention.lam" in top2
