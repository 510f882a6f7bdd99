"""The cost figure's "within noise of the front" test, vectorized (``_dominated_beyond_noise``),
decides every point as the pair-by-pair definition does (``_beyond_noise`` on each cheaper
point), on real studies and on random fronts built to hit its edge cases: paired and Welch
pairs, one seed, no seed, constant values, equal costs, tiny and huge spreads."""

from __future__ import annotations

import random

import pytest

from poolnas.dashboards.cost import _beyond_noise, _dominated_beyond_noise, _get_cost_info
from poolnas.evidence import Configuration, evidence_of
from poolnas.evidence.pareto import ParetoPoint, pareto_front
from poolnas.studies.reader import load_study
from poolnas.testing import synthetic_studies as S


def _pairwise(front: list[ParetoPoint], maximize: bool) -> list[bool]:
    """The definition, pair by pair (the implementation before vectorizing)."""
    return [any(q.values[1] <= p.values[1] and q.config is not p.config
                and _beyond_noise(q.config, p.config, maximize) for q in front) for p in front]


def _random_front(rng: random.Random, m: int) -> list[ParetoPoint]:
    spread = rng.choice([1e-12, 1e-4, 0.01, 0.5, 5.0])
    points = []
    for i in range(m):
        n = rng.choice([1, 1, 2, 3, 4, 5, 8])
        kind = rng.random()
        if kind < 0.1:
            seeds: list[int | None] = [None] * n  # runs without a seed: Welch only
        elif kind < 0.2:
            seeds = [rng.randrange(3) for _ in range(n)]  # repeated seeds: the last one pairs
        else:
            seeds = rng.sample(range(8), n)
        base = rng.choice([0.7, 0.71, 0.72])
        if rng.random() < 0.1:
            values = [base] * n  # constant
        elif rng.random() < 0.1:
            shift = rng.choice([0.0, 0.003, 0.02])  # a constant paired difference to seed-wise values
            values = [0.7 + 0.001 * (s or 0) + shift for s in seeds]
        else:
            values = [base + rng.gauss(0, spread) for _ in range(n)]
        conf = Configuration(f"c{i}", {"i": i}, {}, seeds=seeds, values=values, trials=list(range(n)))
        cost = float(rng.choice([1, 2, 2, 3, 5, 8]))
        points.append(ParetoPoint(conf, (conf.mean, cost), False))
    return points


@pytest.mark.parametrize("maximize", [True, False])
def test_vectorized_decisions_match_the_pairwise_definition_on_random_fronts(maximize) -> None:
    rng = random.Random(20)
    decided = []
    for _ in range(60):
        front = _random_front(rng, rng.randint(0, 40))
        expected = _pairwise(front, maximize)
        assert _dominated_beyond_noise(front, maximize) == expected
        decided += expected
    assert 0.1 < sum(decided) / len(decided) < 0.9  # both decisions are exercised


def test_vectorized_decisions_match_on_real_studies(sqlite_url) -> None:
    S.create_multi("mo", sqlite_url)
    S.create_single_with_cost("single", sqlite_url)
    checked = 0
    for name in ("mo", "single"):
        data = load_study(name, sqlite_url)
        for cost in ("flops", "params"):
            front = pareto_front(evidence_of(data).configs, [(data.metric, data.mode), (cost, "min")],
                                 objective=data.metric)
            for maximize in (True, False):
                assert _dominated_beyond_noise(front, maximize) == _pairwise(front, maximize)
            info = _get_cost_info(data, cost)  # the figure's points: on the front or within noise
            expected = {p.config.key: p.on_front or not d
                        for p, d in zip(front, _pairwise(front, data.maximize), strict=True)}
            assert {p.key: p.noise_front for p in info.points} == expected
            checked += len(front)
    assert checked > 10
