"""The architecture registry (poolnas.config.ARCHITECTURES): one rule for the config and the
layer plans, and one plan builder per entry."""

from __future__ import annotations

import pytest

from poolnas.config import ARCHITECTURES, config_from_dict
from poolnas.errors import ConfigError
from poolnas.models import _arch
from poolnas.models._arch import parse_arch

NAMES = ["resnet20", "resnet110", "resnet21", "preresnet11", "preresnet164", "preresnet2", "preresnet165",
         "wrn-10-1", "wrn-28-10", "wrn-4-2", "wrn-10-0", "wrn-11-2", "resnext29-8x64d", "resnext29-4x64d",
         "resnet50", "resnet50-cifar", "resnet101-cifar", "resnet164", "preresnet110-basic",
         "preresnet2-basic", "preresnet9-basic", "resnet18", "vgg16", ""]


def test_every_registry_entry_has_a_plan_builder():
    assert list(_arch._PLANS) == list(ARCHITECTURES)


@pytest.mark.parametrize("arch", NAMES)
def test_config_and_plan_accept_and_refuse_the_same_names_with_one_message(arch):
    try:
        config_from_dict({"model": {"arch": arch}})
        config_error = None
    except ConfigError as err:
        config_error = err
    try:
        plan = parse_arch(arch)
        plan_error = None
    except ConfigError as err:
        plan, plan_error = None, err
    assert (config_error is None) == (plan_error is None)
    if plan_error is None:
        assert plan.name == arch and plan.num_stages in (3, 4)
    else:
        assert str(config_error) == str(plan_error)
        assert str(plan_error).startswith(f"model.arch: {arch!r}")
        assert "\n" not in str(plan_error)
