"""Staged designs (space file ``looks: [12, 24, 36]``): a study read at planned seed counts,
each later stage a study of its own on new seeds, read pooled with the earlier ones
(``compare --study A --study B``). The family's α is split over the looks (weighted
Bonferroni: half at the last, half over the earlier ones), so stopping at the first look that
decides anything keeps the family-wise rate; reading each look at the fixed-seed level does not."""

from __future__ import annotations

import json
import random

import pytest

from poolnas.cli import main
from poolnas.errors import ConfigError
from poolnas.evidence import BETTER, WORSE, Configuration, Family, compare
from poolnas.evidence._study import design_of
from poolnas.spaces import space_from_dict
from poolnas.testing import synthetic_studies as S

GAP = {"attention.pooling": "gap"}
MAX = {"attention.pooling": "max"}


def _conf(key: str, values: list[float]) -> Configuration:
    params = {"attention.pooling": "gap"} if key == "gap" else {"attention.pooling": "mix", "k": key}
    return Configuration(key=key, params=params, config={}, seeds=list(range(len(values))),
                         values=list(values), trials=list(range(len(values))))


def _sequential_false_rate(rng: random.Random, looks: list[int], staged: bool, studies: int,
                           k: int = 6) -> float:
    """Null studies (every configuration equal to the baseline) read at each planned look,
    stopped at the first look with any better/worse: the share that claimed anything."""
    hits = 0
    for _ in range(studies):
        n = looks[-1]
        shared = [rng.gauss(0, 1.0) for _ in range(n)]  # the seed's effect, common to all
        values = [[shared[s] + rng.gauss(0, 1.5) for s in range(n)] for _ in range(k + 1)]
        for look in looks:
            configs = [_conf("gap" if j == 0 else f"c{j}", v[:look]) for j, v in enumerate(values)]
            kw = {"looks": len(looks), "final": looks[-1]} if staged else {}
            rows = compare(configs, GAP, "max", **kw)
            if any(r.verdict in (BETTER, WORSE) for r in rows):
                hits += 1
                break
    return hits / studies


def test_stopping_at_the_first_deciding_look_keeps_the_family_wise_rate() -> None:
    rng = random.Random(20)
    staged = _sequential_false_rate(rng, [3, 6, 9], True, 400)
    naive = _sequential_false_rate(rng, [3, 6, 9], False, 400)
    assert staged <= 0.07  # 5% with Monte Carlo room (400 studies: sd 1.1 points)
    assert naive > staged  # three looks each at α/m: the rate the split prevents


def test_the_family_splits_alpha_over_the_looks() -> None:
    fam = Family(7, looks=3, final=36)
    assert fam.alpha_at(36) == pytest.approx(0.05 / 14)
    assert fam.alpha_at(24) == fam.alpha_at(12) == pytest.approx(0.05 / 28)
    assert design_of({"looks": [12, 24, 36], "margin": 0.01}) == (3, None, 36, 0.01)
    assert design_of({"repeats": 12}) == (1, None, None, None)


BASE = {"model": {"arch": "resnet20", "num_classes": 10, "in_channels": 1},
        "trainer": {"dataset": "digits", "epochs": 1}}


def _space(**kw):
    return space_from_dict({"study": "x", "base": BASE, "sampler": "grid",
                            "space": {"attention.pooling": {"grid": ["gap", "max"]}}, **kw})


def test_looks_load_and_leave_the_trials_alone() -> None:
    sp = _space(seeds=[4, 5, 6, 7], looks=[4, 8])
    plain = _space(seeds=[4, 5, 6, 7])
    assert sp.document["looks"] == [4, 8] and sp.seeds() == [4, 5, 6, 7]
    assert sp.grid_cells() == plain.grid_cells()
    params = {"attention.pooling": "max", "seed": 5}
    assert sp.to_trial_config(params, 5) == plain.to_trial_config(params, 5)


@pytest.mark.parametrize("extra, field", [({"looks": [24, 12]}, "looks"), ({"looks": [12]}, "looks"),
                                          ({"looks": [0, 4]}, "looks"),
                                          ({"looks": [2, 4], "repeats": {"min": 2, "max": 4}}, "looks")])
def test_bad_looks_name_the_field(extra, field) -> None:
    with pytest.raises(ConfigError) as err:
        _space(**extra)
    assert err.value.field.split(".")[0] == field


def _study_space(name: str, **kw) -> dict:
    return {"study": name, "space": {"attention.pooling": {"grid": ["gap", "max"]}},
            "baseline": {"attention.pooling": "gap"}, **kw}


def _two_stages(url: str, rng: random.Random, n: int, effect: float, noise: float) -> None:
    """Study stage1 on seeds 0..n-1 (no looks:) and stage2 on n..2n-1 with looks [n, 2n]:
    GAP and MAX per seed, MAX = GAP + effect + N(0, noise)."""
    first = S.create("stage1", url, space=_study_space("stage1"))
    second = S.create("stage2", url, space=_study_space("stage2", seeds=list(range(n, 2 * n)),
                                                        looks=[n, 2 * n]))
    for study, seeds in ((first, range(n)), (second, range(n, 2 * n))):
        for seed in seeds:
            shared = rng.gauss(0.80, 0.01)
            S.add_trial(study, GAP, seed, shared)
            S.add_trial(study, MAX, seed, shared + effect + rng.gauss(0, noise))


def test_stages_read_pooled_at_the_planned_looks(sqlite_url, capsys) -> None:
    _two_stages(sqlite_url, random.Random(4), 4, 0.02, 0.005)
    assert main(["compare", "--study", "stage1", "--study", "stage2", "--storage", sqlite_url,
                 "--format", "json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    fam = doc["family"]
    assert fam["looks"] == 2 and fam["final"] == 8 and fam["planned_looks"] == [4, 8]
    row = next(c for c in doc["configurations"] if c["params"]["attention.pooling"] == "max")
    assert row["n"] == 8 and row["params"]["study"] == "stage1+stage2"
    assert main(["compare", "--study", "stage1", "--study", "stage2", "--storage", sqlite_url]) == 0
    assert "a staged design: α split over its looks at 4, 8 seeds" in capsys.readouterr().out
    # the first stage alone keeps its own (fixed-seed) reading
    assert main(["compare", "--study", "stage1", "--storage", sqlite_url, "--format", "json"]) == 0
    alone = json.loads(capsys.readouterr().out)["family"]
    assert alone["looks"] == 1 and alone["planned_looks"] == []


def test_a_report_of_the_stages_reads_them_as_one(sqlite_url, tmp_path, capsys) -> None:
    _two_stages(sqlite_url, random.Random(5), 3, 0.02, 0.005)
    out = tmp_path / "pooled.html"
    assert main(["report", "--study", "stage1", "--study", "stage2", "--storage", sqlite_url,
                 "-o", str(out)]) == 0
    page = out.read_text()
    assert "stage1 + stage2" in page and "a staged design: α split over its looks at 3, 6 seeds" in page
    assert main(["compare", "--study", "stage1", "--study", "stage2", "--storage", sqlite_url,
                 "--format", "json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    row = next(c for c in doc["configurations"] if c["params"]["attention.pooling"] == "max")
    delta = f"{100 * row['delta']:+.2f}"
    assert delta in page  # the pooled compare's Δ over 6 pairs, not one stage's


def test_the_plan_of_a_staged_design_is_for_its_last_look(sqlite_url, capsys) -> None:
    """--plan on the pooled stages: the seeds the last look needs at α / (2m), more than a
    fixed-seed study of the same spread would need at α / m."""
    from poolnas.evidence.planning import seeds_for

    _two_stages(sqlite_url, random.Random(6), 4, 0.0, 0.01)
    args = ["compare", "--study", "stage1", "--study", "stage2", "--storage", sqlite_url,
            "--plan", "0.005", "--format", "json"]
    assert main(args) == 0
    p = json.loads(capsys.readouterr().out)["plan"]
    assert p["alpha_each"] == pytest.approx(0.05 / 2)  # one comparison, two looks
    assert p["seeds"] == seeds_for(0.005, p["sd"], 0.025) > seeds_for(0.005, p["sd"], 0.05)
