"""Every preset validates, runs its papers' grid, and expands to the right size."""

from __future__ import annotations

from itertools import combinations
from math import prod

import pytest
import yaml

from poolnas.cli import main
from poolnas.spaces import list_presets, load_space, preset_path

REQUIRED = {"srp-fig2", "srp-fig3", "spem-alpha", "saam-paths", "ba2m-reduction", "ba2m-batch",
            "ba2m-placement", "se-placement", "quickstart",
            # the papers' rivals and ablations (issue 23)
            "spem-fig2", "spem-table1", "spem-reweight", "ba2m-position", "ba2m-parts", "ba2m-rivals"}
BA2M = ["ba2m-reduction", "ba2m-batch", "ba2m-placement", "ba2m-position", "ba2m-parts", "ba2m-rivals"]
# the papers' sweeps scaled to Fashion-MNIST on a 2-core CPU (docs/reproductions.md)
REPRO = {"repro-pooling", "repro-pooling-decided", "repro-srp-fig2", "repro-srp-fig3", "repro-spem-alpha",
         "repro-saam-paths", "repro-ba2m-reduction"}

# configurations per preset, computed from the papers' sweeps (not from the files)
EXPECTED = {
    "srp-fig2": 9 * 2 * 2,  # λ 0.2..1.0 step 0.1 × fixed/linear × one/double
    "srp-fig3": 5 * 6 * 2,  # |λ| × |M| × one/double
    "spem-alpha": (5 + 1) * 2,  # Table 3's five fixed α and learned × CIFAR-10/100
    "spem-reweight": 3 * 2,  # Table 4: shared, unshared (a), without RM × CIFAR-10/100
    "ba2m-position": 2,  # Table VII: inside, between
    "ba2m-parts": 2**3 - 1,  # Table IX: non-empty subsets of CA, LSA, GSA
    "saam-paths": 3 * 3,  # K ∈ {1, 2, 4} × ResNet-20/56/110
    "ba2m-reduction": 5,  # R ∈ {2, 4, 8, 16, 32}
    "ba2m-batch": 7,  # N ∈ {4, ..., 256}
    "ba2m-placement": 2**4 - 1,  # non-empty subsets of 4 stages
    "se-placement": (2**3 - 1) * 4,  # non-empty subsets of 3 stages × SE, SE-PRE, SE-POST, SE-Identity
}


def test_required_presets_exist():
    assert REQUIRED | REPRO <= set(list_presets())


@pytest.mark.parametrize("name", sorted(REQUIRED | REPRO))
def test_preset_validates(name, capsys):
    assert main(["space", "validate", name]) == 0
    out = capsys.readouterr().out
    assert "ok" in out and "runs" in out


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_grid_size(name):
    space = load_space(name)
    grid = space.grid()
    assert len(grid) == EXPECTED[name]
    # the grid axes, multiplied from the raw YAML, agree (no when: in the paper presets)
    raw = yaml.safe_load(preset_path(name).read_text())["space"]
    assert len(grid) == prod(len(d["grid"]) for d in raw.values() if isinstance(d, dict))
    assert len({tuple(sorted((k, repr(v)) for k, v in g.items())) for g in grid}) == len(grid)
    assert space.num_runs() == len(grid) * space.repeats
    assert len(space.grid_cells()) == space.num_runs()
    for point in grid[:: max(1, len(grid) // 7)]:
        space.to_trial_config(point, seed=space.seeds()[-1])


def test_srp_fig3_axes():
    grid = load_space("srp-fig3").grid()
    assert {g["attention.lam"] for g in grid} == {0.2, 0.4, 0.6, 0.8, 1.0}
    assert {g["attention.M"] for g in grid} == set(range(1, 7))
    assert load_space("srp-fig3").seeds() == [0, 1, 2, 3, 4]


def test_ba2m_placement_subsets():
    grid = load_space("ba2m-placement").grid()
    subsets = {tuple(g["attention.batch_attention.stages"]) for g in grid}
    assert subsets == {c for r in range(1, 5) for c in combinations((1, 2, 3, 4), r)}


def test_ba2m_batch_links_lr():
    space = load_space("ba2m-batch")
    for point in space.grid():
        config = space.to_trial_config(point, seed=0)
        assert config.trainer.lr == pytest.approx(0.1 * config.trainer.batch_size / 128)


def test_paper_recipes():
    saam = load_space("saam-paths").to_trial_config({"attention.paths": 2, "model.arch": "resnet110"}, 0)
    assert (saam.trainer.recipe, saam.trainer.epochs, saam.attention.reduction) == ("saam", 182, 4)
    spem = load_space("spem-alpha").to_trial_config({"attention.mix_alpha": "learn",
                                                     "trainer.dataset": "cifar100"}, 0)
    # SPEM's backbone: the authors' post-activation bottleneck ResNet-164 (not PreResNet)
    assert (spem.model.arch, spem.trainer.epochs, spem.attention.excitation) == ("resnet164", 164, "spem")
    for name in REQUIRED - {"quickstart"}:
        assert load_space(name).base["trainer"]["dataset"] == "cifar100"
    # SPEM (authors' code) and SAAM: plain momentum 0.9, not Nesterov
    for config in (saam, spem):
        assert config.trainer.nesterov is False and config.trainer.momentum == 0.9


PAPER_PRESETS = sorted(REQUIRED - {"quickstart"})


@pytest.mark.parametrize("name", PAPER_PRESETS)
def test_paper_presets_train_on_the_whole_training_set(name):
    """The papers train on all of the training set and report test accuracy: val_fraction 0
    in the base (the study-level marker the dashboards read), objective test_acc."""
    space = load_space(name)
    assert space.base["trainer"]["val_fraction"] == 0
    assert space.objective.metric == "test_acc"
    config = space.to_trial_config(space.grid()[0], seed=0)
    assert config.trainer.val_fraction == 0


@pytest.mark.parametrize("name", BA2M)
def test_ba2m_presets_use_the_cifar_stem_resnet50_with_the_v1_stride(name):
    """BA2M Table VI's 1.22 GFLOPs for ResNet-50 on CIFAR-100: a CIFAR stem and the original
    (v1) bottleneck stride (1.2225 GMACs; v1.5 gives 1.298)."""
    assert load_space(name).base["model"]["arch"] == "resnet50-cifar"
    assert load_space(name).base["model"]["stride"] == "v1"


@pytest.mark.parametrize("name", BA2M)
def test_ba2m_presets_name_the_formulation(name):
    """The weights' formulation (mean, not Eq. 11's softmax) is named in the file's comment
    and in the description the report prints, and pinned in the base."""
    space = load_space(name)
    assert space.base["attention"]["batch_attention"]["formulation"] == "mean"
    text = preset_path(name).read_text()
    assert "formulation mean" in text and "Eq. 11" in text
    assert "formulation mean" in space.spec.description and "Eq. 11" in space.spec.description
    assert "after every block" not in text  # one module per stage (Eq. 15), not per block


@pytest.mark.parametrize("name", PAPER_PRESETS)
def test_paper_presets_train_in_fp32(name):
    """The papers trained in fp32: amp: auto would train in bf16 on CUDA."""
    space = load_space(name)
    assert space.to_trial_config(space.grid()[0], seed=0).trainer.amp == "off"


def test_spem_alpha_is_table_3_on_both_datasets():
    text = preset_path("spem-alpha").read_text()
    assert "94.32/75.83, 93.96/75.55, 94.67/76.11, 94.72/76.03, 94.33/75.88, 94.80/76.31" in text
    space = load_space("spem-alpha")
    cells = {(c.attention.mix_alpha, c.trainer.dataset, c.model.num_classes)
             for c in (space.to_trial_config(g, 0) for g in space.grid())}
    alphas = [0.1, 0.3, 0.5, 0.7, 0.9, "learn"]
    assert cells == {(a, d, n) for a in alphas for d, n in (("cifar10", 10), ("cifar100", 100))}


def _cells(name, *keys):
    space = load_space(name)
    configs = [space.to_trial_config(g, 0) for g in space.grid()]
    return sorted(tuple(str(eval(f"c.{k}", {"c": c})) for k in keys) for c in configs)


def test_spem_table1_has_its_seven_modules_on_both_datasets():
    keys = ("attention.pooling", "attention.excitation", "attention.spatial", "trainer.dataset")
    modules = [("none", "none", "none"), ("gap", "se", "none"), ("avgmax", "se", "cbam"),
               ("gap", "eca", "none"), ("style", "srm", "none"), ("gap", "sge", "none"),
               ("mix", "spem", "none")]
    assert _cells("spem-table1", *keys) == sorted(m + (d,) for m in modules for d in ("cifar10", "cifar100"))


def test_spem_fig2_is_se_with_gap_or_a_fixed_mix():
    cells = _cells("spem-fig2", "attention.excitation", "attention.pooling", "attention.mix_alpha")
    assert [c for c in cells if c[1] == "gap"] == [("se", "gap", "learn")]  # mix_alpha unused by gap
    assert sorted(c[2] for c in cells if c[1] == "mix") == ["0.1", "0.3", "0.5", "0.7", "0.9"]


def test_ba2m_rivals_is_table_vi():
    keys = ("attention.pooling", "attention.spatial", "attention.bam.enabled",
            "attention.batch_attention.enabled")
    cells = _cells("ba2m-rivals", *keys)
    modules = [("none", "none", "False"), ("none", "none", "True"), ("gap", "none", "False"),
               ("avgmax", "cbam", "False")]
    assert cells == sorted(m + (on,) for m in modules for on in ("False", "True"))


def test_ba2m_parts_and_position():
    parts = {tuple(p) for (p,) in [(c.attention.batch_attention.parts,) for c in (
        load_space("ba2m-parts").to_trial_config(g, 0) for g in load_space("ba2m-parts").grid())]}
    assert parts == {c for r in range(1, 4) for c in combinations(("channel", "local", "global"), r)}
    assert {g["attention.batch_attention.position"] for g in load_space("ba2m-position").grid()} == {
        "inside", "between"}


def test_saam_paths_uses_eq_9s_bias_free_fcs_and_says_the_batch_size_is_assumed():
    config = load_space("saam-paths").to_trial_config({"attention.paths": 1, "model.arch": "resnet20"}, 0)
    assert config.attention.se_bias is False
    assert "Batch size 128 is our assumption" in preset_path("saam-paths").read_text()


def test_se_placement_covers_the_four_se_variants():
    grid = load_space("se-placement").grid()
    assert {g["attention.placement.position"] for g in grid} == {"residual", "pre", "between", "identity"}


def test_quickstart_is_small_and_races_poolings_against_gap():
    space = load_space("quickstart")
    assert space.sampler == "grid" and space.resources.cpu == 1
    assert space.racing == (2, 4) and space.spec.baseline == {"attention.pooling": "gap"}
    assert space.base["trainer"]["dataset"] == "digits" and space.base["trainer"]["epochs"] <= 5
    assert [p.name for p in space.searched] == ["attention.pooling"]
    assert "gap" in {g["attention.pooling"] for g in space.grid()}
    assert space.num_configs() * 4 <= 24  # at most 24 runs: about a minute on 2 cores


def test_show_prints_the_preset(capsys):
    assert main(["space", "show", "srp-fig3"]) == 0
    assert capsys.readouterr().out == preset_path("srp-fig3").read_text()


def test_show_unknown_preset(capsys):
    assert main(["space", "show", "srp-fig9"]) == 2
    err = capsys.readouterr().err
    assert "preset" in err and "srp-fig3" in err


def test_cost_tradeoff_is_multi_objective_on_fashion_mnist(capsys):
    assert main(["space", "validate", "cost-tradeoff"]) == 0 and "ok" in capsys.readouterr().out
    space = load_space("cost-tradeoff")
    assert space.multi_objective and [(o.metric, o.mode) for o in space.objectives] == [
        ("test_acc", "max"), ("flops", "min")]
    assert space.repeats == 2 and {p.name for p in space.searched} >= {
        "attention.pooling", "attention.reduction", "attention.placement.stages"}
    raw = yaml.safe_load(preset_path("cost-tradeoff").read_text())
    assert raw["sampler"] == "nsga2" and raw["baseline"] == {"attention.pooling": "gap"}
    config = space.to_trial_config({"attention.pooling": "srp-ms", "attention.reduction": 8,
                                    "attention.placement.stages": [2, 3]}, seed=1)
    got = (config.trainer.dataset, config.model.arch, config.model.in_channels)
    assert got == ("fashion-mnist", "resnet20", 1)
    assert config.trainer.train_subset and config.trainer.test_subset
