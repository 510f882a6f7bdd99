"""The packages that export their API lazily (poolnas._lazy): every name resolves, an
unknown one is an AttributeError, and dir() lists the API before anything is imported."""

from __future__ import annotations

import importlib
import subprocess
import sys

import pytest

PACKAGES = ["poolnas.attention", "poolnas.models", "poolnas.dashboards", "poolnas.trainers"]


@pytest.mark.parametrize("package", PACKAGES)
def test_every_exported_name_resolves(package):
    pkg = importlib.import_module(package)
    assert set(pkg.__all__) <= set(dir(pkg))
    assert sorted(pkg.__all__) == sorted(n for names in pkg._EXPORTS.values() for n in names)
    for module, names in pkg._EXPORTS.items():
        for name in names:
            value = getattr(pkg, name)
            assert value is getattr(importlib.import_module(f"{package}.{module}"), name)
            assert vars(pkg)[name] is value  # kept: the next read is a plain lookup
    with pytest.raises(AttributeError, match=f"module '{package}' has no attribute 'no_such_name'"):
        pkg.no_such_name  # noqa: B018


@pytest.mark.parametrize("package", ["poolnas", "poolnas.spaces"])
def test_the_packages_with_eager_names_export_the_rest_the_same_way(package):
    """poolnas (the notebook API) and poolnas.spaces (the sampler, which imports Optuna) use the
    same mechanism for their lazy names."""
    pkg = importlib.import_module(package)
    for module, names in pkg._EXPORTS.items():
        for name in names:
            assert name in dir(pkg) and name in pkg.__all__
            assert getattr(pkg, name) is getattr(importlib.import_module(f"{package}.{module}"), name)
    with pytest.raises(AttributeError, match=f"module '{package}' has no attribute 'no_such_name'"):
        pkg.no_such_name  # noqa: B018


def test_importing_the_packages_imports_no_torch():
    code = "import sys, poolnas.attention, poolnas.models, poolnas.dashboards; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"
