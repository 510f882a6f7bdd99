"""Dotted paths into the trial config, and the deep merge used by ``extends:``."""

from __future__ import annotations

import copy
import functools
from typing import Any

from pydantic import BaseModel

from poolnas.config import TrialConfig

__all__ = ["config_paths", "deep_merge", "get_path", "set_path"]


def _model_of(annotation: object) -> type[BaseModel] | None:
    return annotation if isinstance(annotation, type) and issubclass(annotation, BaseModel) else None


@functools.cache
def config_paths(model: type[BaseModel] = TrialConfig, prefix: str = "") -> tuple[str, ...]:
    """Every dotted path of the trial config: sections and leaves (e.g. ``attention.placement``).

    Cached: the schema does not change in a process."""
    paths: list[str] = []
    for name, field in model.model_fields.items():
        path = f"{prefix}{name}"
        paths.append(path)
        sub = _model_of(field.annotation)
        if sub is not None:
            paths.extend(config_paths(sub, path + "."))
    return tuple(paths)


def is_section(path: str) -> bool:
    """True for a path whose value is a sub-mapping (``attention.placement``)."""
    model: type[BaseModel] | None = TrialConfig
    for part in path.split("."):
        field = model.model_fields[part]
        model = _model_of(field.annotation)
        if model is None:
            return False
    return True


def get_path(doc: dict[str, Any], path: str, default: Any = None) -> Any:
    current: Any = doc
    for part in path.split("."):
        if not isinstance(current, dict) or part not in current:
            return default
        current = current[part]
    return current


def set_path(doc: dict[str, Any], path: str, value: Any) -> None:
    """Set ``value`` at a dotted path; a mapping value is merged into a mapping already there."""
    parts = path.split(".")
    current = doc
    for part in parts[:-1]:
        if not isinstance(current.get(part), dict):
            current[part] = {}
        current = current[part]
    last = parts[-1]
    if isinstance(value, dict) and isinstance(current.get(last), dict):
        current[last] = deep_merge(current[last], value)
    else:
        current[last] = copy.deepcopy(value)


def deep_merge(parent: dict[str, Any], child: dict[str, Any]) -> dict[str, Any]:
    """``child`` over ``parent``: mappings merge key by key, anything else replaces, ``None`` deletes.

    The ``space:`` mapping is merged by its dotted keys like any mapping, but a distribution
    (the value of one key) is replaced whole: see ``poolnas.spaces._load.merge_documents``.
    """
    out = copy.deepcopy(parent)
    for key, value in child.items():
        if value is None:
            out.pop(key, None)
        elif isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = deep_merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out
