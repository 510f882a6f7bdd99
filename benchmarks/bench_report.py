"""Time and memory to write the HTML report of a 5,000-trial study (issue 7; issue 20 item 3:
<= 5 s cold and <= 400 MB).

The study is written straight into a fresh SQLite file (optuna's schema, one bulk
transaction; not timed): a grid-like sweep over pooling (gap, mix, score, SS-SRP, MS-SRP),
λ, M, reduction, branch and schedule with up to 5 seeds per configuration, 5% failed and 5%
pruned trials, each trial with its full config, metrics and 30-epoch curves in user
attributes, like the search package stores them. The timed part is exactly what
``poolnas report`` does: open the storage, read the study once, draw the verdict, cost and
applicable paper figures (here SRP Fig. 2, 3 and 7, SPEM α, SAAM K), the importances and
Optuna's four plots, write the file. ``--runs`` repeats it in this process (the first run
pays the imports); ``--cold`` runs ``poolnas report`` in fresh processes and reports each
one's wall time, CPU time and peak RSS (``wait4`` in a small launcher process, so that the
RSS is the report's and not this script's) with the load average: what a user waits for.
Results and the machine: docs/benchmarks.md, "Report".

``--before DIR`` interleaves the cold runs of another checkout's poolnas (before/after).

Usage: python benchmarks/bench_report.py [--trials 5000] [--runs 3] [--cold 2] [--before DIR] [--keep DIR]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import optuna
from optuna.distributions import CategoricalDistribution, FloatDistribution, distribution_to_json
from optuna.storages._rdb import models

from poolnas.config import config_from_dict
from poolnas.records import StudyAttrs, TrialAttrs, config_key
from poolnas.storage import open_storage

POOLINGS = ["gap", "mix", "score", "srp-ss", "srp-ms"]
LAMS = [0.1 * i for i in range(1, 11)]
DISTS = {
    "attention.pooling": CategoricalDistribution(POOLINGS),
    "attention.lam": FloatDistribution(0.1, 1.0),
    "attention.M": FloatDistribution(1, 8),
    "attention.reduction": CategoricalDistribution([4, 8, 16, 32]),
    "attention.branch": CategoricalDistribution(["one", "double"]),
    "attention.schedule": CategoricalDistribution(["fixed", "linear"]),
    "attention.mix_alpha": CategoricalDistribution(["learn", "0.1", "0.3", "0.5", "0.7", "0.9"]),
    "attention.paths": CategoricalDistribution([1, 2, 4]),
    "seed": CategoricalDistribution([0, 1, 2, 3, 4]),
}


def _sample(rng: random.Random) -> dict:
    pooling = rng.choice(POOLINGS)
    values = {"attention.pooling": pooling, "attention.reduction": rng.choice([4, 8, 16, 32]),
              "attention.branch": rng.choice(["one", "double"])}
    if pooling.startswith("srp"):
        values["attention.lam"] = round(rng.choice(LAMS), 1)
        values["attention.schedule"] = rng.choice(["fixed", "linear"])
    if pooling == "srp-ms":
        values["attention.M"] = rng.randint(1, 8)
    if pooling == "mix":
        values["attention.mix_alpha"] = rng.choice(["learn", "0.1", "0.3", "0.5", "0.7", "0.9"])
    if pooling == "score":
        values["attention.paths"] = rng.choice([1, 2, 4])
    return values


def build_study(url: str, n_trials: int, seed: int = 0) -> str:
    """Write a synthetic study of ``n_trials`` into ``url`` in one transaction."""
    name = "bench-report"
    study = optuna.create_study(study_name=name, storage=open_storage(url), direction="maximize")
    study.set_user_attr(StudyAttrs.OBJECTIVE, {"metric": "test_acc", "mode": "max"})
    study.set_user_attr(StudyAttrs.SPACE, {"study": name, "sampler": "tpe",
                                           "space": {k: "..." for k in DISTS}})
    rng = random.Random(seed)
    start = dt.datetime(2026, 1, 1)
    trials, params, values, attrs = [], [], [], []
    configs: list[tuple[dict, list]] = []
    while sum(len(s) for _, s in configs) < n_trials:
        configs.append((_sample(rng), list(range(rng.randint(1, 5)))))
    base = {"model": {"arch": "resnet56", "num_classes": 100}, "trainer": {"dataset": "cifar100"}}
    number = 0
    for vals, seeds in configs:
        doc = json.loads(json.dumps(base))
        for k, v in vals.items():
            section, key = k.split(".")
            doc.setdefault(section, {})[key] = float(v) if k == "attention.mix_alpha" and v != "learn" else v
        quality = 0.7 + 0.05 * rng.random() + (0.02 if vals["attention.pooling"] == "srp-ms" else 0.0)
        for seed in seeds:
            if number >= n_trials:
                break
            tid = number + 1
            config = config_from_dict({**doc, "seed": seed}).to_dict()
            state = rng.choices(["COMPLETE", "FAIL", "PRUNED"], [0.9, 0.05, 0.05])[0]
            acc = quality + rng.gauss(0, 0.01)
            trials.append({"trial_id": tid, "number": number, "study_id": study._study_id, "state": state,
                           "datetime_start": start + dt.timedelta(minutes=number),
                           "datetime_complete": start + dt.timedelta(minutes=number + 1)})
            for k, v in {**vals, "seed": seed}.items():
                dist = DISTS[k]
                internal = dist.to_internal_repr(float(v) if isinstance(dist, FloatDistribution) else v)
                params.append({"trial_id": tid, "param_name": k, "param_value": internal,
                               "distribution_json": distribution_to_json(dist)})
            if state == "COMPLETE":
                values.append({"trial_id": tid, "objective": 0, "value": acc, "value_type": "FINITE"})
            user = {
                TrialAttrs.CONFIG: config, TrialAttrs.CONFIG_KEY: config_key(config),
                TrialAttrs.METRICS: {"val_acc": acc, "test_acc": acc, "train_loss": 1 - acc,
                                     "epoch_time": 30.0, "images_per_s": 1500.0},
                TrialAttrs.CURVES: {"val_acc": [acc * e / 30 for e in range(1, 31)],
                                    "train_loss": [2.0 / e for e in range(1, 31)]},
                TrialAttrs.N_PARAMS: 860_000, TrialAttrs.DEVICE: "cuda:0", TrialAttrs.WALL_TIME: 900.0,
                TrialAttrs.CHECKPOINT: None,
            }
            if state == "FAIL":
                user[TrialAttrs.FAIL_REASON] = "NonFiniteLossError: loss became nan at epoch 3, step 10"
            attrs += [{"trial_id": tid, "key": k, "value_json": json.dumps(v)} for k, v in user.items()]
            number += 1
    storage = study._storage
    engine = getattr(storage, "_backend", storage).engine
    with engine.begin() as conn:
        conn.execute(models.TrialModel.__table__.insert(), trials)
        conn.execute(models.TrialParamModel.__table__.insert(), params)
        conn.execute(models.TrialValueModel.__table__.insert(), values)
        conn.execute(models.TrialUserAttributeModel.__table__.insert(), attrs)
    return name


# Starts the report and reports its rusage. A child's ru_maxrss counts the memory of the
# process it was forked from until its exec (Linux keeps the old image's high-water mark), so
# a report spawned by this script directly would read at least this script's own size (the
# study built, a report drawn in-process: ~365 MiB); spawned by this small interpreter it
# reads its own peak.
_LAUNCHER = """
import json, os, subprocess, sys, time
t = time.perf_counter()
proc = subprocess.Popen(sys.argv[1:], stdout=subprocess.DEVNULL)
_, status, usage = os.wait4(proc.pid, 0)
print(json.dumps({"rc": os.waitstatus_to_exitcode(status), "wall": time.perf_counter() - t,
                  "cpu": usage.ru_utime + usage.ru_stime, "maxrss_kib": usage.ru_maxrss}))
"""


def cold_report(name: str, url: str, out: Path, tree: Path | None = None) -> tuple[float, float, float]:
    """``poolnas report`` in a fresh process: (wall s, CPU s of the child, its peak RSS MiB),
    measured by a small launcher process (``_LAUNCHER``: the RSS is the report's own).
    ``tree``: run the poolnas of that checkout instead (its folder first on the path)."""
    env = None if tree is None else {**os.environ, "PYTHONPATH": str(tree)}
    done = subprocess.run([sys.executable, "-c", _LAUNCHER, sys.executable, "-m", "poolnas", "report",
                           "--study", name, "--storage", url, "-o", str(out), "--force"],
                          capture_output=True, text=True, cwd=tree, env=env)
    doc = json.loads(done.stdout.strip().splitlines()[-1]) if done.stdout.strip() else {"rc": done.returncode}
    if doc["rc"] != 0:
        raise SystemExit(f"poolnas report exited {doc['rc']}: {done.stderr[-2000:]}")
    return doc["wall"], doc["cpu"], doc["maxrss_kib"] / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=5000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--keep", default=None, help="keep the database and the report here")
    parser.add_argument("--cold", type=int, default=2, help="fresh `poolnas report` processes")
    parser.add_argument("--before", default=None, metavar="DIR",
                        help="another checkout's poolnas (e.g. `git archive COMMIT poolnas`): its cold "
                             "runs interleaved with this one's, same study, same load")
    args = parser.parse_args()
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    folder = Path(args.keep or tempfile.mkdtemp(prefix="bench-report-"))
    folder.mkdir(parents=True, exist_ok=True)
    db = folder / "bench.db"
    db.unlink(missing_ok=True)
    url = f"sqlite:///{db}"
    t0 = time.perf_counter()
    name = build_study(url, args.trials)
    print(f"built {args.trials} trials in {time.perf_counter() - t0:.1f} s (not timed)")

    import plotly

    from poolnas.dashboards import write_report
    from poolnas.studies.reader import load_study

    data = load_study(name, url)
    print(f"states: { {k: v for k, v in data.state_counts.items() if v} }")
    times = []
    for run in range(args.runs):
        t = time.perf_counter()
        path = write_report(name, url, folder / "report.html")
        times.append(time.perf_counter() - t)
        print(f"run {run + 1}: {times[-1]:.2f} s, {path.stat().st_size / 2**20:.1f} MiB")
    if times:
        print(f"report of {args.trials} trials: median {statistics.median(times):.2f} s, "
              f"max {max(times):.2f} s over {len(times)} runs in this process (the first pays the imports)")
    # What a user waits for: the command in a fresh process, all imports included: its wall
    # time, CPU time and peak resident memory (issue 20 item 3: <= 5 s cold, <= 400 MB).
    trees: list[tuple[str, Path | None]] = [("this checkout", None)]
    if args.before:
        trees.insert(0, (f"before ({args.before})", Path(args.before).resolve()))
    cpus: dict[str, list[float]] = {label: [] for label, _ in trees}
    for run in range(args.cold):
        for label, tree in trees:
            wall, cpu, peak_mib = cold_report(name, url, folder / "cli.html", tree)
            cpus[label].append(cpu)
            print(f"`poolnas report` in a fresh process, {label}, run {run + 1}: {wall:.2f} s wall, "
                  f"{cpu:.2f} s CPU, peak RSS {peak_mib:.0f} MiB (targets: 5 s, 400 MB), "
                  f"load {os.getloadavg()[0]:.1f}")
    if args.before and args.cold:
        ratio = statistics.median(cpus["this checkout"]) / statistics.median(cpus[trees[0][0]])
        print(f"CPU time, this checkout / before: {ratio:.2f} (medians of {args.cold} each)")
    print(f"load average during the runs: {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    print(f"machine: {platform.machine()}, {platform.processor() or '?'}; "
          f"Python {platform.python_version()}, "
          f"optuna {optuna.__version__}, plotly {plotly.__version__}, SQLite")


if __name__ == "__main__":
    main()
