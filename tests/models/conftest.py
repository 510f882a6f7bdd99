"""Model tests: a narrow ResNeXt fixture."""

from __future__ import annotations

import pytest


@pytest.fixture
def tiny_resnext(monkeypatch):
    """ResNeXt-29 at 1/16 width with cardinality 2: the same block code, a fraction of the cost.

    Only the width of `resnext29-8x64d` changes; every other name parses as usual.
    """
    import dataclasses

    import poolnas.models.placement as placement
    from poolnas.models._arch import parse_arch

    def small(arch: str):
        plan = parse_arch(arch)
        if plan.family != "resnext":
            return plan
        stages = tuple(
            tuple(dataclasses.replace(b, in_channels=max(16, b.in_channels // 16),
                                      out_channels=b.out_channels // 16,
                                      width=b.width // 32, groups=2) for b in blocks)
            for blocks in plan.stages)
        return dataclasses.replace(plan, stem_channels=16, stages=stages)

    monkeypatch.setattr(placement, "parse_arch", small)
    return "resnext29-8x64d"
