"""The sweep's live view on stderr (a Tune callback).

One line: trials complete / running / pruned / failed out of the target, the best value so
far, where a race of seeds stands, and an estimate of the time left from the epochs this run
has timed (every epoch of every trial updates it). On a terminal the line is redrawn in
place; otherwise a new line is written when the counts change. Ray's own progress output is
off (``verbose=0``).
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TextIO

from ray.tune import Callback

from poolnas.errors import one_line, terminal_cell
from poolnas.studies.units import objective_text

if TYPE_CHECKING:
    from ray.tune.experiment import Trial

    from poolnas.search._race import Race

__all__ = ["LiveView"]


class LiveView(Callback):
    """Counts trials by state and prints one status line on ``stream``.

    Tune's hooks say which trials run; the outcome callback (``_outcome.TrialOutcomes``)
    calls ``told`` for each outcome the database accepted, so the counts never exceed what
    the database holds."""

    def __init__(self, *, study: str, metric: str, mode: str, target: int,
                 counts: dict[str, int] | None = None, best: tuple[float, int] | None = None,
                 stream: TextIO | None = None, enabled: bool = True, epochs: int = 1,
                 best_of: Callable[[], dict[str, Any] | None] | None = None) -> None:
        self.study, self.metric, self.mode, self.target = terminal_cell(study), metric, mode, target
        self.epochs = max(1, int(epochs))  # of a full trial
        self.race: Race | None = None  # when seeds race (its last status)
        self._epochs_seen: dict[str, int] = {}  # epochs reported per trial, this run
        self._finished_now = 0  # trials this run finished (any state)
        counts = counts or {}
        self.complete = counts.get("COMPLETE", 0)
        self.pruned = counts.get("PRUNED", 0)
        self.interrupted = int(counts.get("INTERRUPTED", 0))  # FAIL "interrupted: ..." (retried)
        self.failed = counts.get("FAIL", 0) - self.interrupted
        self.running: set[str] = set()
        self.best = best  # (mean, trial number[, n]) of the best configuration
        # reads the one best (poolnas.evidence: the best mean over finished seeds) after each
        # COMPLETE outcome; without it the best single run is shown
        self.best_of = best_of
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
        state["best_of"] = None  # it reads the study: nothing Tune pickles holds the storage
        state["race"] = None
        return state

    # Tune callback hooks -----------------------------------------------------------------
    def on_trial_start(self, iteration: int, trials: list[Trial], trial: Trial, **info: Any) -> None:
        self.running.add(trial.trial_id)
        self.events.append((time.perf_counter(), "start", trial.trial_id))
        self.render()

    def on_trial_result(self, iteration: int, trials: list[Trial], trial: Trial,
                        result: dict[str, Any], **info: Any) -> None:
        step = int(result.get("training_iteration", 0) or 0)
        if step > self._epochs_seen.get(trial.trial_id, 0):
            self._epochs_seen[trial.trial_id] = step
            self.render(force=True)  # every epoch: the time left changes

    def on_trial_complete(self, iteration: int, trials: list[Trial], trial: Trial, **info: Any) -> None:
        self.running.discard(trial.trial_id)
        self.events.append((time.perf_counter(), "end", trial.trial_id))
        self.render()

    def on_trial_error(self, iteration: int, trials: list[Trial], trial: Trial, **info: Any) -> None:
        self.running.discard(trial.trial_id)
        self.events.append((time.perf_counter(), "end", trial.trial_id))
        self.render()

    # fed by the outcome callback ---------------------------------------------------------
    def told(self, state: str, value: float | None, number: int, reason: str | None = None) -> None:
        """One stored outcome; a failure of the trial's own (not an interruption) is shown
        as one line with its reason."""
        self._finished_now += 1
        if state == "COMPLETE":
            self.complete += 1
        elif state == "PRUNED":
            self.pruned += 1
        elif state == "FAIL" and reason and reason.startswith("interrupted:"):
            self.interrupted += 1  # the sweep stopped it; it runs again: not a failure
        elif state == "FAIL":
            self.failed += 1
            if reason:
                self.note(f"{self.study}: trial {number} failed: {terminal_cell(reason, 300)}")
        if value is not None and state == "COMPLETE":
            if self.best_of is not None:
                best = self.best_of()
                if best is not None:
                    self.best = (best["mean"], best["number"], best.get("n", 1))
                return
            better = self.best is None or (value > self.best[0] if self.mode == "max"
                                           else value < self.best[0])
            if better:
                self.best = (value, number)

    def note(self, text: str) -> None:
        """A line of its own (above the redrawn status line on a terminal)."""
        if not self.enabled:
            return
        self.stream.write(("\r\033[K" if self._tty else "") + one_line(text, 300) + "\n")
        self.stream.flush()
        self._last_line = ""

    def time_left(self) -> float | None:
        """Seconds left at this run's pace of epochs, or None before the first epoch. With
        racing the target is an upper bound (every configuration at max seeds)."""
        done = sum(self._epochs_seen.values())
        elapsed = time.monotonic() - self._start
        if done == 0 or elapsed <= 0:
            return None
        finished = self.complete + self.pruned + self.failed  # interrupted ones run again
        running_epochs = sum(self._epochs_seen.get(t, 0) for t in self.running)
        left = max(0, (self.target - finished) * self.epochs - running_epochs)
        return left * elapsed / done

    def _race_text(self) -> str:
        status = getattr(self.race, "status", None)
        if status is None or status.best is None:
            return ""
        return (f" | race: {len(status.racing) + 1} within noise, "
                f"{len(status.separated)} out, {len(status.capped)} at max seeds")

    @staticmethod
    def _clock(seconds: float) -> str:
        s = int(seconds)
        return f"{s // 3600}:{s % 3600 // 60:02d}:{s % 60:02d}" if s >= 3600 else f"{s // 60}:{s % 60:02d}"

    def line(self) -> str:
        elapsed = time.monotonic() - self._start
        if self.best and len(self.best) > 2 and self.best[2] > 1:
            best = (f"best {self.metric} {objective_text(self.best[0], self.metric)} (mean of {self.best[2]} "
                    f"seeds; its best seed: trial {self.best[1]})")
        elif self.best:
            best = f"best {self.metric} {objective_text(self.best[0], self.metric)} (trial {self.best[1]})"
        else:
            best = f"best {self.metric} -"
        left = self.time_left()
        eta = "" if left is None else f", {'≤ ' if self.race is not None else ''}~{self._clock(left)} left"
        return (f"{self.study}: {self.complete} complete, {len(self.running)} running, "
                f"{self.pruned} pruned, {self.failed} failed"
                f"{f', {self.interrupted} interrupted (retried)' if self.interrupted else ''} of "
                f"{'≤ ' if self.race is not None else ''}"
                f"{self.target} | {best}{self._race_text()} | {self._clock(elapsed)}{eta}")

    def render(self, force: bool = False) -> None:
        if not self.enabled:
            return
        text = self.line()
        key = text if force else text.rsplit("|", 1)[0]
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
