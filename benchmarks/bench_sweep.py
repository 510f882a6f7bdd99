"""What a sweep costs beside a plain Optuna loop on the same real trials: start, per trial,
memory (issue 20 items 2-3; issue 6 before).

Both sides train the same real tiny trials (``poolnas.trainers.train``: SE-ResNet-20 on a
few hundred digits, one epoch, one thread), ``--slots`` at a time, each in a fresh Python
process started by this script, one after the other in one run:

- plain: ``study.optimize(objective, n_trials=N, n_jobs=slots)`` on SQLite, in the process
  (threads), the objective calling the trainer;
- sweep: ``poolnas.search.run_sweep`` on SQLite with a local Ray it starts itself, Ray Tune
  running the trials in worker processes (actor reuse, FIFO).

Each trial records when the trainer was entered and left (wall clock) and where it ran (the
worker's pid; the thread in the plain loop). Reported:

- fixed cost: from the call (``run_sweep`` / ``optimize``) to the first trial's trainer
  entered; for the sweep that is study set-up, Ray's start, Tune's start and the first
  worker's start and imports (torch included; the plain loop imports torch in its first
  trial too); the sweep's is broken down;
- marginal cost per trial: on each slot (a worker, a thread), the gaps between one trial
  leaving the trainer and the next one entering it, per trial after the slot's first;
  the sweep's minus the plain loop's is what the sweep adds per trial;
- memory: the peak resident set (VmRSS, sampled every 0.2 s from /proc) of every process of
  each side's tree, grouped as the driver, the trial workers (``ray::ImplicitFunc``) and
  Ray's own processes (GCS, raylet, dashboard, agents, monitors, idle workers), and the peak
  of their sum over time (RSS counts a shared library once per process; the peak summed
  PSS, which shares it out, is printed too).

Targets (issue 20): fixed cost <= 5 s on a quiet 2-core machine, marginal <= 0.2 s/trial
above the plain loop; <= 500 MB per CPU worker and <= 1.5 GB for a 2-trial sweep in all.
Results: docs/benchmarks.md, "Sweep: start, per trial, memory".

Run: .venv/bin/python benchmarks/bench_sweep.py [--trials 8] [--slots 2] [--subset 256]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.abspath(__file__)


def _space_doc(study: str, subset: int) -> dict:
    return {
        "study": study,
        "objective": {"metric": "val_acc", "mode": "max"},
        "sampler": "random",
        "trials": 1000,  # the run sets its own count
        "scheduler": {"type": "fifo"},
        "resources": {"cpu": 1, "gpu": 0},
        "base": {"model": {"arch": "resnet20", "num_classes": 10, "in_channels": 1},
                 "trainer": {"dataset": "digits", "epochs": 1, "batch_size": 64, "recipe": "fast",
                             "device": "cpu", "num_threads": 1, "train_subset": subset,
                             "test_subset": subset}},
        "space": {"attention.reduction": {"int": [2, 64]}},
    }


def timed_train(config, *, on_epoch=None, **_):  # noqa: ANN001, ANN201 - a trial function
    """``poolnas.trainers.train`` with the wall-clock times it was entered and left and the
    process and thread it ran in (under ``environment``, which every trial keeps)."""
    from poolnas.trainers import train

    entered = time.time()
    out = dict(train(config, on_epoch=on_epoch))
    env = dict(out.get("environment") or {})
    env.update(bench_entered=entered, bench_left=time.time(), bench_pid=os.getpid(),
               bench_thread=threading.get_ident())
    out["environment"] = env
    return out


def _trial_times(url: str, study: str) -> list[dict]:
    import optuna

    rows = []
    for t in optuna.load_study(study_name=study, storage=url).trials:
        env = t.user_attrs.get("environment") or {}
        if "bench_entered" in env:
            rows.append({"entered": env["bench_entered"], "left": env["bench_left"],
                         "slot": f"{env['bench_pid']}/{env['bench_thread']}", "state": t.state.name})
    return rows


def side_plain(url: str, n: int, slots: int, subset: int) -> dict:
    import optuna

    from poolnas.spaces import space_from_dict

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    space = space_from_dict(_space_doc("plain", subset))
    study = optuna.create_study(study_name="plain", storage=url, direction="maximize")

    def objective(trial: optuna.Trial) -> float:
        space.define_by_run(trial)
        cfg = space.to_trial_config(dict(trial.params))
        out = timed_train(cfg, on_epoch=lambda e, m: trial.report(m["val_acc"], e))
        trial.set_user_attr("environment", out["environment"])
        return out["metrics"]["val_acc"]

    called = time.time()
    study.optimize(objective, n_trials=n, n_jobs=slots)
    return {"called": called, "returned": time.time()}


def side_sweep(url: str, n: int, slots: int, subset: int) -> dict:
    from poolnas.search import run_sweep
    from poolnas.spaces import space_from_dict

    space = space_from_dict(_space_doc("sweep", subset))
    called, perf = time.time(), time.perf_counter()
    res = run_sweep(space, storage=url, study="sweep", trials=n, max_concurrent=slots,
                    num_cpus=slots, trial_fn=timed_train, quiet=True)
    return {"called": called, "returned": time.time(), "ray_start_s": res.ray_start_s,
            "tune_started": called + (res.tune_started - perf), "counts": res.counts,
            "peak_rss_mb": res.peak_rss_mb}


# -- memory of a process tree, sampled from /proc ------------------------------------------

def _children() -> dict[int, list[int]]:
    kids: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as f:
                    ppid = int(f.read().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            kids.setdefault(ppid, []).append(int(entry))
    return kids


def _tree(root: int) -> list[int]:
    kids, found, todo = _children(), [], [root]
    while todo:
        pid = todo.pop()
        found.append(pid)
        todo.extend(kids.get(pid, []))
    return found


def _kb(pid: int, path: str, key: str) -> int:
    try:
        with open(f"/proc/{pid}/{path}") as f:
            for line in f:
                if line.startswith(key):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def _name(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            parts = f.read().split(b"\0")
    except OSError:
        return ""
    first = parts[0].decode(errors="replace")
    if first.startswith("ray::"):
        return first.strip()
    for part in parts[1:3]:  # python SCRIPT: the script's name
        text = part.decode(errors="replace")
        if text.endswith(".py"):
            return os.path.basename(text)
    return os.path.basename(first)


class TreeMemory:
    """Samples the VmRSS of every process of a tree; keeps each one's peak and the peak sums."""

    def __init__(self, root: int, every_s: float = 0.2) -> None:
        self.root, self.every_s = root, every_s
        self.peak: dict[int, int] = {}  # pid -> peak RSS (KiB)
        self.names: dict[int, str] = {}
        self.peak_sum = self.peak_pss = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        rounds = 0
        while not self._stop.is_set():
            total = pss = 0
            for pid in _tree(self.root):
                rss = _kb(pid, "status", "VmRSS")
                if not rss:
                    continue
                name = _name(pid)
                if pid not in self.names or name.startswith("ray::ImplicitFunc"):
                    self.names[pid] = name
                self.peak[pid] = max(self.peak.get(pid, 0), rss)
                total += rss
                if rounds % 3 == 0:
                    pss += _kb(pid, "smaps_rollup", "Pss:")
            self.peak_sum = max(self.peak_sum, total)
            self.peak_pss = max(self.peak_pss, pss)
            rounds += 1
            self._stop.wait(self.every_s)

    def stop(self) -> dict:
        self._stop.set()
        self._thread.join()
        groups: dict[str, list[tuple[str, float]]] = {"driver": [], "workers": [], "ray": []}
        for pid, kb in self.peak.items():
            name, mib = self.names.get(pid, "?"), round(kb / 1024, 1)
            kind = ("driver" if pid == self.root else
                    "workers" if name.startswith("ray::ImplicitFunc") else "ray")
            groups[kind].append((name, mib))
        for rows in groups.values():
            rows.sort(key=lambda r: -r[1])
        return {"processes": groups, "peak_sum_mib": round(self.peak_sum / 1024, 1),
                "peak_pss_sum_mib": round(self.peak_pss / 1024, 1),
                "sum_of_peaks_mib": round(sum(self.peak.values()) / 1024, 1)}


# -- one side in a fresh process, measured from here ------------------------------------------

def run_side(side: str, url: str, args: argparse.Namespace) -> dict:
    out = tempfile.mktemp(suffix=".json")
    cmd = [sys.executable, HERE, "--side", side, "--url", url, "--out", out,
           "--trials", str(args.trials), "--slots", str(args.slots), "--subset", str(args.subset)]
    spawned = time.time()
    proc = subprocess.Popen(cmd)
    memory = TreeMemory(proc.pid)
    rc = proc.wait()
    ended = time.time()
    mem = memory.stop()
    if rc != 0:
        raise SystemExit(f"the {side} side exited {rc}")
    with open(out) as f:
        doc = json.load(f)
    os.unlink(out)
    doc.update(memory=mem, spawned=spawned, ended=ended)
    trials = _trial_times(url, side)
    doc["trials"] = trials
    first = min(t["entered"] for t in trials)
    doc["fixed_s"] = first - doc["called"]
    gaps, transitions = 0.0, 0
    for slot in {t["slot"] for t in trials}:
        mine = sorted((t for t in trials if t["slot"] == slot), key=lambda t: t["entered"])
        for prev, nxt in zip(mine, mine[1:], strict=False):
            gaps += nxt["entered"] - prev["left"]
            transitions += 1
    doc["slots_seen"] = len({t["slot"] for t in trials})
    doc["marginal_s"] = gaps / transitions if transitions else float("nan")
    doc["train_s"] = sum(t["left"] - t["entered"] for t in trials) / len(trials)
    doc["process_s"] = ended - spawned
    doc["first_entered_s_after_spawn"] = first - spawned
    return doc


def _load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--trials", type=int, default=8)
    ap.add_argument("--slots", type=int, default=2)
    ap.add_argument("--subset", type=int, default=256, help="training and test images per trial")
    ap.add_argument("--side", choices=["plain", "sweep"], help=argparse.SUPPRESS)
    ap.add_argument("--url", help=argparse.SUPPRESS)
    ap.add_argument("--out", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.side:  # a child: one side, its timings to --out
        fn = side_plain if args.side == "plain" else side_sweep
        doc = fn(args.url, args.trials, args.slots, args.subset)
        with open(args.out, "w") as f:
            json.dump(doc, f)
        return 0

    import optuna
    import ray
    import torch

    loads = [_load()]
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{tmp}/bench.db"
        plain = run_side("plain", url, args)
        loads.append(_load())
        sweep = run_side("sweep", url, args)
        loads.append(_load())
    ray_start = sweep["ray_start_s"]
    to_fit = sweep["tune_started"] - sweep["called"] - ray_start
    fit_to_first = sweep["fixed_s"] - (sweep["tune_started"] - sweep["called"])
    smem, pmem = sweep["memory"], plain["memory"]
    workers = [mib for _, mib in smem["processes"]["workers"]]
    rows = {
        "machine": f"{platform.node()} {platform.machine()}, {os.cpu_count()} CPUs",
        "versions": f"python {platform.python_version()}, ray {ray.__version__}, "
                    f"optuna {optuna.__version__}, torch {torch.__version__}",
        "load (1/5/15 min) before, between, after": " | ".join(loads),
        "trials x slots": f"{args.trials} x {args.slots}, {args.subset} images",
        "train() per trial (plain | sweep) s": f"{plain['train_s']:.2f} | {sweep['train_s']:.2f}",
        "fixed cost: plain loop s": round(plain["fixed_s"], 2),
        "fixed cost: sweep s": round(sweep["fixed_s"], 2),
        "  of which study set-up s": round(to_fit, 2),
        "  of which Ray's start s": round(ray_start, 2),
        "  of which Tune + first worker start s": round(fit_to_first, 2),
        "fixed cost: sweep - plain s": round(sweep["fixed_s"] - plain["fixed_s"], 2),
        "marginal per trial: plain s": round(plain["marginal_s"], 3),
        "marginal per trial: sweep s": round(sweep["marginal_s"], 3),
        "marginal per trial: sweep - plain s": round(sweep["marginal_s"] - plain["marginal_s"], 3),
        "slots seen (plain | sweep)": f"{plain['slots_seen']} | {sweep['slots_seen']}",
        "whole process (plain | sweep) s": f"{plain['process_s']:.1f} | {sweep['process_s']:.1f}",
        "plain: driver peak RSS MiB": pmem["processes"]["driver"][0][1],
        "sweep: driver peak RSS MiB": smem["processes"]["driver"][0][1],
        "sweep: each worker peak RSS MiB": workers,
        "sweep: Ray's own processes peak RSS MiB": smem["processes"]["ray"],
        "sweep: Ray's own, sum of peaks MiB": round(sum(m for _, m in smem["processes"]["ray"]), 1),
        "sweep: all processes, peak of the sum (RSS) MiB": smem["peak_sum_mib"],
        "sweep: all processes, peak of the sum (PSS) MiB": smem["peak_pss_sum_mib"],
        "sweep: worker peak the sweep reported MiB": sweep.get("peak_rss_mb"),
        "sweep states": sweep["counts"],
    }
    for key, value in rows.items():
        print(f"{key:50s} {value}")
    print(json.dumps({"rows": rows, "plain": plain, "sweep": sweep}, default=str))
    ok_fixed = sweep["fixed_s"] <= 5.0
    ok_marginal = sweep["marginal_s"] - plain["marginal_s"] <= 0.2
    ok_worker = bool(workers) and max(workers) <= 500 / 1.048576
    ok_all = smem["peak_sum_mib"] <= 1500 / 1.048576
    print(f"targets: fixed <= 5 s {'met' if ok_fixed else 'NOT met'}; marginal <= 0.2 s/trial "
          f"{'met' if ok_marginal else 'NOT met'}; worker <= 500 MB {'met' if ok_worker else 'NOT met'}; "
          f"all <= 1.5 GB {'met' if ok_all else 'NOT met'} (RSS; load stated above)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
