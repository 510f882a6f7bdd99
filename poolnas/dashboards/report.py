"""The study report: one self-contained, offline HTML file.

Plotly.js is embedded once in the page (no CDN); each figure is a div drawn by it. Sections:
summary (trial counts per state, objective, storage URL with its password redacted), the
search space, the best configurations, the paper figures that apply, and Optuna's plots.
"""

from __future__ import annotations

import datetime as _dt
import html
import json
from pathlib import Path
from typing import Any, NamedTuple

import yaml

from poolnas.dashboards._curves import sort_values
from poolnas.dashboards._study import StudyData, flatten, label, load_study
from poolnas.dashboards.export import rank_configurations
from poolnas.dashboards.figures import FIGURES, paper_figures
from poolnas.dashboards.optuna_figures import optuna_plots
from poolnas.storage import StudyAttrs

__all__ = ["PngExportError", "ReportFigure", "render_report", "report_figures", "write_pngs", "write_report"]

_STYLE = """
body{font-family:system-ui,sans-serif;margin:2em auto;max-width:1200px;color:#222}
table{border-collapse:collapse;margin:1em 0;font-size:.9em}
td,th{border:1px solid #ccc;padding:.3em .6em;text-align:left}
th{background:#f3f3f3} pre{background:#f7f7f7;padding:1em;overflow:auto;max-height:30em}
.figure{margin:1.5em 0;min-height:450px} .note{color:#666}
"""


class PngExportError(RuntimeError):
    """PNG export is not possible here (kaleido or a Chromium missing)."""


class ReportFigure(NamedTuple):
    section: str  # "paper" | "optuna"
    key: str  # also the figure's div id, "fig-<key>"
    title: str
    figure: Any | None
    note: str | None  # why it is missing


def report_figures(data: StudyData) -> list[ReportFigure]:
    """The report's figures: the applicable paper figures, then Optuna's plots."""
    out = [ReportFigure("paper", f.key, f.title, f.figure, f.error) for f in paper_figures(data)]
    out += [ReportFigure("optuna", f"optuna-{p.key}", p.title, p.figure, p.skipped)
            for p in optuna_plots(data)]
    return out


def _table(header: list[str], rows: list[list[Any]]) -> str:
    head = "".join(f"<th>{html.escape(str(h))}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{html.escape('' if c is None else str(c))}</td>" for c in row)
                   + "</tr>" for row in rows)
    return f"<table><tr>{head}</tr>{body}</table>"


def _best_table(data: StudyData, top: int) -> str:
    entries = rank_configurations(data, top)
    if not entries:
        return "<p class='note'>No complete poolnas trials yet.</p>"
    # Show the config keys that differ between the listed configurations.
    flats = [flatten({k: v for k, v in e.config.items() if k != "seed"}) for e in entries]
    keys = sorted(k for k in set().union(*flats) if len({repr(f.get(k)) for f in flats}) > 1)
    header = ["rank", f"{data.metric} mean", "std", "n", *keys, "n_params", "trials", "checkpoint"]
    rows = [[e.rank, f"{e.mean:.4f}", f"{e.std:.4f}", e.n, *[label(f.get(k)) for k in keys],
             e.n_params, ", ".join(map(str, e.trials[:8])) + (" …" if len(e.trials) > 8 else ""),
             e.checkpoint] for e, f in zip(entries, flats, strict=True)]
    return _table(header, rows)


def _varied(data: StudyData) -> str:
    params = sort_values({k for t in data.trials for k in t.params})
    return ", ".join(map(str, params)) or "none"


def _figure_html(fig: ReportFigure) -> str:
    title = f"<h3>{html.escape(fig.title)}</h3>"
    if fig.figure is None:
        return f"{title}<p class='note'>Not drawn: {html.escape(fig.note or '')}</p>"
    div = fig.figure.to_html(full_html=False, include_plotlyjs=False, div_id=f"fig-{fig.key}",
                             config={"responsive": True, "displaylogo": False})
    return f"{title}<div class='figure' data-figure='{html.escape(fig.key)}'>{div}</div>"


def render_report(data: StudyData, figures: list[ReportFigure] | None = None, *, top: int = 10) -> str:
    """The report page as one HTML string (plotly.js inlined)."""
    from plotly.offline import get_plotlyjs

    from poolnas import __version__

    figures = report_figures(data) if figures is None else figures
    counts = {k: v for k, v in data.state_counts.items() if v}
    summary = _table(["", ""], [
        ["study", data.name],
        ["storage", data.storage or "(in memory)"],
        ["objective", f"{data.metric} ({data.mode})"],
        ["trials", sum(data.state_counts.values())],
        *[[f"  {state.lower()}", n] for state, n in counts.items()],
        ["parameters varied", _varied(data)],
        ["written by", f"poolnas {__version__} on {_dt.datetime.now(_dt.timezone.utc):%Y-%m-%d %H:%M} UTC"
                       f" (study from poolnas {data.user_attrs.get(StudyAttrs.VERSION, '?')})"],
    ])
    space = yaml.safe_dump(data.space, sort_keys=False) if data.space is not None else "(not stored)"
    applied = {f.key for f in figures if f.section == "paper"}
    not_applied = [spec.title for spec in FIGURES if spec.key not in applied]
    paper = "".join(_figure_html(f) for f in figures if f.section == "paper") or (
        "<p class='note'>None of the paper figures applies to this study's trials.</p>")
    optuna_html = "".join(_figure_html(f) for f in figures if f.section == "optuna")
    index = json.dumps([f.key for f in figures if f.figure is not None])
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<title>poolnas report: {html.escape(data.name)}</title>
<style>{_STYLE}</style>
<script type="text/javascript">{get_plotlyjs()}</script>
</head><body>
<h1>poolnas report: {html.escape(data.name)}</h1>
<h2>Summary</h2>{summary}
<h2>Search space</h2><pre>{html.escape(space)}</pre>
<h2>Best configurations</h2>
<p class="note">Ranked by the mean of {html.escape(data.metric)} over seeds; std is the sample
standard deviation over those runs. Export them with <code>poolnas export --study
{html.escape(data.name)} --top K</code>.</p>{_best_table(data, top)}
<h2>Paper figures</h2>
<p class="note">Bands: mean ± std over seeds. Not applicable to these trials:
{html.escape("; ".join(not_applied) or "none")}.</p>{paper}
<h2>Optuna</h2>{optuna_html}
<script type="application/json" id="poolnas-figures">{index}</script>
</body></html>
"""


def write_pngs(figures: list[ReportFigure], folder: str | Path) -> list[Path]:
    """Each drawn figure as ``<key>.png`` through kaleido (needs a Chromium; kaleido 1.x
    finds /usr/bin/chromium). Raises PngExportError naming what is missing."""
    import plotly.io as pio

    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    drawn = [f for f in figures if f.figure is not None]
    paths = [out / f"{f.key}.png" for f in drawn]
    try:
        pio.write_images([f.figure for f in drawn], paths, width=1000, height=600)
    except Exception as err:
        raise PngExportError(f"PNG export needs kaleido and a Chromium (e.g. /usr/bin/chromium): "
                           f"{type(err).__name__}: {str(err).splitlines()[0] if str(err) else ''}") from None
    return paths


def write_report(study_name: str, storage: Any, path: str | Path, *, png_dir: str | Path | None = None) -> Path:
    """Write the report of ``study_name`` on ``storage`` (URL or Optuna storage) to ``path``.

    Args:
        study_name: the Optuna study.
        storage: a SQLAlchemy URL, None for the default, or an Optuna storage object.
        path: the HTML file to write (its folder must exist).
        png_dir: also write every figure as a PNG there (kaleido + Chromium).

    Returns:
        The path written.
    """
    data = load_study(study_name, storage)
    figures = report_figures(data)
    target = Path(path)
    target.write_text(render_report(data, figures), encoding="utf-8")
    if png_dir is not None:
        write_pngs(figures, png_dir)
    return target
