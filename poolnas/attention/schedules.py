"""SRP's λ schedules (Luo et al., SRP Sec. 3, "Scheduled SRP").

- ``fixed``: λ at every attention block.
- ``linear`` (the paper's scheduled SRP): λ falls linearly with depth from 1 at the first
  attention block (site 0) to λ at the last (site ``num_sites - 1``); a lone site gets λ.
- ``epochs`` (ScheduledDropPath-style, over training time): λ at every block, and
  ``set_training_progress(model, f)`` moves the λ in use from 1 at f = 0 to λ at f = 1.
  The trainer calls it at the start of every epoch with ``epoch / (epochs - 1)``; a
  model that was never told its progress uses λ = 1 in training (f = 0).
"""

from __future__ import annotations

from torch import nn

from poolnas.config import SRP_POOLINGS, AttentionConfig

from ._checks import check_fraction
from .srp_geometry import SCHEDULES, _scheduled_lambda, scheduled_lambda  # noqa: F401 - this module's API
from .srp_pool import SRPPool


def site_lambda(cfg: AttentionConfig, site_index: int, num_sites: int) -> float | None:
    """λ of the channel-attention site ``site_index`` of ``num_sites`` under ``cfg``'s
    schedule, or None when ``cfg.pooling`` is not SRP (the pool has no λ).

    One rule for the modules (``create_attention``) and the site table
    (``poolnas.models.attention_sites``). ``cfg`` is a validated config and the sites are
    its network's, so nothing is checked again here.
    """
    if cfg.pooling not in SRP_POOLINGS:
        return None
    return _scheduled_lambda(cfg.lam, site_index, num_sites, cfg.schedule)


def set_training_progress(model: nn.Module, fraction: float) -> None:
    """Tell every SRP op with the ``epochs`` schedule how far training is (0 ... 1).

    Args:
        model: any module; SRP ops without the epochs schedule are left alone.
        fraction: progress in [0, 1], e.g. ``epoch / (epochs - 1)``.
    """
    fraction = check_fraction(fraction, "fraction")
    for module in model.modules():
        if isinstance(module, SRPPool):
            module._set_progress(fraction)  # checked once, above
