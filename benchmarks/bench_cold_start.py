"""Cold start of the quick commands (issue 13 item 7): wall time of a fresh ``poolnas``
process, from exec to exit, for ``space validate``, ``studies``, ``export`` and ``compare``
(when this checkout has it), against ``poolnas --version`` as the floor (Python and the CLI
module alone). Target: under 0.5 s each.

Each command runs ``--runs`` times (default 7) after one warm-up run (so the OS file cache
is warm and every run measures imports and work, not the disk); the median and the minimum
wall time and the median CPU time (user + system: on a loaded machine, the estimate of the
wall time on an idle one) are printed. The study the storage commands read is a small SQLite
file made here (two configurations × three seeds, with poolnas's trial attributes).
``--importtime`` also prints, per command, the heaviest top-level imports from ``python -X importtime``, and
which of
torch, ray, plotly, pandas, sklearn, scipy the command imported; ``--libraries`` the import
cost of each library on these paths (and of the heavy ones they avoid).

    .venv/bin/python benchmarks/bench_cold_start.py [--runs 7] [--importtime] [--libraries]
"""

from __future__ import annotations

import argparse
import importlib.metadata as md
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TARGET_S = 0.5
HEAVY = ("torch", "ray", "plotly", "pandas", "sklearn", "scipy")
PACKAGES = ("poolnas", "optuna", "sqlalchemy", "pydantic", "pyyaml", "optuna-dashboard", "torch", "ray")


def header() -> str:
    versions = []
    for name in PACKAGES:
        try:
            versions.append(f"{name} {md.version(name)}")
        except md.PackageNotFoundError:
            versions.append(f"{name} -")
    load = os.getloadavg() if hasattr(os, "getloadavg") else ("?",) * 3
    return "\n".join([
        f"# machine: {platform.node()} {platform.machine()}, {os.cpu_count()} CPUs, "
        f"{platform.system()} {platform.release()}; load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}",
        f"# python {platform.python_version()} ({sys.executable})",
        "# " + ", ".join(versions),
    ])


def make_study(folder: Path) -> str:
    """A small poolnas-like study: gap and max × seeds 0..2, trial attributes as a sweep writes them."""
    import optuna
    from optuna.distributions import CategoricalDistribution, IntDistribution

    from poolnas.config import config_from_dict
    from poolnas.records import StudyAttrs, TrialAttrs, config_key

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    url = f"sqlite:///{folder / 'bench.db'}"
    study = optuna.create_study(study_name="cold", storage=url, direction="maximize")
    study.set_user_attr(StudyAttrs.OBJECTIVE, {"metric": "val_acc", "mode": "max"})
    space = {"attention.pooling": {"choice": ["gap", "max"]}}
    study.set_user_attr(StudyAttrs.SPACE, {"study": "cold", "space": space})
    base = {"model": {"arch": "resnet20", "num_classes": 10, "in_channels": 1},
            "trainer": {"dataset": "digits", "epochs": 2, "batch_size": 16}}
    for pooling, acc in (("gap", 0.80), ("max", 0.82)):
        for seed in range(3):
            config = config_from_dict({**base, "attention": {"pooling": pooling}, "seed": seed}).to_dict()
            value = acc + 0.005 * seed
            study.add_trial(optuna.trial.create_trial(
                params={"attention.pooling": pooling, "seed": seed},
                distributions={"attention.pooling": CategoricalDistribution(["gap", "max"]),
                               "seed": IntDistribution(0, 100)},
                value=value,
                user_attrs={TrialAttrs.CONFIG: config, TrialAttrs.CONFIG_KEY: config_key(config),
                            TrialAttrs.METRICS: {"val_acc": value, "test_acc": value - 0.01},
                            TrialAttrs.N_PARAMS: 1000},
            ))
    return url


def commands(url: str, folder: Path) -> dict[str, list[str]]:
    from poolnas.cli import _HANDLERS

    space = folder / "space.yaml"
    space.write_text("extends: quickstart\nstudy: cold-space\n")
    cmds = {
        "--version": ["--version"],
        "space validate (preset)": ["space", "validate", "quickstart"],
        "space validate (file)": ["space", "validate", str(space)],
        "studies": ["studies", "--storage", url],
        "export": ["export", "--study", "cold", "--storage", url],
    }
    if "compare" in _HANDLERS:
        cmds["compare"] = ["compare", "--study", "cold", "--storage", url]
    return cmds


def entry_point() -> list[str]:
    script = Path(sys.executable).with_name("poolnas")
    return [str(script)] if script.exists() else [sys.executable, "-m", "poolnas"]


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def time_command(argv: list[str], runs: int, cwd: Path) -> tuple[list[float], list[float], int]:
    """Wall and CPU (user + system) seconds of each run. On a loaded machine the CPU time is
    the better estimate of the wall time the command takes on an idle one (start-up is one
    thread)."""
    env = {k: v for k, v in os.environ.items() if k not in ("POOLNAS_STORAGE", "PYTHONPROFILEIMPORTTIME")}
    walls, cpus, rc = [], [], 0
    for i in range(runs + 1):
        c0, t0 = _children_cpu(), time.perf_counter()
        out = subprocess.run(entry_point() + argv, cwd=cwd, env=env, capture_output=True, text=True)
        elapsed, cpu = time.perf_counter() - t0, _children_cpu() - c0
        rc = out.returncode
        if rc != 0:
            print(f"  {' '.join(argv)}: exit {rc}: {out.stderr.strip()[:300]}", file=sys.stderr)
        if i:  # the first run warms the file cache
            walls.append(elapsed)
            cpus.append(cpu)
    return walls, cpus, rc


def import_profile(argv: list[str], cwd: Path, top: int = 6) -> tuple[list[tuple[float, str]], list[str]]:
    """The heaviest top-level imports (cumulative seconds) and the heavy packages imported."""
    code = "import sys; from poolnas.cli import main; sys.exit(main(sys.argv[1:]))"
    out = subprocess.run([sys.executable, "-X", "importtime", "-c", code, *argv], cwd=cwd,
                         capture_output=True, text=True)
    rows, seen = [], set()
    for line in out.stderr.splitlines():
        if not line.startswith("import time:") or "|" not in line:
            continue
        _, cumulative, raw = line[len("import time:"):].split("|")
        name = raw.strip()
        if not cumulative.strip().isdigit():
            continue
        seen.add(name.split(".")[0])
        if raw[1:2] != " ":  # not nested: imported by the command itself (or Python's start)
            rows.append((int(cumulative) / 1e6, name))
    rows.sort(reverse=True)
    return rows[:top], [h for h in HEAVY if h in seen]


LIBRARIES = ("yaml", "pydantic", "sqlalchemy", "alembic", "optuna", "numpy", "scipy.special",
             "scipy.stats", "plotly.graph_objects", "pandas", "torch")


def library_costs(runs: int, url: str) -> list[tuple[str, float, float]]:
    """Per library: median CPU time (user + sys) of ``python -c 'import X'`` minus that of
    ``python -c pass``, and the cumulative import time ``-X importtime`` reports (one run);
    last, what opening the study with Optuna's RDBStorage costs on top of ``import optuna``."""
    def cpu(code: str) -> float:
        times = []
        for _ in range(runs):
            c0 = _children_cpu()
            subprocess.run([sys.executable, "-c", code], capture_output=True)
            times.append(_children_cpu() - c0)
        return statistics.median(times)

    floor = cpu("pass")
    rows = []
    for lib in LIBRARIES:
        out = subprocess.run([sys.executable, "-X", "importtime", "-c", f"import {lib}"],
                             capture_output=True, text=True)
        own = [ln for ln in out.stderr.splitlines()
               if ln.startswith("import time:") and ln.split("|")[-1].strip() == lib]
        cumulative = int(own[-1].split("|")[1]) / 1e6 if own and out.returncode == 0 else float("nan")
        rows.append((lib, cpu(f"import {lib}") - floor, cumulative))
    rdb = f"import optuna; optuna.storages.RDBStorage({url!r}, skip_table_creation=True)"
    rows.append(("optuna + RDBStorage(url)", cpu(rdb) - floor, float("nan")))
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--importtime", action="store_true")
    parser.add_argument("--libraries", action="store_true",
                        help="also the import cost of each library on these paths")
    args = parser.parse_args()
    print(header())
    with tempfile.TemporaryDirectory(prefix="poolnas-cold-") as tmp:
        folder = Path(tmp)
        url = make_study(folder)
        cmds = commands(url, folder)
        if "compare" not in cmds:
            print("# compare: not in this checkout (poolnas.cli has no compare command)")
        print(f"# {args.runs} runs each after one warm-up; entry point {' '.join(entry_point())}")
        print(f"{'command':<26} {'wall s':>7} {'min s':>6} {'cpu s':>6}  target {TARGET_S} s "
              "(wall: median; cpu: median user+sys)")
        for name, argv in cmds.items():
            walls, cpus, rc = time_command(argv, args.runs, folder)
            med, cpu = statistics.median(walls), statistics.median(cpus)
            verdict = ", ".join(f"{what} {'met' if t < TARGET_S else f'missed by {t - TARGET_S:.2f} s'}"
                                for what, t in (("wall", med), ("cpu", cpu)))
            print(f"{name:<26} {med:>7.3f} {min(walls):>6.3f} {cpu:>6.3f}  {verdict}"
                  f"{'' if rc == 0 else f' (exit {rc})'}")
            if args.importtime:
                rows, heavy = import_profile(argv, folder)
                print("    imports: " + ", ".join(f"{n} {s:.2f}" for s, n in rows)
                      + f"; heavy: {', '.join(heavy) or 'none'}")
        if args.libraries:
            print(f"{'import':<26} {'cpu s':>7} {'importtime s':>13}  (cpu: median of {args.runs}, "
                  "minus an empty interpreter)")
            for lib, extra, cumulative in library_costs(args.runs, url):
                print(f"{lib:<26} {extra:>7.3f} {cumulative:>13.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
