"""The report's parameter importances (ε², one-way ANOVA in numpy) against a brute-force
computation, and the report's cold import set: no scikit-learn (Optuna's importance module
imports it, 4.5-6 s of a cold report)."""

from __future__ import annotations

import random
import subprocess
import sys

import pytest

from poolnas.dashboards.optuna_figures import anova_importances, param_importances
from poolnas.studies import from_study
from poolnas.testing import synthetic_studies as S


def _epsilon_squared(y: list[float], x: list[object]) -> float:
    """Kelley's ε² by the textbook sums, one loop per group."""
    mean = sum(y) / len(y)
    groups: dict[str, list[float]] = {}
    for v, level in zip(y, x, strict=True):
        groups.setdefault(repr(level), []).append(v)
    ss_total = sum((v - mean) ** 2 for v in y)
    ss_between = sum(len(g) * (sum(g) / len(g) - mean) ** 2 for g in groups.values())
    ms_within = (ss_total - ss_between) / (len(y) - len(groups))
    return max(0.0, (ss_between - (len(groups) - 1) * ms_within) / ss_total)


def test_epsilon_squared_matches_the_textbook_sums() -> None:
    rng = random.Random(3)
    pooling = [rng.choice(["gap", "srp", "mix"]) for _ in range(60)]
    reduction = [rng.choice([4, 8, 16]) for _ in range(60)]
    y = [0.7 + 0.05 * (p == "srp") + 0.001 * r + rng.gauss(0, 0.01)
         for p, r in zip(pooling, reduction, strict=True)]
    got = anova_importances(y, {"attention.pooling": pooling, "attention.reduction": reduction})
    assert got["attention.pooling"] == pytest.approx(_epsilon_squared(y, pooling), rel=1e-9)
    assert got["attention.reduction"] == pytest.approx(_epsilon_squared(y, reduction), rel=1e-9)
    assert list(got) == ["attention.pooling", "attention.reduction"]  # most important first
    assert got["attention.pooling"] > 0.7  # its share of the variance: about 0.8 by construction


def test_no_effect_scores_about_zero_and_many_values_are_binned() -> None:
    rng = random.Random(0)
    lam = [rng.uniform(0.1, 1.0) for _ in range(400)]  # 400 distinct floats: cut into 10 quantile bins
    noise = [rng.gauss(0, 1) for _ in lam]
    assert anova_importances(noise, {"lam": lam})["lam"] < 0.03  # η² alone would be ~ 9/399 or more
    signal = [v + 5 * x for v, x in zip(noise, lam, strict=True)]
    binned = anova_importances(signal, {"lam": lam})["lam"]
    import numpy as np

    edges = np.quantile(lam, np.linspace(0, 1, 11)[1:-1])
    assert binned == pytest.approx(_epsilon_squared(signal, list(np.searchsorted(edges, lam, side="right"))))
    assert binned > 0.4


def test_param_importances_of_a_real_study(sqlite_url) -> None:
    study = S.create("imp-real", sqlite_url)
    S.fill(study, [({"attention.pooling": "srp-ms", "attention.lam": lam, "attention.M": m},
                    [0.5 + lam / 2 + m / 1000, 0.51 + lam / 2]) for lam in (0.2, 0.6, 1.0) for m in (1, 3)])
    imp = param_importances(from_study(study))
    assert list(imp)[0] == "attention.lam" and set(imp) == {"attention.lam", "attention.M"}
    assert imp["attention.lam"] > 0.9 and imp["attention.M"] < 0.05


def test_the_report_does_not_import_sklearn(sqlite_url, tmp_path) -> None:
    # nor torch, nor SQLAlchemy (a sqlite:/// file is read with sqlite3)
    study = S.create("no-sklearn", sqlite_url)
    S.fill(study, [({"attention.pooling": p}, [0.5 + i / 10, 0.52])
                   for i, p in enumerate(["gap", "max", "mix"])])
    out = tmp_path / "r.html"
    code = ("import sys; from poolnas.cli import main; "
            f"rc = main(['report', '--study', 'no-sklearn', '--storage', {sqlite_url!r}, "
            f"'-o', {str(out)!r}]); "
            "print(rc, sorted(m for m in ('sklearn', 'torch', 'sqlalchemy') if m in sys.modules))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.split("\n")[-2] == "0 []", done.stdout + done.stderr
    assert 'id="fig-optuna-importances"' in out.read_text()
