"""``poolnas sweep`` and ``poolnas studies`` (README.md, "The command line").

Exit status: 0 done; 1 the work failed (no trial finished, or the database refused a write:
disk full, read-only file); 2 bad input, an unreachable database or Ray cluster, or a study
that exists with another space (one line, nothing written); 130 / 143 stopped by SIGINT /
SIGTERM (running trials stored as interrupted; one line says how to resume).
"""

from __future__ import annotations

import argparse
import os
import shlex
import sys

import yaml

from poolnas.config import TrialConfig
from poolnas.dashboards.listing import format_studies, list_studies
from poolnas.errors import StorageFault, SweepInterrupted, terminal_cell, terminal_text
from poolnas.evidence import study_evidence
from poolnas.evidence.commands import format_table
from poolnas.search._lease import LeaseLostError
from poolnas.search.sweep import SweepResult, run_sweep
from poolnas.storage import open_storage, redact_url, resolve_storage_url, scrub_secrets, url_secrets
from poolnas.studies.reader import load_study
from poolnas.studies.sql_reader import open_reader
from poolnas.studies.units import objective_text

__all__ = ["sweep_command", "studies_command", "format_summary"]


def format_summary(res: SweepResult) -> str:
    """The end of a sweep: counts per state, the best trial and its configuration (YAML)."""
    c = res.counts
    stopped = getattr(res, "interrupted", 0)  # stored FAIL, but stopped by the sweep and retried
    lines = [
        f"study {res.study} in {res.storage}: {sum(c.values())} trials "
        f"({c.get('COMPLETE', 0)} complete, {c.get('PRUNED', 0)} pruned, "
        f"{c.get('FAIL', 0) - stopped} failed, "
        + (f"{stopped} interrupted and retried, " if stopped else "")
        + f"{c.get('RUNNING', 0)} running, {c.get('WAITING', 0)} waiting); target {res.target}",
    ]
    if res.recovered:
        lines.append(f"{res.recovered} trials left running by an earlier sweep were marked FAIL "
                     "and run again")
    if res.ray_start_s or res.tune_s:
        lines.append(f"ran {res.ran} trials in {res.tune_s:.1f} s (Ray start {res.ray_start_s:.1f} s)")
    if res.peak_rss_mb:
        lines.append(f"memory: a trial's worker held up to {res.peak_rss_mb:.0f} MiB resident")
    if res.out_of_memory:
        lines.append(f"{res.out_of_memory} trials ran out of memory: Ray's memory monitor killed "
                     "their workers (each one's fail_reason says how much it held)")
    if res.best is None:
        lines.append(f"no complete trial yet: no best {res.metric}")
    else:
        b = res.best
        n = b.get("n", 1)
        value = objective_text(b.get("mean", b["value"]), res.metric, b.get("std"), n)
        over = f", mean over seeds (trials {b['trials']})" if n > 1 and b.get("std") is not None else ""
        lines.append(f"best {res.metric} ({res.mode}) = {value}{over}: "
                     f"trial {b['number']}" + (" (its best seed)" if n > 1 else ""))
        lines += [f"note: {note}" for note in b.get("notes", [])]
        lines += _best_config_lines(b, res.study)
    return "\n".join(lines)


def _flat(doc: dict, prefix: str = "") -> dict:
    out: dict = {}
    for key, value in doc.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            out.update(_flat(value, name + "."))
        else:
            out[name] = value
    return out


def _best_config_lines(best: dict, study: str) -> list[str]:
    """What was searched and what differs from the trial config's defaults, not the whole
    config (``poolnas export`` writes that)."""
    searched = {k: v for k, v in (best.get("params") or {}).items() if k != "seed"}
    lines = ["best configuration:"]
    if searched:
        lines.append("  searched: " + yaml.safe_dump(searched, default_flow_style=True,
                                                      sort_keys=False).strip())
    config = best.get("config")
    if isinstance(config, dict):
        defaults = _flat(TrialConfig().to_dict())
        differs = {k: v for k, v in _flat(config).items()
                   if k != "seed" and k not in searched and defaults.get(k, object()) != v}
        if differs:
            lines.append("  fixed, not the default: " + ", ".join(terminal_cell(f"{k}={v}")
                                                                  for k, v in differs.items()))
    lines.append(f"  the whole config: poolnas export --study {shlex.quote(study)}")
    return lines


def _print_verdict(args: argparse.Namespace, res: SweepResult) -> None:
    """The answer: every configuration against the space's baseline (``poolnas compare``)."""
    if not res.best:
        return
    data = load_study(res.study, args.storage)
    ev = study_evidence(data.trials, data.metric, data.mode, space=data.space,
                        objectives=data.objectives or None)
    if ev.comparisons is None:
        print("verdict: the study ran no baseline configuration (a space file's baseline:, "
              "or poolnas compare --baseline KEY=VALUE)")
        return
    print(f"verdict (poolnas compare --study {shlex.quote(res.study)}):")
    print(format_table(ev, res.study))


def _write_report(args: argparse.Namespace, res: SweepResult) -> None:
    # Here: plotting loads numpy and plotly (about 0.6 s), which `poolnas studies` never needs.
    from poolnas.dashboards.report import write_report

    path = write_report(res.study, args.storage, args.report)
    storage = "" if args.storage is None else f" --storage '{redact_url(args.storage)}'"
    print(f"report: {path}")
    print(f"dashboard: poolnas dashboard{storage}  (then open http://127.0.0.1:8080)")


def _password(url: str | None) -> str | None:
    """The storage URL when it holds a secret (a password in any form), else None."""
    try:
        full = resolve_storage_url(url)
    except Exception:  # noqa: BLE001 - a bad URL is reported elsewhere
        return None
    return full if url_secrets(full) else None


def _scrub(text: str, url: str | None) -> str:
    return scrub_secrets(text, url) if url else text


def _resume_line(args: argparse.Namespace, stop: SweepInterrupted) -> str:
    """One line: how many trials were stored as interrupted and the command that resumes."""
    cmd = ["poolnas", "sweep", shlex.quote(str(args.space))]
    if args.storage:
        cmd.append(f"--storage {shlex.quote(redact_url(args.storage))}")
    cmd += ["--study", shlex.quote(stop.study), "--resume"]
    return (f"interrupted: {stop.interrupted} trials stored as interrupted; "
            f"resume with: {' '.join(cmd)}")


def sweep_command(args: argparse.Namespace) -> int:
    password = _password(args.storage)
    try:
        res = run_sweep(args.space, storage=args.storage, study=args.study, trials=args.trials,
                        resume=args.resume, ray_address=args.ray_address,
                        max_concurrent=args.max_concurrent, quiet=args.quiet)
    except ConnectionError as err:
        print(f"poolnas: {_scrub(str(err), password)}", file=sys.stderr)
        return 2
    except SweepInterrupted as stop:  # SIGINT/SIGTERM: 128 + the signal's number
        print(_resume_line(args, stop), file=sys.stderr)
        return 128 + stop.signum
    except LeaseLostError as err:  # another driver took the study over: it runs the rest
        print(f"poolnas: {_scrub(str(err), password)}", file=sys.stderr)
        return 1
    except StorageFault as err:  # disk full, read-only database: one line naming the cause
        print(f"poolnas: {_scrub(str(err), password)}", file=sys.stderr)
        return 1
    except Exception as err:  # the work failed: one line, never the storage password
        if os.environ.get("POOLNAS_DEBUG") or not password or _scrub(str(err), password) == str(err):
            raise
        print(f"poolnas: error: {type(err).__name__}: {_scrub(str(err), password)}",
              file=sys.stderr)
        return 1
    print(terminal_text(format_summary(res), keep_newlines=True))  # no raw escape sequences
    _print_verdict(args, res)
    if args.report:
        _write_report(args, res)
    if res.counts.get("COMPLETE", 0) + res.counts.get("PRUNED", 0) == 0:
        print(f"poolnas: no trial of study {res.study} finished", file=sys.stderr)
        return 1
    return 0


def studies_command(args: argparse.Namespace) -> int:
    # A SQLite file that does not exist is an error (exit 2) and is not created; so is a
    # database that cannot be reached (StorageUnreachableError, exit 2 in poolnas.cli).
    # SQL on a known Optuna schema (no Optuna import: a fast start), else Optuna's storage
    storage = open_reader(args.storage) or open_storage(args.storage, create=False)
    rows = list_studies(storage)
    if not rows:
        print("no studies")
        return 0
    print(format_studies(rows))
    return 0
