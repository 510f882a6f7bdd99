"""A ``train`` call sets process-wide state for itself only; the result records it; the cost
timings (train_step_ms, infer_ms) come from the real steps and a short eval-mode timing."""

from __future__ import annotations

import random

import numpy as np
import pytest
import torch

from poolnas.errors import NonFiniteLossError
from poolnas.trainers import environment, loop, timing
from poolnas.trainers.environment import describe_environment, trial_state
from poolnas.trainers.loop import train


def _process_state():
    return {
        "threads": torch.get_num_threads(),
        "torch_rng": torch.get_rng_state().clone(),
        "py_rng": random.getstate(),
        "np_rng": np.random.get_state()[1].copy(),
        "cudnn": (torch.backends.cudnn.benchmark, torch.backends.cudnn.deterministic,
                  torch.backends.cudnn.enabled),
        "deterministic": torch.are_deterministic_algorithms_enabled(),
    }


def _assert_same(before, after):
    assert after["threads"] == before["threads"]
    assert torch.equal(after["torch_rng"], before["torch_rng"])
    assert after["py_rng"] == before["py_rng"]
    assert np.array_equal(after["np_rng"], before["np_rng"])
    assert after["cudnn"] == before["cudnn"] and after["deterministic"] == before["deterministic"]


@pytest.fixture
def one_thread():
    saved = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(saved)


def test_train_leaves_threads_rng_and_backend_flags_as_they_were(tiny, one_thread):
    torch.manual_seed(1234)  # a caller's own RNG stream, mid-way
    random.seed(5)
    np.random.seed(6)
    torch.rand(3)
    before = _process_state()
    result = train(tiny(epochs=1, num_threads=2))
    assert result["environment"]["threads"] == 2  # the trial ran with its config's threads
    _assert_same(before, _process_state())


def test_the_threads_a_trial_runs_with_are_its_configs(tiny, one_thread, monkeypatch):
    seen = []
    real = loop._train_epoch

    def spy(*args, **kwargs):
        seen.append(torch.get_num_threads())
        return real(*args, **kwargs)
    monkeypatch.setattr(loop, "_train_epoch", spy)
    train(tiny(epochs=1, num_threads=2))
    train(tiny(epochs=1))  # no num_threads: the caller's count (1), not the last trial's
    assert seen == [2, 1]


def test_state_is_restored_when_the_trial_fails(tiny, one_thread, monkeypatch):
    real = loop.build_model

    def nan_model(cfg):
        return torch.nn.Sequential(real(cfg), _Nan())
    monkeypatch.setattr(loop, "build_model", nan_model)
    before = _process_state()
    with pytest.raises(NonFiniteLossError):
        train(tiny(epochs=1, num_threads=2))
    _assert_same(before, _process_state())


class _Nan(torch.nn.Module):
    def forward(self, x):
        return x * float("nan")


def test_trial_state_sets_and_restores_cudnn_benchmark(one_thread):
    saved = torch.backends.cudnn.benchmark
    with trial_state(2, cudnn_benchmark=not saved):
        assert torch.get_num_threads() == 2 and torch.backends.cudnn.benchmark is (not saved)
        torch.manual_seed(0)
    assert torch.get_num_threads() == 1 and torch.backends.cudnn.benchmark is saved


def test_two_trials_in_one_process_equal_each_run_alone(tiny, one_thread):
    """What a reused Ray actor does: trials in a row; the second matches a fresh run of it."""
    first = tiny(epochs=1, num_threads=2, mixup=0.2)
    second = tiny(epochs=2).model_copy(update={"seed": 3})
    alone = train(second)["curves"]
    train(first)
    torch.rand(7)  # the caller's RNG moved on between trials
    assert train(second)["curves"]["train_loss"] == alone["train_loss"]


def test_describe_environment_is_json_able_and_names_the_versions():
    import json

    env = describe_environment(torch.device("cpu"), 3)
    assert json.loads(json.dumps(env)) == env
    assert env["threads"] == 3 and env["device"] == "cpu" and env["torch"] == torch.__version__
    assert "cuda" not in env  # CUDA versions only for a CUDA trial
    assert environment.resolve_threads(loop.TrialConfig().trainer) == torch.get_num_threads()


def test_step_timer_skips_the_warm_up_steps_of_each_epoch():
    t = timing.StepTimer(torch.device("cpu"), steps_per_epoch=10)
    for _ in range(2):  # two epochs
        for step in range(10):
            t.stop(t.start(step))
        t.end_epoch()
    assert len(t.times) == 2 * (10 - timing.WARMUP_STEPS - 1)  # nor the last one (a partial batch)
    assert t.median_ms() is not None and t.median_ms() >= 0
    short = timing.StepTimer(torch.device("cpu"), steps_per_epoch=1)  # one step: timed
    short.stop(short.start(0))
    assert len(short.times) == 1
    assert timing.StepTimer(torch.device("cpu"), 5).median_ms() is None


def test_step_time_is_the_fastest_step_so_load_does_not_inflate_it(monkeypatch):
    """On a fake clock: every step takes 4 ms, two are slowed to 40 ms by another process.
    train_step_ms (the minimum) stays 4; the median moves only if most steps are slowed."""
    now = {"t": 0.0}
    monkeypatch.setattr(timing.time, "perf_counter", lambda: now["t"])
    t = timing.StepTimer(torch.device("cpu"), steps_per_epoch=12)
    for step in range(12):
        token = t.start(step)
        now["t"] += 0.040 if step in (4, 6) else 0.004
        t.stop(token)
    assert t.min_ms() == pytest.approx(4.0)
    assert t.median_ms() == pytest.approx(4.0)
    assert max(t.times) == pytest.approx(40.0)
    load = timing.cpu_load()
    assert load is None or load >= 0


def test_measure_infer_ms_times_eval_forwards():
    calls = []

    class Probe(torch.nn.Module):
        def forward(self, x):
            calls.append(self.training)
            return x
    assert timing.measure_infer_ms(Probe(), torch.zeros(4, 1, 2, 2)) >= 0
    assert calls == [False] * (timing.INFER_RUNS + 1)  # eval mode, one warm-up pass
    assert timing.measure_infer_ms(Probe(), torch.zeros(0, 1, 2, 2)) is None
