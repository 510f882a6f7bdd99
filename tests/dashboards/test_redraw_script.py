"""scripts/redraw_figures.sh: one command redraws every figure of the study databases kept
(docs/studies/*.db, here a temporary folder): a report and a PNG per figure per study."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from poolnas.testing import synthetic_studies as S

pytestmark = [pytest.mark.integration, pytest.mark.browser]

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "redraw_figures.sh"


def test_redraw_every_figure_of_the_kept_studies(tmp_path) -> None:
    if not shutil.which("chromium"):
        pytest.skip("chromium is needed for the PNGs (apt-get install chromium)")
    studies = tmp_path / "studies"
    studies.mkdir()
    url = f"sqlite:///{studies / 'kept.db'}"
    study = S.create("kept", url)
    S.fill(study, [({"attention.pooling": "score", "attention.paths": k}, [0.70 + k / 100, 0.71])
                   for k in (1, 2, 4)] + [({"attention.pooling": "gap"}, [0.70, 0.705])])
    # a second stage of "kept" on seeds 2-3 (a staged design): also reported pooled with it
    stage = S.create("kept-stage2", url, space={"study": "kept-stage2", "seeds": [2, 3], "looks": [2, 4],
                                                "space": {"attention.pooling": {"grid": ["gap", "score"]}}})
    for seed in (2, 3):
        for k in (1, 2, 4):
            S.add_trial(stage, {"attention.pooling": "score", "attention.paths": k}, seed, 0.70 + k / 100)
        S.add_trial(stage, {"attention.pooling": "gap"}, seed, 0.70)
    before = (studies / "kept.db").read_bytes()
    out = tmp_path / "img"
    env = {**os.environ, "STUDIES": str(studies), "PYTHON": sys.executable}
    run = subprocess.run(["bash", str(SCRIPT), str(out)], env=env, capture_output=True, text=True,
                         timeout=600)
    assert run.returncode == 0, run.stderr[-2000:]
    pngs = sorted(p.name for p in out.glob("*.png"))
    page = (out / "kept.html").read_text() if (out / "kept.html").is_file() else ""
    errors = [line for line in page.splitlines() if "Error" in line][:5]  # a figure that failed to draw
    assert (out / "kept.html").is_file(), run.stderr[-2000:]
    assert "kept-saam-paths.png" in pngs and "kept-verdict.png" in pngs, (pngs, run.stderr[-2000:], errors)
    assert "kept-stage2-verdict.png" in pngs and "kept-pooled-forest.png" in pngs, (pngs, run.stderr[-2000:])
    pooled = (out / "kept-pooled.html").read_text()
    assert "kept + kept-stage2" in pooled and "a staged design" in pooled
    assert all(p.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" for p in out.glob("*.png"))
    assert (studies / "kept.db").read_bytes() == before  # nothing written to the database
    empty = subprocess.run(["bash", str(SCRIPT), str(out)], env={**env, "STUDIES": str(tmp_path / "none")},
                           capture_output=True, text=True, timeout=60)
    assert empty.returncode == 1 and "no study database" in empty.stderr
