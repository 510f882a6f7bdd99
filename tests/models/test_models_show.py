"""`poolnas model show CONFIG`: parameter count and the site table; exit 2 on a bad config."""

from __future__ import annotations

import yaml

from poolnas.cli import main
from poolnas.config import load_trial_config
from poolnas.models import build_model, count_flops, count_parameters


def _write(tmp_path, doc) -> str:
    path = tmp_path / "trial.yaml"
    path.write_text(yaml.safe_dump(doc))
    return str(path)


def test_show_prints_count_and_every_site(tmp_path, capsys) -> None:
    doc = {"model": {"arch": "resnet56", "num_classes": 100},
           "attention": {"pooling": "srp-ms", "lam": 0.6, "schedule": "linear",
                         "placement": {"stages": [2, 3], "position": "residual"}},
           "trainer": {"dataset": "cifar100"}}
    assert main(["model", "show", _write(tmp_path, doc)]) == 0
    out = capsys.readouterr().out
    n = count_parameters(build_model(load_trial_config(tmp_path / "trial.yaml")))
    assert f"parameters: {n:,} ({n / 1e6:.2f}M)" in out
    flops = count_flops(build_model(load_trial_config(tmp_path / "trial.yaml")), (3, 32, 32))
    assert f"FLOPs: {flops:,} MACs ({flops / 1e9:.3f} GMACs)" in out
    lines = out.splitlines()
    table = lines[lines.index(next(line for line in lines if line.startswith("#"))):]
    assert len(table) == 1 + 18  # header + 9 blocks in each of stages 2 and 3
    assert table[1].split()[:9] == ["0", "2", "0", "residual", "layer2.0.attn", "32", "16x16", "srp-ms",
                                    "1.000"]
    assert table[-1].split()[-1] == "0.600"
    assert table[-1].split()[6] == "8x8"


def test_show_input_size_and_no_sites(tmp_path, capsys) -> None:
    doc = {"model": {"arch": "resnet50", "num_classes": 1000}, "attention": {"pooling": "none"}}
    assert main(["model", "show", _write(tmp_path, doc), "--input-size", "224"]) == 0
    out = capsys.readouterr().out
    assert "parameters: 25,557,032" in out
    assert "(4.089 GMACs)" in out  # torchvision's ResNet-50 at 224: 4.09 GMACs
    assert "attention sites: none" in out


def test_show_bad_config_exits_2_with_one_line(tmp_path, capsys) -> None:
    doc = {"model": {"arch": "resnet20"}, "attention": {"pooling": "gap", "placement": {"stages": [4]}}}
    assert main(["model", "show", _write(tmp_path, doc)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "attention.placement.stages" in err
    assert main(["model", "show", str(tmp_path / "missing.yaml")]) == 2


def test_show_prints_ba2m_flops_when_on(tmp_path, capsys) -> None:
    doc = {"model": {"arch": "resnet50-cifar", "num_classes": 100},
           "attention": {"pooling": "none", "batch_attention": {"enabled": True, "stages": [1, 2, 3, 4]}},
           "trainer": {"dataset": "cifar100"}}
    assert main(["model", "show", _write(tmp_path, doc)]) == 0
    out = capsys.readouterr().out
    assert "(1.298 GMACs)" in out  # off at inference: ResNet-50's MACs
    assert "FLOPs with BA2M on (training; off at inference): 1,327,885,312 MACs (1.328 GMACs)" in out


def test_show_counts_at_the_architectures_natural_input(tmp_path, capsys) -> None:
    """Without --input-size: 224 for ImageNet's ResNet-50, 32 for CIFAR archs, whatever the
    dataset (digits' 8x8 would report a ResNet-50 at 1/784 of its cost)."""
    doc = {"model": {"arch": "resnet50", "num_classes": 1000}, "attention": {"pooling": "none"}}
    assert main(["model", "show", _write(tmp_path, doc)]) == 0
    out = capsys.readouterr().out
    assert "input=224x224" in out and "(4.089 GMACs)" in out
    doc = {"model": {"arch": "resnet20", "in_channels": 1}, "attention": {"pooling": "gap"},
           "trainer": {"dataset": "digits"}}
    assert main(["model", "show", _write(tmp_path, doc)]) == 0
    out = capsys.readouterr().out
    assert "input=32x32" in out and "32x32" in out.splitlines()[-9]  # stage 1 of ResNet-20
