"""The trial config: one trained network (docs/trainers.md, docs/models.md).

Every trial, every exported best configuration and ``poolnas train --config`` use this
one schema. Sections own their keys: ``model`` (poolnas.models), ``attention``
(poolnas.attention), ``trainer`` (poolnas.trainers). Cross-section checks that need an
architecture (stages, reduction vs. the narrowest site) live in ``poolnas.models``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator
from pydantic_core import ErrorDetails

from poolnas.errors import ConfigError, closest, one_line

__all__ = [
    "ARCHITECTURES",
    "ArchName",
    "DEFAULT_RECIPE",
    "RECIPES",
    "Recipe",
    "AttentionConfig",
    "BamConfig",
    "BatchAttentionConfig",
    "ModelConfig",
    "PlacementConfig",
    "TrainerConfig",
    "TrialConfig",
    "config_from_dict",
    "format_validation_error",
    "load_config_file",
    "load_trial_config",
    "dump_trial_config",
    "match_arch",
]

POOLINGS = ("gap", "max", "min", "mix", "avgmax", "score", "srp-ss", "srp-ms", "gem", "std", "style", "none")
# se: SENet; spem: SPEM; eca: ECA-Net; srm: SRM's channel-wise FC + BN; ge: GE-θ⁻ (no
# parameters); sge: spatial group-wise enhance (poolnas.attention, one file each).
EXCITATIONS = ("se", "spem", "eca", "srm", "ge", "sge", "none")
METRICS = ("val_acc", "test_acc", "train_loss", "epoch_time", "images_per_s")
ACCURACY_METRICS = ("val_acc", "test_acc")  # in [0, 1]; tables and figures show them in percent
# What a trial costs, kept beside its metrics (docs/trainers.md, "Cost"); objectives can name them.
COST_METRICS = ("params", "flops", "train_step_ms", "infer_ms")
# The pooling vocabulary's other names, derived from POOLINGS: the ops poolnas.attention builds,
# the poolings with SRP's scale ratio λ (Eq. 2), and the config fields that mean something for
# some poolings only (left blank elsewhere in tables and exports).
POOL_TYPES = tuple(p for p in POOLINGS if p != "none")
SRP_POOLINGS = tuple(p for p in POOLINGS if p.startswith("srp-"))
POOLING_FIELDS: dict[str, tuple[str, ...]] = {
    "attention.lam": SRP_POOLINGS,
    "attention.schedule": SRP_POOLINGS,
    "attention.M": ("srp-ms",),
    "attention.mix_alpha": ("mix",),
    "attention.paths": ("score",),
}
# SRP Sec. 4's defaults (the one place they are written): SS-SRP with λ = 0.8, MS-SRP (and
# every other pooling, where λ is unused) with λ = 0.6 and M = 5.
SRP_DEFAULT_LAM = {"srp-ss": 0.8, "srp-ms": 0.6}
SRP_DEFAULT_M = 5

# SRP's scale ratio λ (Eq. 2) lies in (0, 1]: the rule's one statement. The trial config's
# ``attention.lam`` and the attention package's public constructors and functions
# (poolnas.attention._checks.check_lam) read these bounds.
LAM_MIN_EXCLUSIVE, LAM_MAX = 0.0, 1.0
SRP_SCHEDULES = ("fixed", "linear", "epochs")  # SRP Sec. 3, "Scheduled SRP" (poolnas.attention.schedules)
SRP_REGIONS = ("shared", "per-channel")  # one SRP region per sample, or per sample and map


@dataclass(frozen=True)
class ArchName:
    """One row of the architecture registry: the names it accepts and the rule on their numbers.

    ``pattern`` is matched whole; its groups are integers (depth, width, cardinality) and
    ``rule`` says which of them name a network (a depth of 9n+2 with n >= 1, say), with
    ``rule_text`` the one line a user sees when they do not.
    """

    pattern: str
    rule: Callable[[tuple[int, ...]], bool] = lambda groups: True
    rule_text: str = ""


# The architecture registry (timm's ``_registry.py`` in small): each model.arch family once.
# The config validates names with it (match_arch) and poolnas.models._arch builds the layer
# plan of each entry (its _PLANS table has one builder per key); adding an architecture is
# one entry here and its builder there (docs/models.md).
ARCHITECTURES: dict[str, ArchName] = {
    "resnet{20,32,44,56,110}": ArchName(r"resnet(20|32|44|56|110)"),
    "preresnet{9n+2}": ArchName(
        r"preresnet(\d+)", lambda g: g[0] >= 11 and (g[0] - 2) % 9 == 0,
        "preresnet depth must be 9n+2 with n >= 1 (e.g. preresnet11, preresnet164)"),
    "wrn-{depth}-{width}": ArchName(
        r"wrn-(\d+)-(\d+)", lambda g: g[0] >= 10 and (g[0] - 4) % 6 == 0 and g[1] >= 1,
        "wrn depth must be 6n+4 with n >= 1, and the width >= 1 (e.g. wrn-16-8, wrn-28-10)"),
    "resnext29-{8,16}x64d": ArchName(r"resnext29-(8|16)x64d"),
    "resnet50": ArchName(r"resnet50"),
    "resnet50-cifar": ArchName(r"resnet50-cifar"),  # CIFAR stem: 3x3 conv, stride 1, no max-pool (BA2M)
    "resnet101-cifar": ArchName(r"resnet101-cifar"),
    "resnet164": ArchName(r"resnet164"),  # post-activation bottleneck ResNet-164 (SPEM)
    "preresnet{6n+2}-basic": ArchName(  # pre-activation basic blocks (BA2M Table I)
        r"preresnet(\d+)-basic", lambda g: g[0] >= 8 and (g[0] - 2) % 6 == 0,
        "preresnet-basic depth must be 6n+2 with n >= 1 (e.g. preresnet110-basic)"),
}


def match_arch(arch: object) -> tuple[str, tuple[int, ...]]:
    """The registry key of a ``model.arch`` name and its numbers (``wrn-28-10`` -> (28, 10)).

    Raises:
        ValueError: not a name of the registry, or its numbers break the entry's rule (the
            message is the config's one line; pydantic and poolnas.models name the field).
    """
    if not isinstance(arch, str):
        raise ValueError("expected a string such as resnet56, preresnet164, wrn-28-10")
    for name, entry in ARCHITECTURES.items():
        m = re.fullmatch(entry.pattern, arch)
        if m is None:
            continue
        groups = tuple(int(g) for g in m.groups())
        if not entry.rule(groups):
            raise ValueError(entry.rule_text)
        return name, groups
    raise ValueError("expected one of " + ", ".join(ARCHITECTURES))


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True)


class ModelConfig(_Section):
    arch: str = "resnet20"
    num_classes: int = Field(10, ge=2)
    in_channels: int = Field(3, ge=1)
    # A local state-dict file to fine-tune from (e.g. torchvision's ResNet-50); poolnas.models.
    pretrained: str | None = None
    # Bottleneck blocks' downsampling: v1.5 (torchvision: on the 3x3 conv) or v1 (He et al.
    # 2016: on the first 1x1 conv; BA2M Table I's 1.22 / 2.44 GFLOPs). poolnas.models.
    stride: Literal["v1.5", "v1"] = "v1.5"

    @field_validator("arch")
    @classmethod
    def _known_arch(cls, v: str) -> str:
        match_arch(v)
        return v


class PlacementConfig(_Section):
    # None: every stage of the architecture.
    stages: list[int] | None = None
    # SE paper's variants: residual = standard SE, pre = SE-PRE, between = SE-POST,
    # identity = SE-Identity; post-add: on the sum before the output ReLU (poolnas.models).
    position: Literal["residual", "post-add", "pre", "between", "identity"] = "residual"

    @field_validator("stages")
    @classmethod
    def _stages(cls, v: list[int] | None) -> list[int] | None:
        if v is None:
            return v
        if not v:
            raise ValueError("expected a non-empty list of stage numbers (1-based)")
        if any(s < 1 for s in v) or len(set(v)) != len(v):
            raise ValueError("expected distinct stage numbers >= 1")
        return sorted(v)


class BatchAttentionConfig(_Section):
    """BA2M: batch-aware attention between blocks."""

    enabled: bool = False
    reduction: int = Field(32, ge=1)
    stages: list[int] | None = None
    # false: off at inference (the paper, Sec. III-D); true: weights as in training;
    # sar: times the raw SAR of Eq. 9 (Sec. III-D's "multiplying with the corresponding SAR").
    in_eval: bool | Literal["sar"] = False
    # mean: weights N·softmax(A) (mean 1) within [1/max_weight, max_weight], batch-free in eval;
    # softmax: Eq. 11 as written (weights sum to 1). poolnas.attention.ba2m.
    formulation: Literal["mean", "softmax"] = "mean"
    max_weight: float = Field(1.5, gt=1.0)
    # between: after the stage's last block (Fig. 4(d)); inside: on that block's residual
    # branch before the add (Fig. 4(c), BA2M Table VII).
    position: Literal["between", "inside"] = "between"
    # The attentions Eq. 9's max runs over (BA2M Table IX: CA, LSA, GSA switched on and off).
    parts: list[Literal["channel", "local", "global"]] = Field(
        default_factory=lambda: ["channel", "local", "global"])

    _check_stages = field_validator("stages")(PlacementConfig._stages.__func__)

    @field_validator("in_eval", mode="before")
    @classmethod
    def _in_eval(cls, v: object) -> object:
        if isinstance(v, bool) or v == "sar":
            return v
        raise ValueError("expected true, false or sar")

    @field_validator("parts")
    @classmethod
    def _parts(cls, v: list[str]) -> list[str]:
        if not v or len(set(v)) != len(v):
            raise ValueError("expected a non-empty list of distinct parts: channel, local, global")
        return [p for p in ("channel", "local", "global") if p in v]


class BamConfig(_Section):
    """BAM (Park et al. 2018): a module between stages, after a stage's last block."""

    enabled: bool = False
    reduction: int = Field(16, ge=1)  # r
    dilation: int = Field(4, ge=1)  # d of the two 3x3 convs
    stages: list[int] | None = None  # None: every stage but the last (BAM's "bottlenecks")

    _check_stages = field_validator("stages")(PlacementConfig._stages.__func__)


class AttentionConfig(_Section):
    pooling: Literal[POOLINGS] = "gap"  # type: ignore[valid-type]
    # SRP scale ratio λ (Eq. 2); not given: the SRP paper's main runs, SS 0.8, MS (and
    # everything else) 0.6 (_default_lam).
    lam: float = Field(SRP_DEFAULT_LAM["srp-ms"], gt=LAM_MIN_EXCLUSIVE, le=LAM_MAX)
    M: int = Field(SRP_DEFAULT_M, ge=1)  # SRP squares (MS-SRP, Eq. 4-5)
    # linear: SRP's scheduled SRP, "used in all following experiments of SRP" (Sec. 4.2).
    schedule: Literal[SRP_SCHEDULES] = "linear"  # type: ignore[valid-type]
    region: Literal[SRP_REGIONS] = "shared"  # type: ignore[valid-type]
    excitation: Literal[EXCITATIONS] = "se"  # type: ignore[valid-type]
    # SE's FCs with biases (SENet's code); false: bias-free, W2 ReLU(W1 z) (SAAM Eq. 9).
    se_bias: bool = True
    spatial: Literal["none", "cbam"] = "none"  # cbam: CBAM's 7x7 spatial gate after the channel gate
    # SPEM Table 4: shared reweighting affine (SPEM), unshared (row a), none (without RM).
    spem_reweight: Literal["shared", "unshared", "none"] = "shared"
    branch: Literal["one", "double"] = "one"
    double_head: Literal["conv", "fc"] = "conv"  # CMPE-SE inner imaging | double FC
    reduction: int = Field(16, ge=1)
    mix_alpha: Literal["learn"] | float = "learn"
    paths: int = Field(1, ge=1)  # SAAM score paths K
    placement: PlacementConfig = Field(default_factory=PlacementConfig)
    batch_attention: BatchAttentionConfig = Field(default_factory=BatchAttentionConfig)
    bam: BamConfig = Field(default_factory=BamConfig)

    @model_validator(mode="before")
    @classmethod
    def _default_lam(cls, data: object) -> object:
        # SRP Sec. 4: SS-SRP with λ = 0.8, MS-SRP with λ = 0.6 (and M = 5).
        if isinstance(data, dict) and data.get("lam") is None:
            data = {**data, "lam": SRP_DEFAULT_LAM.get(data.get("pooling"), SRP_DEFAULT_LAM["srp-ms"])}
        return data

    @field_validator("mix_alpha")
    @classmethod
    def _alpha(cls, v: str | float) -> str | float:
        if isinstance(v, str):
            return v
        if not 0.0 <= float(v) <= 1.0:
            raise ValueError("expected 'learn' or a number in [0, 1]")
        return float(v)


@dataclass(frozen=True)
class Recipe:
    """One row of RECIPES: a paper's training hyperparameters (docs/trainers.md, "Recipes").

    ``milestones`` are 0-based epochs of the paper's ``paper_epochs`` (epochs m, m + 1, ...
    run at ``gamma`` times the rate before); poolnas.trainers.recipes puts each at the same
    fraction of the configured epochs. ``schedule: onecycle`` warms up linearly over the
    first ``warmup`` of the steps, then falls linearly to 0 (milestones and gamma unused).
    """

    lr: float
    momentum: float
    nesterov: bool  # False: plain momentum (SPEM's code, SAAM)
    weight_decay: float
    attention_weight_decay: bool  # False: no decay on attention parameters (SAAM)
    schedule: Literal["step", "onecycle"]
    paper_epochs: int
    milestones: tuple[int, ...]
    gamma: float
    warmup: float
    label_smoothing: float
    batch_size: int


# The recipes (airbench's ``hyp`` in small): every default a recipe gives, in one table.
# TrainerConfig reads it (``lr``, ``weight_decay``, ``attention_weight_decay``, ``nesterov``
# left None mean the recipe's value; ``momentum``, ``label_smoothing`` and ``batch_size`` not
# given take it at validation), poolnas.trainers.recipes resolves and schedules it, and
# build_optimizer builds SGD from the resolved values. SRP Sec. 4.1 (paper-*), SPEM's code
# (spem), SAAM Sec. IV (saam: "decays ... at the 91st and 136th epoch", 0-based 90, 135).
RECIPES: dict[str, Recipe] = {
    #                       lr   mom. nest.  wd    att.wd schedule   ep.  milestones     gamma warm ls   batch
    "paper-resnet":  Recipe(0.1, 0.9, True,  1e-4, True,  "step",    200, (100, 150),     0.1, 0.0, 0.0, 128),
    "paper-wrn":     Recipe(0.1, 0.9, True,  5e-4, True,  "step",    200, (60, 120, 160), 0.2, 0.0, 0.0, 128),
    "paper-resnext": Recipe(0.1, 0.9, True,  5e-4, True,  "step",    300, (150, 225),     0.1, 0.0, 0.0, 128),
    "spem":          Recipe(0.1, 0.9, False, 1e-4, True,  "step",    164, (81, 122),      0.1, 0.0, 0.0, 128),
    "saam":          Recipe(0.1, 0.9, False, 2e-4, False, "step",    182, (90, 135),      0.1, 0.0, 0.0, 128),
    "fast":          Recipe(0.2, 0.9, True,  5e-4, True,  "onecycle", 200, (),            0.1, 0.2, 0.0, 128),
}
DEFAULT_RECIPE = "paper-resnet"
# The TrainerConfig keys a recipe fills in when a config does not give them.
RECIPE_FILLED = ("momentum", "label_smoothing", "batch_size")


class TrainerConfig(_Section):
    # imagefolder / npz: your own data at data_dir (poolnas.trainers.datasets_custom)
    dataset: Literal["digits", "fashion-mnist", "cifar10", "cifar100", "synthetic", "imagefolder", "npz"] = (
        "digits")
    data_dir: str = "~/data"
    download: bool = False
    epochs: int = Field(200, ge=1)
    # Not given: the recipe's value (RECIPES, filled in by _recipe_values).
    batch_size: int = Field(RECIPES[DEFAULT_RECIPE].batch_size, ge=1)
    recipe: Literal[tuple(RECIPES)] = DEFAULT_RECIPE  # type: ignore[valid-type]
    optimizer: Literal["sgd", "adamw"] = "sgd"
    # None: the recipe's value (Nesterov for SRP's recipes, plain momentum for spem/saam).
    nesterov: bool | None = None
    momentum: float = Field(RECIPES[DEFAULT_RECIPE].momentum, ge=0.0, lt=1.0)
    # None: the recipe's value (poolnas.trainers.recipes); a number overrides the recipe.
    lr: float | None = Field(None, gt=0.0)
    weight_decay: float | None = Field(None, ge=0.0)
    # False: no decay on attention parameters (SAAM); None: the recipe's choice.
    attention_weight_decay: bool | None = None
    mixup: float = Field(0.0, ge=0.0)
    # Not given (momentum and label_smoothing too): the recipe's value.
    label_smoothing: float = Field(RECIPES[DEFAULT_RECIPE].label_smoothing, ge=0.0, lt=1.0)
    train_subset: int | None = Field(None, ge=1)
    val_fraction: float = Field(0.1, ge=0.0, lt=1.0)
    test_subset: int | None = Field(None, ge=1)  # stratified test examples (fast runs)
    # When the test set is evaluated: "epoch" (after every epoch: test_acc curves) or "end"
    # (after the last epoch only: a full 10,000-image test set costs more than a short
    # epoch's training on a CPU; the validation split, which ASHA reads, is still evaluated
    # every epoch).
    test_every: Literal["epoch", "end"] = "epoch"
    # Which examples train_subset, the validation split and test_subset draw: "fixed" (the
    # same for every trial) or "per-seed" (drawn with the trial's seed: each seed a new
    # sample of the data, shared by every configuration run with that seed).
    subsets: Literal["fixed", "per-seed"] = "fixed"
    augment: bool = True
    image_size: int | None = Field(None, ge=4)  # synthetic only
    resize: int | None = Field(None, ge=4)  # imagefolder: each image's shorter side, in pixels
    crop: int | None = Field(None, ge=4)  # imagefolder: the centre square's side (default: resize)
    num_samples: int | None = Field(None, ge=1)  # synthetic only
    device: Literal["auto", "cpu", "cuda"] = "auto"
    amp: Literal["auto", "on", "off"] = "auto"
    channels_last: Literal["auto", "on", "off"] = "auto"
    num_threads: int | None = Field(None, ge=1)
    checkpoint: bool = False

    @model_validator(mode="before")
    @classmethod
    def _recipe_values(cls, data: object) -> object:
        """The recipe's momentum, label smoothing and batch size where the config gives none;
        a dump holds them, so it re-validates to the same values whatever the table says then."""
        if isinstance(data, dict) and isinstance(name := data.get("recipe", DEFAULT_RECIPE), str) \
                and name in RECIPES:
            recipe = RECIPES[name]
            missing = {key: getattr(recipe, key) for key in RECIPE_FILLED if key not in data}
            if missing:
                data = {**data, **missing}
        return data

    @field_validator("amp", "channels_last", mode="before")
    @classmethod
    def _on_off(cls, v: object) -> object:
        if v is True:
            return "on"
        if v is False:
            return "off"
        return v


class TrialConfig(_Section):
    model: ModelConfig = Field(default_factory=ModelConfig)
    attention: AttentionConfig = Field(default_factory=AttentionConfig)
    trainer: TrainerConfig = Field(default_factory=TrainerConfig)
    seed: int = Field(0, ge=0)

    def to_dict(self) -> dict[str, Any]:
        return self.model_dump(mode="json")


def _is_union_tag(part: int | str) -> bool:
    """pydantic names the branch of a union in an error's loc ("Objective",
    "list[Objective]", "constrained-int", "function-after[...]"): not a field."""
    if not isinstance(part, str):
        return False
    return (part.startswith(("literal", "float", "int", "list", "function", "constrained", "dict"))
            or "[" in part or (len(part) > 1 and part[0].isupper() and part[1:2].islower()))


def _loc_to_field(loc: tuple[int | str, ...]) -> str:
    return ".".join(str(p) for p in loc if not _is_union_tag(p))


_TYPE_MISMATCH = ("model_type", "model_attributes_type", "list_type", "int_type", "int_parsing",
                  "dict_type", "float_type", "float_parsing", "string_type", "bool_type")


def _first_error(err: ValidationError) -> ErrorDetails:
    """The error to show: for a value that may take several forms (a union), the branch
    whose form the input has (a mapping's error, not "expected an integer")."""
    errors = err.errors()
    first = errors[0]
    same = [e for e in errors if _loc_to_field(tuple(e["loc"])).split(".")[0]
            == _loc_to_field(tuple(first["loc"])).split(".")[0]]
    fitting = [e for e in same if e["type"] not in _TYPE_MISMATCH]
    return fitting[0] if fitting else first


def _field_names(model: type[BaseModel], path: list[str]) -> list[str]:
    """Names accepted at a dotted path of a schema, for 'did you mean'."""
    current: type[BaseModel] = model
    for part in path:
        field = current.model_fields.get(part) if isinstance(current, type) else None
        if field is None or not (isinstance(field.annotation, type)
                                 and issubclass(field.annotation, BaseModel)):
            return []
        current = field.annotation
    return [f.alias or name for name, f in current.model_fields.items()]  # as users write them


def format_validation_error(
    err: ValidationError, schema: type[BaseModel], *, prefix: str = "", where: str | None = None
) -> ConfigError:
    """Turn pydantic's first error into one ConfigError line (field, value, accepted)."""
    first = _first_error(err)
    loc = tuple(first["loc"])
    field = _loc_to_field(loc)
    full = f"{prefix}{field}" if field else prefix.rstrip(".")
    if first["type"] == "extra_forbidden":
        parent = [str(p) for p in loc[:-1]]
        names = _field_names(schema, parent)
        return ConfigError(full, first.get("input"), "unknown key" + closest(str(loc[-1]), names)
                           + (f"; accepted keys: {', '.join(names)}" if names else ""), where=where)
    if first["type"] == "missing":
        return ConfigError(full, None, "this key is required", where=where)
    msg = first["msg"]
    if msg.startswith("Value error, "):
        msg = msg[len("Value error, "):]
    ctx = first.get("ctx") or {}
    if first["type"] == "literal_error" and "expected" in ctx:
        msg = f"expected one of {ctx['expected']}"
    return ConfigError(full, first.get("input"), msg[0].lower() + msg[1:], where=where)


def config_from_dict(data: dict[str, Any] | None, *, where: str | None = None) -> TrialConfig:
    """Validate a trial config document; raises ConfigError (one line) on bad input."""
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError("(document)", type(data).__name__,
                          "expected a mapping with model, attention, trainer, seed", where=where)
    try:
        return TrialConfig.model_validate(data)
    except ValidationError as err:
        raise format_validation_error(err, TrialConfig, where=where) from None


MAX_FILE_BYTES = 1 << 20  # space and config files: the largest preset is a few KB
MAX_YAML_ALIASES = 100  # uses of *anchor in one document (merge keys, shared sections)
MAX_DOCUMENT_NODES = 100_000  # values in the document with every alias expanded


def _read_document_text(path: str | Path) -> str:
    """The file's text, refusing folders, big files, binary and empty files in one line."""
    p = Path(path).expanduser()
    if p.is_dir():
        raise ConfigError("path", str(path), "is a folder; expected a YAML or JSON file")
    if not p.is_file():
        raise ConfigError("path", str(path), "expected an existing YAML or JSON file")
    with p.open("rb") as f:
        data = f.read(MAX_FILE_BYTES + 1)
    if len(data) > MAX_FILE_BYTES:
        raise ConfigError("path", str(path), f"the file is over {MAX_FILE_BYTES // 1024} KiB; "
                          "space and config files are small YAML or JSON documents")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as err:
        raise ConfigError("path", str(path), f"not a text file (byte 0x{data[err.start]:02x} at offset "
                          f"{err.start} is not UTF-8); expected a YAML or JSON file") from None
    if "\x00" in text:
        raise ConfigError("path", str(path), f"not a text file (a NUL byte at offset {text.index(chr(0))}); "
                          "expected a YAML or JSON file")
    if not text.strip():
        raise ConfigError("path", str(path), "the file is empty; expected a YAML or JSON document")
    return text


def _check_expansion(root: yaml.Node, where: str) -> None:
    """Refuse alias bombs: count alias uses and the nodes of the expanded document without
    expanding it (each node is visited once; a repeated node is an alias use)."""
    sizes: dict[int, int] = {}
    aliases = 0
    stack: list[tuple[yaml.Node, bool]] = [(root, False)]
    while stack:
        node, done = stack.pop()
        children = ([c for pair in node.value for c in pair] if isinstance(node, yaml.MappingNode)
                    else node.value if isinstance(node, yaml.SequenceNode) else [])
        if done:
            sizes[id(node)] = 1 + sum(sizes.get(id(c), 1) for c in children)
            continue
        if id(node) in sizes:
            aliases += 1
            if aliases > MAX_YAML_ALIASES:
                raise ConfigError("(document)", f"more than {MAX_YAML_ALIASES} aliases",
                                  f"expected at most {MAX_YAML_ALIASES} uses of *anchor", where=where)
            continue
        sizes[id(node)] = 1  # placeholder: a node that contains itself counts once
        stack.append((node, True))
        stack.extend((c, False) for c in children)
    if sizes[id(root)] > MAX_DOCUMENT_NODES:
        raise ConfigError("(document)", f"{sizes[id(root)]} values",
                          f"expected at most {MAX_DOCUMENT_NODES} (aliases expanded)", where=where)


MAX_INT_DIGITS = 100  # an integer of a space or config file (Python refuses > 4300 digits)


def _check_keys_and_numbers(root: yaml.Node, where: str) -> None:
    """Refuse a key given twice in one mapping (YAML keeps the last one silently) and integers
    of more than MAX_INT_DIGITS digits, naming the line; each node is visited once."""
    seen: set[int] = set()
    stack = [root]
    while stack:
        node = stack.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        if isinstance(node, yaml.ScalarNode):
            digits = sum(ch.isdigit() for ch in node.value)
            if node.tag.endswith(":int") and digits > MAX_INT_DIGITS:
                raise ConfigError(f"line {node.start_mark.line + 1}", f"an integer of {digits} digits",
                                  f"expected at most {MAX_INT_DIGITS} digits", where=where)
        elif isinstance(node, yaml.MappingNode):
            first: dict[tuple[str, str], int] = {}
            for key, value in node.value:
                if isinstance(key, yaml.ScalarNode) and not key.tag.endswith(":merge"):
                    line = key.start_mark.line + 1
                    if (key.tag, key.value) in first:
                        raise ConfigError(f"line {line}", key.value, "a duplicate key (first at line "
                                          f"{first[key.tag, key.value]}); expected each key once in a "
                                          "mapping", where=where)
                    first[key.tag, key.value] = line
                stack.extend((key, value))
        elif isinstance(node, yaml.SequenceNode):
            stack.extend(node.value)


def _json_pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """json.loads' object hook: a key given twice is refused (JSON keeps the last one)."""
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise ConfigError("(document)", key, "a duplicate key; expected each key once in an object")
        out[key] = value
    return out


def _safe_load_bounded(text: str, where: str) -> Any:
    """yaml.safe_load (libyaml's when present) with the alias and size bounds checked on the
    composed node graph before any Python object is built."""
    loader_class = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    loader = loader_class(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        _check_expansion(node, where)
        _check_keys_and_numbers(node, where)
        return loader.construct_document(node)
    finally:
        loader.dispose()


def load_config_file(path: str | Path) -> Any:
    """Read a YAML or JSON document (``yaml.safe_load``); every problem is one ConfigError
    line: syntax errors name the line; folders, files over 1 MiB, binary or empty files and
    YAML alias bombs are refused before anything big is built."""
    text = _read_document_text(path)
    try:
        if Path(path).suffix == ".json":
            return json.loads(text, object_pairs_hook=_json_pairs)
        return _safe_load_bounded(text, str(path))
    except ConfigError as err:
        raise ConfigError(err.field, err.value, err.accepted, where=str(path)) from None
    except json.JSONDecodeError as err:
        raise ConfigError(f"line {err.lineno}", err.msg, "expected valid JSON", where=str(path)) from None
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        line = f"line {mark.line + 1}" if mark is not None else "document"
        problem = getattr(err, "problem", None) or str(err).splitlines()[0]
        raise ConfigError(line, problem, "expected valid YAML", where=str(path)) from None
    except RecursionError:
        raise ConfigError("(document)", "nested too deeply", "expected a YAML or JSON document of "
                          "a few levels", where=str(path)) from None
    except ValueError as err:  # a JSON integer over Python's 4300 digits, say
        raise ConfigError("(document)", one_line(str(err), 120), "expected numbers of a few digits",
                          where=str(path)) from None


def load_trial_config(path: str | Path) -> TrialConfig:
    return config_from_dict(load_config_file(path), where=str(path))


def dump_trial_config(config: TrialConfig) -> str:
    return yaml.safe_dump(config.to_dict(), sort_keys=False)
