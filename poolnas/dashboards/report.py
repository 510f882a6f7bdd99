"""The study report: one self-contained, offline HTML file.

Plotly.js is embedded once in the page (no CDN); each figure is a div drawn by it. Sections:
summary (trial counts per state, objective, storage URL with its password redacted), the
verdict first (the baseline, the configurations that beat it with Δ and a 95% interval, those
within noise of the best, warnings such as chance accuracy, and a figure of every seed), the cost
and the Pareto front (the Pareto set, and the objective against FLOPs and against parameters, one
point per configuration), then the summary, the search space, every configuration, the paper
figures that apply, and Optuna's plots. A multi-objective study reads the same way: best and the
verdict are on its first objective.

``poolnas report --metric NAME [--mode max|min]`` (``write_report(metric=...)``): the verdict,
the forest plot, the verdict figure, the cost section and the configurations table speak about
that stored metric, resolved exactly as ``poolnas compare --metric`` resolves it
(:func:`poolnas.evidence._views.evidence_on`: the same mode and the same one-line errors);
:func:`metric_view` is the study seen through it. The paper figures and Optuna's plots stay on
the study's objective (the values Optuna stored) and say so.
"""

from __future__ import annotations

import datetime as _dt
import html
import json
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NamedTuple

import yaml

from poolnas._version import __version__
from poolnas.dashboards._curves import sort_values
from poolnas.dashboards.cost import COSTS, has_cost, plot_cost
from poolnas.dashboards.export import rank_configurations
from poolnas.dashboards.figures import FIGURES, paper_figures
from poolnas.dashboards.forest import plot_forest
from poolnas.dashboards.optuna_figures import optuna_plots
from poolnas.dashboards.verdict import plot_verdict
from poolnas.evidence import evidence_of, mean_interval
from poolnas.evidence._views import evidence_on, metric_mode, pooled_study
from poolnas.evidence.commands import family_text, verdict_notes
from poolnas.evidence.improvement import probability_of_improvement
from poolnas.evidence.pareto import COST_METRICS, cost_means, metric_mean, run_values
from poolnas.records import INTERRUPTED, StudyAttrs, TrialAttrs
from poolnas.storage import atomic_write_text
from poolnas.studies.reader import StudyData, label, load_study
from poolnas.studies.units import count_text, ms_text, si_text

__all__ = ["PngExportError", "ReportFigure", "metric_view", "render_report", "report_figures", "write_pngs",
           "write_report"]

_STYLE = """
body{font-family:system-ui,sans-serif;margin:2em auto;max-width:1200px;color:#222}
table{border-collapse:collapse;margin:1em 0;font-size:.9em}
td,th{border:1px solid #ccc;padding:.3em .6em;text-align:left}
th{background:#f3f3f3} pre{background:#f7f7f7;padding:1em;overflow:auto;max-height:30em}
.figure{margin:1.5em 0;min-height:450px} .note{color:#666}
.warning{background:#fff4e5;border-left:4px solid #e8a33d;padding:.5em 1em}
"""


class PngExportError(RuntimeError):
    """PNG export is not possible here (kaleido or a Chromium missing)."""


class ReportFigure(NamedTuple):
    section: str  # "verdict" | "cost" | "paper" | "optuna"
    key: str  # also the figure's div id, "fig-<key>"
    title: str
    figure: Any | None
    note: str | None  # why it is missing


def metric_view(data: StudyData, metric: str | None = None, mode: str | None = None) -> StudyData:
    """The study seen through ``metric`` (default: its objective) with ``mode`` (default: as
    ``poolnas compare --metric`` resolves it): ``metric``, direction and the evidence (kept in
    ``cache``) are the metric's; the trials are the study's own. ConfigError (one line naming
    --metric or --mode, the value and the accepted names) when the study did not keep it."""

    if metric in (None, data.metric) and mode in (None, data.mode):
        return data
    ev, _ = evidence_on([data], metric=metric, mode=mode)  # compare's resolution and errors
    name = metric or data.metric
    mode = metric_mode(name, mode, [tuple(o) for o in (data.objectives or ((data.metric, data.mode),))])
    return data._replace(metric=name, direction="maximize" if mode == "max" else "minimize",
                         objectives=((name, mode),), cache={"evidence": ev})


def _on_objective(view: StudyData, data: StudyData) -> str:
    """`` (on the study's objective, test_acc)`` when the report speaks about another metric."""
    return "" if view is data else f" (on the study's objective, {data.metric}, not {view.metric})"


def report_figures(data: StudyData, view: StudyData | None = None) -> list[ReportFigure]:
    """The report's figures: the verdict and cost figures (on ``view``'s metric, default the
    objective), the applicable paper figures, then Optuna's plots (on the objective)."""
    view = data if view is None else view
    note = _on_objective(view, data)
    out = [_verdict_figure(view), _forest_figure(view), *_cost_figures(view)]
    out += [ReportFigure("paper", f.key, f.title + note, f.figure, f.error) for f in paper_figures(data)]
    out += [ReportFigure("optuna", f"optuna-{p.key}", p.title + note, p.figure, p.skipped)
            for p in optuna_plots(data)]
    return out


def _verdict_figure(data: StudyData) -> ReportFigure:
    title = (f"The answer on {data.metric}: every seed, and the best configuration per value with its "
             "verdict's interval")
    if not evidence_of(data).configs:
        return ReportFigure("verdict", "verdict", title, None, "no complete trials yet")
    try:
        return ReportFigure("verdict", "verdict", title, plot_verdict(data), None)
    except Exception as err:  # a figure that cannot be drawn is reported, not fatal
        return ReportFigure("verdict", "verdict", title, None, f"{type(err).__name__}: {err}")


def _forest_figure(data: StudyData) -> ReportFigure:

    title = (f"Δ {data.metric} vs the baseline: every configuration with the simultaneous 95% interval its "
             "verdict uses")
    ev = evidence_of(data)
    if not ev.comparisons or len(ev.comparisons) < 2:
        why = "no baseline configuration in the study" if ev.configs else "no complete trials yet"
        return ReportFigure("verdict", "forest", title, None, why)
    try:
        return ReportFigure("verdict", "forest", title, plot_forest(data), None)
    except Exception as err:  # a figure that cannot be drawn is reported, not fatal
        return ReportFigure("verdict", "forest", title, None, f"{type(err).__name__}: {err}")


def _cost_figures(data: StudyData) -> list[ReportFigure]:
    """The objective against FLOPs and against parameters (log x), the front highlighted."""

    out = []
    for cost in COSTS:
        what = "Accuracy" if data.is_accuracy else "Metric"
        key, title = f"cost-{cost}", f"{what} against cost: {data.metric} vs {cost}"
        if not evidence_of(data).configs or not has_cost(data, cost):
            why = "no complete trials yet" if not evidence_of(data).configs else (
                f"the trials kept no {cost} (a study written before poolnas stored the cost)")
            out.append(ReportFigure("cost", key, title, None, why))
            continue
        try:
            out.append(ReportFigure("cost", key, title, plot_cost(data, cost), None))
        except Exception as err:  # a figure that cannot be drawn is reported, not fatal
            out.append(ReportFigure("cost", key, title, None, f"{type(err).__name__}: {err}"))
    return out


def _load_note(data: StudyData) -> str:
    """Whether the step times were taken on a loaded machine (``cpu_load`` > 1 per core)."""

    loads = [v for c in evidence_of(data).configs for v in run_values(c, "cpu_load")]
    if not loads:
        return ("Step times: the fastest step of each run (studies from before poolnas kept the load: "
                "the machine's load is not known).")
    worst = max(loads)
    if worst > 1.0:
        return (f"Step times were taken on a loaded machine (load up to {worst:.1f} per core; other "
                "processes shared the cores): read them as upper bounds, and compare configurations "
                "only within one study.")
    return (f"Step times: the fastest step of each run; the machine was not loaded "
            f"(load ≤ {worst:.1f} per core).")


def _pareto_html(data: StudyData) -> str:
    """The Pareto set: the configurations no other beats in every objective of the front."""

    ev = evidence_of(data)
    objs = ev.pareto_objectives[1:]  # the costs are shown in their own columns
    over = " against ".join(f"{m} ({o})" for m, o in ev.pareto_objectives)
    front = ev.front
    if not front:
        return (f"<p class='note' id='pareto-none'>No Pareto front over {html.escape(over)}: "
                "no configuration "
                "kept every one of these metrics.</p>")
    rows = []
    for p in front:
        conf, iv = p.config, mean_interval(p.config)
        cost = cost_means(conf)
        rows.append([_params_text(conf), conf.n, _num(conf.mean, data),
                     f"[{_num(iv[0], data)}, {_num(iv[1], data)}]" if iv else "–",
                     *[si_text(v) for v, (m, _) in zip(p.values[1:], objs, strict=True)
                       if m not in COST_METRICS],
                     count_text(cost["params"]), si_text(cost["flops"]),
                     si_text(metric_mean(conf, "train_flops")),
                     ms_text(cost["train_step_ms"]), ms_text(cost["infer_ms"]),
                     "baseline" if conf is ev.baseline_config else ""])
    extra = [f"{m} mean" for m, _ in objs if m not in COST_METRICS]
    header = ["configuration", "n", f"{data.value_label()} mean", "95% interval of the mean", *extra,
              "params", "FLOPs (inference)", "FLOPs (training)", "train step", "inference", ""]
    return (f"<p id='pareto-over'>{len(front)} of {len(ev.pareto)} configurations are on the Pareto front of "
            f"{html.escape(over)} (means over seeds). Export them with <code>poolnas export --study "
            f"{html.escape(data.name)} --pareto -o DIR</code>.</p>" + _table(header, rows)
            + f"<p class='note' id='pareto-load'>{html.escape(_load_note(data))}</p>")


def _table(header: list[str], rows: list[list[Any]]) -> str:
    head = "".join(f"<th>{html.escape(str(h))}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{html.escape('' if c is None else str(c))}</td>" for c in row)
                   + "</tr>" for row in rows)
    return f"<table><tr>{head}</tr>{body}</table>"


def _num(value: float | None, data: StudyData, fmt: str = ".2f", sign: bool = False) -> str:
    if value is None or not math.isfinite(value):
        return "–"
    return format(data.display(value), ("+" if sign else "") + fmt)


def _pct(data: StudyData) -> str:
    return "%" if data.is_accuracy else ""


def _interval(comp: Any, data: StudyData) -> str:
    if comp is None or comp.ci_low is None:
        return "–"
    return f"[{_num(comp.ci_low, data, sign=True)}, {_num(comp.ci_high, data, sign=True)}]"


def _param_keys(configs: list[Any]) -> list[str]:
    keys = sorted({k for c in configs for k in c.params}, key=lambda k: (k != "attention.pooling", k))
    varied = [k for k in keys if len({repr(c.params.get(k)) for c in configs}) > 1]
    return varied or keys


def _params_text(conf: Any) -> str:
    return ", ".join(f"{k}={label(v)}" for k, v in conf.params.items()) or "(no searched parameter)"


def _failures(data: StudyData, most: int = 8) -> str:
    """The failed trials' reasons (``fail_reason``), the most frequent first, or ""."""
    from collections import Counter

    from optuna.trial import TrialState


    reasons = Counter(str(t.user_attrs.get(TrialAttrs.FAIL_REASON) or "no reason stored")
                      for t in data.trials if t.state == TrialState.FAIL)
    shown = [(r, n) for r, n in reasons.most_common() if not r.startswith(INTERRUPTED)][:most]
    if not shown:
        return ""
    items = "".join(f"<li>{n} × <code>{html.escape(r[:500])}</code></li>" for r, n in shown)
    return f"<p class='note'>{sum(reasons.values())} failed trials; their reasons:</p><ul>{items}</ul>"


def _best_table(data: StudyData, top: int) -> str:
    """Every configuration (the best ``top``): parameters that do not apply are blank (no λ
    for gap); std "–" for one seed; Δ and interval against the baseline; ≈ within noise of
    the best."""
    ev = evidence_of(data)
    configs = ev.configs[:top]
    if not configs:
        return "<p class='note'>No complete trials yet.</p>" + _failures(data)
    keys = _param_keys(configs)
    near = {id(c.config) for c in ev.near_best}
    entries = {e.config_key: e for e in rank_configurations(data, top)}
    header = ["rank", *keys, "n", f"{data.value_label()} mean", "std", "Δ vs baseline", "n_pairs",
              "simultaneous 95%", "mde (80%)", "verdict", "≈ best", "params", "FLOPs", "front", "trials",
              "checkpoint"]
    rows = []
    for rank, conf in enumerate(configs, start=1):
        comp = ev.comparison_of(conf)
        entry = entries.get(conf.key)
        delta = "–" if comp is None or comp.verdict == "baseline" else _num(comp.delta, data, sign=True)
        pairs = "–" if comp is None or comp.verdict == "baseline" else comp.n_pairs
        mde = "–" if comp is None or comp.mde is None else "±" + _num(comp.mde, data)
        rows.append([rank, *[label(conf.params[k]) if k in conf.params else "" for k in keys], conf.n,
                     _num(conf.mean, data), _num(conf.std, data), delta, pairs, _interval(comp, data), mde,
                     comp.verdict if comp else "", "≈" if id(conf) in near else "",
                     count_text(entry.n_params) if entry else None,
                     si_text((entry.cost or {}).get("flops") if entry else None),
                     "*" if ev.on_front(conf) else "",
                     ", ".join(map(str, conf.trials[:8])) + (" …" if len(conf.trials) > 8 else ""),
                     (entry.checkpoint if entry else None) or (entry.note if entry and entry.note else None)])
    return _table(header, rows)


def _comparison_rows(comps: list[Any], data: StudyData, against: str) -> str:
    return "".join(f"<li><b>{html.escape(_params_text(c.config))}</b>: {_num(c.config.mean, data)} "
                   f"(n={c.config.n}), Δ vs {against} {_num(c.delta, data, sign=True)} over {c.n_pairs} "
                   f"pairs, simultaneous 95% interval {_interval(c, data)}</li>" for c in comps)


def _verdict_html(data: StudyData) -> str:
    """The answer first: warnings, the baseline, who beats it, who is within noise of the best."""
    ev = evidence_of(data)
    parts = [f"<p class='warning'><b>Note:</b> {html.escape(n)}</p>" for n in ev.notes]
    if not ev.configs:
        return "".join(parts) + "<p class='note'>No complete trials yet: nothing to compare.</p>"
    base = ev.baseline_config
    if base is None:
        why = ("this study ran no configuration that matches it" if ev.baseline else
               "the space file names no <code>baseline:</code> and the study ran no gap configuration")
        parts.append(f"<p id='verdict-baseline'>Baseline: <b>{html.escape(ev.baseline_text())}</b>: {why}; "
                     f"compare with another: <code>poolnas compare --study {html.escape(data.name)} "
                     "--baseline KEY=VALUE</code>.</p>")
    else:
        many = f" (the best of {ev.baseline_matches} that match)" if ev.baseline_matches > 1 else ""
        parts.append(f"<p id='verdict-baseline'>Baseline ({html.escape(ev.baseline_source)}): "
                     f"<b>{html.escape(ev.baseline_text())}</b>{many}: {_num(base.mean, data)}{_pct(data)} ± "
                     f"{_num(base.std, data)} (std, n={base.n}).</p>")

        scale = 100.0 if data.is_accuracy else 1.0
        parts.append(f"<p id='verdict-family'>Family: {html.escape(family_text(ev))}.</p>")
        parts.append("<ul id='verdict-reading'>" + "".join(f"<li>{html.escape(n)}</li>"
                                                           for n in verdict_notes(ev, scale)) + "</ul>")
        parts.append(_improvement_html(ev))
        better = ev.beats_baseline
        parts.append("<h3>Better than the baseline (simultaneous 95% interval above 0)</h3>" + (
            f"<ul id='verdict-better'>{_comparison_rows(better, data, 'baseline')}</ul>" if better else
            "<p id='verdict-better'>None: no configuration beats the baseline beyond noise.</p>"))
    best = ev.best
    near = [c for c in ev.near_best if c.config is not best]
    parts.append(f"<h3>Best and those indistinguishable from it</h3><p id='verdict-best'>Best: "
                 f"<b>{html.escape(_params_text(best))}</b>, {_num(best.mean, data)}{_pct(data)} ± "
                 f"{_num(best.std, data)} (std, n={best.n}; a mean over seeds).</p>")
    parts.append(f"<ul id='verdict-near'>{_comparison_rows(near, data, 'best')}</ul>" if near else
                 "<p id='verdict-near'>No other configuration is indistinguishable from it (simultaneous "
                 "95% over every other configuration)"
                 + (" that the seeds can tell" if any(c.n < 2 for c in ev.configs) else "") + ".</p>")
    few = sum(1 for c in ev.configs if c.n < 2)
    if few:
        parts.append(f"<p class='note'>{few} of {len(ev.configs)} configurations ran one seed: no interval "
                     "can be given for them (\"n too small\"); run <code>repeats: 2</code> or more.</p>")
    return "".join(parts)


def _improvement_html(ev: Any) -> str:
    """P(best > baseline) over seeds and test examples, where the trials kept their test bits."""

    best, base = ev.best, ev.baseline_config
    if best is None or base is None or best is base:
        return ""
    res = probability_of_improvement(best, base)
    if res is None:
        return ""
    return (f"<p id='verdict-improvement'>P(best &gt; baseline) = {res.p:.2f}, 95% interval "
            f"[{res.low:.2f}, {res.high:.2f}]: the probability that a run of the best beats a run of the "
            f"baseline (probability of improvement, rliable's definition; bootstrap over {res.runs_a} and "
            f"{res.runs_b} seeds and {res.examples} test examples, {res.boots} replicates).</p>")


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


def render_report(data: StudyData, figures: list[ReportFigure] | None = None, *, top: int = 10,
                  view: StudyData | None = None) -> str:
    """The report page as one HTML string (plotly.js inlined); ``view`` (:func:`metric_view`):
    the metric the verdict, cost and configurations speak about (default: the objective)."""
    from plotly.offline import get_plotlyjs


    view = data if view is None else view
    figures = report_figures(data, view) if figures is None else figures
    on_objective = html.escape(_on_objective(view, data))
    optuna_not = "" if view is data else f", not --metric {view.metric}"
    counts = {k: v for k, v in data.state_counts.items() if v}
    summary = _table(["", ""], [
        ["study", data.name],
        ["storage", data.storage or "(in memory)"],
        ["objective", data.objective_text() + (" (multi-objective; best: the best mean of the first)"
                                               if data.multi_objective else "")],
        *([["compared on", f"{view.metric} ({view.mode}): the verdict, the cost and the configurations "
                            "(poolnas report --metric)"]] if view is not data else []),
        ["trials", sum(data.state_counts.values())],
        *[[f"  {state.lower()}", n] for state, n in counts.items()],
        ["parameters varied", _varied(data)],
        ["configurations", f"{len(evidence_of(view).configs)} (best: "
                           f"{_params_text(evidence_of(view).best) if evidence_of(view).best else '-'})"],
        *[["note", n] for n in evidence_of(view).notes],
        ["written by", f"poolnas {__version__} on {_dt.datetime.now(_dt.timezone.utc):%Y-%m-%d %H:%M} UTC"
                       f" (study from poolnas {data.user_attrs.get(StudyAttrs.VERSION, '?')})"],
    ])
    space = yaml.safe_dump(data.space, sort_keys=False) if data.space is not None else "(not stored)"
    applied = {f.key for f in figures if f.section == "paper"}
    not_applied = [spec.title for spec in FIGURES if spec.key not in applied]
    paper = "".join(_figure_html(f) for f in figures if f.section == "paper") or (
        "<p class='note'>None of the paper figures applies to this study's trials.</p>")
    optuna_html = "".join(_figure_html(f) for f in figures if f.section == "optuna")
    verdict = "".join(_figure_html(f) for f in figures if f.section == "verdict")
    cost = "".join(_figure_html(f) for f in figures if f.section == "cost")
    index = json.dumps([f.key for f in figures if f.figure is not None])
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<title>poolnas report: {html.escape(data.name)}</title>
<style>{_STYLE}</style>
<script type="text/javascript">{get_plotlyjs()}</script>
</head><body>
<h1>poolnas report: {html.escape(data.name)}</h1>
<h2 id="verdict">Verdict</h2>
<p class="note">Configurations are a trial's parameters without its seed; means over their finished
seeds. Δ is the difference from the baseline, paired over the seeds both ran (Welch's interval when
they share none), with a 95% t-interval; a verdict says "better" or "worse" only when the interval
excludes 0.</p>
<div id="poolnas-verdict">{_verdict_html(view)}</div>{verdict}
<h2 id="cost">Cost and the Pareto front</h2>
<p class="note">Cost of a configuration: its mean over seeds of params, FLOPs per image (forward:
multiply-accumulates plus every op of the poolings and attention modules, at inference and in
training, where SRP pools random regions and BA2M runs), training step and inference time (the
fastest of many steps). Figures: one point per configuration, its mean {html.escape(view.metric)}
with the 95% t-interval of the mean where n ≥ 2; stars: the front of {html.escape(view.metric)}
against that cost; open stars: dominated only within noise (no configuration as cheap is better
beyond the 95% interval of the difference); the square: the baseline.</p>
<div id="poolnas-pareto">{_pareto_html(view)}</div>{cost}
<h2>Summary</h2>{summary}
<h2>Search space</h2><pre>{html.escape(space)}</pre>
<h2>Configurations</h2>
<p class="note">Ranked by the mean of {html.escape(view.metric)} over seeds; std is the sample
standard deviation over those runs ("–" for one run); blank: the parameter does not apply to that
configuration; ≈: within noise of the best; FLOPs: per image at inference (multiply-accumulates
plus the poolings' and attention's element-wise ops; G = 10⁹, M = 10⁶); front *: on the Pareto front (the cost section). Export them with <code>poolnas export --study
{html.escape(data.name)} --top K</code>; all of them against the baseline with <code>poolnas compare
--study {html.escape(data.name)}</code>.</p>{_best_table(view, top)}
<h2>Paper figures</h2>
<p class="note">Bands: mean ± std over seeds{on_objective}. Not applicable to these trials:
{html.escape("; ".join(not_applied) or "none")}.</p>{paper}
<h2>Optuna</h2>
<p class="note" id="optuna-on">Optuna's plots read the values Optuna stored: the study's objective,
{html.escape(data.objective_text())}{html.escape(optuna_not)}.</p>{optuna_html}
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
        # kaleido can leave a file unwritten without raising (a render that timed out on a busy
        # machine): those go once more, one by one, and a file still missing is an error
        for fig, path in [(f.figure, p) for f, p in zip(drawn, paths, strict=True) if not p.is_file()]:
            pio.write_image(fig, path, width=1000, height=600)
    except Exception as err:
        raise PngExportError(f"PNG export needs kaleido and a Chromium (e.g. /usr/bin/chromium): "
                           f"{type(err).__name__}: {str(err).splitlines()[0] if str(err) else ''}") from None
    missing = [p.name for p in paths if not p.is_file()]
    if missing:
        raise PngExportError(f"PNG export wrote no file for {', '.join(missing)} (kaleido and Chromium)")
    return paths


def write_report(study_name: str | Sequence[str], storage: Any, path: str | Path, *,
                 png_dir: str | Path | None = None, metric: str | None = None, mode: str | None = None) -> Path:
    """Write the report of ``study_name`` on ``storage`` (URL or Optuna storage) to ``path``.

    Args:
        study_name: the Optuna study, or several read as one (the stages of a staged design:
            :func:`poolnas.evidence._views.pooled_study`; the verdicts are the pooled
            ``compare --study A --study B``'s).
        storage: a SQLAlchemy URL, None for the default, or an Optuna storage object.
        path: the HTML file to write (its folder must exist).
        png_dir: also write every figure as a PNG there (kaleido + Chromium).
        metric, mode: the stored metric the verdict, the cost and the configurations speak
            about, and its direction (:func:`metric_view`; default: the study's objective).

    Returns:
        The path written.

    Raises:
        ConfigError: ``metric`` is not a metric the study's trials kept (nothing is written).
    """
    names = [study_name] if isinstance(study_name, str) else list(study_name)
    data = pooled_study([load_study(name, storage) for name in names])
    view = metric_view(data, metric, mode)  # a bad --metric is refused before anything is written
    figures = report_figures(data, view)
    target = Path(path)
    # a temporary file, fsync, rename: a kill or a full disk never leaves a partial report
    atomic_write_text(target, render_report(data, figures, view=view))
    if png_dir is not None:
        write_pngs(figures, png_dir)
    return target
