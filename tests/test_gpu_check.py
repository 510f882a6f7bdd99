"""benchmarks/gpu_check.py at toy size on the CPU (issue 20 item 7): the GPU check cannot rot
while no GPU is at hand. Every section runs (the CUDA tests and the Ray sweep are left to
their own tests here), one JSON comes out, and the docs section it writes says "not
measured" for every figure: toy numbers are never GPU figures."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def gpu_check():
    spec = importlib.util.spec_from_file_location("gpu_check", ROOT / "benchmarks" / "gpu_check.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_toy_run_writes_the_json_and_a_not_measured_docs_section(gpu_check, tmp_path):
    out, docs = tmp_path / "gpu_check.json", tmp_path / "benchmarks.md"
    docs.write_text("# Benchmarks\n\n## Other\n\ntext\n")
    argv = ["--toy", "--skip-tests", "--skip-sweep", "--out", str(out), "--docs", str(docs)]
    assert gpu_check.main(argv) == 0
    result = json.loads(out.read_text())
    assert result["machine"]["toy"] is True and result["machine"]["device"] == "cpu"
    s = result["sections"]
    assert s["cuda_tests"] == {"skipped": "--skip-tests"}
    assert s["fractional_sweep"] == {"skipped": "--skip-sweep"}
    eager = s["resnet_epoch"]["variants"]["eager fp32 batch 128"]
    assert eager["epoch_s"] > 0 and eager["images_per_s"] > 0
    assert "skipped" in s["resnet_epoch"]["variants"]["compile bf16 channels_last batch 512"]
    assert all(v > 0 for v in s["input_pipeline"]["images_per_s"].values())
    for side in ("fp32", "bf16"):
        assert s["fp32_vs_bf16"][side]["step_ms"] > 0 and 0 <= s["fp32_vs_bf16"][side]["test_acc"] <= 1
    text = docs.read_text()
    assert text.startswith("# Benchmarks") and "## Other" in text  # the rest of the file kept
    section = text.split(gpu_check.BEGIN, 1)[1].split(gpu_check.END, 1)[0]
    rows = [line for line in section.splitlines() if line.startswith("| ") and "---" not in line][1:]
    assert len(rows) >= 9 and all(row.split("|")[2].strip().startswith("not measured") for row in rows)
    # a second run replaces the section instead of appending another
    gpu_check.write_docs(docs, result)
    assert docs.read_text().count(gpu_check.BEGIN) == 1


def test_the_docs_section_shows_figures_only_from_a_gpu_run(gpu_check):
    result = {"machine": {"toy": False, "gpu": "NVIDIA H200", "cuda": "13.0", "torch": "2.x",
                          "python": "3.11",
                          "load": [0.1], "date_utc": "2026-12-02 00:00"}, "total_s": 300.0,
              "sections": {"resnet_epoch": {"variants": {"eager fp32 batch 128": {"epoch_s": 2.5}}}}}
    text = gpu_check.markdown(result)
    assert "| 2.5 |" in text and "NVIDIA H200" in text
    assert "not measured" in text  # what the run did not measure still says so
