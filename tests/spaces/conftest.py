from __future__ import annotations

import pytest


@pytest.fixture
def write_space(tmp_path):
    """Write a space file's text under tmp_path and return its path."""

    def write(text: str, name: str = "space.yaml"):
        path = tmp_path / name
        path.write_text(text)
        return path

    return write
