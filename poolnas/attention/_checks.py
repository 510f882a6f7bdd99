"""Argument checks shared by the attention modules: one ConfigError per bad value."""

from __future__ import annotations

from typing import Any

from poolnas.errors import ConfigError, closest


def check_fraction(value: Any, field: str, accepted: str = "expected a number in [0, 1]") -> float:
    """A number in [0, 1] (NaN fails the comparison)."""
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise ConfigError(field, value, accepted) from None
    if not 0.0 <= v <= 1.0:
        raise ConfigError(field, value, accepted)
    return v


def check_lam(lam: Any, field: str = "lam") -> float:
    """λ in (0, 1] (SRP Eq. 2): a fraction other than 0."""
    accepted = "expected a number in (0, 1]"
    value = check_fraction(lam, field, accepted)
    if value == 0.0:
        raise ConfigError(field, lam, accepted)
    return value


def check_int(value: Any, field: str, minimum: int, what: str = "") -> int:
    """An integer >= minimum (bools are refused)."""
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ConfigError(field, value, f"expected an integer >= {minimum}{what}")
    return value


def check_choice(value: Any, field: str, choices: tuple[str, ...]) -> str:
    """One of a fixed vocabulary, with a 'did you mean'."""
    if not isinstance(value, str) or value not in choices:
        hint = closest(value, choices) if isinstance(value, str) else ""
        raise ConfigError(field, value, f"expected one of {', '.join(choices)}{hint}")
    return value


def hidden_width(channels: Any, reduction: Any) -> int:
    """SE hidden width ``max(1, C // R)`` (config: 'at least 1'), after checking that C
    (``channels``) and R (``reduction``) are integers >= 1."""
    channels = check_int(channels, "channels", 1)
    reduction = check_int(reduction, "reduction", 1)
    return max(1, channels // reduction)
