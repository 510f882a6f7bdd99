"""Argument checks shared by the attention modules: one ConfigError per bad value."""

from __future__ import annotations

import math
from typing import Any

from poolnas.errors import ConfigError


def check_lam(lam: Any, field: str = "lam") -> float:
    """λ in (0, 1] (SRP Eq. 2)."""
    try:
        value = float(lam)
    except (TypeError, ValueError):
        raise ConfigError(field, lam, "expected a number in (0, 1]") from None
    if not (math.isfinite(value) and 0.0 < value <= 1.0):
        raise ConfigError(field, lam, "expected a number in (0, 1]")
    return value


def check_int(value: Any, field: str, minimum: int, what: str = "") -> int:
    """An integer >= minimum (bools are refused)."""
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ConfigError(field, value, f"expected an integer >= {minimum}{what}")
    return value


def check_choice(value: Any, field: str, choices: tuple[str, ...]) -> str:
    """One of a fixed vocabulary, with a 'did you mean'."""
    from poolnas.errors import closest

    if not isinstance(value, str) or value not in choices:
        hint = closest(value, choices) if isinstance(value, str) else ""
        raise ConfigError(field, value, f"expected one of {', '.join(choices)}{hint}")
    return value


def check_fraction(value: Any, field: str) -> float:
    """A number in [0, 1]."""
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise ConfigError(field, value, "expected a number in [0, 1]") from None
    if not (math.isfinite(v) and 0.0 <= v <= 1.0):
        raise ConfigError(field, value, "expected a number in [0, 1]")
    return v


def hidden_width(channels: int, reduction: int) -> int:
    """SE hidden width: channels // R, at least 1 (config: 'at least 1')."""
    return max(1, channels // reduction)
