"""Export: the best configurations of a study, ranked by their mean over seeds.

Document shapes (``poolnas export``):

- YAML, ``--top 1`` (the default): the best trial config itself at the top level, with its
  metrics in ``#`` comments above it, so ``poolnas train --config best.yaml`` trains it again
  (TrialConfig forbids extra keys, so the metrics cannot sit beside the config).
- YAML with ``--top K`` > 1, and JSON at any K: a list of entries, best first, each
  ``{rank, config_key, objective: {metric, mode, mean, std, n}, metrics: {name: {mean, std}},
  seeds, trials, n_params, checkpoint, notes, config}``; ``config`` is a full trial config.
- CSV: every trial of the study, one row each, with its config flattened to dotted columns
  and its configuration's mean/std/n over seeds.

Each exported config is the one of the best run among its seeds (its checkpoint belongs to
that run), read under the current schema (``_migrate``: fields an older schema wrote and this one
refuses are reset to their defaults and named in a note). A study whose objective is
``test_acc`` says in every document that its grid is reported on test data, not selected on it.
"""

from __future__ import annotations

import csv
import io
import json
import math
from typing import Any, NamedTuple

import yaml

from poolnas.evidence import applies, evidence_of
from poolnas.evidence.pareto import cost_means
from poolnas.records import TrialRecord
from poolnas.studies.migrate import migrate_config
from poolnas.studies.reader import StudyData, summarize

__all__ = ["ExportEntry", "format_entries", "format_pareto", "pareto_entries", "pareto_files",
           "rank_configurations", "trials_csv"]


class ExportEntry(NamedTuple):
    rank: int
    config_key: str
    config: dict[str, Any]  # full trial config of the best run among the seeds (current schema)
    mean: float  # objective over seeds
    std: float | None  # sample std; None for one seed (no spread to show)
    n: int  # runs (seeds) averaged
    metrics: dict[str, dict[str, float | None]]  # metric -> {mean, std} over the same runs
    seeds: list[int]
    trials: list[int]  # trial numbers
    n_params: int | None
    checkpoint: str | None
    note: str | None = None  # the stored config was migrated (fields reset), or unreadable
    cost: dict[str, float | None] | None = None  # params, flops, train_step_ms, infer_ms (means)
    trial: int | None = None  # the run whose config the file holds (the best seed)
    seed: int | None = None  # its seed
    value: float | None = None  # its objective value: what training the file again reproduces


def _metric_stats(runs: list[TrialRecord]) -> dict[str, dict[str, float | None]]:
    metrics = [r.metrics for r in runs]
    names = sorted({k for m in metrics for k, v in m.items() if isinstance(v, (int, float))})
    out = {}
    for name in names:
        s = summarize(m[name] for m in metrics if isinstance(m.get(name), (int, float)))
        out[name] = {"mean": s.mean, "std": s.std if s.n > 1 else None}
    return out


def _exportable(data: StudyData) -> list[Any]:
    """The study's configurations (best first, :func:`poolnas.evidence.configurations`) that
    carry a poolnas config, so they can be trained again."""
    return [c for c in evidence_of(data).configs if c.config]


def rank_configurations(data: StudyData, top: int | None = None) -> list[ExportEntry]:
    """Configurations ranked by their mean objective over seeds in the study's direction
    (the one best of :mod:`poolnas.evidence`); ties go to more seeds, then the earlier trial.
    Each config is the stored one of its best run, read under the current schema
    (:func:`~poolnas.studies.migrate.migrate_config`: an old config never fails)."""
    configs = _exportable(data)
    return [_entry(data, rank, conf) for rank, conf in enumerate(configs[:top] if top else configs, start=1)]


def pareto_entries(data: StudyData) -> list[ExportEntry]:
    """The Pareto set (``Evidence.front``: the study's objectives, or its objective against
    FLOPs), best first in the first objective; ``rank`` is the configuration's rank among all."""
    ranks = {c.key: i for i, c in enumerate(_exportable(data), start=1)}
    front = [p.config for p in evidence_of(data).front if p.config.key in ranks]
    return [_entry(data, ranks[conf.key], conf) for conf in front]


def _entry(data: StudyData, rank: int, conf: Any) -> ExportEntry:
    i = conf.best_run(data.maximize)
    run = conf.runs[i]
    migrated = migrate_config(run.user_attrs)
    config = migrated.config if migrated.config is not None else dict(run.config)
    return ExportEntry(
        rank=rank, config_key=conf.key, config=config, mean=conf.mean, std=conf.std, n=conf.n,
        metrics=_metric_stats(conf.runs),
        seeds=sorted(s for s in conf.seeds if s is not None), trials=sorted(conf.trials),
        n_params=run.n_params, checkpoint=run.checkpoint,
        note=migrated.note, cost=cost_means(conf),
        trial=conf.trials[i], seed=conf.seeds[i], value=conf.values[i],
    )


def _val(value: float | None) -> str:
    return "–" if value is None or not math.isfinite(value) else f"{value:.6g}"


def _pm(std: float | None) -> str:
    return "(one run, no std)" if std is None else f"± {std:.3g} (std)"


def _entry_doc(data: StudyData, e: ExportEntry) -> dict[str, Any]:
    return {
        "rank": e.rank,
        "config_key": e.config_key,
        "objective": {"metric": data.metric, "mode": data.mode,
                      "mean": e.mean, "std": e.std, "n": e.n},
        "reproduces": {"trial": e.trial, "seed": e.seed, "value": e.value},
        "metrics": e.metrics,
        "seeds": e.seeds,
        "trials": e.trials,
        "n_params": e.n_params,
        "checkpoint": e.checkpoint,
        "notes": ([e.note] if e.note else []) + evidence_of(data).notes,
        "cost": e.cost,
        "pareto": any(p.config.key == e.config_key for p in evidence_of(data).front),
        "config": e.config,
    }


def _comment(data: StudyData, e: ExportEntry, total: int) -> str:
    lines = [
        f"poolnas export: study {data.name!r}, rank {e.rank} of {total} configurations "
        f"(config_key {e.config_key})",
        f"reproduces trial {e.trial} (seed {e.seed}): {data.metric} {_val(e.value)}; "
        f"the configuration it stands for: mean {_val(e.mean)} {_pm(e.std)} over {e.n} seed(s)",
        f"objective {data.metric} ({data.mode}): mean {e.mean:.6g} {_pm(e.std)} over {e.n} "
        f"run(s); seeds {e.seeds}; trials {e.trials}",
    ]
    lines += [f"{name}: mean {s['mean']:.6g} {_pm(s['std'])}" for name, s in e.metrics.items()]
    lines.append(f"n_params: {e.n_params}; checkpoint: {e.checkpoint}")
    if e.cost and any(v is not None for v in e.cost.values()):
        lines.append("cost (mean over seeds): " + "; ".join(f"{k} {v:.6g}" for k, v in e.cost.items()
                                                             if v is not None))
    if e.note:
        lines.append(f"note: {e.note}")
    lines += _notes(data)
    lines.append("Train it again: poolnas train --config <this file>")
    return "".join(f"# {line}\n" for line in lines)


def _notes(data: StudyData) -> list[str]:
    """Warnings of the study (chance accuracy, identical losses, reported on test data)."""
    from textwrap import wrap

    return [line for note in evidence_of(data).notes for line in wrap("note: " + note, 96)]


def format_entries(data: StudyData, entries: list[ExportEntry], fmt: str) -> str:
    """The export document (see the module docstring for the shapes)."""
    total = len(_exportable(data))
    if fmt == "json":
        return json.dumps([_entry_doc(data, e) for e in entries], indent=2) + "\n"
    if fmt != "yaml":
        raise ValueError(f"format: {fmt!r} is not accepted; expected yaml or json")
    if len(entries) == 1:
        e = entries[0]
        return _comment(data, e, total) + yaml.safe_dump(e.config, sort_keys=False)
    head = (f"# poolnas export: study {data.name!r}, the best {len(entries)} of {total} configurations, "
            f"ranked by the mean of {data.metric} over seeds\n") + "".join(f"# {n}\n" for n in _notes(data))
    return head + yaml.safe_dump([_entry_doc(data, e) for e in entries], sort_keys=False)


def _over(data: StudyData) -> str:
    return " against ".join(f"{m} ({o})" for m, o in evidence_of(data).pareto_objectives)


def _pareto_doc(data: StudyData, e: ExportEntry, i: int, n: int) -> str:
    head = (f"# Pareto set entry {i} of {n}: on the front of {_over(data)} (means over seeds; "
            "no other configuration is at least as good in all and better in one)\n")
    return head + _comment(data, e, len(_exportable(data))) + yaml.safe_dump(e.config, sort_keys=False)


def pareto_files(data: StudyData, entries: list[ExportEntry]) -> list[tuple[str, str]]:
    """One (file name, YAML text) per entry of the Pareto set, ``pareto-01.yaml`` … best first:
    each a trial config with its metrics as comments (``poolnas train --config`` trains it)."""
    return [(f"pareto-{i:02d}.yaml", _pareto_doc(data, e, i, len(entries))) for i, e in enumerate(entries, 1)]


def format_pareto(data: StudyData, entries: list[ExportEntry], fmt: str) -> str:
    """The Pareto set as one document: JSON, a list of entries (as ``--top K``, with ``cost``
    and ``pareto``); YAML, one document per entry (``---`` between), each a trial config."""
    if fmt == "json":
        return json.dumps([_entry_doc(data, e) for e in entries], indent=2) + "\n"
    return "---\n".join(text for _, text in pareto_files(data, entries))


def trials_csv(data: StudyData) -> str:
    """Every trial of the study as CSV (all states), configs flattened to dotted columns."""
    stats = {c.key: c for c in evidence_of(data).configs}
    rows = []
    for r in data.records:
        key = r.config_key if r.config else None  # trials poolnas did not write store none
        stat = stats.get(key) if key else None
        row: dict[str, Any] = {
            "number": r.number, "state": r.state,
            "value": r.values[0] if r.values else None,  # the first objective, as stored
            "config_key": key, "group_mean": stat.mean if stat else None,
            "group_std": stat.std if stat else None,  # None (blank) for one seed
            "group_n": stat.n if stat else None,
            "n_params": r.n_params, "checkpoint": r.checkpoint, "fail_reason": r.fail_reason,
        }
        if data.multi_objective:  # every objective's value, in the study's order
            row.update({f"values.{m}": r.values[i] if r.values and i < len(r.values) else None
                        for i, (m, _) in enumerate(data.objectives)})
        row.update({f"metrics.{k}": v for k, v in r.metrics.items()})
        flat = r.flat if r.config else {f"params.{k}": v for k, v in r.params.items()}
        row.update({k: json.dumps(list(v)) if isinstance(v, tuple) else v
                    for k, v in flat.items() if applies(k, flat)})  # blank: no λ for gap
        rows.append(row)
    fixed = ["number", "state", "value", "config_key", "group_mean", "group_std", "group_n",
             "n_params", "checkpoint", "fail_reason"]
    extra = sorted({k for r in rows for k in r} - set(fixed))
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    columns = fixed + extra
    writer.writerow([csv_cell(k) for k in columns])
    for row in rows:
        writer.writerow([csv_cell(row.get(k)) for k in columns])
    return out.getvalue()


# A spreadsheet runs a cell that starts with one of these as a formula (CSV injection): a
# parameter value, a metric name or a fail reason from a study is text, never a formula.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(value: Any) -> Any:
    """A CSV cell: blank for None/NaN, numbers as they are, text starting with ``= + - @``
    (or a tab, a carriage return) prefixed with ``'`` so spreadsheets show it as text."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value
