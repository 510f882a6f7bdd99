"""SIGINT and SIGTERM to the sweep's driver: stop Tune cleanly, not the process.

While ``stop_on_signals`` is active, the first SIGINT (Ctrl-C) or SIGTERM asks the sweep's
``SweepStop`` (a Tune ``Stopper``) to end the run: Tune stops its trials, the outcome callback
stores them as FAIL ``interrupted: ...`` and queues them again, and the command exits
128 + the signal number (130, 143). Ray Tune's own SIGINT handler is off for that time
(``TUNE_DISABLE_SIGINT_HANDLER``), and so is Ray's SIGTERM handler (``sys.exit``), which would
leave the trials RUNNING. A second signal stops at once (KeyboardInterrupt).
"""

from __future__ import annotations

import os
import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from poolnas.search._outcome import SweepStop

__all__ = ["stop_on_signals"]

_SIGNALS = (signal.SIGINT, signal.SIGTERM)


@contextmanager
def stop_on_signals(stop: SweepStop) -> Iterator[None]:
    """Route SIGINT/SIGTERM to ``stop.request(reason, signum)`` (main thread only)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum: int, frame: FrameType | None) -> None:
        if stop.signum is not None:  # the second one: do not wait for Tune
            raise KeyboardInterrupt
        stop.request(f"signal {signal.Signals(signum).name}", signum)

    previous = {sig: signal.getsignal(sig) for sig in _SIGNALS}
    tune_env = os.environ.get("TUNE_DISABLE_SIGINT_HANDLER")
    os.environ["TUNE_DISABLE_SIGINT_HANDLER"] = "1"
    for sig in _SIGNALS:
        signal.signal(sig, handler)
    try:
        yield
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old if old is not None else signal.SIG_DFL)
        if tune_env is None:
            os.environ.pop("TUNE_DISABLE_SIGINT_HANDLER", None)
        else:
            os.environ["TUNE_DISABLE_SIGINT_HANDLER"] = tune_env
