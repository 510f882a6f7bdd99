"""Errors that reach the user as one line naming the field, the value and what is accepted."""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from typing import Any

__all__ = ["ConfigError", "NonFiniteLossError", "closest"]


class ConfigError(ValueError):
    """Bad user input: a config, a space file, a CLI flag or a storage URL.

    The CLI prints ``str(error)`` on one line and exits with status 2.
    """

    def __init__(self, field: str, value: Any, accepted: str, *, where: str | None = None):
        self.field = field
        self.value = value
        self.accepted = accepted
        self.where = where
        prefix = f"{where}: " if where else ""
        super().__init__(f"{prefix}{field}: {value!r} is not accepted; {accepted}")


class NonFiniteLossError(RuntimeError):
    """The training loss became NaN or infinite."""

    def __init__(self, epoch: int, step: int, loss: float):
        self.epoch, self.step, self.loss = epoch, step, loss
        super().__init__(f"loss became {loss} at epoch {epoch}, step {step}")


def closest(name: str, candidates: Iterable[str]) -> str:
    """' (did you mean X?)' for the closest candidate, or '' when none is close."""
    match = difflib.get_close_matches(name, list(candidates), n=1, cutoff=0.6)
    return f" (did you mean {match[0]!r}?)" if match else ""
