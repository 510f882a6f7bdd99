"""Adaptive seeds (racing): which configuration gets the next seed.

``repeats: {min: 2, max: 10, racing: true}`` in a space file. Every configuration first runs
``min`` seeds. After that a seed goes only to a configuration whose difference from the
current best (paired over shared seeds, else Welch: :func:`poolnas.evidence.difference`)
still has a 95% interval that includes 0, until the interval excludes 0 (it is separated)
or the configuration has ``max`` seeds. The best itself gets a seed whenever a rival is
still within noise of it (in the race or at ``max``), so that pairs of seeds stay available
to compare on and it ends with as many seeds as its closest rivals. The baseline, when
given, runs on with the best (a seed whenever it has fewer than the best), so that every
verdict against it has as many pairs as the race gave the best; and the best runs on (with
the baseline) until its own verdict against the baseline is in at the level the verdict uses,
or ``max`` seeds: a clear winner separated from every rival at 3 seeds would otherwise end
with too few pairs for a verdict that spends α over the race's looks. When the best *is* the
baseline, a rival separated from it is held to the same rule: it runs on until its verdict
against the baseline is in at that level (or ``max``), since separation at one pair's 95 % is
not yet the family's "worse" (SPEM's α race stopped its rivals at 2 seeds, every verdict
"within noise" at a 19-point gap). One seed at a time per
configuration: the next decision waits for that run's result.

These per-pair intervals only decide where seeds go (simultaneous ones, over every rival of
the best, ran 68 trials against 43 on a clear winner among 12 configurations:
benchmarks/bench_racing.py's scenario, 40 studies). The verdicts stay valid however the race
chose n: they split their error rate over the ``max - min + 1`` seed counts a race could
stop at (``looks`` in :func:`poolnas.evidence.compare`), and the best's effect is measured
on seeds it was not picked on (:func:`poolnas.evidence.best_effect`).

This is pure computation over finished runs and the runs still pending; the search driver
(``poolnas.search``) asks :func:`racing_requests` whenever a slot is free, so the state of a
race is the study's trials in the database (a resumed sweep carries on where it stopped).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from poolnas.evidence._compare import Family, _zero_width, difference, find_baseline
from poolnas.evidence._configs import Configuration, rank

__all__ = ["RacingPolicy", "RaceStatus", "race_status", "racing_requests"]


@dataclass(frozen=True)
class RacingPolicy:
    """``repeats: {min, max, racing}`` of a space file."""

    min_seeds: int
    max_seeds: int
    level: float = 0.95

    def __post_init__(self) -> None:
        if not 1 <= self.min_seeds <= self.max_seeds:
            raise ValueError(f"repeats: min {self.min_seeds} and max {self.max_seeds} are not "
                             "accepted; expected 1 <= min <= max")


@dataclass(frozen=True)
class RaceStatus:
    """Where a race stands: the configurations still in it and those out of it."""

    best: str | None  # key of the best configuration so far
    racing: tuple[str, ...]  # keys still within noise of the best with seeds to go
    separated: tuple[str, ...]  # keys whose interval excludes the best
    capped: tuple[str, ...]  # keys that reached max seeds while still within noise


def _in_race(conf: Configuration, best: Configuration, policy: RacingPolicy) -> bool:
    """Within noise of the best (or too few runs to tell), at ``policy.level`` per pair. An
    interval of zero width (the same difference on every shared seed, as accuracies on a small
    test set move in steps) measures no spread yet: it keeps the configuration in the race
    until ``max`` seeds."""
    iv = difference(conf, best, policy.level)
    if iv.low is None or iv.high is None:
        return True
    if _zero_width(iv):  # equal differences up to rounding
        return True
    return iv.low <= 0.0 <= iv.high


def race_status(configs: Sequence[Configuration], policy: RacingPolicy, mode: str,
                pending: Mapping[str, int] | None = None) -> RaceStatus:
    """Classify every configuration that has finished its ``min`` seeds.

    Args:
        configs: the study's configurations (finished runs only).
        policy: min / max seeds.
        mode: "max" or "min".
        pending: runs started but not finished, per configuration key.
    """
    pending = pending or {}
    ready = [c for c in configs if c.n >= policy.min_seeds]
    if not ready:
        return RaceStatus(None, (), (), ())
    best = rank(ready, mode)[0]
    racing, separated, capped = [], [], []
    for conf in ready:
        if conf is best:
            continue
        if not _in_race(conf, best, policy):
            separated.append(conf.key)
        elif conf.n + pending.get(conf.key, 0) >= policy.max_seeds:
            capped.append(conf.key)
        else:
            racing.append(conf.key)
    return RaceStatus(best.key, tuple(racing), tuple(separated), tuple(capped))


def _next_seed(conf: Configuration, seeds: Sequence[int], taken: set[int]) -> int | None:
    done = set(s for s in conf.seeds if s is not None) | taken
    for seed in seeds:
        if seed not in done:
            return seed
    return None


def racing_requests(configs: Sequence[Configuration], policy: RacingPolicy, mode: str,
                    seeds: Sequence[int], pending: Mapping[str, set[int]] | None = None,
                    exclude: Mapping[str, set[int]] | None = None,
                    baseline: Mapping[str, Any] | Configuration | None = None) -> list[tuple[str, int]]:
    """The runs to start now, as (configuration key, seed), the best's first.

    Only configurations that finished their ``min`` seeds race; filling those first
    ``min`` seeds is the sampler's job. A configuration with a run pending gets no second
    one until that result is in. An empty list with nothing pending means the race is over.

    Args:
        configs: the study's configurations (finished runs only).
        policy: min / max seeds.
        mode: "max" or "min".
        seeds: seed values in the order they are handed out (``len(seeds) >= max``).
        pending: seeds started but not finished, per configuration key.
        exclude: seeds never to hand out again, per configuration key (they failed).
        baseline: the study's baseline (a partial config, or the configuration): it gets a
            seed whenever it has fewer seeds (run or pending) than the best.
    """
    pending = pending or {}
    exclude = exclude or {}
    counts = {k: len(v) for k, v in pending.items()}
    status = race_status(configs, policy, mode, counts)
    # the best runs on while any rival is within noise (racing, or capped at max seeds), so
    # that it ends with as many seeds as those it could not be told apart from
    if status.best is None:
        return []
    by_key = {c.key: c for c in configs}
    out: list[tuple[str, int]] = []
    base = _baseline_key(configs, baseline, mode, policy)
    # when the best is the baseline, "separated from the best" is a verdict against the baseline
    # at one pair's level only: such a rival runs on (with the baseline) until its verdict is in
    # at the family's level, or max seeds (else a race stops it at ``min`` seeds "within noise")
    unsettled = tuple(k for k in status.separated if base is not None and base == status.best
                      and not _decided(by_key[k], by_key[base], len(configs) - 1, policy))
    racing = (*status.racing, *unsettled)
    keys: tuple[str, ...] = (status.best, *racing) if (racing or status.capped) else ()
    if base is not None and base != status.best and status.best not in keys and not _decided(
            by_key[status.best], by_key[base], len(configs) - 1, policy):
        keys = (status.best,)  # the best runs on until its verdict against the baseline is in
    for key in keys:
        conf = by_key[key]
        taken = set(pending.get(key, set()))
        if taken or conf.n >= policy.max_seeds:
            continue
        seed = _next_seed(conf, seeds, taken | set(exclude.get(key, set())))
        if seed is not None:
            out.append((key, seed))
    if base is not None and base != status.best and not pending.get(base) and base not in dict(out):
        best = by_key[status.best]
        best_runs = best.n + len(pending.get(best.key, set())) + sum(1 for k, _ in out if k == best.key)
        if by_key[base].n < min(best_runs, policy.max_seeds):
            seed = _next_seed(by_key[base], seeds, set(exclude.get(base, set())))
            if seed is not None:
                out.append((base, seed))
    return out


def _decided(conf: Configuration, base: Configuration, rivals: int, policy: RacingPolicy) -> bool:
    """Whether a configuration's verdict against the baseline is in: "better" or "worse" at the
    level the verdict will use (:class:`poolnas.evidence.Family` of a race), or max seeds reached."""
    if conf.n >= policy.max_seeds:
        return True
    fam = Family(max(rivals, 1), policy.max_seeds - policy.min_seeds + 1, policy.level, policy.max_seeds)
    iv = difference(conf, base, 1.0 - fam.alpha_at(difference(conf, base).n_pairs))
    if iv.low is None or iv.high is None or _zero_width(iv):
        return False
    return iv.low > 0 or iv.high < 0


def _baseline_key(configs: Sequence[Configuration], baseline: Mapping[str, Any] | Configuration | None,
                  mode: str, policy: RacingPolicy) -> str | None:
    if baseline is None:
        return None
    base, _ = find_baseline(configs, baseline, mode)
    return base.key if base is not None and base.n >= policy.min_seeds else None
