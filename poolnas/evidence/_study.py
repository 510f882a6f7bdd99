"""The evidence of one study in one object: configurations, best, baseline, verdicts, warnings.

The report, ``poolnas compare``, ``export`` and the Python API (``poolnas.load``) build this
once from a study's trials and its stored space file.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from poolnas.evidence._compare import (
    BETTER,
    BestEffect,
    Comparison,
    Family,
    best_effect,
    compare,
    family_of,
    find_baseline,
    indistinguishable,
)
from poolnas.evidence._configs import Configuration, configurations
from poolnas.evidence._diagnose import diagnose
from poolnas.evidence.pareto import ParetoPoint, front_objectives, pareto_front
from poolnas.records import flatten_partial

if TYPE_CHECKING:
    from poolnas.studies.reader import StudyData

__all__ = ["DEFAULT_BASELINE", "TEST_DATA_NOTE", "Evidence", "baseline_of", "design_of", "study_evidence"]

DEFAULT_BASELINE: dict[str, Any] = {"attention.pooling": "gap"}

TEST_DATA_NOTE = ("These grids are reported on test data, as the papers report them, not selected "
                  "on it: the objective is test_acc (the paper presets set trainer.val_fraction: 0), "
                  "so the best configuration's accuracy is the best of the grid on the test set, an "
                  "optimistic estimate rather than a held-out one.")


def baseline_of(space: object) -> dict[str, Any] | None:
    """The ``baseline:`` of a stored space document, as dotted keys, or None."""
    if isinstance(space, Mapping) and isinstance(space.get("baseline"), Mapping):
        return flatten_partial(space["baseline"])
    return None


@dataclass
class Evidence:
    """What a study says, computed once."""

    metric: str
    mode: str
    configs: list[Configuration]  # best first
    best: Configuration | None
    baseline: dict[str, Any] | None  # the partial config asked for (dotted keys)
    baseline_source: str  # "--baseline", "space file", "default (gap)" or "none"
    baseline_config: Configuration | None  # the configuration it matched (best of several)
    baseline_matches: int
    comparisons: list[Comparison] | None  # None: no baseline configuration in the study
    near_best: list[Comparison]  # within noise of the best (the best first)
    family: Family | None = None  # the comparisons with the baseline and their level
    looks: int = 1  # sample sizes a race could have stopped at (1: fixed seeds)
    margin: float | None = None  # equivalence margin (objective units), if any
    planned_looks: tuple[int, ...] = ()  # a staged design's looks (space file ``looks:``)
    best_effect: BestEffect | None = None  # the best's Δ corrected for selection
    notes: list[str] = field(default_factory=list)  # chance accuracy, identical losses, test data
    objectives: list[tuple[str, str]] = field(default_factory=list)  # (metric, mode), first leads
    pareto: list[ParetoPoint] = field(default_factory=list)  # over pareto_objectives, best first

    @property
    def multi_objective(self) -> bool:
        return len(self.objectives) > 1

    @property
    def pareto_objectives(self) -> list[tuple[str, str]]:
        """The study's objectives when several, else its objective against FLOPs."""
        return front_objectives(self.objectives or [(self.metric, self.mode)])

    def on_front(self, conf: Configuration) -> bool:
        return any(p.on_front and p.config is conf for p in self.pareto)

    @property
    def front(self) -> list[ParetoPoint]:
        """The Pareto set: configurations no other beats in every objective (best first)."""
        return [p for p in self.pareto if p.on_front]

    @property
    def beats_baseline(self) -> list[Comparison]:
        return [c for c in self.comparisons or [] if c.verdict == BETTER]

    def comparison_of(self, conf: Configuration) -> Comparison | None:
        return next((c for c in self.comparisons or [] if c.config is conf), None)

    def baseline_text(self) -> str:
        if not self.baseline:
            return "none"
        return ", ".join(f"{k}={_show(v)}" for k, v in self.baseline.items())


def _show(value: object) -> str:
    return ",".join(map(str, value)) if isinstance(value, tuple) else str(value)


def design_of(space: object) -> tuple[int, int | None, int | None, float | None]:
    """(looks, first_seeds, final, margin) of a stored space document: a raced study
    (``repeats: {min, max, racing: true}``) could stop a configuration at any of
    ``max - min + 1`` seed counts, and ran ``min`` seeds everywhere before the race; a staged
    design (``looks: [12, 24]``: verdicts read at 12 seeds, then, pooled with a second study
    that ran 12 more, at 24) has one look per entry and every configuration runs every seed
    (first_seeds None); ``margin:``
    is the equivalence margin (objective units). Fixed seeds: (1, None, None, margin)."""
    if not isinstance(space, Mapping):
        return 1, None, None, None
    margin = space.get("margin")
    margin = float(margin) if isinstance(margin, (int, float)) and margin > 0 else None
    planned = space.get("looks")
    if (isinstance(planned, list) and len(planned) >= 2
            and all(isinstance(n, int) and not isinstance(n, bool) for n in planned)):
        return len(planned), None, int(planned[-1]), margin
    rep = space.get("repeats")
    if isinstance(rep, Mapping) and rep.get("racing", True) and isinstance(rep.get("min"), int):
        seeds = space.get("seeds")
        most = len(seeds) if isinstance(seeds, list) and seeds else rep.get("max")
        if isinstance(most, int) and most >= rep["min"]:
            return most - rep["min"] + 1, int(rep["min"]), most, margin
    return 1, None, None, margin


def planned_looks(space: object) -> tuple[int, ...]:
    """A staged design's looks (``looks:`` of a stored space document), else ()."""
    return tuple(int(n) for n in space["looks"]) if design_of(space)[0] > 1 and isinstance(
        space, Mapping) and isinstance(space.get("looks"), list) else ()


def _pick_baseline(baseline: Mapping[str, Any] | None, space: object) -> tuple[dict[str, Any] | None, str]:
    if baseline:
        return flatten_partial(baseline), "--baseline"
    stored = baseline_of(space)
    if stored:
        return stored, "space file"
    return dict(DEFAULT_BASELINE), "default (gap)"


def study_evidence(trials: Iterable[Any], metric: str, mode: str, *, space: object = None,
                   baseline: Mapping[str, Any] | None = None, level: float = 0.95,
                   objectives: Sequence[tuple[str, str]] | None = None,
                   margin: float | None = None) -> Evidence:
    """Group the trials, find the best and the baseline, compare, diagnose, and mark the
    Pareto front.

    Args:
        trials: the study's trials or their records (any state; only COMPLETE ones count;
            :func:`poolnas.evidence.configurations`).
        metric, mode: the objective ("max"/"min"); in a multi-objective study the first one
            (the best, the baseline comparison and the verdicts are on it).
        space: the stored space document (its ``baseline:`` is used unless ``baseline``).
        baseline: a partial config overriding the space file's.
        objectives: every (metric, mode) of the study (``study_objectives``); default the one.
        margin: an equivalence margin overriding the space file's ``margin:``.
    """
    configs = configurations(trials, metric, mode)
    partial, source = _pick_baseline(baseline, space)
    base, hits = find_baseline(configs, partial, mode) if partial else (None, 0)
    if base is None and source == "default (gap)":
        partial, source = None, "none"
    looks, first_seeds, final, stored_margin = design_of(space)
    margin = margin if margin is not None else stored_margin
    comparisons = (compare(configs, base, mode, level=level, looks=looks, final=final, margin=margin)
                   if base is not None else None)
    family = family_of(configs, base, looks, level, final) if base is not None else None
    effect = best_effect(configs, base, mode, first_seeds=first_seeds) if base is not None else None
    notes = diagnose(configs, metric)
    if metric == "test_acc":
        notes.append(TEST_DATA_NOTE)
    objs = [(str(m), str(o)) for m, o in objectives] if objectives else [(metric, mode)]
    return Evidence(metric=metric, mode=mode, configs=configs, best=configs[0] if configs else None,
                    baseline=partial, baseline_source=source, baseline_config=base,
                    baseline_matches=hits, comparisons=comparisons,
                    near_best=indistinguishable(configs, mode, level=level, looks=looks, final=final),
                    notes=notes,
                    family=family, looks=looks, margin=margin, best_effect=effect,
                    planned_looks=planned_looks(space),
                    objectives=objs, pareto=pareto_front(configs, front_objectives(objs), objective=metric))


def evidence_of(data: StudyData) -> Evidence:
    """:class:`Evidence` of a study read once (a :class:`poolnas.studies.StudyData`):
    configurations over seeds, the one best, the baseline from the stored space file, verdicts,
    warnings; computed on first use and kept in ``data.cache``."""
    if "evidence" not in data.cache:
        data.cache["evidence"] = study_evidence(data.records, data.metric, data.mode, space=data.space,
                                                objectives=data.objectives or None)
    return data.cache["evidence"]
