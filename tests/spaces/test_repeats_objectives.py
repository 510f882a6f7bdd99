"""repeats: {min, max, racing} and objective lists in space files."""

from __future__ import annotations

import pytest

from poolnas.errors import ConfigError
from poolnas.spaces import space_from_dict

BASE = {"model": {"arch": "resnet20", "num_classes": 10, "in_channels": 1},
        "trainer": {"dataset": "digits", "epochs": 1}}


def _space(**kw):
    doc = {"study": "x", "base": BASE, "sampler": "grid",
           "space": {"attention.pooling": {"grid": ["gap", "max", "min"]}}, **kw}
    return space_from_dict(doc)


def test_racing_repeats_give_max_seeds_and_min_initial_seeds() -> None:
    sp = _space(repeats={"min": 2, "max": 6})
    assert sp.seeds() == list(range(6)) and sp.initial_seeds() == [0, 1]
    assert sp.racing == (2, 6)
    # the grid walks every point with the first min seeds only: the race adds the rest
    assert sorted({s for _, _, s in sp.grid_cells()}) == [0, 1]
    assert len(sp.grid_cells()) == 3 * 2


def test_repeats_mapping_without_racing_runs_max_seeds() -> None:
    sp = _space(repeats={"min": 2, "max": 4, "racing": False})
    assert sp.racing is None and sp.initial_seeds() == [0, 1, 2, 3]
    assert len(sp.grid_cells()) == 12


def test_plain_repeats_unchanged() -> None:
    sp = _space(repeats=3)
    assert sp.racing is None and sp.seeds() == sp.initial_seeds() == [0, 1, 2]


@pytest.mark.parametrize("repeats, field", [({"min": 3, "max": 2}, "repeats"), (0, "repeats"),
                                            ({"min": 2}, "repeats.max")])
def test_bad_repeats_name_the_field(repeats, field) -> None:
    with pytest.raises(ConfigError) as err:
        _space(repeats=repeats)
    assert err.value.field == field


def test_objective_list_makes_a_multi_objective_space() -> None:
    sp = _space(objective=[{"metric": "test_acc", "mode": "max"}, {"metric": "flops", "mode": "min"}])
    assert sp.multi_objective and [o.metric for o in sp.objectives] == ["test_acc", "flops"]
    assert sp.objective.metric == "test_acc"
    single = _space()
    assert not single.multi_objective and len(single.objectives) == 1


def test_objective_list_rejects_repeats_and_cmaes() -> None:
    with pytest.raises(ConfigError, match="each metric once"):
        _space(objective=[{"metric": "flops", "mode": "min"}, {"metric": "flops", "mode": "min"}])
    doc = {"study": "x", "base": BASE, "sampler": "cmaes", "trials": 3,
           "objective": [{"metric": "test_acc"}, {"metric": "params", "mode": "min"}],
           "space": {"trainer.lr": {"float": [0.01, 0.1]}}}
    with pytest.raises(ConfigError) as err:
        space_from_dict(doc)
    assert err.value.field == "sampler"


def test_nsga2_sampler() -> None:
    from poolnas.spaces import create_sampler

    doc = {"study": "x", "base": BASE, "sampler": "nsga2", "trials": 3,
           "objective": [{"metric": "test_acc"}, {"metric": "flops", "mode": "min"}],
           "space": {"attention.pooling": {"choice": ["gap", "max"]}}}
    import optuna

    assert isinstance(create_sampler(space_from_dict(doc)), optuna.samplers.NSGAIISampler)
