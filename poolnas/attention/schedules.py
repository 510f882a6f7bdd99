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

from fractions import Fraction
from typing import TYPE_CHECKING

from torch import nn

from poolnas.errors import ConfigError

from ._checks import check_choice, check_fraction, check_int, check_lam
from .srp_pool import SRPPool

if TYPE_CHECKING:
    from poolnas.config import AttentionConfig

SCHEDULES = ("fixed", "linear", "epochs")
SRP_POOLINGS = ("srp-ss", "srp-ms")


def scheduled_lambda(lam: float, site_index: int, num_sites: int, schedule: str) -> float:
    """λ at one attention site after the depth schedule (SRP Sec. 3, "Scheduled SRP").

    Args:
        lam: the target λ in (0, 1].
        site_index: 0-based index of the attention block, in depth order.
        num_sites: number of attention blocks in the network (>= 1).
        schedule: ``fixed``, ``linear`` or ``epochs``.

    Returns:
        ``lam`` for fixed / epochs; ``1 + (lam - 1) · site_index / (num_sites - 1)`` for
        linear (a float; ``region_side`` rounds its half-way cases up, Eq. 2).
    """
    lam = check_lam(lam)
    check_choice(schedule, "schedule", SCHEDULES)
    num_sites = check_int(num_sites, "num_sites", 1)
    site_index = check_int(site_index, "site_index", 0, f" and < num_sites ({num_sites})")
    if site_index >= num_sites:
        raise ConfigError(
            "site_index", site_index, f"expected an integer >= 0 and < num_sites ({num_sites})"
        )
    if schedule != "linear" or num_sites == 1:
        return lam
    # In fractions from the decimal written, then the nearest float (region_side rounds
    # Eq. 2's half-way cases up even a few ulps off).
    return float(1 + (Fraction(repr(lam)) - 1) * Fraction(site_index, num_sites - 1))


def site_lambda(cfg: AttentionConfig, site_index: int, num_sites: int) -> float | None:
    """λ of the channel-attention site ``site_index`` of ``num_sites`` under ``cfg``'s
    schedule, or None when ``cfg.pooling`` is not SRP (the pool has no λ).

    One rule for the modules (``create_attention``) and the site table
    (``poolnas.models.attention_sites``).
    """
    if cfg.pooling not in SRP_POOLINGS:
        return None
    return scheduled_lambda(cfg.lam, site_index, num_sites, cfg.schedule)


def set_training_progress(model: nn.Module, fraction: float) -> None:
    """Tell every SRP op with the ``epochs`` schedule how far training is (0 ... 1).

    Args:
        model: any module; SRP ops without the epochs schedule are left alone.
        fraction: progress in [0, 1], e.g. ``epoch / (epochs - 1)``.
    """
    fraction = check_fraction(fraction, "fraction")
    for module in model.modules():
        if isinstance(module, SRPPool):
            module.set_progress(fraction)
