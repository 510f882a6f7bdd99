"""Argument checks of the attention package's public API: one ConfigError per bad value.

Where arguments are checked: at the boundary a user hands them in, once. For a network built
from a trial config that is the config (``poolnas.config``, pydantic); for a module or function
called directly it is the public constructor or function (``SRPPool(lam=...)``,
``create_pool``, ``region_side``, ``scheduled_lambda``, ``sample_region_masks``), with these
checks. Private helpers (``srp_geometry._region_side``, ``_scheduled_lambda``) and forward
passes trust their arguments. Each range is written once: λ's in ``poolnas.config``.
"""

from __future__ import annotations

from poolnas.config import LAM_MAX, LAM_MIN_EXCLUSIVE
from poolnas.errors import ConfigError, closest


def check_fraction(value: object, field: str, accepted: str = "expected a number in [0, 1]") -> float:
    """A number in [0, 1] (NaN fails the comparison)."""
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise ConfigError(field, value, accepted) from None
    if not 0.0 <= v <= 1.0:
        raise ConfigError(field, value, accepted)
    return v


def check_lam(lam: object, field: str = "lam") -> float:
    """λ in (0, 1] (SRP Eq. 2; the bounds of ``poolnas.config``, as ``attention.lam``)."""
    accepted = f"expected a number in ({LAM_MIN_EXCLUSIVE:g}, {LAM_MAX:g}]"
    try:
        value = float(lam)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise ConfigError(field, lam, accepted) from None
    if not LAM_MIN_EXCLUSIVE < value <= LAM_MAX:  # NaN fails too
        raise ConfigError(field, lam, accepted)
    return value


def check_int(value: object, field: str, minimum: int, what: str = "") -> int:
    """An integer >= minimum (bools are refused)."""
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ConfigError(field, value, f"expected an integer >= {minimum}{what}")
    return value


def check_site(site_index: object, num_sites: object) -> tuple[int, int]:
    """An attention site's 0-based index and the number of sites: 0 <= index < num_sites."""
    num_sites = check_int(num_sites, "num_sites", 1)
    site_index = check_int(site_index, "site_index", 0, f" and < num_sites ({num_sites})")
    if site_index >= num_sites:
        raise ConfigError(
            "site_index", site_index, f"expected an integer >= 0 and < num_sites ({num_sites})"
        )
    return site_index, num_sites


def check_choice(value: object, field: str, choices: tuple[str, ...]) -> str:
    """One of a fixed vocabulary, with a 'did you mean'."""
    if not isinstance(value, str) or value not in choices:
        hint = closest(value, choices) if isinstance(value, str) else ""
        raise ConfigError(field, value, f"expected one of {', '.join(choices)}{hint}")
    return value


def hidden_width(channels: object, reduction: object) -> int:
    """SE hidden width ``max(1, C // R)`` (config: 'at least 1'), after checking that C
    (``channels``) and R (``reduction``) are integers >= 1."""
    channels = check_int(channels, "channels", 1)
    reduction = check_int(reduction, "reduction", 1)
    return max(1, channels // reduction)
