"""``Space``: a validated space file and its bridge to Optuna and Ray Tune.

Parameters and seeds as Optuna sees them (the contract with ``poolnas.search``):

- Trial params are the dotted ``space`` keys, plus ``seed`` when there is more than one
  seed. Values that Optuna cannot store (lists such as stage subsets, mappings) travel
  as their JSON text (``"[1, 2]"``); ``Param.decode`` / ``to_trial_config`` turn them back.
- ``define_by_run(trial)`` samples only the parameters whose ``when:`` holds, parents
  first, and returns the fixed values of ``space`` (constants for Ray Tune), or None.
- ``to_trial_config(params, seed)`` merges ``base``, the params, their ``link:`` fields
  and the seed, and validates the result (pydantic, then ``poolnas.models``' checks).
- ``grid()`` expands every finite parameter respecting ``when:`` (a parameter that does
  not apply does not multiply the grid); ``grid_cells()`` crosses it with ``seeds()``.
  ``sampler: grid`` runs through ``poolnas.spaces.GridPointSampler`` (see _sampler.py).
"""

from __future__ import annotations

import copy
import itertools
from collections import Counter
from collections.abc import Callable
from functools import cached_property
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from poolnas.config import TrialConfig, config_from_dict, format_validation_error
from poolnas.errors import ConfigError, closest
from poolnas.models.placement import check_model_config
from poolnas.records import check_study_name, flatten_partial
from poolnas.spaces._load import load_document
from poolnas.spaces._params import Param, label_of
from poolnas.spaces._paths import config_paths, get_path, is_section, set_path
from poolnas.spaces._schema import DIST_KINDS, Distribution, SpaceFile

__all__ = ["MAX_GRID_CELLS", "Space", "asha_max_t", "check_grid_size", "grid_size", "load_space",
           "max_epochs", "space_from_dict"]

_DIST_KEYS = (*DIST_KINDS, "log", "step", "when", "link")
_FINITE_SAMPLERS = ("grid", "bruteforce")
_MODEL_CHECK_LIMIT = 512  # combinations checked against the architecture before sampling them
# The most configurations a finite space (sampler grid or bruteforce) may have: counted before
# any is built (``grid_size``); a grid is walked in memory, and 100,000 trainings are years.
MAX_GRID_CELLS = 100_000


def _check_model(config: TrialConfig) -> None:
    """poolnas.models' cheap cross-section checks (stages the arch has, double branch, ...)."""
    check_model_config(config)


class Space:
    """A validated space file. Build with ``load_space`` or ``space_from_dict``."""

    def __init__(self, spec: SpaceFile, params: list[Param], *, document: dict[str, Any],
                 source: str | None = None):
        self.spec = spec
        self.study: str = spec.study
        # A list of objectives makes a multi-objective study; the first one leads (ASHA,
        # racing, "best", the figures).
        self.objectives = list(spec.objective) if isinstance(spec.objective, list) else [spec.objective]
        self.objective = self.objectives[0]
        self.sampler: str = spec.sampler
        self.trials: int | None = spec.trials
        rep = spec.repeats
        most = rep if isinstance(rep, int) else rep.max
        self.repeats: int = len(spec.seeds) if spec.seeds else most
        # (min, max) seeds when seeds race (repeats: {min, max, racing: true}), else None.
        self.racing: tuple[int, int] | None = (
            (rep.min, self.repeats) if not isinstance(rep, int) and rep.racing else None)
        self.scheduler = spec.scheduler
        self.resources = spec.resources
        self.base: dict[str, Any] = spec.base
        self.space: dict[str, Any] = spec.space
        self.params: list[Param] = params  # parents before children (when:)
        self._by_name = {p.name: p for p in params}
        self.document = document  # the merged space document (for the study's attributes)
        self.source = source

    # ----- the sweep -----------------------------------------------------------------
    def seeds(self) -> list[int]:
        """Seeds of the repeats: ``seeds:`` if given, else 0 .. repeats-1 (racing: 0 .. max-1)."""
        return list(self.spec.seeds) if self.spec.seeds else list(range(self.repeats))

    def initial_seeds(self) -> list[int]:
        """The seeds every configuration runs: all of them, or the first ``min`` when racing."""
        seeds = self.seeds()
        return seeds[: self.racing[0]] if self.racing else seeds

    @property
    def multi_objective(self) -> bool:
        return len(self.objectives) > 1

    @property
    def searched(self) -> list[Param]:
        return [p for p in self.params if not p.fixed]

    def max_epochs(self) -> int:
        """The most epochs a trial trains (the largest searched ``trainer.epochs``, else the
        base's, else the trainer's default)."""
        return max_epochs(self.spec, self.params)

    def asha_max_t(self) -> int:
        """ASHA's ``max_t``: ``scheduler.max_t``, else :meth:`max_epochs`."""
        return asha_max_t(self.spec, self.params)

    def is_finite(self) -> bool:
        return all(p.enumerable for p in self.params)

    def num_configs(self) -> int:
        """Configurations a sweep runs: ``trials``, else (grid, bruteforce) the whole grid."""
        if self.trials is not None:
            return self.trials if not self.is_finite() else min(self.trials, self.grid_size())
        return self.grid_size()

    def grid_size(self, limit: int | None = None) -> int:
        """Configurations of the finite space (``when:`` respected), counted without building
        any: the parameters other ones depend on are walked, the others multiply. Above
        ``limit`` it stops counting and returns a number over the limit."""
        return grid_size(self.params, limit)

    def num_runs(self) -> int:
        """Trainings a sweep runs: configurations × seeds."""
        return self.num_configs() * len(self.seeds())

    # ----- Optuna / Ray Tune -----------------------------------------------------------
    def define_by_run(self, trial: Any) -> dict[str, Any] | None:
        """Sample the applicable parameters on ``trial`` (an ``optuna.Trial`` or Ray Tune's
        wrapper of one); returns the fixed values of ``space`` (Ray Tune merges them into
        the trial's config) or None."""
        chosen: dict[str, Any] = {}
        constants: dict[str, Any] = {}
        for p in self.params:
            if not p.applies(chosen):
                continue
            chosen[p.name] = p.suggest(trial)
            if p.fixed:
                constants[p.name] = p.values[0]
        seeds = self.seeds()
        if len(seeds) > 1:
            trial.suggest_categorical("seed", seeds)
        return constants or None

    def decode(self, params: dict[str, Any]) -> dict[str, Any]:
        """Trial params (labels, dotted keys, maybe ``seed``) -> applicable values by key."""
        unknown = [k for k in params if k not in self._by_name and k != "seed"]
        if unknown:
            raise ConfigError(f"params.{unknown[0]}", params[unknown[0]],
                              "not a parameter of this space" + closest(unknown[0], self._by_name))
        chosen: dict[str, Any] = {}
        for p in self.params:
            if not p.applies(chosen):
                continue
            if p.fixed:
                chosen[p.name] = p.values[0]
                continue
            if p.name not in params:
                raise ConfigError(f"params.{p.name}", None,
                                  "missing: the parameter applies to this configuration")
            try:
                chosen[p.name] = p.decode(params[p.name])
            except KeyError:
                raise ConfigError(f"params.{p.name}", params[p.name],
                                  f"expected one of {p.values}") from None
        return chosen

    def to_trial_config(self, params: dict[str, Any], seed: int | None = None) -> TrialConfig:
        """``base`` + the params (+ their ``link:`` fields) + the seed, validated.

        Args:
            params: dotted keys -> values, as in ``trial.params`` or an item of ``grid()``;
                a ``seed`` key is used when ``seed`` is None.
            seed: the trial's seed (default: ``params['seed']``, else the first seed).
        """
        if seed is None:
            seed = params.get("seed", self.seeds()[0])
        doc = _doc_with(self.base, self.decode(params), self._by_name)
        doc["seed"] = seed
        config = config_from_dict(doc, where=self.source)
        _check_model(config)
        return config

    def grid(self) -> list[dict[str, Any]]:
        """Every configuration of a finite space (values, not labels), ``when:`` respected.

        Raises:
            ConfigError: a ``float`` range without ``step`` (no finite grid).
        """
        return [dict(pt) for pt in self._points]

    @cached_property
    def _points(self) -> list[dict[str, Any]]:
        """The grid, expanded once (``grid()`` hands out copies); refused above MAX_GRID_CELLS."""
        for p in self.params:
            if not p.enumerable:
                raise ConfigError(f"space.{p.name}", {"float": [p.low, p.high]},
                                  "a finite grid needs choice, grid, int or float with step")
        check_grid_size(self.params)
        return _expand(self.params, lambda p: p.enumerate())

    def grid_cells(self) -> list[tuple[int, dict[str, Any], int]]:
        """(grid point index, params as Optuna labels, seed) for every run of a finite space,
        seed-major: every point with the first seed, then every point with the next.
        With ``trials`` set, only the first ``trials`` grid points (``num_configs()``).
        Racing: the first ``min`` seeds only; the race adds the others."""
        points = [{k: label_of(v) for k, v in pt.items()} for pt in self._points[: self.num_configs()]]
        return [(i, pt, s) for s in self.initial_seeds() for i, pt in enumerate(points)]


def grid_size(params: list[Param], limit: int | None = None) -> int:
    """See :meth:`Space.grid_size`."""
    parents = {name for p in params for name in p.when}
    states: Counter[tuple[tuple[str, Any], ...]] = Counter({(): 1})
    for p in params:
        count = p.count()
        nxt: Counter[tuple[tuple[str, Any], ...]] = Counter()
        for state, n in states.items():
            if not p.applies(dict(state)):
                nxt[state] += n
            elif p.name in parents and (limit is None or count <= limit):
                for v in p.enumerate():
                    nxt[(*state, (p.name, label_of(v)))] += n
            else:
                nxt[state] += n * count
        states = nxt
        total = sum(states.values())
        if limit is not None and total > limit:
            return total
    return sum(states.values())


def check_grid_size(params: list[Param], where: str | None = None) -> int:
    """The grid's size; ConfigError (one line) above MAX_GRID_CELLS, naming the axes."""
    size = grid_size(params, MAX_GRID_CELLS)
    if size > MAX_GRID_CELLS:
        axes = " x ".join(f"{p.name} ({p.count():,})" for p in params if p.count() > 1)
        raise ConfigError("space", f"a grid of more than {MAX_GRID_CELLS:,} configurations",
                          f"expected at most {MAX_GRID_CELLS:,} (axes: {axes}); use fewer values, a step, "
                          "or sampler tpe/random with trials", where=where)
    return size


def _expand(params: list[Param], values_of: Callable[[Param], list[Any]]) -> list[dict[str, Any]]:
    points: list[dict[str, Any]] = [{}]
    for p in params:
        nxt: list[dict[str, Any]] = []
        for pt in points:
            if p.applies(pt):
                nxt.extend({**pt, p.name: v} for v in values_of(p))
            else:
                nxt.append(pt)
        points = nxt
    fixed = {p.name for p in params if p.fixed}
    return [{k: v for k, v in pt.items() if k not in fixed} for pt in points]


# ----- loading and validation ----------------------------------------------------------
def load_space(path_or_preset: str | Path) -> Space:
    """Read, merge (``extends:``) and validate a space file or a preset by name.

    Raises:
        ConfigError: one line naming the field, the value and what is accepted.
    """
    doc, path = load_document(path_or_preset)
    return space_from_dict(doc, where=str(path))


def space_from_dict(doc: dict[str, Any], *, where: str | None = None) -> Space:
    """Validate a space document (``extends:`` already applied)."""
    if not isinstance(doc, dict):
        raise ConfigError("(document)", type(doc).__name__, "expected a mapping", where=where)
    try:
        spec = SpaceFile.model_validate(doc)
    except ValidationError as err:
        raise format_validation_error(err, SpaceFile, where=where) from None
    try:
        check_study_name(spec.study)  # the one rule (poolnas.records), as for --study
        params = _compile(spec)
        _check_sweep(spec, params)
        _check_values(spec, params)
        _check_models(spec, params)
        _check_baseline(spec)
    except ConfigError as err:
        raise ConfigError(err.field, err.value, err.accepted, where=where) from None
    return Space(spec, params, document=doc, source=where)


def _compile(spec: SpaceFile) -> list[Param]:
    if "seed" in spec.base:
        raise ConfigError("base.seed", spec.base["seed"],
                          "seeds come from repeats or seeds: in the space file")
    try:
        TrialConfig.model_validate(spec.base)
    except ValidationError as err:
        raise format_validation_error(err, TrialConfig, prefix="base.") from None
    most = spec.repeats if isinstance(spec.repeats, int) else spec.repeats.max
    if spec.seeds and "repeats" in spec.model_fields_set and most != len(spec.seeds):
        raise ConfigError("repeats", most,
                          f"expected {len(spec.seeds)}, the number of seeds, or leave it out")
    _check_objectives(spec)
    if not isinstance(spec.repeats, int) and spec.repeats.racing and spec.sampler == "bruteforce":
        raise ConfigError("repeats", spec.repeats.model_dump(), "racing needs sampler grid, tpe, "
                          "random, cmaes or nsga2 (bruteforce enumerates every seed itself)")
    if spec.looks is not None:
        if any(b <= a for a, b in itertools.pairwise(spec.looks)):
            raise ConfigError("looks", spec.looks, "expected increasing seed counts, e.g. [12, 24]")
        if not isinstance(spec.repeats, int) and spec.repeats.racing:
            raise ConfigError("looks", spec.looks, "expected no looks: with racing repeats (a race "
                              "splits α over its own seed counts, min .. max)")
    if spec.seeds and (len(set(spec.seeds)) != len(spec.seeds) or min(spec.seeds) < 0):
        raise ConfigError("seeds", spec.seeds, "expected distinct integers >= 0")
    paths = config_paths()
    params: list[Param] = []
    for key, raw in spec.space.items():
        field = f"space.{key}"
        if key == "seed":
            raise ConfigError(field, raw, "seeds come from repeats or seeds:, not from space")
        if key not in paths:
            raise ConfigError(field, key, "not a path of the trial config" + closest(key, paths))
        params.append(_param(key, raw, spec.sampler))
    for p in params:
        _check_when(p, params)
    return _ordered(params)


def _check_objectives(spec: SpaceFile) -> None:
    """A multi-objective study: distinct metrics and a sampler Optuna can run it with."""
    if not isinstance(spec.objective, list):
        return
    if not spec.objective:
        raise ConfigError("objective", [], "expected an objective {metric, mode} or a non-empty list")
    names = [o.metric for o in spec.objective]
    if len(set(names)) != len(names):
        raise ConfigError("objective", names, "expected each metric once")
    if len(names) > 1 and spec.sampler == "cmaes":
        raise ConfigError("sampler", spec.sampler, "CMA-ES cannot run a multi-objective study; "
                          "expected tpe, nsga2, random, grid or bruteforce")


def _param(key: str, raw: Any, sampler: str) -> Param:
    field = f"space.{key}"
    if not isinstance(raw, dict):
        return Param(key, "value", [raw])
    try:
        dist = Distribution.model_validate(raw)
    except ValidationError as err:
        first = err.errors()[0]
        if first["type"] == "extra_forbidden":
            name = str(first["loc"][-1])
            raise ConfigError(f"{field}.{name}", first.get("input"), "unknown key" + closest(name, _DIST_KEYS)
                              + "; accepted: " + ", ".join(_DIST_KEYS)) from None
        raise format_validation_error(err, Distribution, prefix=f"{field}.") from None
    kind = dist.kind
    when = dict(dist.when or {})
    if dist.link and kind not in ("choice", "grid"):
        raise ConfigError(f"{field}.link", dist.link, "link goes with choice or grid values only")
    if kind in ("choice", "grid", "value"):
        for opt in ("log", "step"):
            if opt in dist.model_fields_set:
                raise ConfigError(f"{field}.{opt}", getattr(dist, opt),
                                  f"{opt} applies to float and int ranges, not {kind}")
    if kind == "grid" and sampler != "grid":
        raise ConfigError(f"{field}.grid", dist.grid,
                          f"grid values need sampler: grid (this space has {sampler!r}); use choice")
    if kind == "value":
        return Param(key, "value", [dist.value], when=when)
    if kind in ("choice", "grid"):
        values = list(dist.choice if kind == "choice" else dist.grid)  # type: ignore[arg-type]
        labels = [label_of(v) for v in values]
        if len(set(map(repr, labels))) != len(labels):
            raise ConfigError(f"{field}.{kind}", values, "expected distinct values")
        link = dict(dist.link or {})
        for path, linked in link.items():
            if len(linked) != len(values):
                raise ConfigError(f"{field}.link.{path}", linked,
                                  f"expected {len(values)} values, one per {kind} value")
        return Param(key, kind, values, when=when, link=link)
    low, high = (dist.float_ if kind == "float" else dist.int_)  # type: ignore[misc]
    rng = [low, high]
    if low > high:
        raise ConfigError(f"{field}.{kind}", rng, "expected [low, high] with low <= high")
    if dist.log and dist.step is not None:
        raise ConfigError(f"{field}.step", dist.step, "log and step exclude each other")
    if dist.log and low <= 0:
        raise ConfigError(f"{field}.{kind}", rng, "a log range needs low > 0")
    if kind == "int" and dist.step is not None and dist.step != int(dist.step):
        raise ConfigError(f"{field}.step", dist.step, "expected an integer step for an int range")
    if kind == "float" and sampler in _FINITE_SAMPLERS and dist.step is None:
        raise ConfigError(f"{field}.float", rng,
                          f"sampler {sampler} needs finite values: add step, or use grid/choice")
    return Param(key, kind, [], low=low, high=high, log=dist.log, step=dist.step, when=when)


def _check_when(p: Param, params: list[Param]) -> None:
    by_name = {q.name: q for q in params}
    for parent, accepted in p.when.items():
        field = f"space.{p.name}.when.{parent}"
        if parent == p.name:
            raise ConfigError(field, parent, "a parameter cannot depend on itself")
        if parent not in by_name:
            raise ConfigError(field, parent, "expected a parameter of this space" + closest(parent, by_name)
                              + (f" ({', '.join(by_name)})" if by_name else ""))
        q = by_name[parent]
        if not accepted:
            raise ConfigError(field, accepted, "expected a non-empty list of values")
        if q.enumerable:
            possible = [label_of(v) for v in q.enumerate()]
            for value in accepted:
                if label_of(value) not in possible:
                    raise ConfigError(field, value,
                                      f"{parent} never takes this value; it takes {q.enumerate()}")


def _ordered(params: list[Param]) -> list[Param]:
    """Parents before children (file order otherwise); a cycle of when: is an error."""
    done: list[Param] = []
    names: set[str] = set()
    pending = list(params)
    while pending:
        ready = [p for p in pending if all(parent in names for parent in p.when)]
        if not ready:
            p = pending[0]
            raise ConfigError(f"space.{p.name}.when", p.when, "expected no cycle of when: between parameters")
        for p in ready:
            done.append(p)
            names.add(p.name)
            pending.remove(p)
    return done


def _check_sweep(spec: SpaceFile, params: list[Param]) -> None:
    finite = all(p.enumerable for p in params)
    if spec.sampler in _FINITE_SAMPLERS and finite:
        check_grid_size(params)  # counted, never built
    if spec.trials is None and not (spec.sampler in _FINITE_SAMPLERS and finite):
        raise ConfigError("trials", None, f"expected a number of trials for sampler {spec.sampler}")
    sched = spec.scheduler
    max_t = asha_max_t(spec, params)
    if sched.type == "asha" and sched.grace_period > max_t:
        raise ConfigError("scheduler.grace_period", sched.grace_period,
                          f"expected at most max_t ({max_t} epochs)")
    test_every = get_path(spec.base, "trainer.test_every", "epoch")
    objs = spec.objective if isinstance(spec.objective, list) else [spec.objective]
    metrics = {o.metric for o in objs}
    if sched.type == "asha" and test_every == "end" and "test_acc" in metrics:
        # ASHA stops trials on the epochs' values: with the test set read only at the end
        # there is no test_acc to stop on
        raise ConfigError("base.trainer.test_every", "end",
                          "expected epoch with scheduler asha on a test_acc objective (or scheduler fifo)")


def max_epochs(spec: SpaceFile, params: list[Param]) -> int:
    """The most epochs a trial of the space trains: the largest value of a searched
    ``trainer.epochs``, else the base's ``trainer.epochs``, else the trainer's default."""
    searched = [p for p in params if p.name == "trainer.epochs"]
    if searched:
        return int(max(int(v) for v in searched[0].representatives()))
    return int(get_path(spec.base, "trainer.epochs", TrialConfig().trainer.epochs))


def asha_max_t(spec: SpaceFile, params: list[Param]) -> int:
    """ASHA's ``max_t`` (epochs): ``scheduler.max_t``, else :func:`max_epochs`. The one rule
    for both the space's validation (grace_period <= max_t) and the sweep's scheduler."""
    return int(spec.scheduler.max_t or max_epochs(spec, params))


def _doc_with(base: dict[str, Any], items: dict[str, Any], by_name: dict[str, Param]) -> dict[str, Any]:
    doc = copy.deepcopy(base)
    for name, value in items.items():
        set_path(doc, name, value)
        if name in by_name and by_name[name].categorical:
            for path, linked in by_name[name].linked(value).items():
                set_path(doc, path, linked)
    return doc


def _check_values(spec: SpaceFile, params: list[Param]) -> None:
    """Every value a parameter can take (a range's both ends) fits the trial config schema."""
    by_name = {p.name: p for p in params}
    paths = config_paths()
    for p in params:
        for path in p.link:
            if path not in paths:
                raise ConfigError(f"space.{p.name}.link.{path}", path,
                                  "not a path of the trial config" + closest(path, paths))
            if path in by_name:
                raise ConfigError(f"space.{p.name}.link.{path}", path, "is a parameter of the space already")
        if is_section(p.name) and not all(isinstance(v, dict) for v in p.representatives()):
            raise ConfigError(f"space.{p.name}", p.representatives(),
                              "a section takes mappings of its fields")
        for value in p.representatives():
            try:
                TrialConfig.model_validate(_doc_with(spec.base, {p.name: value}, by_name))
            except ValidationError as err:
                inner = format_validation_error(err, TrialConfig)
                shown: Any = value if p.kind != "float" and p.kind != "int" else [p.low, p.high]
                what = "every value" if p.kind in ("choice", "grid") else "both ends of the range"
                raise ConfigError(f"space.{p.name}", shown, f"{inner.field}: {inner.accepted} "
                                  f"({what} must be valid; {value!r} is not)") from None


def _check_models(spec: SpaceFile, params: list[Param]) -> None:
    """The architecture's own checks on bounding combinations (all, or one parameter at a time)."""
    by_name = {p.name: p for p in params}
    total = 1
    for p in params:
        total *= len(p.representatives())
    if total <= _MODEL_CHECK_LIMIT:
        combos = _expand(params, lambda p: p.representatives())
        fixed = {p.name: p.values[0] for p in params if p.fixed}
        combos = [{**{k: v for k, v in fixed.items() if by_name[k].applies(c)}, **c} for c in combos]
    else:
        combos = [{p.name: v} for p in params for v in p.representatives()]
    for combo in combos:
        config = TrialConfig.model_validate(_doc_with(spec.base, combo, by_name))
        try:
            _check_model(config)
        except ConfigError as err:
            culprit = _culprit(err.field, combo)
            field = f"space.{culprit}" if culprit else f"base.{err.field}"
            shown = ", ".join(f"{k}={v!r}" for k, v in combo.items())
            where = f" (with {shown})" if culprit else ""
            raise ConfigError(field, err.value, f"{err.accepted}{where}") from None


def _check_baseline(spec: SpaceFile) -> None:
    """``baseline:`` (issue 13) names trial-config paths with values the config accepts."""
    if spec.baseline is None:
        return
    flat = flatten_partial(spec.baseline)
    if not flat:
        raise ConfigError("baseline", spec.baseline,
                          "expected a partial config, e.g. {attention.pooling: gap}")
    paths = config_paths()
    for key in flat:
        if key == "seed":
            raise ConfigError("baseline.seed", flat[key],
                              "a baseline is compared over every seed; leave seed out")
        if key not in paths:
            raise ConfigError(f"baseline.{key}", key, "not a path of the trial config" + closest(key, paths))
    doc = {k: list(v) if isinstance(v, tuple) else v for k, v in flat.items()}
    try:
        TrialConfig.model_validate(_doc_with(spec.base, doc, {}))
    except ValidationError as err:
        inner = format_validation_error(err, TrialConfig)
        raise ConfigError(f"baseline.{inner.field}", inner.value, inner.accepted) from None


def _culprit(field: str, combo: dict[str, Any]) -> str | None:
    """The searched parameter an architecture error is about (itself, a parent or a child path)."""
    for name in combo:
        if field == name or field.startswith(name + ".") or name.startswith(field + "."):
            return name
    return "model.arch" if "model.arch" in combo else None

