"""Process-wide settings a sweep or a report needs while it runs, set on entry and restored
on exit.

Library code sets no process state behind its caller's back (issue 16): environment
variables, logger levels and Optuna's log level are changed only inside these context
managers, and put back as they were (a variable that was unset is removed again) when the
sweep returns or raises.
"""

from __future__ import annotations

import gc
import logging
import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager

__all__ = ["cyclic_gc_paused", "environ", "logger_levels", "optuna_verbosity"]


@contextmanager
def environ(values: Mapping[str, str], *, keep_user: tuple[str, ...] = ()) -> Iterator[None]:
    """Set ``values`` in ``os.environ`` for the block; the variables named in ``keep_user``
    keep a value the user set. Each variable gets its old value back (or is removed) on exit."""
    saved = {name: os.environ.get(name) for name in values}
    for name, value in values.items():
        if name in keep_user and saved[name] is not None:
            continue
        os.environ[name] = value
    try:
        yield
    finally:
        for name, old in saved.items():
            if old is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = old


@contextmanager
def logger_levels(levels: Mapping[str, int]) -> Iterator[None]:
    """Set the level of each named logger for the block; restore each one's own level (the
    level it had, NOTSET included, whatever changed it in between) on exit."""
    loggers = {name: logging.getLogger(name) for name in levels}
    saved = {name: lg.level for name, lg in loggers.items()}
    for name, lg in loggers.items():
        lg.setLevel(levels[name])
    try:
        yield
    finally:
        for name, lg in loggers.items():
            lg.setLevel(saved[name])


@contextmanager
def optuna_verbosity(level: int) -> Iterator[None]:
    """Optuna's log level (``optuna.logging.set_verbosity``) for the block, then the old one."""
    import optuna  # lazy: the other helpers here serve code that does not load Optuna

    saved = optuna.logging.get_verbosity()
    optuna.logging.set_verbosity(level)
    try:
        yield
    finally:
        optuna.logging.set_verbosity(saved)


@contextmanager
def cyclic_gc_paused() -> Iterator[None]:
    """Python's cyclic garbage collector off for the block, then as it was (reference counting
    still frees everything that is not in a cycle). For a one-shot command that builds a large
    heap and exits: a report of 5,000 trials holds ~1M objects, and each full collection
    plotly's churn triggers walks them all (4 full collections, ~1 s of a 5 s cold report,
    issue 20 item 3), while the cycles it leaves (plotly's figures) are a few MiB. Not for a
    long-running process: nothing in a cycle is freed while it is off."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()
