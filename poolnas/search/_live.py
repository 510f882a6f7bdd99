"""The sweep's live view on stderr (a Tune callback).

One line: trials complete / running / pruned / failed out of the target, and the best value
so far. On a terminal the line is redrawn in place; otherwise a new line is written when
the counts change. Ray's own progress output is off (``verbose=0``).
"""

from __future__ import annotations

import sys
import time
from typing import Any, TextIO

from ray.tune import Callback

__all__ = ["LiveView"]


class LiveView(Callback):
    """Counts trials by state and prints one status line on ``stream``.

    Tune's hooks say which trials run; the outcome callback (``_outcome.TrialOutcomes``)
    calls ``told`` for each outcome the database accepted, so the counts never exceed what
    the database holds."""

    def __init__(self, *, study: str, metric: str, mode: str, target: int,
                 counts: dict[str, int] | None = None, best: tuple[float, int] | None = None,
                 stream: TextIO | None = None, enabled: bool = True) -> None:
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

    # fed by the outcome callback ---------------------------------------------------------
    def told(self, state: str, value: float | None, number: int, reason: str | None = None) -> None:
        """One stored outcome; a failure of the trial's own (not an interruption) is shown
        as one line with its reason."""
        if state == "COMPLETE":
            self.complete += 1
        elif state == "PRUNED":
            self.pruned += 1
        elif state == "FAIL":
            self.failed += 1
            if reason and not reason.startswith("interrupted:"):
                self.note(f"{self.study}: trial {number} failed: {reason}")
        if value is not None and state == "COMPLETE":
            better = self.best is None or (value > self.best[0] if self.mode == "max" else value < self.best[0])
            if better:
                self.best = (value, number)

    def note(self, text: str) -> None:
        """A line of its own (above the redrawn status line on a terminal)."""
        if not self.enabled:
            return
        from poolnas.errors import one_line

        self.stream.write(("\r\033[K" if self._tty else "") + one_line(text, 300) + "\n")
        self.stream.flush()
        self._last_line = ""

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
