"""``poolnas space validate | show | schema``: check a space file, print a preset, print JSON Schema."""

from __future__ import annotations

import argparse
import json

from poolnas.spaces._estimate import format_estimate
from poolnas.spaces._load import preset_path
from poolnas.spaces._schema import space_json_schema
from poolnas.spaces._space import Space, load_space

__all__ = ["schema_command", "show_command", "summary", "validate_command"]


def summary(space: Space) -> str:
    """One short paragraph: parameters and how many trainings the sweep runs."""
    searched = [p.name for p in space.searched]
    seeds = space.seeds()
    if space.is_finite() and space.sampler in ("grid", "bruteforce"):
        size = f"grid {space.grid_size()} configurations"
        if space.trials is not None:
            size += f" (trials: {space.num_configs()})"
    else:
        size = f"{space.num_configs()} trials"
    if space.racing:
        lo = space.num_configs() * space.racing[0]
        runs = (f"{size} × {space.racing[0]}-{len(seeds)} seeds (racing) = {lo} to "
                f"{space.num_runs()} runs")
    else:
        runs = f"{size} × {len(seeds)} seed{'s' * (len(seeds) != 1)} = {space.num_runs()} runs"
    objectives = ", ".join(f"{o.mode} {o.metric}" for o in space.objectives)
    return (f"study {space.study}: sampler {space.sampler}, "
            f"{len(searched)} parameter{'s' * (len(searched) != 1)}"
            f" ({', '.join(searched) or 'none'}); {runs};"
            f" objective{'s' * space.multi_objective} {objectives}")


def validate_command(args: argparse.Namespace) -> int:
    space = load_space(args.file)
    print(f"{args.file}: ok")
    print(summary(space))
    print(format_estimate(space, getattr(args, "max_concurrent", None)))
    return 0


def show_command(args: argparse.Namespace) -> int:
    print(preset_path(args.preset).read_text(), end="")
    return 0


def schema_command(args: argparse.Namespace) -> int:
    print(json.dumps(space_json_schema(), indent=2))
    return 0
