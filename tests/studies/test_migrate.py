"""Old stored configs: read under the current schema, never a crash (issue 16)."""

from __future__ import annotations

from poolnas.records import TRIAL_CONFIG_VERSION, TrialAttrs
from poolnas.studies.migrate import migrate_config
from poolnas.testing import synthetic_studies as synthetic


def test_current_config_passes_unchanged():
    cfg = synthetic.make_config({"attention.pooling": "mix"})
    m = migrate_config({TrialAttrs.CONFIG: cfg, TrialAttrs.CONFIG_VERSION: TRIAL_CONFIG_VERSION})
    assert m.config == cfg and m.dropped == [] and m.note is None and m.version == TRIAL_CONFIG_VERSION


def test_removed_key_and_refused_value_are_reset_and_named():
    cfg = synthetic.make_config({"attention.pooling": "mix"})
    cfg["attention"]["old_knob"] = 3  # a field a later version removed
    cfg["trainer"]["recipe"] = "recipe-that-was-renamed"  # a value no longer accepted
    m = migrate_config({TrialAttrs.CONFIG: cfg})  # no version: written before versioning
    assert m.version == 0 and m.config is not None
    assert sorted(m.dropped) == ["attention.old_knob", "trainer.recipe"]
    assert m.config["attention"]["pooling"] == "mix" and "old_knob" not in m.config["attention"]
    assert "attention.old_knob" in m.note and "version 0" in m.note


def test_no_config_is_none_not_an_error():
    assert migrate_config({}).config is None


def test_old_nesterov_true_means_the_recipes_value():
    # before version 2, nesterov: true was the default and meant "as the recipe" (plain
    # momentum for spem and saam); read now, it still trains as it did
    from poolnas.config import config_from_dict
    from poolnas.trainers.recipes import resolve_recipe

    assert TRIAL_CONFIG_VERSION >= 2
    for recipe, nesterov in (("spem", False), ("saam", False), ("paper-resnet", True)):
        cfg = synthetic.make_config({"attention.pooling": "mix"})
        cfg["trainer"].update(recipe=recipe, nesterov=True)
        old = migrate_config({TrialAttrs.CONFIG: cfg, TrialAttrs.CONFIG_VERSION: 1})
        assert old.dropped == [] and old.config["trainer"]["nesterov"] is None
        assert resolve_recipe(config_from_dict(old.config).trainer).nesterov is nesterov
        new = migrate_config({TrialAttrs.CONFIG: cfg, TrialAttrs.CONFIG_VERSION: TRIAL_CONFIG_VERSION})
        assert new.config["trainer"]["nesterov"] is True  # written now: an explicit choice


def test_version_3_keeps_old_configs_fixed_schedule_and_bias_free_se():
    """Version 3 changed two defaults (schedule: linear, se_bias: true); a config stored
    before trained with fixed λ and bias-free SE FCs and must read as that network."""
    from poolnas.config import config_from_dict

    assert TRIAL_CONFIG_VERSION >= 3
    cfg = synthetic.make_config({"attention.pooling": "srp-ss"})
    del cfg["attention"]["schedule"]  # a version 0 document may lack it
    cfg["attention"].pop("se_bias", None)  # no version before 3 had it
    old = migrate_config({TrialAttrs.CONFIG: cfg, TrialAttrs.CONFIG_VERSION: 2})
    assert old.dropped == []
    att = config_from_dict(old.config).attention
    assert (att.schedule, att.se_bias) == ("fixed", False)
    cfg["attention"]["schedule"] = "linear"  # stored explicitly: kept
    kept = migrate_config({TrialAttrs.CONFIG: cfg, TrialAttrs.CONFIG_VERSION: 1})
    assert kept.config["attention"]["schedule"] == "linear" and kept.config["attention"]["se_bias"] is False
    new = config_from_dict({})
    assert (new.attention.schedule, new.attention.se_bias) == ("linear", True)


def test_channels_last_auto_before_version_4_reads_as_the_contiguous_layout_it_trained():
    # before version 4, channels_last: auto was contiguous on the CPU (issue 20 item 6)
    assert TRIAL_CONFIG_VERSION >= 4
    cfg = synthetic.make_config({"attention.pooling": "mix"})
    cfg["trainer"]["channels_last"] = "auto"
    old = migrate_config({TrialAttrs.CONFIG: cfg, TrialAttrs.CONFIG_VERSION: 3})
    assert old.dropped == [] and old.config["trainer"]["channels_last"] == "off"
    cfg["trainer"]["channels_last"] = "on"  # an explicit choice stays
    assert migrate_config({TrialAttrs.CONFIG: cfg, TrialAttrs.CONFIG_VERSION: 3}).config["trainer"][
        "channels_last"] == "on"
    cfg["trainer"]["channels_last"] = "auto"
    new = migrate_config({TrialAttrs.CONFIG: cfg, TrialAttrs.CONFIG_VERSION: TRIAL_CONFIG_VERSION})
    assert new.config["trainer"]["channels_last"] == "auto"
