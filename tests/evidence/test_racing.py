"""Racing (adaptive seeds): who gets the next seed, and the simulated studies of
benchmarks/bench_racing.py (racing picks right as often as fixed repeats, with fewer runs)."""

from __future__ import annotations

import importlib.util
import random
import sys
from pathlib import Path

import pytest

from poolnas.evidence import Configuration
from poolnas.evidence.racing import RacingPolicy, race_status, racing_requests

SEEDS = list(range(10))
POLICY = RacingPolicy(2, 10)


def conf(key: str, values: list[float], seeds: list[int] | None = None) -> Configuration:
    seeds = seeds if seeds is not None else list(range(len(values)))
    return Configuration(key=key, params={"k": key}, config={}, seeds=list(seeds),
                         values=list(values), trials=list(range(len(values))))


def test_policy_rejects_min_above_max() -> None:
    with pytest.raises(ValueError, match="min 3 and max 2"):
        RacingPolicy(3, 2)


def test_nothing_races_before_min_seeds() -> None:
    assert racing_requests([conf("a", [0.9]), conf("b", [0.8])], POLICY, "max", SEEDS) == []


def test_a_separated_configuration_gets_no_more_seeds() -> None:
    best = conf("a", [0.90, 0.91, 0.905])
    worse = conf("b", [0.50, 0.52, 0.49])  # paired differences ~ -0.4 with a small spread
    status = race_status([best, worse], POLICY, "max")
    assert status.best == "a" and status.separated == ("b",) and status.racing == ()
    assert racing_requests([best, worse], POLICY, "max", SEEDS) == []


def test_a_close_configuration_and_the_best_get_the_next_seed() -> None:
    best = conf("a", [0.90, 0.88])
    close = conf("b", [0.89, 0.885])
    asks = racing_requests([best, close], POLICY, "max", SEEDS)
    assert asks == [("a", 2), ("b", 2)]  # the best first, both on the next shared seed


def test_minimise_mode_picks_the_lowest_as_best() -> None:
    low = conf("a", [0.10, 0.11, 0.105])
    high = conf("b", [0.90, 0.91, 0.905])
    assert race_status([low, high], POLICY, "min").best == "a"


def test_pending_run_blocks_a_second_one_and_counts_towards_max() -> None:
    best = conf("a", [0.90, 0.88])
    close = conf("b", [0.89, 0.885])
    asks = racing_requests([best, close], POLICY, "max", SEEDS, pending={"b": {2}})
    assert asks == [("a", 2)]
    noisy = [0.90, 0.88, 0.91, 0.87, 0.90, 0.89, 0.92, 0.88, 0.90]
    capped = conf("c", [v + (0.01 if i % 2 else -0.01) for i, v in enumerate(noisy)])
    status = race_status([conf("a", noisy), capped], POLICY, "max", pending={"c": 1})
    assert status.capped == ("c",)


def test_a_configuration_stops_at_max_seeds() -> None:
    best = conf("a", [0.90] * 10)
    close = conf("b", [0.90] * 10)  # identical: within noise for ever
    assert racing_requests([best, close], POLICY, "max", SEEDS) == []


def test_seed_order_fills_gaps_first() -> None:
    best = conf("a", [0.9, 0.88, 0.91], seeds=[0, 1, 3])
    close = conf("b", [0.89, 0.9, 0.9], seeds=[0, 1, 3])
    assert ("a", 2) in racing_requests([best, close], POLICY, "max", SEEDS)


def _bench():
    path = Path(__file__).resolve().parents[2] / "benchmarks" / "bench_racing.py"
    spec = importlib.util.spec_from_file_location("bench_racing", path)
    mod = importlib.util.module_from_spec(spec)
    sys.modules["bench_racing"] = mod  # dataclasses look their module up
    spec.loader.exec_module(mod)  # type: ignore[union-attr]
    return mod


def test_simulated_clear_winner_racing_is_as_right_with_at_most_half_the_runs() -> None:
    bench = _bench()
    scenario = bench.SCENARIOS[1]  # 12 configurations, one clear winner
    r = bench.simulate(scenario, 40, POLICY, random.Random(1))
    assert r["racing_right"] >= r["fixed_right"]
    assert r["racing_trials"] <= 0.5 * r["fixed_trials"]


def test_simulated_null_study_races_everything_to_max() -> None:
    bench = _bench()
    scenario = bench.SCENARIOS[3]  # all equal: nothing can be separated
    r = bench.simulate(scenario, 10, POLICY, random.Random(2))
    assert r["racing_trials"] > 0.8 * r["fixed_trials"]


def test_failed_seeds_are_not_handed_out_again() -> None:
    best = conf("a", [0.90, 0.88])
    close = conf("b", [0.89, 0.885])
    asks = racing_requests([best, close], POLICY, "max", SEEDS, exclude={"b": {2}})
    assert asks == [("a", 2), ("b", 3)]


def test_the_best_catches_up_with_rivals_capped_within_noise() -> None:
    noisy = [0.90, 0.88, 0.91, 0.87, 0.90, 0.89, 0.92, 0.88, 0.90, 0.89]
    rival = conf("b", [v + (0.02 if i % 2 else -0.015) for i, v in enumerate(noisy)])
    best = conf("a", noisy[:6])
    best.values = [v + 0.02 for v in best.values]  # ahead on its 6 seeds, within noise
    assert race_status([best, rival], POLICY, "max").capped == ("b",)
    assert racing_requests([best, rival], POLICY, "max", SEEDS) == [("a", 6)]


def test_a_zero_width_interval_does_not_separate() -> None:
    """Two seeds with the same difference (accuracy moves in steps of 1/N on N test images)
    measure no spread: seen on SAAM's K = 4, dropped at two seeds before this rule."""
    best = conf("a", [0.720, 0.731])
    steps = conf("b", [0.705, 0.716])  # -0.015 on both seeds
    status = race_status([best, steps], POLICY, "max")
    assert status.racing == ("b",) and status.separated == ()
