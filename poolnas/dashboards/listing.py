"""Studies in a storage with their trial counts per state and best value (``poolnas studies``)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from poolnas.errors import terminal_cell
from poolnas.evidence import best_configuration
from poolnas.records import INTERRUPTED, StudyAttrs, TrialAttrs, study_objectives
from poolnas.studies.reader import state_counts
from poolnas.studies.units import objective_text

if TYPE_CHECKING:
    from optuna.storages import BaseStorage
    from optuna.trial import FrozenTrial

    from poolnas.studies.sql_reader import LiteTrial, SqlReader

__all__ = ["StudySummary", "best_text", "list_studies", "format_studies"]

_STATES = ("COMPLETE", "PRUNED", "FAIL", "RUNNING", "WAITING")


@dataclass
class StudySummary:
    name: str
    counts: dict[str, int]
    best: float | None
    best_trial: int | None
    metric: str | None
    direction: str
    best_n: int = 0  # seeds the best configuration's mean is over (poolnas.evidence)
    best_std: float | None = None  # None for one seed
    objectives: list[tuple[str, str]] | None = None  # (metric, mode); several: multi-objective
    fail_reason: str | None = None  # the most frequent reason of its failed trials (not interrupted)


def list_studies(storage: BaseStorage | SqlReader) -> list[StudySummary]:
    """One summary per study of an Optuna storage, by name."""
    out = []
    for s in sorted(storage.get_all_studies(), key=lambda s: s.study_name):
        trials = storage.get_all_trials(storage.get_study_id_from_name(s.study_name), deepcopy=False)
        counts = {state: 0 for state in _STATES} | state_counts(trials)
        direction = s.directions[0].name.lower() if s.directions else "maximize"
        best = best_configuration(trials, "max" if direction == "maximize" else "min")
        # a dict, or a list for a multi-objective study (best: the first objective's best mean)
        stored = s.user_attrs.get(StudyAttrs.OBJECTIVE)
        objectives = study_objectives(stored, s.directions)
        out.append(StudySummary(name=s.study_name, counts=counts,
                                best=best.mean if best else None,
                                best_trial=(best.trials[best.best_run(direction == "maximize")]
                                            if best else None),
                                metric=objectives[0][0] if stored else None, direction=direction,
                                best_n=best.n if best else 0, best_std=best.std if best else None,
                                objectives=objectives, fail_reason=_fail_reason(trials)))
    return out


def _fail_reason(trials: Sequence[FrozenTrial | LiteTrial]) -> str | None:
    """The most frequent ``fail_reason`` of the FAIL trials (interrupted ones left out)."""
    reasons = Counter(str(t.user_attrs.get(TrialAttrs.FAIL_REASON) or "no reason stored")
                      for t in trials if t.state.name == "FAIL")
    common = [r for r, _ in reasons.most_common() if not r.startswith(INTERRUPTED)]
    return common[0] if common else None


def best_text(r: StudySummary) -> str:
    """The one best of a study as text: mean (± std, n), accuracies in percent, and the trial of
    its best seed."""
    if r.best is None:
        return "-"
    if r.best_n <= 1:  # one run: no spread to show
        return f"{objective_text(r.best, r.metric)} (trial {r.best_trial})"
    return (f"{objective_text(r.best, r.metric, r.best_std, r.best_n)}, mean over seeds "
            f"(best seed: trial {r.best_trial})")


def _metric_text(r: StudySummary) -> str:
    if r.objectives and len(r.objectives) > 1:  # best is on the first
        return ", ".join(f"{m} ({mode})" for m, mode in r.objectives)
    return f"{r.metric or '-'} ({'max' if r.direction == 'maximize' else 'min'})"


def format_studies(rows: list[StudySummary]) -> str:
    """A plain-text table."""
    head = ["study", "trials", "complete", "pruned", "fail", "running", "waiting", "best", "metric"]
    lines = [head]
    for r in rows:
        c = r.counts
        lines.append([terminal_cell(r.name), str(sum(c.values())), str(c.get("COMPLETE", 0)),
                      str(c.get("PRUNED", 0)), str(c.get("FAIL", 0)), str(c.get("RUNNING", 0)),
                      str(c.get("WAITING", 0)),
                      best_text(r),
                      terminal_cell(_metric_text(r))])
    widths = [max(len(row[i]) for row in lines) for i in range(len(head))]
    table = "\n".join("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip()
                      for row in lines)
    # a study none of whose trials finished: why they failed (one line each)
    notes = [f"{terminal_cell(r.name)}: no trial finished; {r.counts.get('FAIL', 0)} failed, most "
             f"often: {terminal_cell(r.fail_reason, 200)}" for r in rows
             if r.fail_reason and not r.counts.get("COMPLETE") and not r.counts.get("PRUNED")]
    return "\n".join([table, *notes])
