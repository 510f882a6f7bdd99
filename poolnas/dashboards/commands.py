"""``poolnas report``, ``poolnas dashboard`` and ``poolnas export`` (arguments in poolnas/cli.py)."""

from __future__ import annotations

import argparse
import ipaddress
import os
import sys
from pathlib import Path

from poolnas.dashboards.export import (
    format_entries,
    format_pareto,
    pareto_entries,
    pareto_files,
    rank_configurations,
    trials_csv,
)
from poolnas.errors import ConfigError
from poolnas.evidence import evidence_of
from poolnas.process_settings import cyclic_gc_paused
from poolnas.storage import atomic_write_text, open_storage
from poolnas.studies.reader import StudyData, read_quick

__all__ = ["dashboard_command", "export_command", "report_command"]


def _output_path(value: str, field: str = "--output", *, force: bool | None = None) -> Path:
    """The output file; with ``force`` given, an existing one (a dangling symlink included) is
    refused unless it is True. The file is written atomically (``atomic_write_text``)."""
    path = Path(value).expanduser()
    if force is False and os.path.lexists(path) and not path.is_dir():
        raise ConfigError(field, value, "the file exists; pass --force to overwrite it")
    if path.is_dir():
        raise ConfigError(field, value, "expected a file path, not a folder")
    if not path.parent.is_dir():
        raise ConfigError(field, value, f"the folder {path.parent} does not exist")
    return path


def report_command(args: argparse.Namespace) -> int:
    """Write the study's HTML report (and PNGs with --png DIR)."""
    # One report, then the process exits: Python's cyclic GC stays off from the report's imports
    # to the file written (no full collections over the study's objects; docs/benchmarks.md, "Report").
    with cyclic_gc_paused():
        return _report(args)


def _report(args: argparse.Namespace) -> int:
    # lazy: the report imports every figure module and numpy, which `poolnas export` must not
    from poolnas.dashboards.report import PngExportError, write_report

    out = _output_path(args.output, force=bool(getattr(args, "force", False)))
    png_dir = Path(args.png).expanduser() if args.png is not None else None
    if png_dir is not None and png_dir.is_file():
        raise ConfigError("--png", args.png, "expected a folder (created if missing), not a file")
    # the URL, not an opened storage: load_study reads a known schema by SQL, without Optuna's
    # RDBStorage; a missing SQLite file still exits 2 and is not created, before anything is written
    try:
        write_report(args.study, args.storage, out, png_dir=png_dir, metric=getattr(args, "metric", None),
                     mode=getattr(args, "mode", None))
    except PngExportError as err:  # the HTML is written; the PNGs could not be
        print(f"wrote {out}", file=sys.stderr)
        print(f"poolnas: PNG export skipped: {err}", file=sys.stderr)
        return 1
    print(f"wrote {out}" + (f" and the figures as PNG in {png_dir}" if png_dir else ""), file=sys.stderr)
    return 0


def _check_host(host: str, *, allow_write: bool = False, public_ok: bool = False) -> None:
    """A non-loopback host gets a warning; with --allow-write it is refused (anyone who reaches
    it could change or delete studies: there is no authentication) unless --i-know-its-public."""
    try:
        loopback = ipaddress.ip_address(host).is_loopback
    except ValueError:
        if host != "localhost":
            raise ConfigError("--host", host, "expected an IP address such as 127.0.0.1 or ::1") from None
        loopback = True
    if not loopback and allow_write and not public_ok:
        raise ConfigError("--host", host, "with --allow-write, expected a loopback address such as "
                          "127.0.0.1 (the dashboard has no authentication: anyone who reaches it could "
                          "change or delete studies); use an SSH tunnel, or add --i-know-its-public")
    if not loopback:
        print(f"poolnas: warning: serving on {host}, reachable from other machines; "
              "the dashboard has no authentication", file=sys.stderr)


def dashboard_command(args: argparse.Namespace) -> int:
    """Serve optuna-dashboard with poolnas figures and report pages (read-only by default)."""
    from poolnas.dashboards.server import serve  # lazy: as the report (the server imports it)

    _check_host(args.host, allow_write=args.allow_write,
                public_ok=bool(getattr(args, "i_know_its_public", False)))
    storage = open_storage(args.storage, create=False)  # a missing SQLite file: exit 2, not created
    try:
        serve(storage, args.host, args.port, allow_write=args.allow_write)
    except OSError as err:  # e.g. the port is taken
        raise ConfigError("--port", args.port,
                          f"could not listen on {args.host}:{args.port} ({err.strerror})") from None
    return 0


def _pareto_folder(value: str, force: bool) -> Path:
    """``-o DIR`` of ``export --pareto`` (YAML): a folder, created; refused when it holds files
    unless --force (then its old pareto-*.yaml are replaced)."""
    path = Path(value).expanduser()
    if path.is_file() or (path.exists() and not path.is_dir()):
        raise ConfigError("--output", value, "with --pareto (YAML), expected a folder for one file per "
                          "entry, not a file; or pass --format json for one file")
    if not path.parent.is_dir():
        raise ConfigError("--output", value, f"the folder {path.parent} does not exist")
    if path.is_dir() and any(path.iterdir()) and not force:
        raise ConfigError("--output", value, "the folder exists and is not empty; pass --force to "
                          "replace its pareto-*.yaml files")
    return path


def _export_pareto(args: argparse.Namespace, data: StudyData, fmt: str) -> int:
    if fmt == "csv":
        raise ConfigError("--format", "csv", "--pareto writes yaml (a file per entry) or json")
    folder = _pareto_folder(args.output, args.force) if args.output and fmt == "yaml" else None
    entries = pareto_entries(data)
    if not entries:
        over = " against ".join(f"{m} ({o})" for m, o in evidence_of(data).pareto_objectives)
        print(f"poolnas: error: study {data.name!r} has no Pareto front of {over} to export "
              "(no complete trial with a config kept every one of these metrics)", file=sys.stderr)
        return 1
    if folder is None:
        text = format_pareto(data, entries, fmt)
        if args.output:
            atomic_write_text(Path(args.output).expanduser(), text)
            print(f"wrote {args.output}", file=sys.stderr)
        else:
            sys.stdout.write(text)
        return 0
    folder.mkdir(exist_ok=True)
    for old in folder.glob("pareto-*.yaml"):
        old.unlink()
    for name, text in pareto_files(data, entries):
        atomic_write_text(folder / name, text)
    print(f"wrote {len(entries)} Pareto entries to {folder}/pareto-*.yaml "
          f"(train one: poolnas train --config {folder}/pareto-01.yaml)", file=sys.stderr)
    return 0


def _export_format(args: argparse.Namespace, out: Path | None) -> str:
    if args.format is not None:
        return str(args.format)
    suffix = out.suffix.lower() if out else ""
    return {".json": "json", ".csv": "csv", ".yaml": "yaml", ".yml": "yaml"}.get(suffix, "yaml")


def export_command(args: argparse.Namespace) -> int:
    """Write the best --top K configurations (yaml/json), every trial (csv) or, with
    --pareto, the Pareto set (a folder of trainable YAML files, or json)."""
    pareto = getattr(args, "pareto", False)
    if pareto:
        fmt = _export_format(args, Path(args.output) if args.output else None)
        out = _output_path(args.output) if args.output and fmt != "yaml" else None
    else:
        out = _output_path(args.output) if args.output else None
        fmt = _export_format(args, out)
    if out is not None and os.path.lexists(out) and not getattr(args, "force", False):
        raise ConfigError("--output", args.output, "the file exists; pass --force to overwrite it")
    data = read_quick(args.study, args.storage)  # a reader: nothing is created
    if pareto:
        return _export_pareto(args, data, fmt)
    if fmt == "csv":
        text = trials_csv(data)
    else:
        entries = rank_configurations(data, args.top)
        if not entries:
            print(f"poolnas: error: study {data.name!r} has no complete trials with a config to export",
                  file=sys.stderr)
            return 1
        text = format_entries(data, entries, fmt)
    if out is None:
        sys.stdout.write(text)
    else:
        atomic_write_text(out, text)
        print(f"wrote {out}", file=sys.stderr)
    return 0
