"""Racing (adaptive seeds) against fixed repeats, on simulated studies with known means.

Each simulated study has K configurations with known true means. A run of configuration k
with seed s scores mu_k + a_s + e_ks: a_s ~ N(0, sigma_seed) is shared by every
configuration run with seed s (the same data order and initialisation draws), e_ks ~ N(0,
sigma) is the run's own noise. Fixed repeats run every configuration ``max`` seeds and pick
the best mean; racing (``poolnas.evidence.racing``, ``repeats: {min: 2, max: 10, racing:
true}``) runs ``min`` seeds each, then gives seeds one round at a time to the
configurations still within noise of the best. A pick is right when its true mean is
within ``tol`` of the true best's ("the true best or one within noise of it").

Prints, per scenario, how often each method picks right and the trials it used, all from
one run. Results: docs/benchmarks.md ("Racing").

    .venv/bin/python benchmarks/bench_racing.py [--studies 300] [--seed 0]
"""

from __future__ import annotations

import argparse
import platform
import random
import sys
from dataclasses import dataclass

import scipy

from poolnas.evidence import Configuration, best_configuration
from poolnas.evidence.racing import RacingPolicy, racing_requests


@dataclass(frozen=True)
class Scenario:
    name: str
    means: tuple[float, ...]  # true mean accuracy per configuration
    sigma: float  # a run's own noise (std)
    sigma_seed: float  # noise shared by all configurations run with one seed (std)
    tol: float  # a pick within tol of the true best is right


SCENARIOS = (
    Scenario("8 configs, spread 0-5 pts, sigma 1 pt", (0.90, 0.897, 0.894, 0.89, 0.885, 0.88,
                                                       0.87, 0.85), 0.01, 0.005, 0.005),
    Scenario("12 configs, one clear winner", (0.92,) + tuple(0.90 - 0.004 * i for i in range(11)),
             0.01, 0.005, 0.005),
    Scenario("6 configs, two tied at the top", (0.90, 0.90, 0.885, 0.88, 0.86, 0.84),
             0.008, 0.004, 0.004),
    Scenario("5 configs, all equal (no structure)", (0.9,) * 5, 0.01, 0.005, 0.005),
)


def _run(means: tuple[float, ...], seed_effect: list[float], noise: list[list[float]],
         k: int, s: int) -> float:
    return means[k] + seed_effect[s] + noise[k][s]


def _draw(sc: Scenario, max_seeds: int, rng: random.Random) -> tuple[list[float], list[list[float]]]:
    seed_effect = [rng.gauss(0.0, sc.sigma_seed) for _ in range(max_seeds)]
    noise = [[rng.gauss(0.0, sc.sigma) for _ in range(max_seeds)] for _ in sc.means]
    return seed_effect, noise


def _configs(sc: Scenario, runs: dict[int, dict[int, float]]) -> list[Configuration]:
    out = []
    for k, by_seed in runs.items():
        seeds = sorted(by_seed)
        out.append(Configuration(key=str(k), params={"k": k}, config={}, seeds=list(seeds),
                                 values=[by_seed[s] for s in seeds], trials=[k * 100 + s for s in seeds]))
    return out


def fixed(sc: Scenario, draw: tuple, max_seeds: int) -> tuple[int, int]:
    runs = {k: {s: _run(sc.means, *draw, k, s) for s in range(max_seeds)} for k in range(len(sc.means))}
    best = best_configuration(_configs(sc, runs), "max")
    return int(best.key), len(sc.means) * max_seeds


def racing(sc: Scenario, draw: tuple, policy: RacingPolicy) -> tuple[int, int]:
    seeds = list(range(policy.max_seeds))
    runs = {k: {s: _run(sc.means, *draw, k, s) for s in range(policy.min_seeds)}
            for k in range(len(sc.means))}
    while True:
        asks = racing_requests(_configs(sc, runs), policy, "max", seeds)
        if not asks:
            break
        for key, s in asks:  # one round: every request runs, then the next decision
            runs[int(key)][s] = _run(sc.means, *draw, int(key), s)
    best = best_configuration(_configs(sc, runs), "max")
    return int(best.key), sum(len(v) for v in runs.values())


def simulate(sc: Scenario, studies: int, policy: RacingPolicy, rng: random.Random) -> dict[str, float]:
    top = max(sc.means)
    right = {"fixed": 0, "racing": 0}
    trials = {"fixed": 0, "racing": 0}
    for _ in range(studies):
        draw = _draw(sc, policy.max_seeds, rng)
        for name, (pick, used) in (("fixed", fixed(sc, draw, policy.max_seeds)),
                                   ("racing", racing(sc, draw, policy))):
            right[name] += top - sc.means[pick] <= sc.tol + 1e-12
            trials[name] += used
    return {"fixed_right": right["fixed"] / studies, "racing_right": right["racing"] / studies,
            "fixed_trials": trials["fixed"] / studies, "racing_trials": trials["racing"] / studies}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--studies", type=int, default=300, help="simulated studies per scenario")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--min", type=int, default=2)
    ap.add_argument("--max", type=int, default=10)
    args = ap.parse_args(argv)
    policy = RacingPolicy(args.min, args.max)
    rng = random.Random(args.seed)
    print(f"# racing min {args.min} max {args.max} vs fixed {args.max} seeds; {args.studies} "
          f"studies per scenario; python {platform.python_version()}, scipy {scipy.__version__}")
    print("| scenario | fixed: right | racing: right | fixed: trials | racing: trials | ratio |")
    print("|---|---:|---:|---:|---:|---:|")
    for sc in SCENARIOS:
        r = simulate(sc, args.studies, policy, rng)
        print(f"| {sc.name} | {r['fixed_right']:.3f} | {r['racing_right']:.3f} | "
              f"{r['fixed_trials']:.1f} | {r['racing_trials']:.1f} | "
              f"{r['racing_trials'] / r['fixed_trials']:.2f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
