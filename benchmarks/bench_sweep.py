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
  entered; for the sweep that is the data check ``run_sweep`` does for the real trainer
  (called here, as ``timed_train`` is injected), study set-up, Ray's start, Tune's start and the
  first worker's start and imports (torch included; the plain loop imports torch in its first
  trial too); the sweep's is broken down into call -> Tune's fit (set-up and Ray's start, which
  overlap since Ray starts in the background; what the driver still waited for Ray is printed)
  and fit -> first trainer entered. Each part in wall seconds and CPU seconds (user + system)
  of all the side's processes and of the driver alone: on a loaded machine the CPU says what
  a quiet one would pay;
- marginal cost per trial: on each slot (a worker, a thread), the gaps between one trial
  leaving the trainer and the next one entering it, per trial after the slot's first;
  the sweep's minus the plain loop's is what the sweep adds per trial;
- memory: the peak resident set (VmRSS, sampled every 0.2 s from /proc) and the peak PSS
  (shared pages shared out among the processes that map them: on a laptop running two
  workers, the CUDA libraries both map count once) of every process of each side's tree,
  grouped as the driver, the trial workers (``ray::ImplicitFunc``) and Ray's own processes
  (GCS, raylet, dashboard, agents, monitors, idle workers), and the peaks of their sums over
  time.

``--before DIR`` runs the sweep of another checkout's poolnas too (``git archive COMMIT poolnas
| tar -x -C DIR``), interleaved with this checkout's in the same run, on the same trials and
load; ``--rounds N`` repeats (plain, before, after), every other round in reverse order.

Targets (issue 20): fixed cost <= 5 s on a quiet 2-core machine, marginal <= 0.2 s/trial
above the plain loop; <= 500 MB per CPU worker and <= 1.5 GB for a 2-trial sweep in all.
Results: docs/benchmarks.md, "Sweep: start, per trial, memory".

Run: .venv/bin/python benchmarks/bench_sweep.py [--trials 8] [--slots 2] [--subset 256]
     [--before DIR] [--rounds 1]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
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


def side_plain(url: str, n: int, slots: int, subset: int, name: str = "plain") -> dict:
    import optuna

    from poolnas.spaces import space_from_dict

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    space = space_from_dict(_space_doc(name, subset))
    study = optuna.create_study(study_name=name, storage=url, direction="maximize")

    def objective(trial: optuna.Trial) -> float:
        space.define_by_run(trial)
        cfg = space.to_trial_config(dict(trial.params))
        out = timed_train(cfg, on_epoch=lambda e, m: trial.report(m["val_acc"], e))
        trial.set_user_attr("environment", out["environment"])
        return out["metrics"]["val_acc"]

    called = time.time()
    study.optimize(objective, n_trials=n, n_jobs=slots)
    return {"called": called, "returned": time.time()}


def side_sweep(url: str, n: int, slots: int, subset: int, study: str = "sweep") -> dict:
    import poolnas
    from poolnas.search import run_sweep
    from poolnas.search._data import check_space_data
    from poolnas.spaces import space_from_dict

    space = space_from_dict(_space_doc(study, subset))
    called, perf = time.time(), time.perf_counter()
    # What run_sweep does first for the real trainer (`poolnas sweep`), and skips for an
    # injected trial function like timed_train: the data check. Timed as part of the set-up.
    check_space_data(space)
    res = run_sweep(space, storage=url, study=study, trials=n, max_concurrent=slots,
                    num_cpus=slots, trial_fn=timed_train, quiet=True)
    return {"called": called, "returned": time.time(), "ray_start_s": res.ray_start_s,
            "tune_started": called + (res.tune_started - perf), "counts": res.counts,
            "peak_rss_mb": res.peak_rss_mb, "poolnas": os.path.dirname(poolnas.__file__),
            # the driver's wait for Ray once its set-up was done (Ray starts beside the set-up);
            # a tree that starts Ray in the set-up's path waits all of it
            "ray_wait_s": getattr(res, "ray_wait_s", res.ray_start_s)}


# -- memory and CPU of a process tree, sampled from /proc ------------------------------------

_TICK = os.sysconf("SC_CLK_TCK")


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


def _cpu_s(pid: int) -> float | None:
    """User + system CPU seconds of a process so far (its own, not its children's)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / _TICK  # utime, stime (fields 14, 15 of stat)


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


class TreeSampler:
    """Samples every process of a tree from /proc every ``every_s``: each one's peak VmRSS and
    peak PSS (shared pages shared out among the processes that map them), the peak of their sums,
    and the tree's CPU seconds over time (a process that exits keeps its last-seen CPU)."""

    def __init__(self, root: int, every_s: float = 0.2) -> None:
        self.root, self.every_s = root, every_s
        self.peak: dict[int, int] = {}  # pid -> peak RSS (KiB)
        self.peak_pss: dict[int, int] = {}  # pid -> peak PSS (KiB)
        self.names: dict[int, str] = {}
        self.cpu: dict[int, float] = {}  # pid -> last-seen CPU s
        self.kind: dict[int, str] = {}  # pid -> driver, workers (ray::...) or ray (Ray's own)
        self.cpu_series: list[tuple[float, dict[str, float]]] = []  # (time, CPU s per kind and all)
        self.peak_sum = self.peak_pss_sum = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        rounds = 0
        while not self._stop.is_set():
            total = pss_total = 0
            for pid in _tree(self.root):
                rss = _kb(pid, "status", "VmRSS")
                cpu = _cpu_s(pid)
                name = _name(pid)
                if cpu is not None:
                    self.cpu[pid] = max(self.cpu.get(pid, 0.0), cpu)
                    self.kind[pid] = ("driver" if pid == self.root else
                                      "workers" if name.startswith("ray::") else "ray")
                if not rss:
                    continue
                if pid not in self.names or name.startswith("ray::ImplicitFunc"):
                    self.names[pid] = name
                self.peak[pid] = max(self.peak.get(pid, 0), rss)
                total += rss
                if rounds % 3 == 0:  # smaps_rollup walks the page tables: every third round
                    pss = _kb(pid, "smaps_rollup", "Pss:")
                    self.peak_pss[pid] = max(self.peak_pss.get(pid, 0), pss)
                    pss_total += pss
            by_kind = {"all": 0.0, "driver": 0.0, "workers": 0.0, "ray": 0.0}
            for pid, used in self.cpu.items():
                by_kind["all"] += used
                by_kind[self.kind.get(pid, "ray")] += used
            self.cpu_series.append((time.time(), by_kind))
            self.peak_sum = max(self.peak_sum, total)
            self.peak_pss_sum = max(self.peak_pss_sum, pss_total)
            rounds += 1
            self._stop.wait(self.every_s)

    def cpu_at(self, when: float) -> dict[str, float]:
        """CPU seconds so far per kind (and all) at wall time ``when``, interpolated."""
        series = self.cpu_series
        if not series or when <= series[0][0]:
            return {"all": 0.0, "driver": 0.0, "workers": 0.0, "ray": 0.0}
        for (t0, c0), (t1, c1) in zip(series, series[1:], strict=False):
            if t0 <= when <= t1:
                f = (when - t0) / (t1 - t0) if t1 > t0 else 1.0
                return {k: c0[k] + f * (c1[k] - c0[k]) for k in c0}
        return series[-1][1]

    def cpu_between(self, t0: float, t1: float) -> dict[str, float]:
        """CPU seconds between two wall times: all, driver, workers (``ray::`` processes) and
        Ray's own processes."""
        c0, c1 = self.cpu_at(t0), self.cpu_at(t1)
        return {k: round(c1[k] - c0[k], 2) for k in c0}

    def stop(self) -> dict:
        self._stop.set()
        self._thread.join()
        groups: dict[str, list[tuple[str, float, float]]] = {"driver": [], "workers": [], "ray": []}
        for pid, kb in self.peak.items():
            name = self.names.get(pid, "?")
            kind = ("driver" if pid == self.root else
                    "workers" if name.startswith("ray::ImplicitFunc") else "ray")
            groups[kind].append((name, round(kb / 1024, 1), round(self.peak_pss.get(pid, 0) / 1024, 1)))
        for rows in groups.values():
            rows.sort(key=lambda r: -r[1])
        return {"processes": groups, "peak_sum_mib": round(self.peak_sum / 1024, 1),
                "peak_pss_sum_mib": round(self.peak_pss_sum / 1024, 1),
                "sum_of_peaks_mib": round(sum(self.peak.values()) / 1024, 1),
                "cpu_total_s": round(sum(self.cpu.values()), 2)}


# -- one side in a fresh process, measured from here ------------------------------------------

def run_side(side: str, label: str, url: str, args: argparse.Namespace, tree: str | None = None) -> dict:
    """One side (plain or sweep) in a fresh process; ``tree``: a folder holding another
    checkout's ``poolnas`` package, put first on the child's (and so its Ray workers') path."""
    out = tempfile.mktemp(suffix=".json")
    cmd = [sys.executable, HERE, "--side", side, "--url", url, "--out", out, "--study", label,
           "--trials", str(args.trials), "--slots", str(args.slots), "--subset", str(args.subset)]
    env = dict(os.environ)
    if tree:
        env["PYTHONPATH"] = os.pathsep.join(p for p in (tree, env.get("PYTHONPATH")) if p)
    load_before = os.getloadavg()[0]
    spawned = time.time()
    proc = subprocess.Popen(cmd, env=env)
    sampler = TreeSampler(proc.pid)
    rc = proc.wait()
    ended = time.time()
    mem = sampler.stop()
    if rc != 0:
        raise SystemExit(f"the {label} side exited {rc}")
    with open(out) as f:
        doc = json.load(f)
    os.unlink(out)
    doc.update(label=label, memory=mem, spawned=spawned, ended=ended,
               load=f"{load_before:.1f}-{os.getloadavg()[0]:.1f}")
    trials = _trial_times(url, label)
    doc["trials"] = trials
    first = min(t["entered"] for t in trials)
    doc["fixed_s"] = first - doc["called"]
    doc["fixed_cpu"] = sampler.cpu_between(doc["called"], first)
    if side == "sweep":
        doc["to_fit_s"] = doc["tune_started"] - doc["called"]
        doc["to_fit_cpu"] = sampler.cpu_between(doc["called"], doc["tune_started"])
        doc["fit_to_first_s"] = first - doc["tune_started"]
        doc["fit_to_first_cpu"] = sampler.cpu_between(doc["tune_started"], first)
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
    return doc


def _load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def _cpu(c: dict) -> str:
    return f"{c['all']:.1f} = {c['driver']:.1f} + {c['workers']:.1f} + {c['ray']:.1f}"


def _rows(doc: dict, plain: dict) -> dict:
    """The figures of one sweep run beside the plain loop of its round."""
    mem = doc["memory"]
    workers = mem["processes"]["workers"]
    ray_own = mem["processes"]["ray"]
    fc, tc, wc = doc["fixed_cpu"], doc["to_fit_cpu"], doc["fit_to_first_cpu"]
    return {
        "poolnas from": doc.get("poolnas"),
        "load (1 min) at start-end of this side": doc["load"],
        "fixed cost: wall s (CPU s: all = driver + workers + Ray's own)":
            f"{doc['fixed_s']:.2f} ({_cpu(fc)})",
        "  call -> Tune's fit: set-up and Ray's start, wall s (CPU)": f"{doc['to_fit_s']:.2f} ({_cpu(tc)})",
        "    Ray's start (ray.init) wall s (of it waited for after set-up)":
            f"{doc['ray_start_s']:.2f} ({doc['ray_wait_s']:.2f})",
        "  fit -> first trainer entered, wall s (CPU)": f"{doc['fit_to_first_s']:.2f} ({_cpu(wc)})",
        "fixed cost: sweep - plain s": round(doc["fixed_s"] - plain["fixed_s"], 2),
        "marginal per trial s (sweep - plain)":
            f"{doc['marginal_s']:.3f} ({doc['marginal_s'] - plain['marginal_s']:+.3f})",
        "train() per trial s": round(doc["train_s"], 2),
        "whole process s (CPU s of all its processes)":
            f"{doc['process_s']:.1f} ({mem['cpu_total_s']:.1f})",
        "driver peak RSS / PSS MiB": "{1} / {2}".format(*mem["processes"]["driver"][0]),
        "each worker peak RSS / PSS MiB": ", ".join(f"{r} / {p}" for _, r, p in workers),
        "Ray's own processes peak RSS MiB": ", ".join(f"{n} {r}" for n, r, _ in ray_own),
        "Ray's own, sum of peaks RSS / PSS MiB":
            f"{sum(r for _, r, _ in ray_own):.1f} / {sum(p for _, _, p in ray_own):.1f}",
        "all processes, peak of the sum RSS / PSS MiB": f"{mem['peak_sum_mib']} / {mem['peak_pss_sum_mib']}",
        "worker peak the sweep reported MiB": doc.get("peak_rss_mb"),
        "states": doc["counts"],
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--trials", type=int, default=8)
    ap.add_argument("--slots", type=int, default=2)
    ap.add_argument("--subset", type=int, default=256, help="training and test images per trial")
    ap.add_argument("--rounds", type=int, default=1,
                    help="rounds of (plain, [before], sweep); every other round in reverse order")
    ap.add_argument("--before", default=None, metavar="DIR",
                    help="another checkout's poolnas (e.g. `git archive COMMIT poolnas` extracted in "
                         "DIR): its sweep runs interleaved with this checkout's, same trials, same load")
    ap.add_argument("--side", choices=["plain", "sweep"], help=argparse.SUPPRESS)
    ap.add_argument("--study", help=argparse.SUPPRESS)
    ap.add_argument("--url", help=argparse.SUPPRESS)
    ap.add_argument("--out", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.side:  # a child: one side, its timings to --out
        if args.side == "plain":
            doc = side_plain(args.url, args.trials, args.slots, args.subset, args.study)
        else:
            doc = side_sweep(args.url, args.trials, args.slots, args.subset, args.study)
        with open(args.out, "w") as f:
            json.dump(doc, f)
        return 0

    import optuna
    import ray
    import torch

    before = os.path.abspath(args.before) if args.before else None
    if before and not os.path.isfile(os.path.join(before, "poolnas", "__init__.py")):
        raise SystemExit(f"--before {args.before}: expected a folder holding poolnas/__init__.py")
    print(f"machine: {platform.node()} {platform.machine()}, {os.cpu_count()} CPUs; python "
          f"{platform.python_version()}, ray {ray.__version__}, optuna {optuna.__version__}, "
          f"torch {torch.__version__}; {args.trials} trials x {args.slots} slots, {args.subset} images")
    print(f"load (1/5/15 min) at the start: {_load()}")
    runs: dict[str, list[dict]] = {"plain": [], "before": [], "after": []}
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{tmp}/bench.db"
        for r in range(args.rounds):
            order = [("plain", "plain", None)]
            if before:
                order.append(("sweep", "before", before))
            order.append(("sweep", "after", None))
            if r % 2:
                order.reverse()
            for side, label, tree in order:
                doc = run_side(side, f"{label}{r}", url, args, tree)
                runs[label].append(doc)
                print(f"round {r + 1}: {label} done, fixed {doc['fixed_s']:.2f} s, load {doc['load']}",
                      flush=True)
    print(f"load (1/5/15 min) at the end: {_load()}")
    for r in range(args.rounds):
        plain = runs["plain"][r]
        pc = plain["fixed_cpu"]
        print(f"\n== round {r + 1} ==")
        print(f"{'plain loop: fixed cost wall s (CPU s)':64s} {plain['fixed_s']:.2f} ({pc['all']:.1f}), "
              f"marginal {plain['marginal_s']:.3f} s/trial, peak RSS / PSS MiB "
              "{1} / {2}".format(*plain["memory"]["processes"]["driver"][0]) + f", load {plain['load']}")
        table = {label: _rows(runs[label][r], plain) for label in ("before", "after") if runs[label]}
        for key in table["after"]:
            cells = " | ".join(str(table[label][key]) for label in table)
            print(f"{key:64s} {cells}")
    print("\ncolumns: " + " | ".join(label for label in ("before", "after") if runs[label]))
    if args.rounds > 1:
        print(f"\nmedians of {args.rounds} rounds (plain | before | after):")
        for key, get in [("fixed cost wall s", lambda d: d["fixed_s"]),
                         ("fixed cost CPU s (all processes)", lambda d: d["fixed_cpu"]["all"]),
                         ("marginal per trial s", lambda d: d["marginal_s"]),
                         ("peak of summed RSS MiB", lambda d: d["memory"]["peak_sum_mib"]),
                         ("peak of summed PSS MiB", lambda d: d["memory"]["peak_pss_sum_mib"])]:
            cells = [f"{statistics.median(get(d) for d in runs[label]):.2f}" if runs[label] else "-"
                     for label in ("plain", "before", "after")]
            print(f"{key:64s} {' | '.join(cells)}")
    print(json.dumps(runs, default=str))
    last, plain = runs["after"][-1], runs["plain"][-1]
    workers = [r for _, r, _ in last["memory"]["processes"]["workers"]]
    ok_fixed = last["fixed_s"] <= 5.0
    ok_marginal = last["marginal_s"] - plain["marginal_s"] <= 0.2
    ok_worker = bool(workers) and max(workers) <= 500 / 1.048576
    ok_all = last["memory"]["peak_sum_mib"] <= 1500 / 1.048576
    print(f"targets (this checkout, last round): fixed <= 5 s {'met' if ok_fixed else 'NOT met'}; "
          f"marginal <= 0.2 s/trial {'met' if ok_marginal else 'NOT met'}; worker <= 500 MB "
          f"{'met' if ok_worker else 'NOT met'} (RSS); all <= 1.5 GB {'met' if ok_all else 'NOT met'} "
          "(RSS summed; load stated above)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
