"""``poolnas compare``: every configuration of a study against its baseline.

    poolnas compare --study S [--study S2 ...] [--storage URL] [--baseline KEY=VALUE ...]
                    [--metric NAME] [--mode max|min] [--format table|json] [--margin M] [--plan DELTA]

The baseline is ``--baseline`` (dotted trial-config keys, YAML values), else the space
file's ``baseline:``, else GAP when the study ran it. Verdicts are simultaneous over the
family of configurations compared (``poolnas.evidence._compare``); ``--margin`` (objective
units, else the space file's ``margin:``) adds "equivalent"; ``--plan DELTA`` prints how many
seeds, trials and hours would detect DELTA (``poolnas.evidence.planning``). Exit status: 0
done, 1 no complete trial, 2 bad input (a bad --baseline, --margin or --plan, a baseline the
study did not run, an unknown study).

``--metric NAME`` compares on any stored metric with its own mode (``--mode`` overrides);
several ``--study`` compare configurations across studies that share a base
(:mod:`poolnas.evidence._views`; refused in one line when their bases differ).
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from collections.abc import Sequence
from typing import Any

import yaml

from poolnas.config import ACCURACY_METRICS
from poolnas.errors import ConfigError, closest, terminal_cell
from poolnas.evidence._configs import Configuration
from poolnas.evidence._study import Evidence
from poolnas.evidence._views import evidence_on
from poolnas.evidence.pareto import cost_means
from poolnas.evidence.planning import plan
from poolnas.spaces._paths import config_paths
from poolnas.studies.reader import read_quick

__all__ = ["compare_command", "format_json", "format_plan", "format_table", "parse_baseline",
           "parse_positive"]



def parse_baseline(items: Sequence[str] | None) -> dict[str, Any] | None:
    """``["attention.pooling=gap", "attention.lam=1.0"]`` -> dotted keys with YAML values."""
    if not items:
        return None
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


def parse_positive(flag: str, text: str | None) -> float | None:
    """``--margin`` / ``--plan``: a positive finite number in the objective's units."""
    if text is None:
        return None
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not (math.isfinite(value) and value > 0):
        raise ConfigError(flag, text, "expected a positive number in the objective's units "
                          "(accuracy as a fraction: 0.01 is 1 point)")
    return value


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
    return 100.0 if ev.metric in ACCURACY_METRICS else 1.0


def _num(value: float | None, scale: float, fmt: str, sign: bool = False) -> str:
    if value is None or not math.isfinite(value):
        return "–"
    return format(value * scale, ("+" if sign else "") + fmt)


def _param_keys(ev: Evidence) -> list[str]:
    keys = sorted({k for c in ev.configs for k in c.params}, key=lambda k: (k != "attention.pooling", k))
    return [k for k in keys if len({repr(c.params.get(k)) for c in ev.configs}) > 1] or keys


def _cell(value: object) -> str:
    """A parameter's cell: control characters escaped, at most MAX_CELL characters."""
    if value is None:
        return ""
    if isinstance(value, tuple):
        return terminal_cell(",".join(map(str, value)))
    return f"{value:g}" if isinstance(value, float) else terminal_cell(value)


def format_table(ev: Evidence, study: str) -> str:
    """A plain-text table, best first, accuracies in percent."""
    s = _scale(ev)
    unit = " (%)" if s == 100.0 else ""
    keys = _param_keys(ev)
    head = ["#", *[k.split(".")[-1] if k.startswith("attention.") else k for k in keys],
            "n", f"mean{unit}", "std", "Δ vs baseline", "n_pairs", "simultaneous 95%", "mde (80%)", "verdict",
            "params", "GMACs", "front"]
    rows = [head]
    for i, comp in enumerate(ev.comparisons or [], start=1):
        c = comp.config
        base = comp.verdict == "baseline"
        interval = ("–" if comp.ci_low is None else
                    f"[{_num(comp.ci_low, s, '.2f', True)}, {_num(comp.ci_high, s, '.2f', True)}]")
        rows.append([str(i), *[_cell(c.params.get(k)) for k in keys], str(c.n), _num(c.mean, s, ".2f"),
                     _num(c.std, s, ".2f"), "–" if base else _num(comp.delta, s, ".2f", True),
                     "–" if base else str(comp.n_pairs), interval,
                     "–" if comp.mde is None else "±" + _num(comp.mde, s, ".2f"),
                     comp.verdict + (f" ({comp.method})" if comp.method in ("welch",) else ""),
                     *_cost_cells(c), "*" if ev.on_front(c) else ""])
    widths = [max(len(r[i]) for r in rows) for i in range(len(head))]
    table = "\n".join("  ".join(cell.ljust(w) for cell, w in zip(r, widths, strict=True)).rstrip()
                      for r in rows)
    many = f" (best of {ev.baseline_matches} matching)" if ev.baseline_matches > 1 else ""
    objs = (f"objectives {', '.join(f'{m} ({o})' for m, o in ev.objectives)} (best: the first's best mean)"
            if ev.multi_objective else f"{ev.metric} ({ev.mode})")
    lines = [f"study {terminal_cell(study)}: {len(ev.configs)} configurations, {objs}; "
             f"baseline {ev.baseline_text()}{many} from {ev.baseline_source}; Δ paired over shared "
             f"seeds (Welch when none); family: {family_text(ev)}", table]
    lines.append(f"front (*): the Pareto front of {_over(ev)}, means over seeds; GMACs: multiply-"
                 "accumulates per image, forward, in billions" if ev.pareto else
                 f"front: none, no configuration kept every one of {_over(ev)} (a study written before "
                 "poolnas stored the cost)")
    lines += verdict_notes(ev, s)
    lines += [f"note: {n}" for n in ev.notes]
    return "\n".join(lines)


def family_text(ev: Evidence) -> str:
    """The family of the verdicts and how they are made, in one line (table, report)."""
    fam = ev.family
    if fam is None:
        return "none (no baseline)"
    race = ""
    if ev.planned_looks:
        race = ("; a staged design: α split over its looks at "
                f"{', '.join(map(str, ev.planned_looks))} seeds")
    elif fam.looks > 1:
        race = f"; a raced study: α split over the {fam.looks} seed counts the race could stop at"
    return (f"the {fam.size} configuration{'s' * (fam.size != 1)} compared with the baseline (those with an "
            f"interval); {fam.method}{race}; P(any false better/worse) <= {1 - fam.level:.0%}")


def verdict_notes(ev: Evidence, scale: float = 1.0) -> list[str]:
    """What the verdicts mean, the margin, and the best's selection-adjusted Δ (table, report)."""
    pts = " points" if scale == 100.0 else ""
    out = ["within noise: no difference of ±mde or more was seen where one that large would have "
           "been seen with 80% power (mde: per configuration, at its n_pairs, spread and the family's "
           "level); n too small: fewer than two runs, or a zero-width interval (the same difference on "
           "every seed)"]
    if ev.margin is not None:
        out.append("equivalent: the simultaneous interval lies inside the margin "
                   f"±{ev.margin * scale:g}{pts} "
                   "(TOST at the family's level)")
    eff = ev.best_effect
    if eff is not None:
        same = ("both halves picked the same configuration" if eff.agrees
                else "the halves picked different configurations")
        out.append(f"best's Δ corrected for selection: {_num(eff.delta, scale, '.2f', True)}{pts} "
                   "(picked on half "
                   f"the seeds, measured on the other, both ways; {eff.n_held_out} held-out pairs; {same}); "
                   "the Δ in the table is the best's over the seeds it was picked on, inflated by the pick")
    return out


def _over(ev: Evidence) -> str:
    return " against ".join(f"{m} ({o})" for m, o in ev.pareto_objectives)


def _cost_cells(conf: Configuration) -> list[str]:
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
        "family": _family_json(ev),
        "method": ev.family.method if ev.family else None,
        "margin": ev.margin,
        "best_effect": ev.best_effect.to_dict() if ev.best_effect else None,
        "configurations": [c.to_dict() | {"cost": cost_means(c.config), "pareto": ev.on_front(c.config)}
                           for c in ev.comparisons or []],
        "notes": ev.notes,
    }
    return json.dumps(doc, indent=2) + "\n"


def _family_json(ev: Evidence) -> dict[str, Any] | None:
    if ev.family is None:
        return None
    members = [c.config.key for c in ev.comparisons or [] if c.verdict != "baseline" and c.method != "none"]
    return ev.family.to_dict() | {"planned_looks": list(ev.planned_looks), "config_keys": members}


def format_plan(ev: Evidence, delta: float, study: str, as_json: bool = False) -> str:
    """``--plan DELTA``: seeds, trials and hours for every comparison to detect DELTA."""
    assert ev.baseline_config is not None
    p = plan(ev.configs, ev.baseline_config, delta, looks=ev.looks)
    if as_json:
        return json.dumps({"study": study, "plan": p.to_dict()}, indent=2) + "\n"
    s = _scale(ev)
    pts = " points" if s == 100.0 else ""
    sd = "–" if p.sd is None else _num(p.sd, s, ".2f") + pts
    if p.seeds is None:
        why = ("no spread measured yet (run two seeds of each)" if p.sd is None
               else "more than 10,000 seeds per configuration")
        return (f"study {study}: to detect ±{_num(delta, s, 'g')}{pts} against the baseline in every one of "
                f"{p.family} comparisons (80% power, each at α' = {p.alpha_each:.2g}): {why}; spread of the "
                f"differences {sd}\n")
    hours = ("–" if p.hours is None else
             f"{p.hours:.1f} h of trials at one at a time ({p.trial_seconds:.0f} s each)")
    return (f"study {study}: to detect ±{_num(delta, s, 'g')}{pts} against the baseline with 80% power "
            f"in every one of {p.family} comparisons (each at α' = {p.alpha_each:.2g}): {p.seeds} seeds "
            "per configuration "
            f"({p.seeds_typical} at the typical spread {sd}), {p.trials} trials for {p.configurations} "
            f"configurations, {hours}; from this study's spread and trial times\n")


def _plain(d: dict[str, Any] | None) -> dict[str, Any] | None:
    return None if d is None else {k: list(v) if isinstance(v, tuple) else v for k, v in d.items()}


def compare_command(args: argparse.Namespace) -> int:
    baseline = parse_baseline(args.baseline)
    margin = parse_positive("--margin", getattr(args, "margin", None))
    delta = parse_positive("--plan", getattr(args, "plan", None))
    names = args.study if isinstance(args.study, list) else [args.study]
    # SQL, without Optuna: a fast start; several --study: side by side (poolnas.evidence._views)
    datas = [read_quick(name, args.storage) for name in names]
    ev, label = evidence_on(datas, metric=getattr(args, "metric", None), mode=getattr(args, "mode", None),
                            baseline=baseline, margin=margin)
    if not ev.configs:
        print(f"poolnas: error: study {label!r} has no complete trial to compare", file=sys.stderr)
        return 1
    check_baseline(ev, label)
    if delta is not None:
        sys.stdout.write(format_plan(ev, delta, label, args.format == "json"))
        return 0
    sys.stdout.write(format_json(ev, label) if args.format == "json" else format_table(ev, label) + "\n")
    return 0
