"""CPU defaults (issue 20 item 6): threads from the cores the process really has (affinity,
cgroup quota), ``amp: on`` refused on a CPU without bf16 units."""

from __future__ import annotations

import os

import pytest
import torch

from poolnas.config import config_from_dict
from poolnas.errors import ConfigError
from poolnas.trainers import environment, loop
from poolnas.trainers.environment import available_cores, cgroup_cpus, resolve_threads


@pytest.mark.parametrize("files,cores", [
    ({"cpu.max": "150000 100000\n"}, 1.5),  # cgroup v2: 1.5 cores
    ({"cpu.max": "max 100000\n"}, None),  # v2, no quota
    ({"cpu/cpu.cfs_quota_us": "200000", "cpu/cpu.cfs_period_us": "100000"}, 2.0),  # v1
    ({"cpu/cpu.cfs_quota_us": "-1", "cpu/cpu.cfs_period_us": "100000"}, None),
    ({}, None),  # no cgroup files (macOS, a bare chroot)
    ({"cpu.max": "garbage"}, None),
])
def test_cgroup_quota_is_read_from_v2_or_v1_files(tmp_path, files, cores):
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    assert cgroup_cpus(tmp_path) == cores


def test_available_cores_is_the_affinity_capped_by_the_quota(monkeypatch):
    affinity = len(os.sched_getaffinity(0))
    monkeypatch.setattr(environment, "cgroup_cpus", lambda: None)
    assert available_cores() == affinity
    monkeypatch.setattr(environment, "cgroup_cpus", lambda: 1.5)  # whole cores: 1
    assert available_cores() == 1
    monkeypatch.setattr(environment, "cgroup_cpus", lambda: 0.2)  # at least one thread
    assert available_cores() == 1


def test_threads_default_to_no_more_than_the_cores(monkeypatch):
    tc = config_from_dict({}).trainer
    saved = torch.get_num_threads()
    try:
        torch.set_num_threads(8)  # e.g. torch's default on a 64-core host, container of 2
        monkeypatch.setattr(environment, "available_cores", lambda: 2)
        assert resolve_threads(tc) == 2
        torch.set_num_threads(1)  # a Ray worker's OMP_NUM_THREADS = the trial's CPUs
        assert resolve_threads(tc) == 1
        explicit = config_from_dict({"trainer": {"num_threads": 3}}).trainer
        assert resolve_threads(explicit) == 3  # an explicit count wins
    finally:
        torch.set_num_threads(saved)


@pytest.mark.parametrize("has_bf16,refused", [(False, True), (True, False), (None, False)])
def test_amp_on_is_refused_on_a_cpu_without_bf16(monkeypatch, has_bf16, refused):
    monkeypatch.setattr(loop, "cpu_has_bf16", lambda: has_bf16)
    cfg = config_from_dict({"trainer": {"amp": "on", "device": "cpu", "dataset": "digits"},
                            "model": {"in_channels": 1}})
    if refused:
        with pytest.raises(ConfigError) as err:
            loop.prepare(cfg)
        assert "trainer.amp" in str(err.value) and "bf16" in str(err.value)
    else:
        loop.prepare(cfg)
    auto = cfg.model_copy(update={"trainer": cfg.trainer.model_copy(update={"amp": "auto"})})
    loop.prepare(auto)  # auto (float32 on CPU) is never refused


def test_cpu_bf16_flags_are_read_from_proc_cpuinfo():
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            flags = next((set(line.split(":", 1)[1].split()) for line in f if line.startswith("flags")), None)
    except OSError:
        pytest.skip("no /proc/cpuinfo")
    if flags is None:
        pytest.skip("no flags line")
    assert environment.cpu_has_bf16() is bool(flags & {"avx512_bf16", "amx_bf16"})
