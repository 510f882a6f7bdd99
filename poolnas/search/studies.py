"""Studies in a storage with their trial counts per state and best value (``poolnas studies``)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from poolnas.search._study import state_counts
from poolnas.storage import StudyAttrs

__all__ = ["StudySummary", "list_studies", "format_studies"]

_STATES = ("COMPLETE", "PRUNED", "FAIL", "RUNNING", "WAITING")


@dataclass
class StudySummary:
    name: str
    counts: dict[str, int]
    best: float | None
    best_trial: int | None
    metric: str | None
    direction: str


def list_studies(storage: Any) -> list[StudySummary]:
    """One summary per study of an Optuna storage, by name."""
    out = []
    for s in sorted(storage.get_all_studies(), key=lambda s: s.study_name):
        trials = storage.get_all_trials(s._study_id, deepcopy=False)
        counts = {state: 0 for state in _STATES} | state_counts(trials)
        direction = s.directions[0].name.lower() if s.directions else "maximize"
        best = best_complete(trials, maximize=direction == "maximize")
        objective = s.user_attrs.get(StudyAttrs.OBJECTIVE) or {}
        out.append(StudySummary(name=s.study_name, counts=counts,
                                best=best.values[0] if best else None,
                                best_trial=best.number if best else None,
                                metric=objective.get("metric"), direction=direction))
    return out


def best_complete(trials: list[Any], *, maximize: bool) -> Any | None:
    """The COMPLETE trial with the best finite objective value, or None."""
    done = [t for t in trials if t.state.name == "COMPLETE" and t.values
            and math.isfinite(t.values[0])]
    if not done:
        return None
    return (max if maximize else min)(done, key=lambda t: t.values[0])


def format_studies(rows: list[StudySummary]) -> str:
    """A plain-text table."""
    head = ["study", "trials", "complete", "pruned", "fail", "running", "waiting", "best", "metric"]
    lines = [head]
    for r in rows:
        c = r.counts
        lines.append([r.name, str(sum(c.values())), str(c.get("COMPLETE", 0)),
                      str(c.get("PRUNED", 0)), str(c.get("FAIL", 0)), str(c.get("RUNNING", 0)),
                      str(c.get("WAITING", 0)),
                      "-" if r.best is None else f"{r.best:.4f} (#{r.best_trial})",
                      f"{r.metric or '-'} ({'max' if r.direction == 'maximize' else 'min'})"])
    widths = [max(len(row[i]) for row in lines) for i in range(len(head))]
    return "\n".join("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip()
                     for row in lines)
