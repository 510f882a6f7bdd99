"""Property tests: whatever a sampler draws from a valid space is a valid trial config."""

from __future__ import annotations

import optuna
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from poolnas.spaces import create_sampler, load_space, space_from_dict

POOLINGS = ["gap", "max", "min", "mix", "avgmax", "score", "srp-ss", "srp-ms"]
STAGES = [[1], [2], [3], [1, 2], [2, 3], [1, 2, 3]]


@st.composite
def spaces(draw):
    """Random valid space documents: conditional λ/M/α, stage subsets, ranges in bounds."""
    poolings = draw(st.lists(st.sampled_from(POOLINGS), min_size=1, max_size=5, unique=True))
    lo = draw(st.floats(0.05, 1.0))
    hi = draw(st.floats(lo, 1.0))
    m_lo = draw(st.integers(1, 4))
    r_hi = draw(st.integers(1, 64))
    space = {
        "attention.pooling": {"choice": poolings},
        "attention.lam": {"float": [lo, hi], "log": draw(st.booleans()),
                          "when": {"attention.pooling": [p for p in poolings if p.startswith("srp")]
                                   or poolings}},
        "attention.M": {"int": [m_lo, m_lo + draw(st.integers(0, 4))]},
        "attention.reduction": {"int": [1, r_hi], "log": draw(st.booleans())},
        "attention.placement.stages": {"choice": draw(st.lists(st.sampled_from(STAGES), min_size=1,
                                                               max_size=3, unique_by=tuple))},
        "attention.mix_alpha": {"choice": draw(st.lists(st.sampled_from(["learn", 0.0, 0.3, 1.0]),
                                                        min_size=1, max_size=3, unique=True))},
        "attention.branch": {"choice": ["one", "double"]},
        "trainer.batch_size": {"choice": [16, 32], "link": {"trainer.lr": [0.05, 0.1]}},
    }
    return {
        "study": "prop",
        "sampler": draw(st.sampled_from(["tpe", "random"])),
        "trials": 3,
        "repeats": draw(st.integers(1, 3)),
        "base": {"model": {"arch": draw(st.sampled_from(["resnet20", "preresnet11", "wrn-10-1"]))},
                 "trainer": {"dataset": "digits", "epochs": 1}},
        "space": space,
    }


def _sample_all(space, n, seed):
    study = optuna.create_study(sampler=create_sampler(space, seed=seed))
    for _ in range(n):
        trial = study.ask()
        space.define_by_run(trial)
        config = space.to_trial_config(trial.params)
        assert config.seed in space.seeds()
        assert set(trial.params) - {"seed"} <= set(space.space)
        study.tell(trial, config.attention.lam)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(doc=spaces(), seed=st.integers(0, 2**16))
def test_sampled_configs_validate(doc, seed):
    space = space_from_dict(yaml.safe_load(yaml.safe_dump(doc)))
    _sample_all(space, 6, seed)


@settings(max_examples=10, deadline=None)
@given(seed=st.integers(0, 2**16))
def test_quickstart_tpe_samples_validate(seed):
    _sample_all(load_space("quickstart"), 8, seed)


@settings(max_examples=5, deadline=None)
@given(name=st.sampled_from(["srp-fig2", "srp-fig3", "saam-paths", "se-placement", "ba2m-batch"]),
       seed=st.integers(0, 2**16))
def test_preset_grids_under_random_sampling(name, seed):
    """The grid presets' axes, drawn at random instead of walked, still validate."""
    doc = load_space(name).document
    doc = {**doc, "sampler": "random", "trials": 5,
           "space": {k: ({"choice": v["grid"], **{x: y for x, y in v.items() if x != "grid"}}
                         if isinstance(v, dict) and "grid" in v else v) for k, v in doc["space"].items()}}
    _sample_all(space_from_dict(doc), 5, seed)
