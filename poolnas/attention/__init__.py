"""Attention pooling library: pooling ops, SRP, λ schedules, excitation heads, BA2M.

Public API (see docs/attention.md):
- ``create_attention(cfg, channels, *, site_index=0, num_sites=1)``: block attention or None.
- ``create_batch_attention(cfg, channels)``: BA2M or None.
- ``scheduled_lambda(lam, site_index, num_sites, schedule)``: SRP λ at a site.
- ``set_training_progress(model, fraction)``: the over-epochs λ schedule.
- ``attention_regularizer(model)``: SPEM's 0.1·Σp² for the loss.
- ``attention_parameters(model)``: attention parameters (no weight decay for SAAM).
- ``create_pool(pool_type, channels, **kw)``: pooling ops ``(N, C, H, W) -> (N, C)``.
- ``sample_region_masks(...)``, ``region_side(lam, size)``: SRP's region sampler.
"""

from __future__ import annotations

from .factory import create_attention, create_batch_attention
from .parameters import attention_parameters, attention_regularizer
from .pool_factory import create_pool
from .regions import region_side, sample_region_masks
from .schedules import scheduled_lambda, set_training_progress

__all__ = [
    "attention_parameters",
    "attention_regularizer",
    "create_attention",
    "create_batch_attention",
    "create_pool",
    "region_side",
    "sample_region_masks",
    "scheduled_lambda",
    "set_training_progress",
]
