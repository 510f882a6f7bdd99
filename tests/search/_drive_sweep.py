"""``python _drive_sweep.py TRIALS poolnas-args...``: the ``poolnas`` command with fake trials
instead of training, so a test can signal or kill a real driver process mid-trial. TRIALS is
EPOCH_S (``sleep_trial`` sleeping EPOCH_S seconds per epoch), ``fill:POOLING:PATH``
(``disk_filling_trial``: the trial with that pooling fills the disk of PATH) or ``crash`` (the
worker process dies: ``crashing_trial``)."""

from __future__ import annotations

import functools
import sys

from poolnas.search import commands, sweep
from poolnas.testing.fake_trials import crashing_trial, disk_filling_trial, sleep_trial

if __name__ == "__main__":
    if sys.argv[1] == "crash":
        trial_fn = crashing_trial
    elif sys.argv[1].startswith("fill:"):
        _, pooling, path = sys.argv[1].split(":", 2)
        trial_fn = functools.partial(disk_filling_trial, pooling=pooling, path=path)
    else:
        trial_fn = functools.partial(sleep_trial, epoch_s=float(sys.argv[1]))
    commands.run_sweep = functools.partial(sweep.run_sweep, trial_fn=trial_fn, num_cpus=2)
    from poolnas.cli import main

    sys.exit(main(sys.argv[2:]))
