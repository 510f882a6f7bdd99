"""Set-up for the search tests: local Rays on 127.0.0.1, one thread (``ray_local``: tests/conftest.py;
space helpers: _sweep_spaces)."""

from __future__ import annotations

from poolnas.search._ray import local_ray_on_loopback

local_ray_on_loopback()  # before anything imports ray: the tests' local Rays listen on 127.0.0.1
