"""``poolnas model show CONFIG``: parameters, FLOPs (GMACs) and the table of attention sites."""

from __future__ import annotations

import argparse
from typing import Any

import torch

from poolnas.attention import attention_parameters
from poolnas.attention.ba2m import BatchAttention
from poolnas.config import TrialConfig, load_trial_config
from poolnas.models.cost import count_flops
from poolnas.models.factory import build_model, count_parameters
from poolnas.models.placement import attention_sites, natural_input_size

__all__ = ["format_sites", "model_summary", "show_command"]


def model_summary(config: TrialConfig, input_size: int | None = None) -> dict[str, Any]:
    """Parameter counts, FLOPs and sites of ``config``'s network (built on the meta device:
    no memory). ``flops``: forward multiply-accumulates per image in eval mode
    (:func:`poolnas.models.count_flops`) at ``input_size``, by default the architecture's
    natural input (224 for ImageNet's ``resnet50``, 32 for the CIFAR archs), not the
    dataset's (the trainer's ``model_cost`` counts at the dataset's size)."""
    size = input_size or natural_input_size(config)
    sites = attention_sites(config, size)
    with torch.device("meta"):  # structure only: no memory, no initialisation cost
        model = build_model(config, load_weights=False)
    return {
        "arch": config.model.arch,
        "num_classes": config.model.num_classes,
        "in_channels": config.model.in_channels,
        "input_size": size,
        "parameters": count_parameters(model),
        "flops": count_flops(model, (config.model.in_channels, size, size)),
        "flops_ba2m_on": _flops_ba2m_on(model, (config.model.in_channels, size, size)),
        "attention_parameters": sum(p.numel() for p in attention_parameters(model)),
        "sites": sites,
    }


def _flops_ba2m_on(model: torch.nn.Module, shape: tuple[int, int, int]) -> int | None:
    """MACs with every BA2M module on (as in training; the papers' BA2M FLOPs), or None
    when the network has no BA2M. The model is left as it was."""
    ba2m = [m for m in model.modules() if isinstance(m, BatchAttention)]
    if not ba2m:
        return None
    was = [m.in_eval for m in ba2m]
    for m in ba2m:
        m.in_eval = True
    try:
        return count_flops(model, shape)
    finally:
        for m, on in zip(ba2m, was, strict=True):
            m.in_eval = on


def format_sites(sites: list[dict[str, Any]]) -> str:
    """A fixed-width table of attention sites."""
    header = ("#", "stage", "block", "position", "module", "channels", "spatial", "pooling", "lam")
    rows = [header]
    for i, site in enumerate(sites):
        lam = "-" if site["lam"] is None else f"{site['lam']:.3f}"
        h, w = site["spatial"]
        rows.append((str(i), str(site["stage"]), str(site["block"]), site["position"], site["module"],
                     str(site["channels"]), f"{h}x{w}", site["pooling"], lam))
    widths = [max(len(r[i]) for r in rows) for i in range(len(header))]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in rows)


def show_command(args: argparse.Namespace) -> int:
    """Print the parameter count and every attention site of a trial config's network."""
    config = load_trial_config(args.config)
    summary = model_summary(config, getattr(args, "input_size", None))
    att = config.attention
    n = summary["parameters"]
    print(f"model: {summary['arch']}  classes={summary['num_classes']}  in_channels={summary['in_channels']}"
          f"  input={summary['input_size']}x{summary['input_size']}")
    flops = summary["flops"]
    print(f"parameters: {n:,} ({n / 1e6:.2f}M), attention {summary['attention_parameters']:,}"
          f"  FLOPs: {flops:,} MACs ({flops / 1e9:.3f} GMACs)")
    on = summary["flops_ba2m_on"]
    if on is not None and on != flops:
        print(f"FLOPs with BA2M on (training; off at inference): {on:,} MACs ({on / 1e9:.3f} GMACs)")
    print(f"attention: pooling={att.pooling} excitation={att.excitation} branch={att.branch} "
          f"reduction={att.reduction} schedule={att.schedule} position={att.placement.position}"
          + (f"  ba2m: reduction={att.batch_attention.reduction}" if att.batch_attention.enabled else ""))
    sites = summary["sites"]
    if not sites:
        print("attention sites: none")
        return 0
    print(f"attention sites: {len(sites)}")
    print(format_sites(sites))
    return 0
