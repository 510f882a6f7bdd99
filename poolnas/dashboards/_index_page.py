"""The dashboard's first page (``/poolnas/``): every study with its verdict, failures and
links, styled like the report.

Per study: trials per state (trials the sweep stopped and ran again counted apart from
failures), the failure reasons (most frequent first), the best configuration (a mean over its
seeds, accuracies in percent, as ``poolnas studies`` and the report give it), the baseline
and the best's verdict against it (the report's 95% interval), and links to the report and to
optuna-dashboard's study page. optuna-dashboard's "Best Trial" is the best single run (one
seed); the page says so.
"""

from __future__ import annotations

import html
from collections import Counter
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

import optuna

from poolnas.evidence import evidence_of
from poolnas.records import INTERRUPTED, StudyAttrs, TrialAttrs, study_objectives
from poolnas.studies.reader import from_study, label
from poolnas.studies.units import objective_text

if TYPE_CHECKING:
    from optuna.storages import RDBStorage
    from optuna.trial import FrozenTrial

__all__ = ["index_page", "objective_names", "study_row"]

_STYLE = """
body{font-family:system-ui,sans-serif;margin:2em auto;max-width:1200px;color:#222}
table{border-collapse:collapse;margin:1em 0;font-size:.9em;width:100%}
td,th{border:1px solid #ccc;padding:.35em .6em;text-align:left;vertical-align:top}
th{background:#f3f3f3} .note{color:#666} .better{color:#1a7f37;font-weight:600}
.worse{color:#b42318;font-weight:600} .fail{color:#b42318} a{color:#0c4a6e}
header{display:flex;justify-content:space-between;align-items:baseline;border-bottom:2px solid #0c4a6e}
"""


def objective_names(user_attrs: dict[str, Any], directions: list[Any]) -> list[str]:
    """The metric name of each objective (``test_acc``, ``flops``), from the study's poolnas
    ``objective`` attribute; "objective" where it names none."""
    return [m for m, _ in study_objectives(user_attrs.get(StudyAttrs.OBJECTIVE), directions)]


def _failures(trials: list[FrozenTrial]) -> tuple[int, int, list[tuple[str, int]]]:
    """(failed, interrupted-and-retried, [(reason, count)] most frequent first)."""
    reasons: Counter[str] = Counter()
    interrupted = 0
    for t in trials:
        if t.state.name != "FAIL":
            continue
        reason = str(t.user_attrs.get(TrialAttrs.FAIL_REASON) or "no reason stored")
        if reason.startswith(INTERRUPTED):
            interrupted += 1
        else:
            reasons[reason.split("\n")[0][:160]] += 1
    return sum(reasons.values()), interrupted, reasons.most_common()


def study_row(storage: RDBStorage, name: str) -> str:
    """One study's table row (its report's numbers; nothing is written)."""
    study = optuna.load_study(study_name=name, storage=storage)
    sid = storage.get_study_id_from_name(name)
    data = from_study(study, "", storage)
    trials = data.trials
    counts = data.state_counts
    failed, interrupted, reasons = _failures(trials)
    ev = evidence_of(data)
    best = ev.best
    if best is None:
        best_cell, verdict = "no complete trial yet", "–"
    else:
        params = (", ".join(f"{k.split('.')[-1]}={label(v)}" for k, v in best.params.items())
                  or "(one configuration)")
        value = objective_text(best.mean, data.metric, best.std, best.n)
        best_cell = (f"<b>{html.escape(params)}</b><br>{html.escape(value)}"
                     f"<br><span class='note'>mean over {best.n} seed{'s' * (best.n != 1)}</span>")
        comp = ev.comparison_of(best) if ev.baseline_config is not None else None
        if ev.baseline_config is None:
            verdict = "no baseline ran"
        elif comp is None or comp.verdict == "baseline":
            verdict = f"the baseline ({html.escape(ev.baseline_text())}) is the best"
        else:
            scale = 100.0 if data.is_accuracy else 1.0
            iv = ("" if comp.ci_low is None else
                  f" [{scale * comp.ci_low:+.2f}, {scale * comp.ci_high:+.2f}]")
            cls = {"better": "better", "worse": "worse"}.get(comp.verdict, "")
            verdict = (f"<span class='{cls}'>{html.escape(comp.verdict)}</span> than "
                       f"{html.escape(ev.baseline_text())}: Δ {scale * comp.delta:+.2f}{iv}"
                       f"{' points' if data.is_accuracy else ''} (95% interval)")
    state_text = (f"{counts.get('COMPLETE', 0)} complete, {counts.get('PRUNED', 0)} pruned, "
                  f"<span class='fail'>{failed} failed</span>"
                  + (f", {interrupted} interrupted (retried)" if interrupted else "")
                  + f", {counts.get('RUNNING', 0)} running, {counts.get('WAITING', 0)} waiting")
    why = "".join(f"<li>{n}× {html.escape(r)}</li>" for r, n in reasons[:5]) or "<li>none</li>"
    q = quote(name, safe="")
    links = (f"<a href='/poolnas/report/{q}'>report &amp; paper figures</a><br>"
             f"<a href='/dashboard/studies/{sid}'>optuna-dashboard</a>")
    return (f"<tr><td><b>{html.escape(name)}</b><br><span class='note'>{html.escape(data.objective_text())}"
            f"</span></td><td>{state_text}</td><td><ul>{why}</ul></td><td>{best_cell}</td><td>{verdict}</td>"
            f"<td>{links}</td></tr>")


def index_page(storage: RDBStorage, rows: list[str], url: str) -> str:
    body = "".join(rows) or "<tr><td colspan='6'>no studies yet</td></tr>"
    return (f"<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><title>poolnas studies</title>"
            f"<style>{_STYLE}</style></head><body><header><h1>poolnas studies</h1>"
            f"<a href='/dashboard'>optuna-dashboard →</a></header>"
            f"<p class='note'>{html.escape(url)} · read from the storage, nothing written. The best of a "
            "study is the configuration with the best <b>mean over its seeds</b>; optuna-dashboard's "
            "\"Best Trial\" is the best single run (one seed), luckier than the mean. The verdict is the "
            "best's difference from the baseline with its 95% interval, as in the report.</p>"
            "<table id='poolnas-studies'><tr><th>study</th><th>trials</th><th>failure reasons</th>"
            f"<th>best (mean over seeds)</th><th>verdict against the baseline</th><th>open</th></tr>{body}"
            "</table></body></html>")
