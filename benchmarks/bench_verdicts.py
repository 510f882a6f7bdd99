"""The verdicts on simulated studies: family-wise false verdicts, power, winner's curse, racing.

Drives the product's own code: the sweep's race (``poolnas.search._race.Race.decide`` on a
study object holding the trials, as the searcher asks it) and the evidence of the finished
study (``poolnas.evidence.study_evidence`` with the stored space document, as ``poolnas
compare`` and the report build it). Each simulated study has k configurations besides the
baseline (GAP); a run of configuration j with seed s scores

    mu_j + a_s + e_js      (points of accuracy)

with a_s ~ N(0, 1) shared by every configuration run with seed s (data order, initial
weights) and e_js the run's own noise, sd ``sigma`` (1, 1.5 or 2 points), normal or
heavy-tailed (Student's t with 3 degrees of freedom scaled to the same sd).

Scenarios: ``null`` (every mu_j = 0: any "better"/"worse" is false), ``one`` (one
configuration at +1 point, the rest at 0: power to call it "better") and ``clear`` (one at
+4 points: the race's trial saving on a clear winner). Designs: fixed n seeds
(2, 4, 10) or racing ``repeats: {min: 2, max: 10, racing: true}``.

Measured per cell: FW, the fraction of studies with at least one false "better"/"worse"
(among the null configurations); power, P(the +1 configuration is "better"); bias_naive,
the mean over studies of the best's Δ in the table minus its true Δ (the winner's curse the
issue measured); bias_adj, the same for the selection-adjusted Δ (``best_effect``); dropped,
P(the race separated the true best from its best); trials, the mean trials as a fraction of
running every configuration ``max`` seeds.

    .venv/bin/python benchmarks/bench_verdicts.py [--studies 300] [--seed 0] [--quick]

Results: docs/benchmarks.md ("Verdicts").
"""

from __future__ import annotations

import argparse
import math
import platform
import random
import sys
import time
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

from poolnas.evidence import BETTER, WORSE, study_evidence
from poolnas.records import TrialAttrs, config_key

MIN, MAX = 2, 10
GAP = {"attention": {"pooling": "gap"}}


@dataclass(frozen=True)
class Cell:
    k: int  # configurations besides the baseline
    sigma: float  # a run's own noise, points
    design: str  # "fixed" or "racing"
    n: int = MAX  # seeds per configuration (fixed)
    scenario: str = "null"  # "null", "one" (one configuration at +1) or "clear" (one at +4)
    tails: str = "normal"  # "normal" or "t3"
    effect: float = 1.0  # points


@dataclass
class Result:
    studies: int = 0
    fw: int = 0
    power: int = 0
    bias_naive: float = 0.0
    naive_count: int = 0
    bias_adj: float = 0.0
    bias_adj_sq: float = 0.0
    adj_count: int = 0
    dropped: int = 0
    trials: int = 0
    extra: dict[str, Any] = field(default_factory=dict)

    def row(self, cell: Cell) -> dict[str, float]:
        s = max(self.studies, 1)
        a = max(self.adj_count, 1)
        var = max(self.bias_adj_sq / a - (self.bias_adj / a) ** 2, 0.0)
        return {"bias_adj_se": math.sqrt(var / a), "fw": self.fw / s,
                "power": self.power / s if cell.scenario != "null" else math.nan,
                "bias_naive": self.bias_naive / max(self.naive_count, 1),
                "bias_adj": self.bias_adj / max(self.adj_count, 1),
                "dropped": (self.dropped / s if cell.design == "racing" and cell.scenario != "null"
                            else math.nan),
                "trials": self.trials / (s * (cell.k + 1) * MAX)}


def _config(j: int) -> dict[str, Any]:
    """The baseline (j = 0) is GAP; the others are mix at distinct α (any distinct configs)."""
    return dict(GAP) if j == 0 else {"attention": {"pooling": "mix", "mix_alpha": j / 1000.0}}


def _params(j: int) -> dict[str, Any]:
    if j == 0:
        return {"attention.pooling": "gap"}
    return {"attention.pooling": "mix", "attention.mix_alpha": j / 1000.0}


class _Study:
    """What ``Race.decide`` asks of an Optuna study: its trials, and a queue."""

    def __init__(self) -> None:
        self.trials: list[Any] = []

    def get_trials(self, deepcopy: bool = False) -> list[Any]:
        return self.trials

    def enqueue_trial(self, params: dict[str, Any], user_attrs: dict[str, Any]) -> None:
        self._add(params, user_attrs, "WAITING", None)

    def _add(self, params: dict[str, Any], attrs: dict[str, Any], state: str, value: float | None) -> Any:
        t = SimpleNamespace(number=len(self.trials), params=dict(params), user_attrs=dict(attrs),
                            system_attrs={}, state=SimpleNamespace(name=state),
                            values=None if value is None else [value])
        self.trials.append(t)
        return t


class _World:
    """The true means and the draws of one simulated study (a run is drawn once, when asked)."""

    def __init__(self, cell: Cell, rng: random.Random) -> None:
        self.cell = cell
        self.rng = rng
        self.mu = [0.0] * (cell.k + 1)
        if cell.scenario != "null":
            self.mu[1] = cell.effect
        self.seed_effect = [rng.gauss(0.0, 1.0) for _ in range(MAX)]

    def noise(self) -> float:
        if self.cell.tails == "t3":  # t with 3 df has variance 3: scale to sd sigma
            z = self.rng.gauss(0.0, 1.0)
            chi = sum(self.rng.gauss(0.0, 1.0) ** 2 for _ in range(3))
            return self.cell.sigma * z / math.sqrt(chi / 3.0) / math.sqrt(3.0)
        return self.rng.gauss(0.0, self.cell.sigma)

    def run(self, j: int, seed: int) -> float:
        return (70.0 + self.mu[j] + self.seed_effect[seed] + self.noise()) / 100.0  # an accuracy


def _complete(study: _Study, world: _World, j: int, seed: int) -> None:
    cfg = _config(j)
    attrs = {TrialAttrs.CONFIG: {**cfg, "seed": seed}, TrialAttrs.CONFIG_KEY: config_key(cfg)}
    study._add({**_params(j), "seed": seed}, attrs, "COMPLETE", world.run(j, seed))


def _space_doc(cell: Cell) -> dict[str, Any]:
    repeats: Any = {"min": MIN, "max": MAX, "racing": True} if cell.design == "racing" else cell.n
    return {"study": "sim", "sampler": "tpe", "trials": cell.k + 1, "repeats": repeats,
            "baseline": {"attention.pooling": "gap"}, "objective": {"metric": "test_acc", "mode": "max"},
            "space": {"attention.pooling": {"choice": ["gap", "mix"]}}}


def _race(cell: Cell, world: _World, space: Any) -> _Study:
    from poolnas.search._race import Race

    study = _Study()
    for j in range(cell.k + 1):  # every configuration's first min seeds (the searcher's queue)
        for s in range(MIN):
            _complete(study, world, j, s)
    race = Race(space, cell.k + 1)
    key_to_j = {config_key(_config(j)): j for j in range(cell.k + 1)}
    while race.decide(study, running=0) == "ask":
        waiting = [t for t in study.trials if t.state.name == "WAITING"]
        if not waiting:
            break
        for t in waiting:  # one round: every queued run finishes, then the next decision
            j, seed = key_to_j[t.user_attrs[TrialAttrs.CONFIG_KEY]], int(t.params["seed"])
            t.user_attrs[TrialAttrs.CONFIG] = {**_config(j), "seed": seed}
            t.values = [world.run(j, seed)]
            t.state.name = "COMPLETE"
    world.separated_best = config_key(_config(1)) in (race.status.separated if race.status else ())
    return study


def _fixed(cell: Cell, world: _World) -> _Study:
    study = _Study()
    for j in range(cell.k + 1):
        for s in range(cell.n):
            _complete(study, world, j, s)
    return study


def _space(cell: Cell) -> Any:
    from poolnas.spaces import space_from_dict

    return space_from_dict(_space_doc(cell))


def simulate(cell: Cell, studies: int, rng: random.Random) -> Result:
    res = Result()
    space = _space(cell) if cell.design == "racing" else None
    doc = _space_doc(cell)
    key_to_j = {config_key(_config(j)): j for j in range(cell.k + 1)}
    for _ in range(studies):
        world = _World(cell, rng)
        world.separated_best = False
        study = _race(cell, world, space) if space is not None else _fixed(cell, world)
        ev = study_evidence(study.trials, "test_acc", "max", space=doc)
        res.studies += 1
        res.trials += len(study.trials)
        false = 0
        for comp in ev.comparisons or []:
            j = key_to_j[comp.config.key]
            if j == 0:
                continue
            if comp.verdict in (BETTER, WORSE) and world.mu[j] == 0.0:
                false += 1
            if j == 1 and cell.scenario != "null" and comp.verdict == BETTER:
                res.power += 1
        res.fw += false > 0
        best = next(c for c in ev.comparisons or [] if c.config is ev.best)
        if best.verdict != "baseline":  # the named best's Δ against its true Δ
            res.bias_naive += 100.0 * (best.delta or 0.0) - world.mu[key_to_j[best.config.key]]
            res.naive_count += 1
        if ev.best_effect is not None:
            true = sum(world.mu[key_to_j[p]] for p in ev.best_effect.picks) / len(ev.best_effect.picks)
            res.bias_adj += 100.0 * ev.best_effect.delta - true
            res.bias_adj_sq += (100.0 * ev.best_effect.delta - true) ** 2
            res.adj_count += 1
        res.dropped += world.separated_best
    return res


def cells(quick: bool) -> list[Cell]:
    ks = (2, 6, 12, 28) if not quick else (2, 12)
    sigmas = (1.0, 1.5, 2.0) if not quick else (1.5,)
    out = []
    for sigma in sigmas:
        for k in ks:
            for n in (2, 4, 10):
                out.append(Cell(k, sigma, "fixed", n))
            out.append(Cell(k, sigma, "racing"))
    for k in ks:  # power for +1 point, fixed 10 seeds and racing
        out.append(Cell(k, 1.5, "fixed", 10, "one"))
        out.append(Cell(k, 1.5, "racing", MAX, "one"))
    for k in ks:  # a clear winner (+4 points): the race's saving
        out.append(Cell(k, 1.5, "fixed", 10, "clear", effect=4.0))
        out.append(Cell(k, 1.5, "racing", MAX, "clear", effect=4.0))
    for k in ks:  # heavy tails
        out.append(Cell(k, 1.5, "fixed", 10, "null", "t3"))
        out.append(Cell(k, 1.5, "racing", MAX, "null", "t3"))
    return out


def _fmt(x: float, spec: str = ".3f") -> str:
    return "–" if math.isnan(x) else format(x, spec)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--studies", type=int, default=300, help="simulated studies per cell")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--quick", action="store_true", help="a few cells only")
    args = ap.parse_args(argv)
    rng = random.Random(args.seed)
    t0 = time.time()
    print(f"# bench_verdicts: {args.studies} studies per cell; python {platform.python_version()}, "
          f"{platform.machine()}; racing min {MIN} max {MAX}; seed effect sd 1 point")
    print("| k | run sd | tails | design | scenario | FW false verdict | power | "
          "best's Δ bias: table | adjusted (± MC se) | true best dropped | trials / (k+1)·10 |")
    print("|---:|---:|---|---|---|---:|---:|---:|---:|---:|---:|")
    for cell in cells(args.quick):
        r = simulate(cell, args.studies, rng).row(cell)
        design = f"fixed {cell.n}" if cell.design == "fixed" else f"racing {MIN}-{MAX}"
        print(f"| {cell.k} | {cell.sigma:g} | {cell.tails} | {design} | {cell.scenario} | {r['fw']:.3f} | "
              f"{_fmt(r['power'])} | {r['bias_naive']:+.2f} | "
              f"{r['bias_adj']:+.2f} ± {r['bias_adj_se']:.2f} | "
              f"{_fmt(r['dropped'])} | "
              f"{r['trials']:.2f} |", flush=True)
    print(f"# {time.time() - t0:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
