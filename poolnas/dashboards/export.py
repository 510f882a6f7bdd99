"""Export: the best configurations of a study, ranked by their mean over seeds.

Document shapes (``poolnas export``):

- YAML, ``--top 1`` (the default): the best trial config itself at the top level, with its
  metrics in ``#`` comments above it, so ``poolnas train --config best.yaml`` trains it again
  (TrialConfig forbids extra keys, so the metrics cannot sit beside the config).
- YAML with ``--top K`` > 1, and JSON at any K: a list of entries, best first, each
  ``{rank, config_key, objective: {metric, mode, mean, std, n}, metrics: {name: {mean, std}},
  seeds, trials, n_params, checkpoint, config}``; ``config`` is a full trial config.
- CSV: every trial of the study, one row each, with its config flattened to dotted columns
  and its configuration's mean/std/n over seeds.

Each exported config is the one of the best run among its seeds (its checkpoint belongs to
that run), validated with :func:`poolnas.config.config_from_dict`.
"""

from __future__ import annotations

import csv
import io
import json
import math
from typing import Any, NamedTuple

import yaml

from poolnas.config import config_from_dict
from poolnas.dashboards._study import StudyData, TrialRow, flatten, summarize
from poolnas.storage import TrialAttrs

__all__ = ["ExportEntry", "format_entries", "rank_configurations", "trials_csv"]


class ExportEntry(NamedTuple):
    rank: int
    config_key: str
    config: dict[str, Any]  # full, validated trial config of the best run among the seeds
    mean: float  # objective over seeds
    std: float  # sample std (0 for one seed)
    n: int  # runs (seeds) averaged
    metrics: dict[str, dict[str, float]]  # metric -> {mean, std} over the same runs
    seeds: list[int]
    trials: list[int]  # trial numbers
    n_params: int | None
    checkpoint: str | None


def _metric_stats(rows: list[TrialRow]) -> dict[str, dict[str, float]]:
    names = sorted({k for r in rows for k, v in r.metrics.items() if isinstance(v, (int, float))})
    out = {}
    for name in names:
        s = summarize(r.metrics[name] for r in rows if isinstance(r.metrics.get(name), (int, float)))
        out[name] = {"mean": s.mean, "std": s.std}
    return out


def _groups(data: StudyData) -> dict[str, list[TrialRow]]:
    groups: dict[str, list[TrialRow]] = {}
    for row in data.rows:
        if row.config:  # only poolnas trials carry a config that can be trained again
            groups.setdefault(row.config_key, []).append(row)
    return groups


def rank_configurations(data: StudyData, top: int | None = None) -> list[ExportEntry]:
    """Configurations (trials grouped by config_key) ranked by their mean objective over
    seeds in the study's direction; ties go to more seeds, then to the earlier trial."""
    sign = -1.0 if data.maximize else 1.0
    scored = []
    for key, rows in _groups(data).items():
        stat = summarize(r.value for r in rows)
        scored.append((sign * stat.mean, -stat.n, min(r.number for r in rows), key, rows, stat))
    scored.sort(key=lambda t: t[:3])
    entries = []
    for rank, (*_, key, rows, stat) in enumerate(scored[:top] if top else scored, start=1):
        best = (max if data.maximize else min)(rows, key=lambda r: r.value)
        config = config_from_dict(best.config, where=f"trial {best.number} config").to_dict()
        entries.append(ExportEntry(
            rank=rank, config_key=key, config=config, mean=stat.mean, std=stat.std, n=stat.n,
            metrics=_metric_stats(rows),
            seeds=sorted(r.seed for r in rows if r.seed is not None),
            trials=sorted(r.number for r in rows),
            n_params=best.n_params, checkpoint=best.checkpoint,
        ))
    return entries


def _entry_doc(data: StudyData, e: ExportEntry) -> dict[str, Any]:
    return {
        "rank": e.rank,
        "config_key": e.config_key,
        "objective": {"metric": data.metric, "mode": data.mode,
                      "mean": e.mean, "std": e.std, "n": e.n},
        "metrics": e.metrics,
        "seeds": e.seeds,
        "trials": e.trials,
        "n_params": e.n_params,
        "checkpoint": e.checkpoint,
        "config": e.config,
    }


def _comment(data: StudyData, e: ExportEntry, total: int) -> str:
    lines = [
        f"poolnas export: study {data.name!r}, rank {e.rank} of {total} configurations "
        f"(config_key {e.config_key})",
        f"objective {data.metric} ({data.mode}): mean {e.mean:.6g} ± {e.std:.3g} (std) over {e.n} "
        f"run(s); seeds {e.seeds}; trials {e.trials}",
    ]
    lines += [f"{name}: mean {s['mean']:.6g} ± {s['std']:.3g}" for name, s in e.metrics.items()]
    lines.append(f"n_params: {e.n_params}; checkpoint: {e.checkpoint}")
    lines.append("Train it again: poolnas train --config <this file>")
    return "".join(f"# {line}\n" for line in lines)


def format_entries(data: StudyData, entries: list[ExportEntry], fmt: str) -> str:
    """The export document (see the module docstring for the shapes)."""
    total = len(_groups(data))
    if fmt == "json":
        return json.dumps([_entry_doc(data, e) for e in entries], indent=2) + "\n"
    if fmt != "yaml":
        raise ValueError(f"format: {fmt!r} is not accepted; expected yaml or json")
    if len(entries) == 1:
        e = entries[0]
        return _comment(data, e, total) + yaml.safe_dump(e.config, sort_keys=False)
    head = (f"# poolnas export: study {data.name!r}, the best {len(entries)} of {total} configurations, "
            f"ranked by the mean of {data.metric} over seeds\n")
    return head + yaml.safe_dump([_entry_doc(data, e) for e in entries], sort_keys=False)


def trials_csv(data: StudyData) -> str:
    """Every trial of the study as CSV (all states), configs flattened to dotted columns."""
    stats = {key: summarize(r.value for r in rows) for key, rows in _groups(data).items()}
    records = []
    for t in data.trials:
        attrs = t.user_attrs
        config = attrs.get(TrialAttrs.CONFIG) if isinstance(attrs.get(TrialAttrs.CONFIG), dict) else {}
        key = attrs.get(TrialAttrs.CONFIG_KEY)
        stat = stats.get(key) if key else None
        rec: dict[str, Any] = {
            "number": t.number, "state": t.state.name,
            "value": t.value if t.values is not None and len(t.values) == 1 else None,
            "config_key": key, "group_mean": stat.mean if stat else None,
            "group_std": stat.std if stat else None, "group_n": stat.n if stat else None,
            "n_params": attrs.get(TrialAttrs.N_PARAMS), "checkpoint": attrs.get(TrialAttrs.CHECKPOINT),
            "fail_reason": attrs.get(TrialAttrs.FAIL_REASON),
        }
        metrics = attrs.get(TrialAttrs.METRICS) if isinstance(attrs.get(TrialAttrs.METRICS), dict) else {}
        rec.update({f"metrics.{k}": v for k, v in metrics.items()})
        flat = flatten(config) if config else {f"params.{k}": v for k, v in t.params.items()}
        rec.update({k: json.dumps(list(v)) if isinstance(v, tuple) else v for k, v in flat.items()})
        records.append(rec)
    fixed = ["number", "state", "value", "config_key", "group_mean", "group_std", "group_n",
             "n_params", "checkpoint", "fail_reason"]
    extra = sorted({k for r in records for k in r} - set(fixed))
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=fixed + extra, lineterminator="\n")
    writer.writeheader()
    for rec in records:
        writer.writerow({k: ("" if v is None or (isinstance(v, float) and math.isnan(v)) else v)
                         for k, v in rec.items()})
    return out.getvalue()
