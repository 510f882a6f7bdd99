"""``poolnas report``, ``poolnas dashboard`` and ``poolnas export`` (arguments in poolnas/cli.py)."""

from __future__ import annotations

import argparse
import ipaddress
import sys
from pathlib import Path

from poolnas.errors import ConfigError

__all__ = ["dashboard_command", "export_command", "report_command"]


def _output_path(value: str, field: str = "--output") -> Path:
    path = Path(value).expanduser()
    if path.is_dir():
        raise ConfigError(field, value, "expected a file path, not a folder")
    if not path.parent.is_dir():
        raise ConfigError(field, value, f"the folder {path.parent} does not exist")
    return path


def report_command(args: argparse.Namespace) -> int:
    """Write the study's HTML report (and PNGs with --png DIR)."""
    from poolnas.dashboards.report import PngExportError, write_report
    from poolnas.storage import open_storage

    out = _output_path(args.output)
    png_dir = Path(args.png).expanduser() if args.png is not None else None
    if png_dir is not None and png_dir.is_file():
        raise ConfigError("--png", args.png, "expected a folder (created if missing), not a file")
    storage = open_storage(args.storage, create=False)  # a missing SQLite file: exit 2, not created
    try:
        write_report(args.study, storage, out, png_dir=png_dir)
    except PngExportError as err:  # the HTML is written; the PNGs could not be
        print(f"wrote {out}", file=sys.stderr)
        print(f"poolnas: PNG export skipped: {err}", file=sys.stderr)
        return 1
    print(f"wrote {out}" + (f" and the figures as PNG in {png_dir}" if png_dir else ""), file=sys.stderr)
    return 0


def _check_host(host: str) -> None:
    try:
        loopback = ipaddress.ip_address(host).is_loopback
    except ValueError:
        if host != "localhost":
            raise ConfigError("--host", host, "expected an IP address such as 127.0.0.1 or ::1") from None
        loopback = True
    if not loopback:
        print(f"poolnas: warning: serving on {host}, reachable from other machines; "
              "the dashboard has no authentication", file=sys.stderr)


def dashboard_command(args: argparse.Namespace) -> int:
    """Serve optuna-dashboard with poolnas figures and report pages (read-only by default)."""
    from poolnas.dashboards.server import serve
    from poolnas.storage import open_storage

    _check_host(args.host)
    storage = open_storage(args.storage, create=False)  # a missing SQLite file: exit 2, not created
    try:
        serve(storage, args.host, args.port, allow_write=args.allow_write)
    except OSError as err:  # e.g. the port is taken
        raise ConfigError("--port", args.port, f"could not listen on {args.host}:{args.port} ({err.strerror})") from None
    return 0


def export_command(args: argparse.Namespace) -> int:
    """Write the best --top K configurations (yaml/json) or every trial (csv)."""
    from poolnas.dashboards._study import load_study
    from poolnas.dashboards.export import format_entries, rank_configurations, trials_csv
    from poolnas.storage import open_storage

    fmt = args.format
    out = _output_path(args.output) if args.output else None
    if out is not None and out.exists() and not getattr(args, "force", False):
        raise ConfigError("--output", args.output, "the file exists; pass --force to overwrite it")
    if fmt is None:
        suffix = out.suffix.lower() if out else ""
        fmt = {".json": "json", ".csv": "csv", ".yaml": "yaml", ".yml": "yaml"}.get(suffix, "yaml")
    data = load_study(args.study, open_storage(args.storage, create=False))
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
        out.write_text(text, encoding="utf-8")
        print(f"wrote {out}", file=sys.stderr)
    return 0
