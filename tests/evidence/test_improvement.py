"""P(A > B) from per-example test bits: the point estimate by brute force, the bootstrap
interval around it, and nothing without bits."""

from __future__ import annotations

import random

import torch

from poolnas.evidence import Configuration
from poolnas.evidence.improvement import probability_of_improvement
from poolnas.records import TrialAttrs
from poolnas.trainers.metrics import pack_correct


def conf(key: str, accs: list[float], n: int, rng: random.Random) -> Configuration:
    attrs = []
    for acc in accs:
        bits = torch.tensor([rng.random() < acc for _ in range(n)])
        attrs.append({TrialAttrs.TEST_CORRECT: pack_correct([bits[: n // 2], bits[n // 2:]])})
    values = list(accs)
    return Configuration(key=key, params={}, config={}, seeds=list(range(len(accs))), values=values,
                         trials=list(range(len(accs))), user_attrs=attrs)


def test_point_estimate_is_the_mann_whitney_fraction_and_the_interval_covers_it():
    rng = random.Random(0)
    a = conf("a", [0.80, 0.82, 0.79, 0.81], 400, rng)
    b = conf("b", [0.78, 0.80, 0.77, 0.80], 400, rng)
    res = probability_of_improvement(a, b, boots=300)
    assert res is not None and res.examples == 400 and res.runs_a == res.runs_b == 4
    from poolnas.evidence.improvement import run_bits

    sa = [sum(x) / 400 for x in run_bits(a)]
    sb = [sum(x) / 400 for x in run_bits(b)]
    brute = sum((x > y) + 0.5 * (x == y) for x in sa for y in sb) / 16
    assert res.p == brute
    assert 0.0 <= res.low <= res.p <= res.high <= 1.0 and res.high - res.low > 0.05
    # swapping A and B mirrors the estimate
    assert probability_of_improvement(b, a, boots=10).p == 1.0 - res.p


def test_no_bits_no_estimate():
    plain = Configuration(key="x", params={}, config={}, seeds=[0], values=[0.5], trials=[0], user_attrs=[{}])
    rng = random.Random(1)
    assert probability_of_improvement(plain, conf("a", [0.8], 10, rng)) is None
