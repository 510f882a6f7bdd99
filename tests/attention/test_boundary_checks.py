"""Arguments are checked once, where a user hands them in: the trial config for networks
built from it, the public constructors and functions for direct use; λ's range is one rule."""

from __future__ import annotations

import math

import pytest

from poolnas.attention import (
    create_attention,
    create_pool,
    region_side,
    sample_region_masks,
    scheduled_lambda,
)
from poolnas.attention.srp_pool import SRPPool
from poolnas.config import SRP_DEFAULT_LAM, AttentionConfig, config_from_dict
from poolnas.errors import ConfigError

LAMS = [0.0, -0.1, 1e-9, 0.5, 1.0, 1.0 + 1e-9, 2.0, math.nan, math.inf]


@pytest.mark.parametrize("lam", LAMS)
def test_config_and_modules_accept_the_same_lambdas(lam):
    try:
        config_from_dict({"attention": {"pooling": "srp-ss", "lam": lam}})
        config_ok = True
    except ConfigError:
        config_ok = False
    entries = [lambda: SRPPool(lam), lambda: create_pool("srp-ms", 4, lam=lam), lambda: region_side(lam, 8),
               lambda: scheduled_lambda(lam, 0, 2, "linear"),
               lambda: sample_region_masks(2, 4, 4, lam=lam)]
    for entry in entries:
        if config_ok:
            entry()
        else:
            with pytest.raises(ConfigError, match=r"^lam: .* expected a number in \(0, 1\]$"):
                entry()


def test_srp_pool_defaults_are_the_configs():
    assert SRPPool().lam == SRP_DEFAULT_LAM["srp-ss"] == AttentionConfig(pooling="srp-ss").lam
    assert SRPPool(num_regions=5).lam == SRP_DEFAULT_LAM["srp-ms"] == AttentionConfig(pooling="srp-ms").lam


@pytest.mark.parametrize(("site_index", "num_sites", "field"), [(3, 3, "site_index"), (-1, 3, "site_index"),
                                                                 (0, 0, "num_sites")])
def test_create_attention_checks_the_site_for_every_pooling(site_index, num_sites, field):
    for pooling in ("gap", "srp-ms"):
        with pytest.raises(ConfigError, match=f"^{field}: "):
            create_attention(AttentionConfig(pooling=pooling), 8, site_index=site_index, num_sites=num_sites)
