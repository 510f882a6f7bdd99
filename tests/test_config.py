"""The trial config schema: defaults, one-line errors naming the field, YAML round trip."""

from __future__ import annotations

import pytest
import yaml

from poolnas.config import config_from_dict, dump_trial_config, load_trial_config
from poolnas.errors import ConfigError


def test_defaults_validate_and_round_trip() -> None:
    cfg = config_from_dict({"model": {"arch": "wrn-16-8", "num_classes": 100}})
    again = config_from_dict(yaml.safe_load(dump_trial_config(cfg)))
    assert again == cfg
    assert cfg.attention.placement.position == "residual"


@pytest.mark.parametrize(
    ("doc", "field", "fragment"),
    [
        ({"attention": {"lam": 0.0}}, "attention.lam", "greater than 0"),
        ({"attention": {"lam": 1.5}}, "attention.lam", "less than or equal to 1"),
        ({"attention": {"M": 0}}, "attention.M", "greater than or equal to 1"),
        ({"attention": {"pooling": "avg"}}, "attention.pooling", "expected one of"),
        ({"attention": {"mix_alpha": 1.2}}, "attention.mix_alpha", "[0, 1]"),
        ({"attention": {"lamda": 0.5}}, "attention.lamda", "did you mean 'lam'"),
        ({"model": {"arch": "resnet21"}}, "model.arch", "expected one of"),
        ({"model": {"arch": "preresnet165"}}, "model.arch", "9n+2"),
        ({"trainer": {"dataset": "mnist"}}, "trainer.dataset", "expected one of"),
        ({"attention": {"placement": {"stages": []}}}, "attention.placement.stages", "non-empty"),
        ({"seed": -1}, "seed", "greater than or equal to 0"),
    ],
)
def test_bad_values_name_the_field(doc: dict, field: str, fragment: str) -> None:
    with pytest.raises(ConfigError) as info:
        config_from_dict(doc)
    message = str(info.value)
    assert "\n" not in message
    assert message.startswith(f"{field}:"), message
    assert fragment in message, message


def test_yaml_syntax_error_names_the_line(tmp_path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text("model:\n  arch: resnet20\n  num_classes: [10\n")
    with pytest.raises(ConfigError) as info:
        load_trial_config(path)
    assert "line" in str(info.value) and str(path) in str(info.value)


def test_amp_accepts_booleans() -> None:
    assert config_from_dict({"trainer": {"amp": False}}).trainer.amp == "off"
