"""The data every trial of a space can reach, checked before a sweep writes anything or starts
Ray (issue 21 item 10): each combination of the data fields (``trainer.dataset``,
``trainer.data_dir``, ``trainer.download``; the base's values, else each value a searched one
can take) goes through the trainers' per-dataset check
(``poolnas.trainers.data_files.check_dataset_available``: files present, the right layout; one
branch per dataset, where new datasets add theirs)."""

from __future__ import annotations

import itertools
from typing import Any

from poolnas.config import TrainerConfig
from poolnas.errors import ConfigError
from poolnas.spaces import Space

__all__ = ["DATA_FIELDS", "check_space_data"]

DATA_FIELDS = ("trainer.dataset", "trainer.data_dir", "trainer.download")


def _values(space: Space, field: str) -> list[Any]:
    """The values ``field`` can take in a trial of ``space``: a searched parameter's (a range's
    ends), else a searched ``trainer`` section's, else the base's (None: the default)."""
    leaf = field.split(".", 1)[1]
    for p in space.params:
        if p.name == field:
            return list(p.representatives())
        if p.name == "trainer":  # a whole section searched: its mappings' values
            return list(dict.fromkeys(v.get(leaf) for v in p.representatives() if isinstance(v, dict)))
    return [(space.base.get("trainer") or {}).get(leaf)]


def check_space_data(space: Space) -> None:
    """ConfigError (one line naming the field and the folder) when a dataset some trial of
    ``space`` would read is not there."""
    # Here: the file checks import numpy (poolnas.trainers.datasets_custom), which `poolnas
    # studies` must not load (tests/test_cold_start.py). They import no torch (data_files).
    from poolnas.trainers.data_files import check_dataset_available

    base = dict(space.base.get("trainer") or {})
    choices = [_values(space, f) for f in DATA_FIELDS]
    for combo in itertools.product(*choices):
        trainer = dict(base)
        for field, value in zip(DATA_FIELDS, combo, strict=True):
            if value is not None:
                trainer[field.split(".", 1)[1]] = value
        try:
            cfg = TrainerConfig.model_validate(trainer)
        except Exception:  # noqa: BLE001 - the space's own validation reports a bad config
            continue
        try:
            check_dataset_available(cfg)
        except ConfigError as err:
            searched = {f for f in DATA_FIELDS if any(p.name == f for p in space.params)}
            shown = [f"{f}={v}" for f, v in zip(DATA_FIELDS, combo, strict=True) if f in searched]
            where = f" (with {', '.join(shown)})" if shown else ""
            raise ConfigError(err.field, err.value, err.accepted + where, where=space.source) from None
