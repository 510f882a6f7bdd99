from __future__ import annotations

import pytest
import torch


@pytest.fixture(autouse=True)
def _torch_single_thread():
    # 2 shared cores: keep torch to one thread and every test seeded.
    torch.set_num_threads(1)
    torch.manual_seed(0)
    yield
