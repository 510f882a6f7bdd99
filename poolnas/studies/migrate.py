"""Stored trial configs read under the current schema, whatever schema wrote them.

Every trial keeps its config (``TrialAttrs.CONFIG``) and, since config version 1, the
version of the schema that wrote it (``TrialAttrs.CONFIG_VERSION``). A study outlives the
code: a field renamed or removed later would make ``TrialConfig`` (``extra="forbid"``)
refuse every older config, and with it every older study's report and export. Reading a
stored config therefore migrates it: known migrations by version first, then anything the
current schema still refuses (a removed key, a value no longer accepted) is dropped back to
its default, and the fields dropped are named so the report and export can say so.
"""

from __future__ import annotations

import copy
from typing import Any, NamedTuple

from pydantic import ValidationError

from poolnas.config import TrialConfig
from poolnas.records import TRIAL_CONFIG_VERSION, TrialAttrs

__all__ = ["MigratedConfig", "migrate_config"]

_MAX_PASSES = 32  # one pass per refused field; a config has far fewer fields


def _nesterov_follows_the_recipe(doc: dict[str, Any]) -> None:
    """Version 2: ``trainer.nesterov`` None = the recipe's value. Before, the default was
    True and meant the same (Nesterov only where the recipe has it): True becomes None."""
    trainer = doc.get("trainer")
    if isinstance(trainer, dict) and trainer.get("nesterov") is True:
        trainer["nesterov"] = None


def _schedule_and_se_bias_as_trained(doc: dict[str, Any]) -> None:
    """Version 3: ``attention.schedule`` defaults to ``linear`` (SRP's scheduled SRP, its
    main runs) and SE's FCs have biases (``attention.se_bias: true``). A config stored
    before trained with the old defaults, ``fixed`` and bias-free FCs: a missing schedule
    becomes ``fixed`` and ``se_bias`` is set false, so it reads as the network it trained."""
    attention = doc.get("attention")
    if attention is None:
        attention = doc["attention"] = {}
    if isinstance(attention, dict):
        attention.setdefault("schedule", "fixed")
        attention.setdefault("se_bias", False)


def _contiguous_on_cpu_as_trained(doc: dict[str, Any]) -> None:
    """Version 4: ``trainer.channels_last: auto`` is channels-last on the CPU too (it was
    contiguous there). A config stored before with ``auto`` reads as ``off``, the layout a
    CPU run had (the bits of a CPU run depend on it; a CUDA run, channels-last under
    ``auto`` before, only loses speed when retrained from it)."""
    trainer = doc.get("trainer")
    if trainer is None:
        trainer = doc["trainer"] = {}
    if isinstance(trainer, dict) and trainer.get("channels_last", "auto") == "auto":
        trainer["channels_last"] = "off"


# (version that introduced the change, migration of a config stored before it)
_MIGRATIONS = ((2, _nesterov_follows_the_recipe), (3, _schedule_and_se_bias_as_trained),
               (4, _contiguous_on_cpu_as_trained))


class MigratedConfig(NamedTuple):
    config: dict[str, Any] | None  # valid under the current schema; None if it cannot be
    version: int  # the version it was stored under (0: before versioning)
    dropped: list[str]  # dotted fields reset to their defaults ("" when none)

    @property
    def note(self) -> str | None:
        if self.config is None:
            return f"stored config (version {self.version}) cannot be read by this poolnas"
        if self.dropped:
            return (f"stored config (version {self.version}) read under version {TRIAL_CONFIG_VERSION}: "
                    f"{', '.join(self.dropped)} reset to the default")
        return None


def _drop(doc: dict[str, Any], loc: tuple[Any, ...]) -> str | None:
    """Remove the key a pydantic error points at; its dotted name, or None if not found."""
    path = [p for p in loc if isinstance(p, str)]
    node: Any = doc
    for i, part in enumerate(path):
        if not isinstance(node, dict) or part not in node:
            return None
        if i == len(path) - 1 or not isinstance(node[part], dict):
            del node[part]
            return ".".join(path[: i + 1])
        node = node[part]
    return None


def migrate_config(user_attrs: dict[str, Any]) -> MigratedConfig:
    """The trial's stored config, valid under the current schema (never raises)."""
    raw = user_attrs.get(TrialAttrs.CONFIG)
    version = user_attrs.get(TrialAttrs.CONFIG_VERSION, 0)
    version = version if isinstance(version, int) else 0
    if not isinstance(raw, dict):
        return MigratedConfig(None, version, [])
    doc = copy.deepcopy(raw)
    for introduced, migrate in _MIGRATIONS:
        if version < introduced:
            migrate(doc)
    dropped: list[str] = []
    for _ in range(_MAX_PASSES):
        try:
            return MigratedConfig(TrialConfig.model_validate(doc).to_dict(), version, dropped)
        except ValidationError as err:
            name = _drop(doc, tuple(err.errors()[0]["loc"]))
            if name is None:
                break
            dropped.append(name)
    return MigratedConfig(None, version, dropped)
