"""`baseline:` in space files: validated like the trial config, named by the presets."""

from __future__ import annotations

import pytest
import yaml

from poolnas.errors import ConfigError
from poolnas.spaces import load_space, preset_path, space_from_dict


def _quickstart(**extra):
    doc = yaml.safe_load(preset_path("quickstart").read_text())
    doc.update(extra)
    return doc


@pytest.mark.parametrize("baseline", [{"attention.pooling": "gap"}, {"attention": {"pooling": "gap"}},
                                      {"attention.pooling": "srp-ms", "attention.lam": 1.0}])
def test_good_baselines_validate(baseline):
    assert space_from_dict(_quickstart(baseline=baseline)).spec.baseline == baseline


@pytest.mark.parametrize(("baseline", "field"), [
    ({"attention.pooling": "gapp"}, "baseline.attention.pooling"),
    ({"attention.poolin": "gap"}, "baseline.attention.poolin"),
    ({"seed": 0}, "baseline.seed"),
    ({}, "baseline"),
])
def test_bad_baselines_name_the_field(baseline, field):
    with pytest.raises(ConfigError) as err:
        space_from_dict(_quickstart(baseline=baseline))
    assert err.value.field == field


@pytest.mark.parametrize("name", ["quickstart", "saam-paths", "spem-alpha"])
def test_presets_name_gap(name):
    assert load_space(name).spec.baseline == {"attention.pooling": "gap"}


@pytest.mark.parametrize("name", ["srp-fig2", "srp-fig3"])
def test_srp_presets_name_their_gap_cell(name):
    """λ = 1 (M = 1) on the one branch pools the whole map: SE with GAP, and in the grid."""
    space = load_space(name)
    base = space.spec.baseline
    assert base["attention.lam"] == 1.0 and base["attention.branch"] == "one"
    assert any(all(point.get(k, v) == v for k, v in base.items()) for point in space.grid())
