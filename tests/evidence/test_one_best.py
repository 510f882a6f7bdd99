"""One best everywhere: the sweep summary, `studies`, the report and export name the same
configuration (best mean over its finished seeds, shown with n)."""

from __future__ import annotations

from poolnas.dashboards import rank_configurations
from poolnas.dashboards.listing import format_studies, list_studies
from poolnas.evidence import evidence_of
from poolnas.search.commands import format_summary
from poolnas.search.sweep import SweepResult, best_trial
from poolnas.storage import open_storage
from poolnas.studies import from_study
from poolnas.testing import synthetic_studies as S

LUCKY = {"attention.pooling": "mix"}  # one great seed, two poor ones
STEADY = {"attention.pooling": "srp-ms", "attention.lam": 0.2, "attention.M": 5}


def _study(url=None, accs=(0.80, 0.79, 0.81)):
    s = S.create("one-best", url)
    S.fill(s, [(LUCKY, [0.90, 0.60, 0.60]), (STEADY, list(accs)), ({"attention.pooling": "gap"}, [0.70])])
    return s


def test_summary_studies_report_and_export_agree(sqlite_url):
    study = _study(sqlite_url)
    b = best_trial(study)
    assert b["params"]["attention.pooling"] == "srp-ms" and b["n"] == 3
    assert abs(b["mean"] - 0.80) < 1e-9 and b["value"] == 0.81  # its best seed
    res = SweepResult(study="one-best", storage=sqlite_url, counts={"COMPLETE": 7}, ran=7, recovered=0,
                      target=7, best=b, metric="test_acc", mode="max")
    text = format_summary(res)
    assert "best test_acc (max) = 80.00% ± 1.00 (std, n=3), mean over seeds" in text
    assert "reported on test data" in text
    (row,) = list_studies(open_storage(sqlite_url))
    assert abs(row.best - 0.80) < 1e-9 and row.best_n == 3
    assert "80.00% ± 1.00 (std, n=3), mean over seeds (best seed: trial " in format_studies([row])
    data = from_study(study)
    assert rank_configurations(data, 1)[0].config["attention"]["pooling"] == "srp-ms"
    assert evidence_of(data).best.params["attention.pooling"] == "srp-ms"


def test_summary_says_when_trials_sit_at_chance():
    s = S.create("chance")
    S.fill(s, [({"attention.pooling": "gap"}, [0.1, 0.11]), ({"attention.pooling": "mix"}, [0.1, 0.1])])
    b = best_trial(s)
    res = SweepResult(study="chance", storage="", counts={"COMPLETE": 4}, ran=4, recovered=0, target=4,
                      best=b, metric="test_acc", mode="max")
    assert "sits at chance accuracy" in format_summary(res)
