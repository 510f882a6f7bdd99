"""poolnas reads no private attribute or module of Optuna or Ray (issue 16): a static check
over every ``poolnas/**/*.py``, so a ``study._storage`` or ``optuna.storages._rdb`` cannot
come back unnoticed.

A private name (``_x``, not a dunder) read as an attribute, imported from a dependency's
module path, or fetched with ``getattr(obj, "_x")`` is flagged when poolnas itself does not
define it anywhere (a function, class, attribute, variable or module of poolnas), or when it
is one of the Optuna/Ray internals poolnas used to read, whatever object it is read from.

A string key is an internal too: Optuna's undocumented system attributes (``fixed_params``,
the params of an enqueued trial) are read in one accessor (``poolnas.records``), and any other
literal key read from ``system_attrs`` is flagged.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2] / "poolnas"
# Private names of Optuna and Ray that poolnas once read: flagged on any object but self/cls.
KNOWN_INTERNALS = {"_storage", "_study_id", "_trial_id", "_get_trials", "_rdb", "_cached_storage",
                   "_backend", "_thread_local"}
DEPENDENCIES = ("optuna", "ray")
# Undocumented string keys of Optuna's system attributes, and the one module that reads them.
KNOWN_INTERNAL_KEYS = {"fixed_params"}
KEY_ACCESSOR = "poolnas/records.py"
# The two places poolnas reaches into Ray on purpose, because Ray 2.60 has no public way to do
# what the sweep must (docs/search.md, "Guarantees"). Each is guarded: with a Ray that lacks
# the internal, the sweep keeps Ray's own behaviour (and the loopback check after ray.init
# still refuses a non-loopback node). Any other private import fails this test.
ACCEPTED = {
    # Ray keeps its local-only switch in ray_constants.ENABLE_RAY_CLUSTER, read at import:
    # set while ray.init runs, so a notebook that imported ray first still gets loopback.
    ("poolnas/search/_ray.py", "ray._private"),
    # Tune's actor manager raises out of Tuner.fit for a worker Ray's memory monitor killed;
    # one method is wrapped while a sweep runs so that trial fails "out of memory" instead.
    ("poolnas/search/_oom.py", "ray.air.execution._internal.actor_manager"),
}
# Documented names that start with an underscore (os._exit, namedtuple's API).
DOCUMENTED = {"_exit", "_replace", "_asdict", "_fields", "_make", "_field_defaults"}


def _private(name: str) -> bool:
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


def _trees() -> list[tuple[Path, ast.AST]]:
    return [(p, ast.parse(p.read_text(), str(p))) for p in sorted(ROOT.rglob("*.py"))]


def _defined(trees: list[tuple[Path, ast.AST]]) -> set[str]:
    """Every name poolnas defines: modules, functions, classes, assigned names and attributes."""
    names = {p.stem for p, _ in trees} | {p.parent.name for p, _ in trees}
    for _, tree in trees:
        for node in ast.walk(tree):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                names.add(node.name)
            elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
                names.add(node.id)
            elif isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Store):
                names.add(node.attr)
            elif isinstance(node, ast.arg):
                names.add(node.arg)
            elif isinstance(node, ast.alias) and node.asname:
                names.add(node.asname)
    return names


def _is_self(node: ast.AST) -> bool:
    return isinstance(node, ast.Name) and node.id in ("self", "cls")


def _system_attr_key(node: ast.AST) -> str | None:
    """The literal key of ``x.system_attrs["k"]``, ``x.system_attrs.get("k")`` or
    ``"k" in x.system_attrs``; None for anything else."""
    def is_attrs(n: ast.AST) -> bool:
        return isinstance(n, ast.Attribute) and n.attr == "system_attrs"

    def literal(n: ast.AST) -> str | None:
        return n.value if isinstance(n, ast.Constant) and isinstance(n.value, str) else None

    if isinstance(node, ast.Subscript) and is_attrs(node.value):
        return literal(node.slice)
    if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "get"
            and is_attrs(node.func.value) and node.args):
        return literal(node.args[0])
    if (isinstance(node, ast.Compare) and len(node.ops) == 1 and isinstance(node.ops[0], (ast.In, ast.NotIn))
            and is_attrs(node.comparators[0])):
        return literal(node.left)
    return None


def _findings(path: Path, tree: ast.AST, defined: set[str]) -> list[str]:
    out = []
    where = str(path.relative_to(ROOT.parent))

    def flag(node: ast.AST, what: str) -> None:
        out.append(f"{where}:{node.lineno}: {what}")

    for node in ast.walk(tree):
        if where != KEY_ACCESSOR:
            key = _system_attr_key(node)
            if key is not None:
                flag(node, f"reads system_attrs[{key!r}] (a string key of Optuna's internals)")
            elif (isinstance(node, ast.Constant) and isinstance(node.value, str)
                  and node.value in KNOWN_INTERNAL_KEYS):
                flag(node, f"names Optuna's internal key {node.value!r}")
        if isinstance(node, ast.Attribute) and _private(node.attr) and not _is_self(node.value):
            if node.attr in KNOWN_INTERNALS or node.attr not in defined | DOCUMENTED:
                flag(node, f"reads .{node.attr}")
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            parts = node.module.split(".")
            if parts[0] in DEPENDENCIES:
                bad = [p for p in parts if _private(p)]
                bad += [a.name for a in node.names if _private(a.name)]
                if bad:
                    flag(node, f"imports {node.module}: {bad}")
        elif isinstance(node, ast.Import):
            for a in node.names:
                parts = a.name.split(".")
                if parts[0] in DEPENDENCIES and any(_private(p) for p in parts):
                    flag(node, f"imports {a.name}")
        elif (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
              and node.func.id in ("getattr", "setattr", "hasattr") and len(node.args) >= 2
              and isinstance(node.args[1], ast.Constant) and isinstance(node.args[1].value, str)
              and _private(node.args[1].value) and not _is_self(node.args[0])
              and node.args[1].value not in defined - KNOWN_INTERNALS):
            flag(node, f"{node.func.id}(..., {node.args[1].value!r})")
    return out


def test_poolnas_reads_no_private_internal_of_optuna_or_ray() -> None:
    trees = _trees()
    defined = _defined(trees)
    found = [f for path, tree in trees for f in _findings(path, tree, defined)
             if not any(f.startswith(f"{where}:") and f": imports {module}:" in f
                        for where, module in ACCEPTED)]
    assert not found, "private internals of a dependency read by poolnas:\n" + "\n".join(found)


@pytest.mark.parametrize("code", [
    "def f(study):\n    return study._storage.get_all_trials(study._study_id)\n",
    "def f(trial, storage):\n    storage.set_trial_user_attr(trial._trial_id, 'k', 1)\n",
    "from optuna.storages._rdb import models\n",
    "import optuna.storages._rdb.models\n",
    "from ray.tune import _internal_thing\n",
    "def f(x):\n    return getattr(x, '_backend')\n",
    "import optuna\nx = optuna.storages._rdb.models\n",
    "def f(trial):\n    return trial.system_attrs.get('fixed_params')\n",
    "def f(trial):\n    return trial.system_attrs['grid_id']\n",
    "def f(trial):\n    return 'fixed_params' in trial.system_attrs\n",
    "KEY = 'fixed_params'\n",
])
def test_the_check_flags_each_kind_of_private_read(code: str) -> None:
    tree = ast.parse(code)
    assert _findings(ROOT / "x.py", tree, _defined(_trees())), code


def test_the_check_passes_poolnas_own_private_names() -> None:
    code = ("from poolnas.search._lease import hold_lease\n"
            "class A:\n    def __init__(self):\n        self._x = 1\n"
            "    def g(self, other):\n        return other._x + self._y\n")
    assert _findings(ROOT / "x.py", ast.parse(code), _defined(_trees()) | {"_x"}) == []


def test_the_one_accessor_may_read_optunas_key() -> None:
    code = "def enqueued_params(trial):\n    return trial.system_attrs.get('fixed_params')\n"
    assert _findings(ROOT / "records.py", ast.parse(code), _defined(_trees())) == []
