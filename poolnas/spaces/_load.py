"""Finding and reading space files: presets, ``extends:`` and its merge rules.

``extends: NAME_OR_FILE`` starts from a preset (by name) or another space file (a path,
relative to the extending file), then applies the extending file over it:

- mappings (``base`` and its sections, ``objective``, ``scheduler``, ``resources``) merge
  key by key, so ``base: {trainer: {epochs: 10}}`` changes only the epochs;
- ``space`` merges by its dotted keys, and each key's distribution is replaced whole
  (``space: {attention.lam: {grid: [0.5]}}`` replaces the parent's λ axis);
- ``baseline`` is replaced whole: it names one configuration, and a merge of two would
  name a configuration neither file meant;
- lists and scalars replace; ``null`` removes the key (``space: {attention.M: null}``
  drops a parameter, ``trials: null`` restores the default);
- a searched parameter wins over ``base``: to fix one, give it a fixed value in ``space``.

Chains of ``extends`` are followed; a cycle is an error.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from poolnas.config import load_config_file
from poolnas.errors import ConfigError, closest
from poolnas.spaces._paths import deep_merge

__all__ = ["PRESETS_DIR", "list_presets", "load_document", "merge_documents", "preset_path"]

PRESETS_DIR = Path(__file__).parent / "presets"


def list_presets() -> list[str]:
    """Names of the presets shipped in ``poolnas/spaces/presets``."""
    return sorted(p.stem for p in PRESETS_DIR.glob("*.yaml"))


def preset_path(name: str) -> Path:
    """The file of a preset; ConfigError naming the accepted presets otherwise."""
    path = PRESETS_DIR / f"{name}.yaml"
    if not path.is_file():
        names = list_presets()
        raise ConfigError("preset", name, "expected one of " + ", ".join(names) + closest(name, names))
    return path


def _resolve(ref: str, relative_to: Path | None) -> Path:
    candidates = [Path(ref).expanduser()]
    if relative_to is not None and not Path(ref).is_absolute():
        candidates.insert(0, relative_to / ref)
    for c in candidates:
        if c.is_file():
            return c
        if c.is_dir():
            raise ConfigError("extends" if relative_to else "path", ref,
                              "is a folder; expected a space file or a preset name")
    if "/" in ref or ref.endswith((".yaml", ".yml", ".json")):
        raise ConfigError("extends" if relative_to else "path", ref,
                          "expected an existing space file or a preset name ("
                          + ", ".join(list_presets()) + ")")
    try:
        return preset_path(ref)
    except ConfigError as err:
        raise ConfigError("extends" if relative_to else "preset", ref, err.accepted) from None


def merge_documents(parent: dict[str, Any], child: dict[str, Any]) -> dict[str, Any]:
    """``child`` over ``parent`` (module docstring): distributions in ``space`` replace whole."""
    child = dict(child)
    child_space = child.pop("space", None)
    merged = deep_merge(parent, child)
    if isinstance(child.get("baseline"), dict):  # one configuration: replaced whole
        merged["baseline"] = dict(child["baseline"])
    if isinstance(child_space, dict) and isinstance(parent.get("space"), dict):
        space = dict(parent["space"])
        for key, value in child_space.items():
            if value is None:
                space.pop(key, None)
            else:
                space[key] = value
        merged["space"] = space
    elif child_space is not None:
        merged["space"] = child_space
    return merged


def load_document(path_or_preset: str | Path, *,
                  _chain: tuple[Path, ...] = ()) -> tuple[dict[str, Any], Path]:
    """The space document with every ``extends:`` applied, and the file it came from."""
    path = path_or_preset if isinstance(path_or_preset, Path) else _resolve(str(path_or_preset), None)
    path = path.resolve()
    if path in _chain:
        raise ConfigError("extends", str(path), "expected no cycle of extends: "
                          + " -> ".join(p.name for p in (*_chain, path)), where=str(_chain[0]))
    doc = load_config_file(path)
    if doc is None:
        doc = {}
    if not isinstance(doc, dict):
        raise ConfigError("(document)", type(doc).__name__,
                          "expected a mapping with study, sampler, base, space",
                          where=str(path))
    parent_ref = doc.get("extends")
    if parent_ref is None:
        return doc, path
    if not isinstance(parent_ref, str):
        raise ConfigError("extends", parent_ref, "expected a preset name or a space file path",
                          where=str(path))
    try:
        parent_path = _resolve(parent_ref, path.parent)
    except ConfigError as err:
        raise ConfigError(err.field, err.value, err.accepted, where=str(path)) from None
    parent, _ = load_document(parent_path, _chain=(*_chain, path))
    child = {k: v for k, v in doc.items() if k != "extends"}
    return merge_documents(parent, child), path
