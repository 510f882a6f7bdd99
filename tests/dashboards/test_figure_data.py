"""Figure data on synthetic studies with known accuracy tables."""

from __future__ import annotations

import math

import pytest
from optuna.trial import TrialState

from poolnas.dashboards import applicable_figures, paper_figures
from poolnas.dashboards.ba2m import (
    _get_ba2m_batch_size_info,
    _get_ba2m_placement_info,
    _get_ba2m_reduction_info,
)
from poolnas.dashboards.saam_paths import _get_saam_paths_info
from poolnas.dashboards.se_placement import _get_se_placement_info
from poolnas.dashboards.spem_alpha import _get_spem_alpha_info
from poolnas.dashboards.srp_heatmap import _get_srp_heatmap_info
from poolnas.dashboards.srp_lambda import _get_srp_lambda_info
from poolnas.studies import from_study
from poolnas.testing import synthetic_studies as S

LAMS = [0.2, 0.4, 0.6, 0.8, 1.0]
MS = [1, 3, 5]


def _acc(lam: float, m: int, branch: str) -> float:
    """A known accuracy table: distinct value per cell."""
    return 0.5 + lam / 10 + m / 100 + (0.05 if branch == "double" else 0.0)


@pytest.fixture
def fig3_study():
    study = S.create("fig3")
    table = []
    for branch in ("one", "double"):
        for lam in LAMS:
            for m in MS:
                if branch == "double" and (lam, m) == (0.4, 3):
                    continue  # a cell never run: a gap
                a = _acc(lam, m, branch)
                table.append(({"attention.pooling": "srp-ms", "attention.lam": lam, "attention.M": m,
                               "attention.branch": branch, "attention.schedule": "linear"},
                              [a - 0.01, a, a + 0.01]))
    S.fill(study, table)
    return study


def test_fig3_heatmap_is_the_table_with_gaps(fig3_study):
    data = from_study(fig3_study)
    info = _get_srp_heatmap_info(data)
    assert [p.name for p in info.panels] == ["double branch", "one branch"]
    for panel in info.panels:
        assert panel.lam == LAMS and panel.M == MS
        branch = panel.name.split()[0]
        for i, m in enumerate(MS):
            for j, lam in enumerate(LAMS):
                if branch == "double" and (lam, m) == (0.4, 3):
                    assert panel.mean[i][j] is None and panel.n[i][j] == 0
                    continue
                assert panel.mean[i][j] == pytest.approx(100 * _acc(lam, m, branch))
                assert panel.std[i][j] == pytest.approx(1.0)  # 100 * 0.01, sample std of 3
                assert panel.n[i][j] == 3
    assert applicable_figures(data) == ["srp-fig3", "srp-fig7"]


def test_fig2_series_fixed_vs_scheduled_one_vs_double():
    study = S.create("fig2")
    table = []
    for schedule in ("fixed", "linear"):
        for branch in ("one", "double"):
            for lam in LAMS:
                bonus = 0.02 if schedule == "linear" else 0.0
                table.append(({"attention.pooling": "srp-ss", "attention.lam": lam,
                               "attention.schedule": schedule, "attention.branch": branch},
                              [0.6 + lam / 10 + bonus, 0.62 + lam / 10 + bonus]))
    S.fill(study, table)
    # Another pooling in the same study is left out of Fig. 2.
    S.fill(study, [({"attention.pooling": "gap"}, [0.1])])
    info = _get_srp_lambda_info(from_study(study))
    names = {s.name: s for s in info.series}
    assert set(names) == {"fixed λ, one branch", "fixed λ, double branch",
                          "scheduled λ, one branch", "scheduled λ, double branch"}
    s = names["scheduled λ, double branch"]
    assert s.x == LAMS
    assert s.mean == pytest.approx([100 * (0.61 + lam / 10 + 0.02) for lam in LAMS])
    assert s.std == pytest.approx([math.sqrt(2) for _ in LAMS])  # sample std of {a-1, a+1}
    assert s.n == [2] * 5


def test_partial_study_draws_what_exists():
    study = S.create("partial")
    S.fill(study, [({"attention.pooling": "srp-ss", "attention.lam": 0.5}, [0.7]),
                   ({"attention.pooling": "srp-ss", "attention.lam": 0.8}, [0.8, 0.9])])
    S.add_trial(study, {"attention.pooling": "srp-ss", "attention.lam": 0.3}, 0, None, state=TrialState.FAIL)
    S.add_trial(study, {"attention.pooling": "srp-ss", "attention.lam": 0.3}, 1, None,
                state=TrialState.RUNNING)
    S.add_trial(study, {"attention.pooling": "srp-ss", "attention.lam": 0.2,
                        "attention.branch": "double"}, 0, 0.2)
    data = from_study(study)
    assert data.state_counts["FAIL"] == 1 and data.state_counts["RUNNING"] == 1
    info = _get_srp_lambda_info(data)
    one = next(s for s in info.series if "one" in s.name)
    double = next(s for s in info.series if "double" in s.name)
    assert one.x == double.x == [0.2, 0.5, 0.8]
    assert one.mean[0] is None and one.mean[1:] == pytest.approx([70.0, 85.0])
    assert double.mean[1:] == [None, None] and double.mean[0] == pytest.approx(20.0)
    figs = paper_figures(data)
    assert [f.key for f in figs] == ["srp-fig2", "srp-fig7"] and all(f.error is None for f in figs)


def test_empty_study_has_no_paper_figures():
    data = from_study(S.create("empty"))
    assert data.rows == [] and applicable_figures(data) == [] and paper_figures(data) == []


def test_spem_alpha_fixed_and_learned():
    study = S.create("spem")
    S.fill(study, [({"attention.pooling": "mix", "attention.excitation": "spem",
                     "attention.mix_alpha": a}, [0.5 + a / 10, 0.5 + a / 10]) for a in (0.1, 0.5, 0.9)])
    S.fill(study, [({"attention.pooling": "mix", "attention.excitation": "spem",
                     "attention.mix_alpha": "learn"}, [0.7, 0.8])])
    data = from_study(study)
    info = _get_spem_alpha_info(data)
    assert info.fixed[0].x == [0.1, 0.5, 0.9]
    assert info.fixed[0].mean == pytest.approx([51.0, 55.0, 59.0])
    (name, stat), = info.learned
    assert stat.mean == pytest.approx(75.0) and stat.n == 2
    assert "spem-alpha" in applicable_figures(data)


def test_saam_paths_per_arch():
    study = S.create("saam")
    for arch, base in (("resnet20", 0.6), ("resnet32", 0.7)):
        S.fill(study, [({"model.arch": arch, "attention.pooling": "score", "attention.paths": k,
                         "attention.reduction": 4}, [base - k / 100]) for k in (1, 2, 4)])
    info = _get_saam_paths_info(from_study(study))
    by = {s.name: s for s in info.series}
    assert set(by) == {"resnet20", "resnet32"}
    assert by["resnet32"].x == [1, 2, 4] and by["resnet32"].mean == pytest.approx([69.0, 68.0, 66.0])


def test_ba2m_error_vs_reduction_batch_size_and_placement():
    study = S.create("ba2m")
    on = {"attention.batch_attention.enabled": True}
    S.fill(study, [({**on, "attention.batch_attention.reduction": r}, [0.9 - r / 1000]) for r in (2, 8, 32)])
    S.fill(study, [({**on, "trainer.batch_size": b}, [0.8]) for b in (16, 64)])
    S.fill(study, [({**on, "attention.batch_attention.stages": s}, [0.7, 0.75]) for s in ([1], [2, 3])])
    S.fill(study, [({"attention.batch_attention.reduction": 4}, [0.1])])  # BA2M off: left out
    data = from_study(study)
    red = _get_ba2m_reduction_info(data).series[0]
    assert red.x == [2, 8, 32]  # 32 is the default, so the batch-size/placement trials sit there
    assert red.mean[0] == pytest.approx(100 * (1 - 0.898))
    assert red.mean[1] == pytest.approx(100 * (1 - 0.892))
    assert _get_ba2m_batch_size_info(data).series[0].x == [16, 64]  # 16: the base config
    place = _get_ba2m_placement_info(data).series[0]
    assert place.x[:2] == ["1", "2,3"] and place.mean[:2] == pytest.approx([27.5, 27.5])
    assert place.std[0] == pytest.approx(100 * math.sqrt(0.00125))
    assert {"ba2m-reduction", "ba2m-batch-size", "ba2m-placement"} <= set(applicable_figures(data))


def test_ba2m_placement_splits_between_and_inside():
    # BA2M between the stages and inside the last block's residual branch are two designs:
    # two series, never one mean over both
    study = S.create("ba2m-inside")
    on = {"attention.batch_attention.enabled": True}
    for position, acc in (("between", 0.8), ("inside", 0.6)):
        S.fill(study, [({**on, "attention.batch_attention.position": position,
                         "attention.batch_attention.stages": s}, [acc]) for s in ([1], [2, 3])])
    by = {s.name: s for s in _get_ba2m_placement_info(from_study(study)).series}
    assert set(by) == {"position=between", "position=inside"}
    assert by["position=between"].mean == pytest.approx([20.0, 20.0])
    assert by["position=inside"].mean == pytest.approx([40.0, 40.0])


def test_se_placement_stage_subsets_by_position():
    study = S.create("placement")
    for pos, bonus in (("residual", 0.0), ("post-add", -0.02)):
        S.fill(study, [({"attention.placement.stages": st, "attention.placement.position": pos},
                        [0.8 + bonus - 0.01 * len(st)]) for st in ([1, 2, 3], [2, 3], [3])])
    info = _get_se_placement_info(from_study(study))
    by = {s.name: s for s in info.series}
    assert by["position: residual"].x == ["3", "2,3", "1,2,3"]
    assert by["position: post-add"].mean == pytest.approx([77.0, 76.0, 75.0])


def test_minimize_objective_and_non_poolnas_trials():
    import optuna

    study = optuna.create_study(direction="minimize")
    study.optimize(lambda t: (t.suggest_float("x", -1, 1)) ** 2, n_trials=5)
    data = from_study(study)
    assert data.direction == "minimize" and data.metric == "objective" and len(data.rows) == 5
    assert applicable_figures(data) == []
