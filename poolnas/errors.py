"""Errors that reach the user as one line naming the field, the value and what is accepted."""

from __future__ import annotations

import difflib
import reprlib
from collections.abc import Iterable
from typing import Any

__all__ = ["MAX_LINE", "ConfigError", "NonFiniteLossError", "StorageFault", "StorageUnreachableError",
           "SweepInterrupted", "closest", "one_line", "short_repr", "terminal_cell", "terminal_text"]

MAX_LINE = 400  # characters of one error line on stderr

# Bounded repr: a value built from a hostile file (an alias bomb expands to millions of
# items) is shown as its first few items, without ever building its full repr.
_REPR = reprlib.Repr()
_REPR.maxlevel, _REPR.maxdict, _REPR.maxlist, _REPR.maxtuple = 4, 6, 6, 6
_REPR.maxset = _REPR.maxfrozenset = _REPR.maxdeque = 6
_REPR.maxstring, _REPR.maxother, _REPR.maxlong = 160, 160, 80
_MAX_REPR = 200


def short_repr(value: object) -> str:
    """``repr(value)`` for small values; at most 200 characters for big or deep ones."""
    text = _REPR.repr(value)
    return text if len(text) <= _MAX_REPR else text[:_MAX_REPR] + "…"


MAX_CELL = 60  # characters of one cell of a terminal table (a 10 kB study name padded every row)


def terminal_text(text: object, *, keep_newlines: bool = False) -> str:
    """``text`` safe for a terminal: control characters (ESC of ``\\x1b[2J``, OSC title
    sequences, BEL, CR, DEL, C1 codes; newlines unless ``keep_newlines``) shown escaped, as
    ``\\x1b``, never sent raw."""
    out = []
    for ch in str(text):
        code = ord(ch)
        if ch == "\n" and keep_newlines:
            out.append(ch)
        elif code < 0x20 or 0x7F <= code < 0xA0 or ch in "\u2028\u2029":
            out.append(ch.encode("unicode_escape").decode("ascii"))
        else:
            out.append(ch)
    return "".join(out)


def terminal_cell(value: object, width: int = MAX_CELL) -> str:
    """One table cell: :func:`terminal_text` on one line, cut to ``width`` characters with …."""
    text = terminal_text(value)
    return text if len(text) <= width else text[: width - 1] + "…"


def one_line(text: str, limit: int = MAX_LINE) -> str:
    """``text`` on one line, cut to ``limit`` characters with the count of the rest."""
    flat = " ".join(str(text).split("\n"))
    if len(flat) <= limit:
        return flat
    return f"{flat[:limit]}… ({len(flat) - limit} more characters)"


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
        super().__init__(f"{prefix}{field}: {short_repr(value)} is not accepted; {accepted}")


class StorageUnreachableError(ConnectionError):
    """The study database cannot be opened (server down, wrong credentials, locked file).

    Every command reports it on one line (the URL with its password redacted) and exits 2.
    """


class NonFiniteLossError(RuntimeError):
    """The training loss became NaN or infinite."""

    def __init__(self, epoch: int, step: int, loss: float):
        self.epoch, self.step, self.loss = epoch, step, loss
        super().__init__(f"loss became {loss} at epoch {epoch}, step {step}")


def closest(name: str, candidates: Iterable[str]) -> str:
    """' (did you mean X?)' for the closest candidate, or '' when none is close."""
    match = difflib.get_close_matches(name, list(candidates), n=1, cutoff=0.6)
    return f" (did you mean {match[0]!r}?)" if match else ""


class StorageFault(RuntimeError):
    """The study database refused a write during a sweep (disk full, a read-only file): the
    sweep stopped; ``str(err)`` is one line naming the cause and what the database holds."""


class SweepInterrupted(KeyboardInterrupt):
    """SIGINT or SIGTERM stopped the sweep; its running trials are stored as interrupted
    and run again, with the same parameters, on resume."""

    def __init__(self, study: str, interrupted: int, signum: int):
        super().__init__(f"{interrupted} trials of study {study} stored as interrupted")
        self.study, self.interrupted, self.signum = study, interrupted, signum
