"""The ``poolnas`` command: sweeps, training, reports, dashboards (README.md, "The command line").

Arguments are declared here; each command runs a function in the package that owns it,
imported only when that command runs so that ``poolnas --help`` stays fast.
Exit status: 0 done, 1 the work failed, 2 bad input or an unreachable database (one line on
stderr, at most a few hundred characters).
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import os
import sys
from collections.abc import Sequence

from poolnas._version import __version__
from poolnas.errors import ConfigError, StorageUnreachableError, one_line
from poolnas.storage import scrub_secrets

__all__ = ["build_parser", "main"]


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # one line, exit 2 (argparse prints usage too)
        self.exit(2, f"{self.prog}: {message}\n")


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not accepted; expected a positive integer") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not accepted; expected a positive integer")
    return value


def _port(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = -1
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"{text!r} is not accepted; expected a port in 0..65535")
    return value


def _storage(p: argparse.ArgumentParser) -> None:
    p.add_argument("--storage", metavar="URL", default=None,
                   help="SQLAlchemy URL (default: $POOLNAS_STORAGE or sqlite:///poolnas.db)")


def _sub_storage(p: argparse.ArgumentParser) -> None:
    # SUPPRESS: a --storage given before the subcommand is kept when none comes after it
    p.add_argument("--storage", metavar="URL", default=argparse.SUPPRESS,
                   help="SQLAlchemy URL (default: $POOLNAS_STORAGE or sqlite:///poolnas.db)")


# command name -> "module:function"; the function takes the parsed args and returns an exit code.
_HANDLERS = {
    "sweep": "poolnas.search.commands:sweep_command",
    "studies": "poolnas.search.commands:studies_command",
    "studies delete": "poolnas.search.housekeeping:housekeeping_command",
    "studies rename": "poolnas.search.housekeeping:housekeeping_command",
    "studies copy": "poolnas.search.housekeeping:housekeeping_command",
    "train": "poolnas.trainers.commands:train_command",
    "data digits": "poolnas.trainers.commands:data_command",
    "report": "poolnas.dashboards.commands:report_command",
    "dashboard": "poolnas.dashboards.commands:dashboard_command",
    "export": "poolnas.dashboards.commands:export_command",
    "compare": "poolnas.evidence.commands:compare_command",
    "space validate": "poolnas.spaces.commands:validate_command",
    "space show": "poolnas.spaces.commands:show_command",
    "space schema": "poolnas.spaces.commands:schema_command",
    "model show": "poolnas.models.commands:show_command",
}


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="poolnas", description="Search channel-attention pooling designs: sweeps on Ray "
                     "Tune stored in Optuna, training, reports, dashboards. `poolnas COMMAND --help` "
                     "lists a command's flags.")
    parser.add_argument("--version", action="version", version=f"poolnas {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    p = sub.add_parser("sweep", help="run a search space as a Ray Tune sweep stored in Optuna")
    p.add_argument("space", metavar="SPACE", help="a space file, or the name of a preset")
    _storage(p)
    p.add_argument("--study", default=None, help="study name (default: the space's `study`)")
    p.add_argument("--trials", type=_positive_int, default=None, help="number of trials")
    p.add_argument("--resume", action="store_true", help="continue the study of the same name")
    p.add_argument("--ray-address", default=None, help="an existing Ray cluster (or $RAY_ADDRESS)")
    p.add_argument("--max-concurrent", type=_positive_int, default=None, help="trials at once")
    p.add_argument("--report", metavar="HTML", default=None, help="write the study report here when done")
    p.add_argument("--quiet", action="store_true", help="no live view")

    p = sub.add_parser("studies", help="list studies (trial counts, best value); delete, rename, copy one")
    _storage(p)
    studies = p.add_subparsers(dest="studies_command", required=False, parser_class=_Parser)
    q = studies.add_parser("delete", help="delete a study and its trials (--yes to do it)")
    q.add_argument("name", metavar="NAME")
    q.add_argument("--yes", action="store_true", help="do it (without: say what it would do)")
    _sub_storage(q)
    q = studies.add_parser("rename", help="rename a study in place (--yes to do it)")
    q.add_argument("name", metavar="NAME")
    q.add_argument("new", metavar="NEW")
    q.add_argument("--yes", action="store_true", help="do it (without: say what it would do)")
    _sub_storage(q)
    q = studies.add_parser("copy", help="copy a study with its trials to another database")
    q.add_argument("name", metavar="NAME")
    q.add_argument("--to", required=True, metavar="URL", help="the target database (SQLAlchemy URL)")
    q.add_argument("--as", dest="as_name", default=None, metavar="NEW", help="its name there (default: NAME)")
    _sub_storage(q)

    p = sub.add_parser("train", help="train one trial config")
    p.add_argument("--config", required=True, help="trial config (YAML or JSON)")
    p.add_argument("--epochs", type=_positive_int, default=None)
    p.add_argument("--device", choices=["cpu", "cuda"], default=None)
    p.add_argument("--out", default=None, help="folder for metrics, checkpoints and the config")
    p.add_argument("--resume", default=None, metavar="CKPT", help="resume from a checkpoint")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")

    p = sub.add_parser("data", help="a tiny dataset of your own to try imagefolder / npz on")
    data = p.add_subparsers(dest="data_command", required=True, parser_class=_Parser)
    q = data.add_parser("digits", help="write scikit-learn's digits as PNG class folders or one .npz")
    q.add_argument("dir", metavar="DIR", help="a new folder (imagefolder) or .npz file name (npz)")
    q.add_argument("--format", choices=["imagefolder", "npz"], default="imagefolder")
    q.add_argument("--scale", type=_positive_int, default=2,
                   help="scale the 8x8 images up this many times (default 2: 16x16)")

    p = sub.add_parser("report", help="write a study's HTML report")
    p.add_argument("--study", required=True, action="append",
                   help="a study; give several to report them as one (the stages of a staged design: "
                        "the verdicts are compare --study A --study B's)")
    _storage(p)
    p.add_argument("-o", "--output", default="report.html")
    p.add_argument("--force", action="store_true", help="overwrite --output if it exists")
    p.add_argument("--png", default=None, metavar="DIR", help="also export each figure as PNG here")
    p.add_argument("--metric", default=None, metavar="NAME",
                   help="the verdict, cost and configurations on this stored metric (default: the "
                        "objective), e.g. train_loss, test_acc; as compare --metric")
    p.add_argument("--mode", choices=["max", "min"], default=None,
                   help="the metric's direction (default: accuracies max, losses, times and costs min)")

    p = sub.add_parser("dashboard", help="serve optuna-dashboard with poolnas figures")
    _storage(p)
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=_port, default=8080)
    p.add_argument("--allow-write", action="store_true", help="allow requests that change the storage")
    p.add_argument("--i-know-its-public", action="store_true",
                   help="with --allow-write on a non-loopback --host: serve it anyway (no authentication)")

    p = sub.add_parser("export", help="export the best configurations of a study")
    p.add_argument("--study", required=True)
    _storage(p)
    p.add_argument("--top", type=_positive_int, default=1)
    p.add_argument("-o", "--output", default=None, help="file (default: standard output)")
    p.add_argument("--force", action="store_true", help="overwrite --output if it exists")
    p.add_argument("--pareto", action="store_true",
                   help="the Pareto set instead of the top K: with yaml, "
                        "-o DIR gets one trainable file per entry")
    p.add_argument("--format", choices=["yaml", "json", "csv"], default=None,
                   help="default: from the output's suffix, else yaml")

    p = sub.add_parser("compare", help="every configuration against the baseline: Δ, simultaneous 95%% "
                       "interval, verdict")
    p.add_argument("--study", required=True, action="append",
                   help="a study; give several to compare them side by side (they must share a base)")
    _storage(p)
    p.add_argument("--metric", default=None, metavar="NAME",
                   help="compare on this stored metric (default: the objective), e.g. train_loss, test_acc")
    p.add_argument("--mode", choices=["max", "min"], default=None,
                   help="the metric's direction (default: accuracies max, losses, times and costs min)")
    p.add_argument("--baseline", nargs="+", metavar="KEY=VALUE", default=None,
                   help="a partial config, e.g. attention.pooling=gap (default: the space's baseline:)")
    p.add_argument("--format", choices=["table", "json"], default="table")
    p.add_argument("--margin", default=None, metavar="M",
                   help="equivalence margin in the objective's units (0.01: 1 point of accuracy); "
                        "default: the space's margin:")
    p.add_argument("--plan", default=None, metavar="DELTA",
                   help="print the seeds, trials and hours that would detect DELTA (objective units)")

    p = sub.add_parser("space", help="search-space files: validate, show presets, JSON Schema")
    space = p.add_subparsers(dest="space_command", required=True, parser_class=_Parser)
    q = space.add_parser("validate", help="check a space file; exit 2 with one line if bad")
    q.add_argument("file")
    q.add_argument("--max-concurrent", type=_positive_int, default=None,
                   help="trials at a time, as the sweep will run them (the run-time estimate)")
    q = space.add_parser("show", help="print a preset's YAML")
    q.add_argument("preset")
    space.add_parser("schema", help="print the JSON Schema of space files")

    p = sub.add_parser("model", help="models: parameter count and attention sites")
    model = p.add_subparsers(dest="model_command", required=True, parser_class=_Parser)
    q = model.add_parser("show", help="parameter count and a table of attention sites")
    q.add_argument("config", help="trial config (YAML or JSON)")
    q.add_argument("--input-size", type=_positive_int, default=None, metavar="N",
                   help="input side for FLOPs and spatial sizes (default: the architecture's: "
                        "224 for resnet50, 32 for the CIFAR archs)")
    return parser


def _handler_key(args: argparse.Namespace) -> str:
    if args.command == "space":
        return f"space {args.space_command}"
    if args.command == "model":
        return f"model {args.model_command}"
    if args.command == "studies" and args.studies_command:
        return f"studies {args.studies_command}"
    if args.command == "data":
        return f"data {args.data_command}"
    return args.command


def _scrubbed(text: str, args: argparse.Namespace) -> str:
    """An error line without the storage URL's secrets (password in any form)."""
    url = getattr(args, "storage", None) or os.environ.get("POOLNAS_STORAGE")
    return scrub_secrets(text, url) if url else text


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    module_name, func_name = _HANDLERS[_handler_key(args)].split(":")
    try:
        handler = getattr(importlib.import_module(module_name), func_name)
        return int(handler(args) or 0)
    except (ConfigError, StorageUnreachableError) as err:  # bad input, or no database: exit 2
        print(one_line(_scrubbed(f"poolnas: {err}", args)), file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("poolnas: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # the reader went away (``| head``): nothing more to say
        with contextlib.suppress(OSError):
            sys.stdout = open(os.devnull, "w")  # noqa: SIM115 - Python flushes it at exit
        return 141
    except Exception as err:  # the work failed: one line unless debugging
        if os.environ.get("POOLNAS_DEBUG"):
            raise
        print(one_line(_scrubbed(f"poolnas: error: {type(err).__name__}: {err}", args)), file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
