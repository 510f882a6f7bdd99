"""A trial whose worker Ray's memory monitor killed: a FAIL ``out of memory: ...``, not the
end of the sweep (issue 21 item 9).

When the node runs low on memory (``RAY_memory_usage_threshold``, 0.95 of the node by
default), Ray's memory monitor kills a worker and the trial's pending call raises
``ray.exceptions.OutOfMemoryError``. Ray Tune's actor manager (Ray 2.60) knows two kinds of
failure, a dead actor (``RayActorError``) and a failed task (``RayTaskError``), and raises
``RuntimeError("Caught unexpected exception ...")`` for this third one out of ``Tuner.fit``:
the whole sweep stopped, its trials left RUNNING. While a sweep runs,
``oom_as_dead_worker`` hands Tune the monitor's kill as what it is, a worker that died
(``WorkerOutOfMemory``, an ``ActorDiedError`` carrying Ray's message): Tune fails that trial
on its dead-worker path and goes on, and ``_outcome.error_reason`` stores it as
``out of memory: ...`` with the memory the worker held.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from ray.exceptions import ActorDiedError, OutOfMemoryError, RayActorError

__all__ = ["WorkerOutOfMemory", "oom_as_dead_worker", "oom_reason"]


class WorkerOutOfMemory(ActorDiedError):
    """Ray's memory monitor killed the trial's worker (Ray's own message as the text)."""

    def __init__(self, message: str = "") -> None:
        RayActorError.__init__(self, error_msg=message)

    def __reduce__(self) -> tuple[type[WorkerOutOfMemory], tuple[str]]:  # Tune pickles a trial's error
        return WorkerOutOfMemory, (self.error_msg,)


_HELD = re.compile(r"actual memory used=([0-9.]+\s*[KMGT]?B)")
_NODE = re.compile(r"was ([0-9.]+\s*[KMGT]?B) used / ([0-9.]+\s*[KMGT]?B) limit")


def oom_reason(message: str) -> str:
    """The fail reason for Ray's OOM message: how much the killed worker held and the node's
    memory then, e.g. ``out of memory: Ray's memory monitor killed the trial's worker, which
    held 0.90GB (node: 2.51GB used of 23.54GB)``."""
    held = _HELD.search(message)
    node = _NODE.search(message)
    text = "out of memory: Ray's memory monitor killed the trial's worker"
    if held:
        text += f", which held {held.group(1)}"
    if node:
        text += f" (node: {node.group(1)} used of {node.group(2)})"
    return text


@contextmanager
def oom_as_dead_worker() -> Iterator[None]:
    """For the block: an ``OutOfMemoryError`` of a trial's call reaches Tune as the
    ``WorkerOutOfMemory`` death of its worker. Tune's actor manager is patched at one private
    method (``RayActorManager._actor_task_failed``) and restored on exit; with another Ray
    that lacks it nothing changes."""
    try:
        from ray.air.execution._internal.actor_manager import RayActorManager
    except ImportError:  # another Ray: its own behaviour
        yield
        return
    original = RayActorManager.__dict__.get("_actor_task_failed")
    if original is None:
        yield
        return

    def _actor_task_failed(self: Any, tracked_actor_task: Any, exception: Exception) -> Any:
        if isinstance(exception, OutOfMemoryError):
            exception = WorkerOutOfMemory(str(exception))
        return original(self, tracked_actor_task, exception)

    RayActorManager._actor_task_failed = _actor_task_failed
    try:
        yield
    finally:
        RayActorManager._actor_task_failed = original
