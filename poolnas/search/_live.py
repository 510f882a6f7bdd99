"""The sweep's live view on stderr and the Tune callback that feeds it.

One line: trials complete / running / pruned / failed out of the target, and the best value
so far. On a terminal the line is redrawn in place; otherwise a new line is written when
the counts change. Ray's own progress output is off (``verbose=0``).
"""

from __future__ import annotations

import sys
import time
from typing import Any, TextIO

from ray.tune import Callback

__all__ = ["LiveView", "TrialRegistry", "error_reason"]


def error_reason(trial: Any) -> str | None:
    """The one-line failure reason of a Ray Tune trial that errored, from its error files."""
    from poolnas.search._trainable import TrialFailed, failure_reason

    path = getattr(trial, "pickled_error_file", None)
    if path:
        try:
            import cloudpickle

            with open(path, "rb") as f:
                exc = cloudpickle.load(f)
            cause = getattr(exc, "cause", None)
            if isinstance(cause, TrialFailed):
                return str(cause)
            if cause is not None and not isinstance(cause, str):
                return failure_reason(cause)
            name = type(exc).__name__
            if "ActorDied" in name or "ActorError" in name or "WorkerCrashed" in name:
                first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
                return f"worker died: {name}: {first}"[:500]
        except Exception:  # fall back on the text file
            pass
    path = getattr(trial, "error_file", None)
    if path:
        try:
            with open(path) as f:
                lines = [ln.strip() for ln in f if ln.strip()]
        except OSError:
            return None
        for line in reversed(lines):
            if "TrialFailed:" in line:
                return line.split("TrialFailed:", 1)[1].strip()[:500]
        for line in reversed(lines):
            if "Error" in line and not line.startswith("File "):
                return line[:500]
    return None


class TrialRegistry(Callback):
    """Keeps Tune's list of trials so the searcher can read a failed trial's error."""

    def __init__(self) -> None:
        self._trials: list[Any] = []

    def on_step_begin(self, iteration: int, trials: list[Any], **info: Any) -> None:
        self._trials = trials

    def find(self, trial_id: str) -> Any:
        for t in self._trials:
            if t.trial_id == trial_id:
                return t
        return None


class LiveView(TrialRegistry):
    """Counts trials by state and prints one status line on ``stream``."""

    def __init__(self, *, study: str, metric: str, mode: str, target: int,
                 counts: dict[str, int] | None = None, best: tuple[float, int] | None = None,
                 stream: TextIO | None = None, enabled: bool = True) -> None:
        super().__init__()
        self.study, self.metric, self.mode, self.target = study, metric, mode, target
        counts = counts or {}
        self.complete = counts.get("COMPLETE", 0)
        self.pruned = counts.get("PRUNED", 0)
        self.failed = counts.get("FAIL", 0)
        self.running: set[str] = set()
        self.best = best
        self.stream = stream or sys.stderr
        self.enabled = enabled
        self._tty = bool(getattr(self.stream, "isatty", lambda: False)())
        self._start = time.monotonic()
        self._last_line = ""
        self.events: list[tuple[float, str, str]] = []  # (perf_counter, start|end, trial id)

    def __getstate__(self) -> dict[str, Any]:
        # Tune pickles its callbacks with the experiment; a terminal stream cannot be.
        state = dict(self.__dict__)
        state["stream"] = None
        state["enabled"] = False
        return state

    # Tune callback hooks -----------------------------------------------------------------
    def on_trial_start(self, iteration: int, trials: list[Any], trial: Any, **info: Any) -> None:
        self.running.add(trial.trial_id)
        self.events.append((time.perf_counter(), "start", trial.trial_id))
        self.render()

    def on_trial_complete(self, iteration: int, trials: list[Any], trial: Any, **info: Any) -> None:
        self.running.discard(trial.trial_id)
        self.events.append((time.perf_counter(), "end", trial.trial_id))
        self.render()

    def on_trial_error(self, iteration: int, trials: list[Any], trial: Any, **info: Any) -> None:
        self.running.discard(trial.trial_id)
        self.events.append((time.perf_counter(), "end", trial.trial_id))
        self.render()

    # fed by the searcher ---------------------------------------------------------------------
    def told(self, state: str, value: float | None, number: int) -> None:
        if state == "COMPLETE":
            self.complete += 1
        elif state == "PRUNED":
            self.pruned += 1
        elif state == "FAIL":
            self.failed += 1
        if value is not None and state == "COMPLETE":
            better = self.best is None or (value > self.best[0] if self.mode == "max" else value < self.best[0])
            if better:
                self.best = (value, number)

    def line(self) -> str:
        elapsed = int(time.monotonic() - self._start)
        best = (f"best {self.metric} {self.best[0]:.4f} (trial {self.best[1]})"
                if self.best else f"best {self.metric} -")
        return (f"{self.study}: {self.complete} complete, {len(self.running)} running, "
                f"{self.pruned} pruned, {self.failed} failed of {self.target} | {best} | "
                f"{elapsed // 60}:{elapsed % 60:02d}")

    def render(self) -> None:
        if not self.enabled:
            return
        text = self.line()
        key = text.rsplit("|", 1)[0]
        if self._tty:
            self.stream.write("\r\033[K" + text)
            self.stream.flush()
        elif key != self._last_line:
            self.stream.write(text + "\n")
            self.stream.flush()
        self._last_line = key

    def close(self) -> None:
        if self.enabled and self._tty:
            self.stream.write("\n")
            self.stream.flush()
