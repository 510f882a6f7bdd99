"""Views of a study's trials for the verdict machinery: on any stored metric, and across studies.

``compare --metric NAME`` (and ``poolnas.compare(metric=...)``): every finished trial seen with
``NAME`` as its value, from its stored metrics (``val_acc``, ``test_acc``, ``train_loss``,
``epoch_time``, ``images_per_s``, ``train_step_ms``, ``infer_ms``), its cost (``params``,
``flops``) or, in a multi-objective study, that objective's value. Its mode is the study's for
one of its objectives, else the metric's own: accuracies and throughput max, losses, times and
costs min; ``--mode`` overrides, and a metric of unknown direction needs it.

``compare --study A --study B`` (and ``poolnas.compare([a, b])``): the trials of several
studies as one set, each configuration tagged with the study (or studies) that ran it, so the
same verdicts (:func:`poolnas.evidence.study_evidence`) compare configurations across them. The
studies must share a base: the trial configs may differ only in keys one of them searched
(:func:`check_same_base`, one ConfigError line naming the keys otherwise). A configuration run
in several studies (the same config, e.g. GAP in both) pools its seeds; a seed run twice counts
once. Nothing here changes the verdict code: it sees trials.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from poolnas.errors import ConfigError, closest
from poolnas.evidence._configs import Configuration
from poolnas.evidence._study import TEST_DATA_NOTE, Evidence, design_of, study_evidence
from poolnas.evidence.pareto import _lookup
from poolnas.records import TrialAttrs, flatten

__all__ = ["STUDY_KEY", "MetricTrial", "check_same_base", "evidence_on", "metric_mode", "on_metric",
           "pooled_study", "stored_metrics", "tag_studies"]

STUDY_KEY = "study"  # the parameter column naming the study of a configuration (across studies)

_MAX_WORDS = ("acc", "images_per_s", "throughput", "auc", "f1", "precision", "recall", "iou", "map")
_MIN_WORDS = ("loss", "_ms", "time", "params", "flops", "error", "err", "latency", "memory", "rss")


class MetricTrial:
    """A trial seen through one metric: ``values`` is ``[metric]`` (None when it lacks it),
    ``params`` may carry the study's name; everything else is the trial's own."""

    def __init__(self, trial: Any, value: float | None, study: str | None = None):
        self._trial = trial
        self.values = None if value is None else [value]
        params = dict(trial.params)
        if study is not None:
            params[STUDY_KEY] = study
        self.params = params

    def __getattr__(self, name: str) -> Any:
        return getattr(self._trial, name)


def _objective_index(metric: str, objectives: Sequence[tuple[str, str]]) -> int | None:
    return next((i for i, (m, _) in enumerate(objectives) if m == metric), None)


def _value(trial: Any, metric: str, objectives: Sequence[tuple[str, str]]) -> float | None:
    i = _objective_index(metric, objectives)
    values = getattr(trial, "values", None)
    if i is not None and values and i < len(values):
        v = values[i]
    else:
        v = _lookup(trial.user_attrs, metric)
    return float(v) if isinstance(v, (int, float)) and math.isfinite(v) else None


def stored_metrics(trials: Iterable[Any], objectives: Sequence[tuple[str, str]] = ()) -> list[str]:
    """Every metric name a finished trial of the study kept (objectives first)."""
    names = [m for m, _ in objectives]
    for t in trials:
        if getattr(t.state, "name", None) != "COMPLETE":
            continue
        attrs = t.user_attrs
        for source in (attrs.get(TrialAttrs.METRICS), attrs.get(TrialAttrs.COST)):
            if isinstance(source, Mapping):
                names += [k for k, v in source.items()
                          if isinstance(v, (int, float)) and not isinstance(v, bool)]
        if isinstance(attrs.get(TrialAttrs.N_PARAMS), (int, float)):
            names.append("params")
    return list(dict.fromkeys(names))


def metric_mode(metric: str, mode: str | None = None,
                objectives: Sequence[tuple[str, str]] = ()) -> str:
    """"max" or "min" for ``metric``: ``mode`` when given; the study's for one of its
    objectives; accuracy-like max, loss/time/cost min (ConfigError when it cannot tell)."""
    if mode is not None:
        if mode not in ("max", "min"):
            raise ConfigError("--mode", mode, "expected max or min")
        return mode
    i = _objective_index(metric, objectives)
    if i is not None:
        return "max" if objectives[i][1] in ("max", "maximize") else "min"
    name = metric.lower()
    if any(w in name for w in _MIN_WORDS):
        return "min"
    if any(w in name for w in _MAX_WORDS):
        return "max"
    raise ConfigError("--metric", metric, "its direction is not known; add --mode max or --mode min")


def on_metric(trials: Iterable[Any], metric: str, objectives: Sequence[tuple[str, str]] = (), *,
              study: str | None = None, where: str = "--metric") -> list[MetricTrial]:
    """The trials seen with ``metric`` as their value (ConfigError, naming the metrics the
    study kept, when no finished trial has it)."""
    trials = list(trials)
    out = [MetricTrial(t, _value(t, metric, objectives), study) for t in trials]
    if not any(t.values for t in out if getattr(t.state, "name", None) == "COMPLETE") and any(
            getattr(t.state, "name", None) == "COMPLETE" for t in trials):
        names = stored_metrics(trials, objectives)
        raise ConfigError(where, metric, ("no finished trial of the study kept it" if study is None else
                                          f"no finished trial of study {study!r} kept it")
                          + closest(metric, names) + f"; expected one of: {', '.join(names)}")
    return out


def _searched(trials: Sequence[Any], space: object) -> set[str]:
    """The keys a study searched: its space's ``space:`` keys, and any key whose value varies
    among its trial configs."""
    keys: set[str] = set()
    if isinstance(space, Mapping) and isinstance(space.get("space"), Mapping):
        keys |= {str(k) for k in space["space"]}
    seen: dict[str, set[str]] = {}
    for t in trials:
        config = t.user_attrs.get(TrialAttrs.CONFIG)
        if isinstance(config, Mapping):
            for k, v in flatten(config).items():
                seen.setdefault(k, set()).add(repr(v))
    keys |= {k for k, vals in seen.items() if len(vals) > 1}
    return keys - {"seed"}


def _base(trials: Sequence[Any]) -> dict[str, Any]:
    for t in trials:
        config = t.user_attrs.get(TrialAttrs.CONFIG)
        if isinstance(config, Mapping):
            return {k: v for k, v in flatten(config).items() if k != "seed"}
    return {}


def check_same_base(studies: Sequence[tuple[str, Sequence[Any], object]]) -> set[str]:
    """ConfigError (one line) unless the studies' trial configs differ only in keys one of
    them searched; returns those keys. ``studies``: (name, trials, stored space) each."""
    searched: set[str] = set()
    for _, trials, space in studies:
        searched |= _searched(trials, space)
    first_name, first_trials, _ = studies[0]
    first = _base(first_trials)
    for name, trials, _ in studies[1:]:
        other = _base(trials)
        diff = sorted(k for k in set(first) & set(other) if k not in searched and first[k] != other[k])
        if diff:
            shown = "; ".join(f"{k} {first[k]!r} vs {other[k]!r}" for k in diff[:3])
            raise ConfigError("--study", name, f"its base differs from study {first_name!r}'s in "
                              f"{shown}{' …' if len(diff) > 3 else ''}; expected studies that differ "
                              f"only in the keys they search ({', '.join(sorted(searched)) or 'none'})")
    return searched


def tag_studies(configs: Iterable[Configuration], keys_of: Mapping[str, set[str]]) -> None:
    """Name in each configuration's ``study`` parameter every study that ran it (a configuration
    two studies ran pooled its seeds)."""
    for conf in configs:
        names = [name for name, keys in keys_of.items() if conf.key in keys]
        if names:
            conf.params[STUDY_KEY] = "+".join(names)


def _looks(space: object) -> int:
    return design_of(space)[0]


def pooled_space(spaces: Sequence[object]) -> object:
    """The stored space several studies are read under: the design with the most looks (a
    race's or a staged design's correction), with the first ``baseline:`` any of them names."""
    space = max(spaces, key=_looks)
    stored = next((sp["baseline"] for sp in spaces
                   if isinstance(sp, Mapping) and isinstance(sp.get("baseline"), Mapping)), None)
    if isinstance(space, Mapping) or stored is not None:
        space = {**(space if isinstance(space, Mapping) else {}), "baseline": stored}
    return space


def evidence_on(studies: Sequence[Any], *, metric: str | None = None, mode: str | None = None,
                baseline: Mapping[str, Any] | None = None,
                margin: float | None = None) -> tuple[Evidence, str]:
    """(:class:`~poolnas.evidence.Evidence`, label) of one study or several side by side, on
    its objective or on ``metric``.

    Args:
        studies: objects with ``name``, ``trials``, ``records`` (their TrialRecords), ``metric``,
            ``mode``, ``objectives`` and ``space`` (a :class:`poolnas.studies.StudyData`, or the
            API's StudyResults).
        metric, mode: compare on this stored metric (default: the first study's objective);
            mode as :func:`metric_mode`.
        baseline, margin: as :func:`poolnas.evidence.study_evidence` (default: the first
            study's space file ``baseline:`` that names one, else GAP).
    """
    first = studies[0]
    objectives = [tuple(o) for s in studies for o in (s.objectives or ((s.metric, s.mode),))]
    if len(studies) == 1 and metric in (None, first.metric) and mode in (None, first.mode):
        ev = study_evidence(first.records, first.metric, first.mode, space=first.space, baseline=baseline,
                            objectives=first.objectives or None, margin=margin)
        return ev, first.name
    names = [s.name for s in studies]
    if len(set(names)) != len(names):
        raise ConfigError("--study", next(n for n in names if names.count(n) > 1), "is given twice; "
                          "expected each study once")
    metric = metric or first.metric
    many = len(studies) > 1
    if many:
        check_same_base([(s.name, list(s.trials), s.space) for s in studies])
    trials: list[Any] = []
    for s in studies:
        own = list(s.objectives or ((s.metric, s.mode),))
        trials += on_metric(s.trials, metric, own, study=s.name if many else None)
    mode = metric_mode(metric, mode, objectives)
    space = pooled_space([s.space for s in studies])
    ev = study_evidence(trials, metric, mode, space=space, baseline=baseline, margin=margin)
    if many:
        keys_of = {s.name: {str(t.user_attrs.get(TrialAttrs.CONFIG_KEY)) for t in s.trials} for s in studies}
        tag_studies(ev.configs, keys_of)
        ev.notes.append(f"studies side by side: {', '.join(names)} (a configuration several of them "
                        "ran pools its seeds; a seed run twice counts once)")
    if metric != first.metric:
        ev.notes[:] = [n for n in ev.notes if n != TEST_DATA_NOTE]
        ev.notes.append(f"compared on {metric} ({mode}); the sweep selected on {first.metric}")
    return ev, " + ".join(names)


def pooled_study(datas: Sequence[Any]) -> Any:
    """Several studies read as one (``poolnas report --study A --study B``): the stages of a
    staged design, or studies that share a base. A :class:`poolnas.studies.StudyData` named
    ``A + B`` whose trials and records are all of theirs (in study order), whose stored space is
    the design with the most looks (with the first baseline named), and whose evidence is
    :func:`evidence_on` of the studies side by side, so the report's verdict and forest are the
    pooled ``compare``'s; the paper figures and Optuna's plots draw every trial. One study: itself.
    """
    if len(datas) == 1:
        return datas[0]
    ev, label = evidence_on(datas)  # checks the bases; one ConfigError line otherwise
    first = datas[0]
    space = pooled_space([d.space for d in datas])
    counts: dict[str, int] = {}
    for d in datas:
        for state, n in d.state_counts.items():
            counts[state] = counts.get(state, 0) + n
    return first._replace(name=label, rows=[r for d in datas for r in d.rows], state_counts=counts,
                          space=space, trials=[t for d in datas for t in d.trials],
                          records=[r for d in datas for r in d.records], cache={"evidence": ev})
