"""The README's notebook example, run as written: a real sweep (Ray, SQLite, training on
digits), then the DataFrames, checked against poolnas.evidence and scipy."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

README = Path(__file__).parents[2] / "README.md"


def _example() -> str:
    section = README.read_text().split("## In a notebook (Python)")[1]
    return re.search(r"```python\n(.*?)```", section, re.S).group(1)


def test_import_poolnas_stays_light():
    import subprocess
    import sys

    code = ("import poolnas, sys; "
            "print(sorted(m for m in ('pandas', 'optuna', 'torch', 'scipy') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


@pytest.mark.integration
@pytest.mark.slow
@pytest.mark.timeout(600)
def test_readme_notebook_example_runs(tmp_path, monkeypatch):
    from scipy import stats

    monkeypatch.chdir(tmp_path)
    scope: dict = {}
    exec(compile(_example(), str(README), "exec"), scope)  # noqa: S102 - the README's own code
    study, vs_max = scope["study"], scope["vs_max"]
    frame = study.configurations
    assert list(frame.columns[:2]) == ["rank", "config_key"]
    assert sorted(frame["attention.pooling"]) == ["gap", "max", "mix"] and set(frame["n"]) == {2}
    assert frame["verdict"].tolist().count("baseline") == 1
    assert study.best.mean == pytest.approx(frame["mean"].max())
    # Δ of one configuration against max, recomputed from the trials table with scipy.
    trials = scope["again"].trials
    def runs(p):
        rows = trials[trials["attention.pooling"] == p].sort_values("seed")
        return rows["value"].tolist()
    row = vs_max[vs_max["attention.pooling"] == "gap"].iloc[0]
    a, b = runs("gap"), runs("max")
    if len({round(x - y, 12) for x, y in zip(a, b, strict=True)}) > 1:  # scipy needs a spread
        # simultaneous over the family against max (gap and mix): each at 1 - 0.05 / 2
        ref = stats.ttest_rel(a, b).confidence_interval(1 - 0.05 / 2)
        assert row["ci_low"] == pytest.approx(ref.low) and row["ci_high"] == pytest.approx(ref.high)
    assert row["delta"] == pytest.approx(sum(a) / 2 - sum(b) / 2)
    assert row["n_pairs"] == 2 and "mde" in vs_max.columns
