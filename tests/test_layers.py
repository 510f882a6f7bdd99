"""The import graph of poolnas runs one way: every import goes to a lower layer (or stays
inside its own package), and no module imports itself back through others.

Layers, top to bottom (docs/architecture.md):

    cli, api                      what users call
    search                        sweeps on Ray Tune
    dashboards                    figures, report, dashboard server, export, study listing
    evidence                      configurations, verdicts, racing, Pareto fronts
    studies                       reading a stored study (SQL fast path, config migration)
    spaces, trainers              the search-space language; training one config
    models                        networks and attention placement
    attention                     pooling ops and attention modules
    base modules                  config, errors, storage, records, process_settings, _lazy, testing

Imports inside functions count as much as those at the top of a file.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1] / "poolnas"

RANK = {
    "": 10, "__main__": 10,  # the package's lazy notebook names, ``python -m poolnas``
    "cli": 9, "api": 9,
    "search": 8,
    "dashboards": 7,
    "evidence": 6,
    "studies": 5,
    "spaces": 4, "trainers": 4,
    "models": 3,
    "attention": 2,
    "testing": 1.5,
    "config": 1, "storage": 1, "records": 1, "process_settings": 1, "_lazy": 1, "_version": 0,
    "errors": 0,
}


def _module(path: Path) -> str:
    parts = list(path.relative_to(ROOT.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def _imports(path: Path) -> set[str]:
    """Every poolnas module (or package attribute) a file imports, resolved to absolute names."""
    mod = _module(path)
    package = mod if path.name == "__init__.py" else mod.rpartition(".")[0]
    out: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            if target.split(".")[0] == "poolnas":
                out.add(target)
                out.update(f"{target}.{a.name}" for a in node.names)
        elif isinstance(node, ast.Import):
            out.update(a.name for a in node.names if a.name.split(".")[0] == "poolnas")
    return out


def _graph() -> dict[str, set[str]]:
    """Module -> the poolnas modules it imports (names that are attributes of a module are
    reduced to that module)."""
    files = {_module(p): p for p in ROOT.rglob("*.py")}
    graph: dict[str, set[str]] = {}
    for mod, path in files.items():
        targets = set()
        for name in _imports(path):
            while name and name not in files:
                name = name.rpartition(".")[0]
            if name and name != mod:
                targets.add(name)
        graph[mod] = targets
    return graph


def _layer(mod: str) -> str:
    parts = mod.split(".")
    return parts[1] if len(parts) > 1 else ""


def test_every_import_runs_down():
    upward = []
    for mod, targets in sorted(_graph().items()):
        for target in sorted(targets):
            a, b = _layer(mod), _layer(target)
            if a == b or target == "poolnas":
                continue
            assert a in RANK and b in RANK, f"place {a or b!r} in a layer (tests/test_layers.py RANK)"
            if RANK[b] >= RANK[a]:
                upward.append(f"{mod} -> {target}")
    assert not upward, "imports that do not run down:\n" + "\n".join(upward)


def test_no_import_loops():
    graph = _graph()
    seen: dict[str, int] = {}  # 1: on the current path, 2: done
    loops: list[list[str]] = []

    def visit(mod: str, path: list[str]) -> None:
        seen[mod] = 1
        for target in sorted(graph.get(mod, ())):
            own_package = target.count(".") == 1 and target in graph and _is_package(target)
            if own_package and _layer(target) == _layer(mod):
                continue  # a module importing its own package's __init__ re-exports is not a loop
            if seen.get(target) == 1:
                loops.append(path[path.index(target):] + [target])
            elif target not in seen:
                visit(target, path + [target])
        seen[mod] = 2

    for mod in sorted(graph):
        if mod not in seen:
            visit(mod, [mod])
    assert not loops, "import loops:\n" + "\n".join(" -> ".join(loop) for loop in loops)


def _is_package(mod: str) -> bool:
    return (ROOT.parent / mod.replace(".", "/") / "__init__.py").exists()
