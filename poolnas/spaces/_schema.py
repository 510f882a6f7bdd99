"""The space file's schema (README.md, "Using it"): sweep settings and distributions.

A space file is a partial trial config (``base``) plus ``space``: dotted paths into the
trial config mapped to distributions, plus the sweep's own settings. A distribution is
a mapping with exactly one of these kinds:

- ``choice: [v, ...]``: categorical; values may be lists (e.g. stage subsets) or mappings.
- ``grid: [v, ...]``: like choice, for ``sampler: grid`` only (the grid's axes).
- ``float: [lo, hi]`` with ``log: true`` or ``step: s``; ``int: [lo, hi]`` likewise.
- ``value: v``: a fixed value (a bare scalar or list in ``space`` is the same).

and optionally ``when: {dotted.path: [values]}`` (sampled only where every listed
parameter took one of the listed values) and, on choice/grid, ``link: {dotted.path:
[one value per choice]}`` (other config fields set with the chosen value, e.g. the
learning rate scaled with the batch size in BA2M Fig. 5).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from poolnas.config import COST_METRICS, METRICS, TrialConfig

__all__ = [
    "DIST_KINDS",
    "Distribution",
    "OBJECTIVE_METRICS",
    "Objective",
    "Repeats",
    "Resources",
    "SAMPLERS",
    "Scheduler",
    "SpaceFile",
    "space_json_schema",
]

SAMPLERS = ("grid", "tpe", "random", "cmaes", "bruteforce", "nsga2")
# What a trial can be judged by: its metrics and its cost (docs/trainers.md, "Cost").
OBJECTIVE_METRICS = METRICS + COST_METRICS
DIST_KINDS = ("choice", "grid", "float", "int", "value")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class Objective(_Strict):
    metric: Literal[OBJECTIVE_METRICS] = "test_acc"  # type: ignore[valid-type]
    mode: Literal["max", "min"] = "max"


MAX_REPEATS = 1000  # seeds per configuration (repeats, repeats.max, seeds:)
MIN_CPU = 0.01  # resources.cpu: at most 100 trials per CPU (1e-6 allowed 2,000,000 at once)


class Repeats(_Strict):
    """``repeats: {min: 2, max: 10, racing: true}``: adaptive seeds (poolnas.evidence.racing).

    Every configuration runs ``min`` seeds; with ``racing`` further seeds (up to ``max``) go
    only to configurations still within noise of the best. Without ``racing`` every
    configuration runs ``max`` seeds."""

    min: int = Field(..., ge=1, le=MAX_REPEATS)
    max: int = Field(..., ge=1, le=MAX_REPEATS)
    racing: bool = True

    @model_validator(mode="after")
    def _ordered(self) -> Repeats:
        if self.min > self.max:
            raise ValueError(f"min {self.min} is above max {self.max}; expected min <= max")
        return self


class Scheduler(_Strict):
    type: Literal["asha", "fifo"] = "fifo"
    grace_period: int = Field(1, ge=1)  # epochs before ASHA may stop a trial
    max_t: int | None = Field(None, ge=1)  # default: trainer.epochs
    reduction_factor: float = Field(2.0, gt=1.0)


class Resources(_Strict):
    cpu: float = Field(1.0, ge=MIN_CPU, le=1024, allow_inf_nan=False,
                       description=f"CPUs per trial, at least {MIN_CPU} "
                                   f"(at most 1/{MIN_CPU:g} trials per CPU)")
    gpu: float = Field(0.0, ge=0.0, le=64, allow_inf_nan=False)  # fractional: 0.25 = four trials per GPU


class Distribution(_Strict):
    """One entry of ``space``: exactly one of choice, grid, float, int, value."""

    choice: list[Any] | None = Field(None, min_length=1)
    grid: list[Any] | None = Field(None, min_length=1)
    float_: list[float] | None = Field(None, alias="float", min_length=2, max_length=2)
    int_: list[int] | None = Field(None, alias="int", min_length=2, max_length=2)
    value: Any = None
    log: bool = False
    step: float | None = Field(None, gt=0)
    when: dict[str, list[Any]] | None = None
    link: dict[str, list[Any]] | None = None

    @model_validator(mode="after")
    def _one_kind(self) -> Distribution:
        kinds = self.kinds()
        if len(kinds) != 1:
            got = ", ".join(kinds) or "none; a fixed mapping is written {value: {...}}"
            raise ValueError(f"expected exactly one of {', '.join(DIST_KINDS)} (got {got})")
        return self

    def kinds(self) -> list[str]:
        alias = {"float_": "float", "int_": "int"}
        return [alias.get(n, n) for n in ("choice", "grid", "float_", "int_", "value")
                if n in self.model_fields_set]

    @property
    def kind(self) -> str:
        return self.kinds()[0]


class SpaceFile(_Strict):
    """A space file as written (after ``extends:`` is resolved)."""

    extends: str | None = Field(None, description="a preset name or a space file to start from")
    study: str = Field(..., min_length=1, pattern=r"^[A-Za-z0-9_.\-]+$")
    description: str | None = None
    objective: Objective | list[Objective] = Field(
        default_factory=Objective, description="one objective, or a list: a multi-objective study")
    sampler: Literal[SAMPLERS] = "tpe"  # type: ignore[valid-type]
    trials: int | None = Field(None, ge=1,
                               description="configurations to sample; grid: default the whole grid")
    repeats: Annotated[int, Field(ge=1, le=MAX_REPEATS)] | Repeats = Field(
        1, description="seeds per configuration, or {min, max, racing}")
    seeds: list[int] | None = Field(None, min_length=1, max_length=MAX_REPEATS,
                                    description="explicit seeds (default 0..repeats-1)")
    baseline: dict[str, Any] | None = Field(
        None,
        description="partial config every configuration is compared with, e.g. {attention.pooling: gap}")
    margin: Annotated[float, Field(gt=0, allow_inf_nan=False)] | None = Field(
        None, description="equivalence margin in the objective's units (0.01: 1 point of accuracy): a "
        "comparison whose simultaneous interval lies inside ±margin is 'equivalent'")
    looks: list[Annotated[int, Field(ge=1, le=MAX_REPEATS)]] | None = Field(
        None, min_length=2, max_length=MAX_REPEATS,
        description="planned looks of a staged design: the seed counts per configuration (over this "
        "study and those pooled with it) at which verdicts are read, e.g. [12, 24]; the family's α is "
        "split over them (half at the last, half over the earlier ones)")
    scheduler: Scheduler = Field(default_factory=Scheduler)
    resources: Resources = Field(default_factory=Resources)
    base: dict[str, Any] = Field(default_factory=dict, description="fixed part of the trial config")
    space: dict[str, Any] = Field(default_factory=dict, description="dotted config path -> distribution")


def space_json_schema() -> dict[str, Any]:
    """JSON Schema of space files, for editors (``poolnas space schema``)."""
    schema = SpaceFile.model_json_schema(by_alias=True)
    defs = schema.setdefault("$defs", {})
    trial = TrialConfig.model_json_schema(by_alias=True)
    defs.update(trial.pop("$defs", {}))
    defs["TrialConfig"] = trial
    dist = Distribution.model_json_schema(by_alias=True)
    defs.update(dist.pop("$defs", {}))
    defs["Distribution"] = dist
    props = schema["properties"]
    props["base"] = {"$ref": "#/$defs/TrialConfig", "description": props["base"].get("description", "")}
    props["space"] = {
        "type": "object",
        "description": props["space"].get("description", ""),
        "additionalProperties": {"anyOf": [{"$ref": "#/$defs/Distribution"}, {"not": {"type": "object"}}]},
    }
    schema["title"] = "poolnas space file"
    return schema
