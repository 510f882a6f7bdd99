"""Package attributes imported on first use (PEP 562).

``poolnas space validate`` and ``poolnas export`` must start without importing torch or
every figure module, so the packages that re-export a public API name the module of each
name and import it when the name is first read.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Mapping, Sequence
from typing import Any

__all__ = ["lazy_exports"]


def lazy_exports(
    package: str, exports: Mapping[str, Sequence[str]]
) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """A package's ``__getattr__`` and ``__dir__`` for ``exports``: for each of its modules
    (named relative to the package, e.g. ``"pretrained"``, or in full when it lives in another
    package, e.g. ``"poolnas.dashboards.listing"``), the names it gives the package.

    Use in the package's ``__init__.py``: ``__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)``.
    A name read once is kept in the package's namespace (the next read is a plain lookup).
    """
    namespace = sys.modules[package].__dict__
    where = {name: module if module.startswith("poolnas.") else f"{package}.{module}"
             for module, names in exports.items() for name in names}

    def __getattr__(name: str) -> Any:
        module = where.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(module), name)
        namespace[name] = value
        return value

    def __dir__() -> list[str]:
        return sorted(set(namespace) | set(where))

    return __getattr__, __dir__
