"""Warnings for studies whose numbers cannot answer anything."""

from __future__ import annotations

from _trials import study_trials

from poolnas.evidence import TEST_DATA_NOTE, configurations, diagnose, study_evidence

GAP = {"attention.pooling": "gap"}
MIX = {"attention.pooling": "mix"}


def test_chance_accuracy_is_reported():
    configs = configurations(study_trials([(GAP, [0.10, 0.11]), (MIX, [0.09, 0.12])]), "test_acc", "max")
    notes = diagnose(configs, "test_acc")
    assert any("chance" in n and "1/10" in n for n in notes)
    learned = configurations(study_trials([(GAP, [0.80, 0.11])]), "test_acc", "max")
    assert not diagnose(learned, "test_acc")


def test_identical_losses_are_reported():
    configs = configurations(study_trials([(GAP, [0.5, 0.6]), (MIX, [0.7, 0.4])], loss=2.302585),
                             "val_acc", "max")
    assert any("identical train_loss" in n for n in diagnose(configs, "val_acc"))
    differ = configurations(study_trials([(GAP, [0.5, 0.6]), (MIX, [0.7, 0.4])]), "val_acc", "max")
    assert not diagnose(differ, "val_acc")


def test_test_accuracy_objective_carries_the_test_data_sentence():
    trials = study_trials([(GAP, [0.8, 0.7])])
    assert TEST_DATA_NOTE in study_evidence(trials, "test_acc", "max").notes
    assert TEST_DATA_NOTE not in study_evidence(trials, "val_acc", "max").notes


def test_baseline_sources():
    trials = study_trials([(GAP, [0.8, 0.7]), (MIX, [0.6, 0.65])])
    ev = study_evidence(trials, "val_acc", "max")
    assert ev.baseline_source == "default (gap)" and ev.baseline_config.params == GAP
    ev = study_evidence(trials, "val_acc", "max", space={"baseline": {"attention": {"pooling": "mix"}}})
    assert ev.baseline_source == "space file" and ev.baseline_config.params == MIX
    ev = study_evidence(trials, "val_acc", "max", baseline={"attention.pooling": "max"})
    assert ev.baseline_source == "--baseline" and ev.baseline_config is None and ev.comparisons is None
    ev = study_evidence(study_trials([(MIX, [0.6])]), "val_acc", "max")
    assert ev.baseline is None and ev.baseline_source == "none"
