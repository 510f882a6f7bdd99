from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import optuna
import pytest

sys.path.insert(0, str(Path(__file__).parent))  # the synthetic study builders

optuna.logging.set_verbosity(optuna.logging.WARNING)
try:
    import torch

    torch.set_num_threads(1)
except ImportError:  # pragma: no cover
    pass

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver")


def require_chromium() -> None:
    """Skip (or fail under POOLNAS_REQUIRE_ALL=1) when headless Chromium is missing."""
    if CHROMIUM and CHROMEDRIVER:
        return
    reason = "chromium and chromedriver are needed (apt-get install chromium chromium-driver)"
    if os.environ.get("POOLNAS_REQUIRE_ALL") == "1":
        pytest.fail(reason)
    pytest.skip(reason)


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'studies.db'}"
