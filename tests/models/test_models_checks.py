"""Invalid combinations raise ConfigError (a ValueError) naming the field, before anything is built."""

from __future__ import annotations

import pytest
from models_helpers import make_config

from poolnas.config import ModelConfig, TrialConfig
from poolnas.errors import ConfigError
from poolnas.models import build_model, check_model_config


@pytest.mark.parametrize("kwargs,field", [
    ({"pooling": "gap", "placement": {"stages": [4]}}, "attention.placement.stages"),
    ({"pooling": "gap", "placement": {"stages": [1, 5]}}, "attention.placement.stages"),
    ({"batch_attention": {"enabled": True, "stages": [4], "reduction": 4}},
     "attention.batch_attention.stages"),
    ({"pooling": "gap", "branch": "double", "placement": {"position": "pre"}}, "attention.branch"),
    ({"pooling": "srp-ms", "branch": "double", "placement": {"position": "post-add"}}, "attention.branch"),
    ({"pooling": "gap", "branch": "double", "placement": {"position": "between"}}, "attention.branch"),
])
def test_invalid_combinations_name_the_field(kwargs, field) -> None:
    config = make_config("resnet20", **kwargs)
    with pytest.raises(ConfigError) as err:
        check_model_config(config)
    assert err.value.field == field
    assert isinstance(err.value, ValueError)
    assert field in str(err.value) and "\n" not in str(err.value)
    with pytest.raises(ConfigError):
        build_model(config)


def test_stage_4_exists_on_resnet50_only() -> None:
    check_model_config(make_config("resnet50", pooling="gap", placement={"stages": [4]}))
    with pytest.raises(ConfigError, match="stage 4 does not exist"):
        check_model_config(make_config("wrn-16-8", pooling="gap", placement={"stages": [4]}))


def test_valid_edge_cases_pass() -> None:
    # double branch with residual works on every arch (all have an identity branch);
    # SE's hidden width is channels // R, at least 1, so a large R is legal.
    for arch in ("resnet20", "preresnet11", "wrn-10-1", "resnext29-8x64d", "resnet50"):
        check_model_config(make_config(arch, pooling="gap", branch="double"))
    check_model_config(make_config("resnet20", pooling="gap", reduction=64))
    check_model_config(make_config("resnet20", batch_attention={"enabled": True, "reduction": 64}))
    # pooling none: branch is unused, so it is not an error
    check_model_config(make_config("resnet20", pooling="none", branch="double",
                                   placement={"position": "pre"}))


@pytest.mark.parametrize("arch", ["wrn-4-2", "wrn-10-0", "preresnet2", "resnet18", "resnext29-4x64d"])
def test_degenerate_arch_names(arch) -> None:
    config = TrialConfig.model_construct(
        model=ModelConfig.model_construct(arch=arch, num_classes=10, in_channels=3),
        **{k: v for k, v in make_config().__dict__.items() if k != "model"})
    with pytest.raises(ConfigError) as err:
        check_model_config(config)
    assert err.value.field == "model.arch"


@pytest.mark.parametrize("field,value", [("num_classes", 1), ("num_classes", 2.5), ("in_channels", 0),
                                         ("in_channels", True)])
def test_nonsense_classes_and_channels(field, value) -> None:
    base = make_config()
    values = {"arch": "resnet20", "num_classes": 10, "in_channels": 3, field: value}
    config = TrialConfig.model_construct(model=ModelConfig.model_construct(**values),
                                         attention=base.attention, trainer=base.trainer, seed=0)
    with pytest.raises(ConfigError) as err:
        check_model_config(config)
    assert err.value.field == f"model.{field}"


def test_missing_pretrained_file(tmp_path) -> None:
    config = make_config()
    config.model.pretrained = str(tmp_path / "nope.pt")
    with pytest.raises(ConfigError) as err:
        check_model_config(config)
    assert err.value.field == "model.pretrained"
