"""``poolnas compare``: every configuration of a study against its baseline.

    poolnas compare --study S [--storage URL] [--baseline KEY=VALUE ...] [--format table|json]

The baseline is ``--baseline`` (dotted trial-config keys, YAML values), else the space
file's ``baseline:``, else GAP when the study ran it. Exit status: 0 done, 1 no complete
trial, 2 bad input (a bad --baseline, a baseline the study did not run, an unknown study).
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from collections.abc import Sequence
from typing import Any

from poolnas.errors import ConfigError, closest
from poolnas.evidence._study import Evidence, study_evidence
from poolnas.evidence.pareto import cost_means

__all__ = ["compare_command", "format_json", "format_table", "parse_baseline"]

_ACCURACY = ("val_acc", "test_acc")


def parse_baseline(items: Sequence[str] | None) -> dict[str, Any] | None:
    """``["attention.pooling=gap", "attention.lam=1.0"]`` -> dotted keys with YAML values."""
    if not items:
        return None
    import yaml

    from poolnas.spaces._paths import config_paths

    paths = config_paths()
    out: dict[str, Any] = {}
    for item in items:
        key, sep, text = item.partition("=")
        key = key.strip()
        if not sep or not key:
            raise ConfigError("--baseline", item, "expected KEY=VALUE, e.g. attention.pooling=gap")
        if key not in paths or key == "seed":
            raise ConfigError("--baseline", item, "KEY must be a path of the trial config other than seed"
                              + closest(key, paths))
        try:
            value = yaml.safe_load(text)
        except yaml.YAMLError:
            raise ConfigError("--baseline", item, "VALUE must be a YAML scalar or list") from None
        out[key] = tuple(value) if isinstance(value, list) else value
    return out


def _values_of(ev: Evidence, key: str) -> str:
    vals = sorted({str(c.flat.get(key)) for c in ev.configs})
    return ", ".join(vals[:8]) + (" …" if len(vals) > 8 else "")


def check_baseline(ev: Evidence, study: str) -> None:
    """ConfigError (exit 2) when there is no baseline configuration to compare with."""
    if ev.baseline_config is not None:
        return
    if not ev.baseline:
        raise ConfigError("--baseline", None, f"study {study!r} names no baseline: and ran no gap "
                          "configuration; name one, e.g. --baseline attention.pooling=gap")
    keys = ", ".join(f"{k} in {{{_values_of(ev, k)}}}" for k in ev.baseline)
    field = "--baseline" if ev.baseline_source == "--baseline" else "baseline"
    raise ConfigError(field, ev.baseline_text(), f"study {study!r} ran no configuration that matches it "
                      f"(its configurations have {keys}); name one it ran with --baseline KEY=VALUE")


def _scale(ev: Evidence) -> float:
    return 100.0 if ev.metric in _ACCURACY else 1.0


def _num(value: float | None, scale: float, fmt: str, sign: bool = False) -> str:
    if value is None or not math.isfinite(value):
        return "–"
    return format(value * scale, ("+" if sign else "") + fmt)


def _param_keys(ev: Evidence) -> list[str]:
    keys = sorted({k for c in ev.configs for k in c.params}, key=lambda k: (k != "attention.pooling", k))
    return [k for k in keys if len({repr(c.params.get(k)) for c in ev.configs}) > 1] or keys


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, tuple):
        return ",".join(map(str, value))
    return f"{value:g}" if isinstance(value, float) else str(value)


def format_table(ev: Evidence, study: str) -> str:
    """A plain-text table, best first, accuracies in percent."""
    s = _scale(ev)
    unit = " (%)" if s == 100.0 else ""
    keys = _param_keys(ev)
    head = ["#", *[k.split(".")[-1] if k.startswith("attention.") else k for k in keys],
            "n", f"mean{unit}", "std", "Δ vs baseline", "95% interval", "verdict", "params", "GMACs", "front"]
    rows = [head]
    for i, comp in enumerate(ev.comparisons or [], start=1):
        c = comp.config
        interval = ("–" if comp.ci_low is None else
                    f"[{_num(comp.ci_low, s, '.2f', True)}, {_num(comp.ci_high, s, '.2f', True)}]")
        rows.append([str(i), *[_cell(c.params.get(k)) for k in keys], str(c.n), _num(c.mean, s, ".2f"),
                     _num(c.std, s, ".2f"), "–" if comp.verdict == "baseline" else _num(comp.delta, s, ".2f", True),
                     interval, comp.verdict + (f" ({comp.method})" if comp.method in ("welch",) else ""),
                     *_cost_cells(c), "*" if ev.on_front(c) else ""])
    widths = [max(len(r[i]) for r in rows) for i in range(len(head))]
    table = "\n".join("  ".join(cell.ljust(w) for cell, w in zip(r, widths, strict=True)).rstrip() for r in rows)
    many = f" (best of {ev.baseline_matches} matching)" if ev.baseline_matches > 1 else ""
    objs = (f"objectives {', '.join(f'{m} ({o})' for m, o in ev.objectives)} (best: the first's best mean)"
            if ev.multi_objective else f"{ev.metric} ({ev.mode})")
    lines = [f"study {study}: {len(ev.configs)} configurations, {objs}; "
             f"baseline {ev.baseline_text()}{many} from {ev.baseline_source}; Δ paired over shared "
             "seeds (Welch when none), 95% t-interval", table]
    lines.append(f"front (*): the Pareto front of {_over(ev)}, means over seeds; GMACs: multiply-"
                 "accumulates per image, forward, in billions" if ev.pareto else
                 f"front: none, no configuration kept every one of {_over(ev)} (a study written before "
                 "poolnas stored the cost)")
    lines += [f"note: {n}" for n in ev.notes]
    return "\n".join(lines)


def _over(ev: Evidence) -> str:
    return " against ".join(f"{m} ({o})" for m, o in ev.pareto_objectives)


def _cost_cells(conf: Any) -> list[str]:
    cost = cost_means(conf)
    params, flops = cost["params"], cost["flops"]
    return ["–" if params is None else f"{params:,.0f}", "–" if flops is None else f"{flops / 1e9:.4g}"]


def format_json(ev: Evidence, study: str) -> str:
    base = ev.baseline_config
    doc = {
        "study": study, "metric": ev.metric, "mode": ev.mode,
        "baseline": {"params": base.to_params() if base else None, "partial": _plain(ev.baseline),
                     "source": ev.baseline_source, "matches": ev.baseline_matches,
                     "config_key": base.key if base else None},
        "objectives": [{"metric": m, "mode": o} for m, o in (ev.objectives or [(ev.metric, ev.mode)])],
        "pareto_over": [{"metric": m, "mode": o} for m, o in ev.pareto_objectives],
        "configurations": [c.to_dict() | {"cost": cost_means(c.config), "pareto": ev.on_front(c.config)}
                           for c in ev.comparisons or []],
        "notes": ev.notes,
    }
    return json.dumps(doc, indent=2) + "\n"


def _plain(d: dict[str, Any] | None) -> dict[str, Any] | None:
    return None if d is None else {k: list(v) if isinstance(v, tuple) else v for k, v in d.items()}


def compare_command(args: argparse.Namespace) -> int:
    from poolnas.studies.reader import read_quick

    baseline = parse_baseline(args.baseline)
    data = read_quick(args.study, args.storage)  # SQL, without Optuna: a fast start
    ev = study_evidence(data.trials, data.metric, data.mode, space=data.space, baseline=baseline,
                        objectives=data.objectives or None)
    if not ev.configs:
        print(f"poolnas: error: study {data.name!r} has no complete trial to compare", file=sys.stderr)
        return 1
    check_baseline(ev, data.name)
    sys.stdout.write(format_json(ev, data.name) if args.format == "json" else format_table(ev, data.name) + "\n")
    return 0
