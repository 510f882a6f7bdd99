"""The Python API for notebooks: ``poolnas.sweep``, ``poolnas.load``, ``poolnas.compare``.

    import poolnas
    study = poolnas.load("quickstart", storage="sqlite:///poolnas.db")
    study.trials            # pandas DataFrame, one row per trial (every state)
    study.configurations    # one row per configuration: n, mean, std, Δ, simultaneous 95%, mde, verdict
    poolnas.compare("quickstart", baseline={"attention.pooling": "gap"})
    study.plan(0.01)        # seeds, trials and hours that would detect 1 point (compare --plan)

Everything is computed by :mod:`poolnas.evidence` (the same numbers as ``poolnas compare``
and the report); pandas is imported only here.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from poolnas.config import ACCURACY_METRICS
from poolnas.errors import ConfigError
from poolnas.evidence import planning
from poolnas.evidence._study import Evidence, study_evidence
from poolnas.evidence._views import evidence_on
from poolnas.evidence.commands import check_baseline, parse_positive
from poolnas.evidence.pareto import cost_means
from poolnas.records import TrialRecord, trial_record
from poolnas.spaces import space_from_dict
from poolnas.studies.reader import load_study

__all__ = ["StudyResults", "compare", "load", "plan", "sweep"]


def _cell(value: Any) -> Any:
    return list(value) if isinstance(value, tuple) else value


def _trials_frame(records: list[TrialRecord]) -> Any:
    import pandas as pd

    rows = []
    for r in records:
        row: dict[str, Any] = {
            "number": r.number, "state": r.state,
            "value": r.values[0] if r.values else None,  # the first objective, as stored
            "values": list(r.values) if r.values else None,
            "config_key": r.config_key if r.config else None,  # stored by poolnas trials only
            "seed": r.seed,
        }
        row.update({k: _cell(v) for k, v in r.params.items() if k != "seed"})
        row.update({f"metrics.{k}": v for k, v in r.metrics.items()})
        row.update({"n_params": r.n_params, "wall_time": r.wall_time, "fail_reason": r.fail_reason})
        rows.append(row)
    return pd.DataFrame.from_records(rows)


def _configurations_frame(ev: Evidence) -> Any:
    import pandas as pd

    near = {id(c.config) for c in ev.near_best}
    records = []
    for i, conf in enumerate(ev.configs, start=1):
        comp = ev.comparison_of(conf)
        rec: dict[str, Any] = {"rank": i, "config_key": conf.key}
        rec.update({k: _cell(v) for k, v in conf.params.items()})
        rec.update({"n": conf.n, "mean": conf.mean, "std": conf.std,
                    "delta": comp.delta if comp else None, "ci_low": comp.ci_low if comp else None,
                    "ci_high": comp.ci_high if comp else None, "verdict": comp.verdict if comp else None,
                    "n_pairs": comp.n_pairs if comp and comp.verdict != "baseline" else None,
                    "mde": comp.mde if comp else None,
                    "near_best": id(conf) in near, "seeds": list(conf.seeds), "trials": list(conf.trials)})
        rec.update({f"cost.{k}": v for k, v in cost_means(conf).items()})
        rec["pareto"] = ev.on_front(conf)
        records.append(rec)
    return pd.DataFrame.from_records(records)


@dataclass
class StudyResults:
    """A study as DataFrames, read once.

    Attributes:
        name, metric, mode: the study and its objective.
        trials: one row per trial: number, state, value, config_key, seed, the params, metrics.*.
        configurations: one row per configuration, best first: its params (missing where they do
            not apply), n, mean, std (None for one seed), delta, ci_low, ci_high (simultaneous
            95% over the family compared with the baseline), verdict, n_pairs, mde (80% power),
            near_best (indistinguishable from the best), seeds, trials,
            cost.params, cost.flops, cost.train_step_ms, cost.infer_ms (means over seeds) and
            pareto (on the front: the study's objectives, or its objective against FLOPs).
        evidence: the :class:`poolnas.evidence.Evidence` behind them.
    """

    name: str
    metric: str
    mode: str
    trials: Any
    configurations: Any
    evidence: Evidence
    raw_trials: list[Any] = field(default_factory=list, repr=False)  # the FrozenTrials
    space: Any = field(default=None, repr=False)  # the stored space document
    records: list[TrialRecord] = field(default_factory=list, repr=False)  # one per raw trial

    @property
    def best(self) -> Any:
        """The best configuration (mean over its finished seeds), or None."""
        return self.evidence.best

    @property
    def baseline(self) -> dict[str, Any] | None:
        base = self.evidence.baseline_config
        return base.to_params() if base is not None else None

    @property
    def objectives(self) -> list[tuple[str, str]]:
        """(metric, mode) per objective; several for a multi-objective study (best: the first)."""
        return list(self.evidence.objectives)

    @property
    def pareto(self) -> list[Any]:
        """The configurations on the Pareto front (``poolnas.evidence.pareto.ParetoPoint``)."""
        return self.evidence.front

    @property
    def notes(self) -> list[str]:
        return list(self.evidence.notes)

    @property
    def family(self) -> dict[str, Any] | None:
        """The family of the verdicts: size, looks, level, α per comparison, method."""
        fam = self.evidence.family
        return fam.to_dict() if fam is not None else None

    @property
    def best_effect(self) -> Any:
        """The best's Δ vs the baseline corrected for selection (``poolnas.evidence.BestEffect``)."""
        return self.evidence.best_effect

    def forest(self) -> Any:
        """The forest plot (a Plotly figure): Δ vs the baseline with the verdicts' simultaneous
        intervals, as in the report."""
        # lazy: plotly, only for the figure
        from poolnas.dashboards.forest import forest_figure

        acc = self.metric in ACCURACY_METRICS
        return forest_figure(self.evidence, 100.0 if acc else 1.0, "points" if acc else "")

    def plan(self, delta: float) -> Any:
        """Seeds, trials and hours for every comparison to detect ``delta`` (objective units) at
        80% power (``poolnas.evidence.planning.Plan``; ``compare --plan``).

        Raises:
            ConfigError: no baseline configuration, or ``delta`` not a positive number.
        """

        value = parse_positive("delta", str(delta))
        check_baseline(self.evidence, self.name)
        assert value is not None and self.evidence.baseline_config is not None
        return planning.plan(self.evidence.configs, self.evidence.baseline_config, value,
                             looks=self.evidence.looks)


def _results(name: str, metric: str, mode: str, trials: list[Any], space: Any,
             baseline: Mapping[str, Any] | None, objectives: Any = None,
             records: list[TrialRecord] | None = None) -> StudyResults:
    """``records``: the trials' records when the study's reader built them already."""
    records = records if records is not None else [trial_record(t) for t in trials]
    ev = study_evidence(records, metric, mode, space=space, baseline=baseline, objectives=objectives or None)
    return StudyResults(name, metric, mode, _trials_frame(records), _configurations_frame(ev), ev,
                        raw_trials=trials, space=space, records=records)


def load(study: str, storage: str | None = None, *,
         baseline: Mapping[str, Any] | None = None) -> StudyResults:
    """Read a study into DataFrames of trials and configurations.

    Args:
        study: the study name.
        storage: a SQLAlchemy URL (default: $POOLNAS_STORAGE, else sqlite:///poolnas.db).
        baseline: a partial config such as ``{"attention.pooling": "gap"}`` (default: the
            space file's ``baseline:``, else gap when the study ran it).
    """

    data = load_study(study, storage)
    return _results(data.name, data.metric, data.mode, data.trials, data.space, baseline, data.objectives,
                    data.records)


def compare(study: str | StudyResults | Sequence[str | StudyResults], storage: str | None = None, *,
            baseline: Mapping[str, Any] | None = None, metric: str | None = None,
            mode: str | None = None) -> Any:
    """The ``poolnas compare`` table as a DataFrame (every configuration against the baseline).

    Args:
        study: a study name or :class:`StudyResults`; a list of them compares their
            configurations side by side (``compare --study A --study B``: they must share a
            base; a ``study`` column names the study of each configuration).
        baseline: a partial config such as ``{"attention.pooling": "gap"}``.
        metric: compare on this stored metric (``train_loss``, ``test_acc``, ``train_step_ms``...)
            instead of the objective; ``mode`` ("max"/"min") its direction (default: accuracies
            max, losses, times and costs min).

    Raises:
        ConfigError: no configuration matches the baseline; a baseline that is not a partial
            config; studies whose bases differ beyond their searched keys; an unknown metric.
    """
    from types import SimpleNamespace


    if baseline is not None and not isinstance(baseline, Mapping):
        raise ConfigError("baseline", type(baseline).__name__, "expected a partial config such as "
                          "{'attention.pooling': 'gap'}; to compare studies side by side pass them "
                          "together: poolnas.compare([study_a, study_b])")
    items = list(study) if isinstance(study, (list, tuple)) else [study]
    if len(items) == 1 and metric is None and mode is None:
        one = items[0]
        if isinstance(one, str):
            res = load(one, storage, baseline=baseline)
        elif baseline is not None:  # the same trials against another baseline
            res = _results(one.name, one.metric, one.mode, one.raw_trials, one.space, baseline,
                           one.objectives, one.records or None)
        else:
            res = one
        check_baseline(res.evidence, res.name)
        return res.configurations
    results = [load(s, storage) if isinstance(s, str) else s for s in items]
    views = [SimpleNamespace(name=r.name, trials=r.raw_trials, records=r.records, metric=r.metric,
                             mode=r.mode, objectives=tuple(r.objectives), space=r.space) for r in results]
    ev, label = evidence_on(views, metric=metric, mode=mode, baseline=baseline)
    check_baseline(ev, label)
    return _configurations_frame(ev)


def plan(study: str | StudyResults, delta: float, storage: str | None = None, *,
         baseline: Mapping[str, Any] | None = None) -> Any:
    """``poolnas compare --plan DELTA`` in Python: :meth:`StudyResults.plan` of the study."""
    res = load(study, storage, baseline=baseline) if isinstance(study, str) else study
    return res.plan(delta)


def sweep(space: str | Path | Mapping[str, Any] | Any, *, storage: str | None = None,
          quiet: bool = True, **kwargs: Any) -> StudyResults:
    """Run (or continue, ``resume=True``) a sweep and return its results.

    Args:
        space: a space file, a preset name, a space document (dict) or a ``Space``.
        storage: a SQLAlchemy URL (default: $POOLNAS_STORAGE, else sqlite:///poolnas.db).
        quiet: no live view (the default in a notebook).
        **kwargs: the rest of :func:`poolnas.search.run_sweep` (study, trials, resume,
            ray_address, max_concurrent, ...).
    """
    # lazy: Ray; load() and compare() must not start it
    from poolnas.search import run_sweep

    if isinstance(space, Mapping):

        space = space_from_dict(dict(space))
    res = run_sweep(space, storage=storage, quiet=quiet, **kwargs)
    return load(res.study, storage)
