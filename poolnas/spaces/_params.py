"""One searched parameter: its values, its Optuna suggestion, and its ``when:`` condition."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

__all__ = ["Param", "label_of"]

_PRIMITIVES = (type(None), bool, int, float, str)


def label_of(value: Any) -> Any:
    """Optuna categoricals hold None/bool/int/float/str only: other values travel as JSON text."""
    if isinstance(value, _PRIMITIVES):
        return value
    return json.dumps(value, sort_keys=True)


@dataclass
class Param:
    """A compiled ``space`` entry (see ``poolnas.spaces._schema.Distribution``)."""

    name: str  # dotted path into the trial config
    kind: str  # choice | grid | float | int | value
    values: list[Any] = field(default_factory=list)  # choice/grid values; [v] for value
    low: float | None = None
    high: float | None = None
    log: bool = False
    step: float | None = None
    when: dict[str, list[Any]] = field(default_factory=dict)
    link: dict[str, list[Any]] = field(default_factory=dict)

    @property
    def fixed(self) -> bool:
        return self.kind == "value"

    @property
    def categorical(self) -> bool:
        return self.kind in ("choice", "grid")

    @property
    def enumerable(self) -> bool:
        """Finite: choice, grid, value, int, and float with a step."""
        return self.kind != "float" or self.step is not None

    @cached_property
    def labels(self) -> list[Any]:
        return [label_of(v) for v in self.values]

    @cached_property
    def _when_labels(self) -> dict[str, list[Any]]:
        return {parent: [label_of(a) for a in accepted] for parent, accepted in self.when.items()}

    def enumerate(self) -> list[Any]:
        """Every value, in order (for grid expansion); raises ValueError for a float without step."""
        if self.kind in ("choice", "grid", "value"):
            return list(self.values)
        if self.kind == "int":
            step = int(self.step or 1)
            return list(range(int(self.low), int(self.high) + 1, step))  # type: ignore[arg-type]
        if self.step is None:
            raise ValueError(f"{self.name}: a float range without step has no finite grid")
        n = int(math.floor((self.high - self.low) / self.step + 1e-9))  # type: ignore[operator]
        return [round(self.low + i * self.step, 12) for i in range(n + 1)]  # type: ignore[operator]

    def count(self) -> int:
        """How many values :meth:`enumerate` gives, computed without building them."""
        if self.kind in ("choice", "grid", "value"):
            return len(self.values)
        if self.kind == "int":
            return max(0, (int(self.high) - int(self.low)) // int(self.step or 1) + 1)  # type: ignore[arg-type]
        if self.step is None:
            raise ValueError(f"{self.name}: a float range without step has no finite grid")
        return int(math.floor((self.high - self.low) / self.step + 1e-9)) + 1  # type: ignore[operator]

    def representatives(self) -> list[Any]:
        """Values that bound what the parameter can take (all choices; a range's two ends)."""
        if self.kind in ("float", "int"):
            ends = [self.low, self.high]
            if self.kind == "int":
                step = int(self.step or 1)
                ends = [int(self.low), int(self.low) + (int(self.high) - int(self.low)) // step * step]  # type: ignore[arg-type]
            return list(dict.fromkeys(ends))
        return list(self.values)

    def applies(self, chosen: dict[str, Any]) -> bool:
        """True where every ``when:`` parent was chosen and took one of the listed values."""
        for parent, accepted in self._when_labels.items():
            if parent not in chosen or label_of(chosen[parent]) not in accepted:
                return False
        return True

    def suggest(self, trial: Any) -> Any:
        """Ask an ``optuna.Trial`` (or Ray Tune's wrapper of one) for this parameter's value."""
        if self.kind == "value":
            return self.values[0]
        if self.categorical:
            return self.decode(trial.suggest_categorical(self.name, self.labels))
        if self.kind == "int":
            return trial.suggest_int(self.name, int(self.low), int(self.high),  # type: ignore[arg-type]
                                     step=int(self.step or 1), log=self.log)
        return trial.suggest_float(self.name, self.low, self.high, step=self.step, log=self.log)

    def decode(self, raw: Any) -> Any:
        """A value from Optuna params (a label) or from ``grid()`` (the value itself)."""
        if not self.categorical and self.kind != "value":
            return raw
        labels = self.labels
        key = label_of(raw)
        if key in labels:
            return self.values[labels.index(key)]
        raise KeyError(raw)

    def linked(self, value: Any) -> dict[str, Any]:
        """``link:`` fields that go with a chosen value."""
        if not self.link:
            return {}
        i = self.labels.index(label_of(value))
        return {path: values[i] for path, values in self.link.items()}
