"""Attention pooling library: pooling ops, SRP, λ schedules, excitation heads, BA2M.

Public API (see docs/attention.md):
- ``create_attention(cfg, channels, *, site_index=0, num_sites=1)``: block attention or None.
- ``create_batch_attention(cfg, channels)``: BA2M or None.
- ``create_bam(cfg, channels)``: BAM (between stages) or None.
- ``scheduled_lambda(lam, site_index, num_sites, schedule)``: SRP λ at a site.
- ``set_training_progress(model, fraction)``: the over-epochs λ schedule.
- ``attention_regularizer(model)``: SPEM's 0.1·Σp² for the loss.
- ``attention_parameters(model)``: attention parameters (no weight decay for SAAM).
- ``create_pool(pool_type, channels, **kw)``: pooling ops ``(N, C, H, W) -> (N, C)``.
- ``sample_region_masks(...)``, ``region_side(lam, size)``: SRP's region sampler.

Arguments are checked at the boundary only: the trial config for networks built from it,
the public constructors and functions above (and ``SRPPool``) for direct use; the helpers
they call trust them (``_checks``; docs/attention.md).
"""

from __future__ import annotations

from poolnas._lazy import lazy_exports

# Imported on first use (PEP 562): checking a config or a space file must not import
# torch (`poolnas space validate` starts in well under a second).
_EXPORTS = {  # module of the package: the names it gives
    "from_config": ("create_attention", "create_bam", "create_batch_attention"),
    "parameters": ("attention_parameters", "attention_regularizer"),
    "pool_types": ("create_pool",),
    "regions": ("region_side", "sample_region_masks"),
    "schedules": ("scheduled_lambda", "set_training_progress"),
}

__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)

__all__ = sorted(name for names in _EXPORTS.values() for name in names)
