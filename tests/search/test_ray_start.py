"""Ray starts in a background thread while the driver sets its study up (``_ray.RayStart``, issue
20 item 3): the storage's secrets stay out of the environment Ray's processes inherit, an error
of the start reaches the caller, and the thread that started Ray lives until Ray is shut down
(Ray's processes die with the thread that started them). Unit tests: ``_connect`` (ray.init) is
replaced; the sweep tests run the real start (test_loopback, test_settings, test_sweep_*)."""

from __future__ import annotations

import os
import threading

import pytest
import ray

from poolnas.search import _ray
from poolnas.search._ray import RayStart

SECRET_URL = "postgresql+psycopg://sweeper:hunter2@127.0.0.1:5432/db"


def test_secrets_are_out_of_the_environment_while_ray_starts_and_back_after(monkeypatch):
    monkeypatch.setenv("POOLNAS_STORAGE", SECRET_URL)
    monkeypatch.setenv("OTHER_DB", SECRET_URL)
    seen: dict[str, str | None] = {}

    def connect(address, num_cpus):
        seen.update(storage=os.environ.get("POOLNAS_STORAGE"), other=os.environ.get("OTHER_DB"))
        return False, 0.0

    monkeypatch.setattr(_ray, "_connect", connect)
    start = RayStart(None, num_cpus=1)
    assert start.result()[0] is False
    start.close()
    assert seen == {"storage": None, "other": None}
    assert os.environ["POOLNAS_STORAGE"] == SECRET_URL and os.environ["OTHER_DB"] == SECRET_URL


def test_an_error_of_the_start_is_raised_where_the_sweep_waits_for_ray(monkeypatch):
    monkeypatch.setenv("POOLNAS_STORAGE", SECRET_URL)

    def connect(address, num_cpus):
        raise ConnectionError("cannot reach the Ray cluster at 127.0.0.1:1")

    monkeypatch.setattr(_ray, "_connect", connect)
    start = RayStart("127.0.0.1:1")
    with pytest.raises(ConnectionError, match="127.0.0.1:1"):
        start.result()
    start.close()  # nothing started: nothing to shut down
    assert os.environ["POOLNAS_STORAGE"] == SECRET_URL


def test_the_thread_that_started_ray_lives_until_close_shuts_ray_down(monkeypatch):
    release = threading.Event()
    shutdowns: list[bool] = []

    def connect(address, num_cpus):
        release.wait(5)  # a start that takes a while: the caller's set-up runs meanwhile
        return True, 0.5

    monkeypatch.setattr(_ray, "_connect", connect)
    monkeypatch.setattr(ray, "shutdown", lambda: shutdowns.append(start._thread.is_alive()))
    start = RayStart(None, num_cpus=1)
    assert start._thread.is_alive()
    release.set()
    started, took, _ = start.result()
    assert (started, took) == (True, 0.5)
    assert start._thread.is_alive()  # Ray's processes are tied to it
    start.close()
    start.close()  # once
    assert shutdowns == [True]  # shut down while the thread still lived, then it ended
    assert not start._thread.is_alive()


def test_a_ray_the_process_already_ran_is_left_running(monkeypatch):
    shutdowns: list[int] = []
    monkeypatch.setattr(_ray, "_connect", lambda address, num_cpus: (False, 0.0))
    monkeypatch.setattr(ray, "shutdown", lambda: shutdowns.append(1))
    start = RayStart(None)
    start.close()  # without result(): a set-up that failed before it needed Ray
    assert shutdowns == [] and not start._thread.is_alive()
