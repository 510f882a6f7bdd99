"""Pareto fronts of configurations against a brute-force computation."""

from __future__ import annotations

import itertools
import random

from poolnas.evidence import Configuration
from poolnas.evidence.pareto import dominates, metric_mean, pareto_front, run_values


def conf(key: str, accs: list[float], flops: float, step_ms: list[float] | None = None) -> Configuration:
    step_ms = step_ms or [1.0] * len(accs)
    attrs = [{"metrics": {"test_acc": a, "train_step_ms": t, "flops": flops},
              "cost": {"params": 1000, "flops": flops}} for a, t in zip(accs, step_ms, strict=True)]
    return Configuration(key=key, params={"k": key}, config={}, seeds=list(range(len(accs))),
                         values=list(accs), trials=list(range(len(accs))), user_attrs=attrs)


def test_run_values_read_metrics_then_cost_then_n_params() -> None:
    c = conf("a", [0.9, 0.8], 5e6, [2.0, 4.0])
    assert run_values(c, "train_step_ms") == [2.0, 4.0]
    assert metric_mean(c, "train_step_ms") == 3.0
    assert metric_mean(c, "params") == 1000.0
    bare = Configuration("b", {}, {}, [0], [0.5], [0], [{"n_params": 42}])
    assert metric_mean(bare, "params") == 42.0 and metric_mean(bare, "flops") is None
    assert metric_mean(c, "test_acc", objective="test_acc") == c.mean


def test_dominates() -> None:
    up_down = [True, False]
    assert dominates((0.9, 1.0), (0.8, 2.0), up_down)
    assert dominates((0.9, 1.0), (0.9, 2.0), up_down)
    assert not dominates((0.9, 1.0), (0.9, 1.0), up_down)
    assert not dominates((0.95, 3.0), (0.9, 1.0), up_down)


def _brute_force(points: list[tuple[float, float]]) -> set[int]:
    """Front of (accuracy max, flops min) by checking every pair with plain comparisons."""
    front = set()
    for i, (a, f) in enumerate(points):
        beaten = any((b >= a and g <= f) and (b > a or g < f)
                     for j, (b, g) in enumerate(points) if j != i)
        if not beaten:
            front.add(i)
    return front


def test_front_matches_brute_force_on_random_studies() -> None:
    rng = random.Random(0)
    for _ in range(50):
        n = rng.randint(1, 25)
        configs = [conf(str(i), [rng.choice([0.8, 0.85, 0.9, 0.95]) + rng.random() * 0.01
                                 for _ in range(rng.randint(1, 3))],
                        float(rng.choice([1, 2, 3, 4, 5]) * 1e6)) for i in range(n)]
        points = [(c.mean, float(c.user_attrs[0]["cost"]["flops"])) for c in configs]
        got = {int(p.config.key) for p in pareto_front(configs, [("test_acc", "max"), ("flops", "min")],
                                                      objective="test_acc") if p.on_front}
        assert got == _brute_force(points)


def test_front_is_sorted_best_first_and_skips_configs_without_the_metric() -> None:
    configs = [conf("a", [0.9], 3.0), conf("b", [0.95], 5.0), conf("c", [0.8], 1.0),
               Configuration("d", {}, {}, [0], [0.99], [0], [{}])]
    pts = pareto_front(configs, [("test_acc", "max"), ("flops", "min")], objective="test_acc")
    assert [p.config.key for p in pts] == ["b", "a", "c"]
    assert all(p.on_front for p in pts)


def test_three_objectives() -> None:
    configs = [conf(k, [a], f, [t]) for k, a, f, t in
               [("a", 0.9, 2.0, 1.0), ("b", 0.9, 2.0, 2.0), ("c", 0.95, 4.0, 3.0)]]
    objs = [("test_acc", "max"), ("flops", "min"), ("train_step_ms", "min")]
    on = {p.config.key for p in pareto_front(configs, objs, objective="test_acc") if p.on_front}
    assert on == {"a", "c"}
    for x, y in itertools.permutations(configs, 2):
        assert not (dominates((x.mean,), (y.mean,), [True]) and dominates((y.mean,), (x.mean,), [True]))
