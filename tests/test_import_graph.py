"""Imports between the modules of a package go one way.

A cycle hidden behind a function-local import or an ``if TYPE_CHECKING:``
block still ties the modules together: neither can be read, tested or moved
without the other. The graph below is read from the source with ``ast`` and
counts every import statement wherever it sits, so those hidden cycles show
up too.

Importing ``a.b.c`` also runs the ``__init__`` of ``a`` and ``a.b``; those
implicit edges are not counted (Python initialises parent packages first, so
they never form a cycle that matters). An explicit ``import a.b`` from inside
``a.b.c`` is counted.

``sim`` is held to it on its own; ``bot`` and ``handlers`` together, files
and bot's sub-packages alike.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable, Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def package_modules(root: Path, packages: Iterable[str]) -> dict[str, Path]:
    """Dotted module name -> source file, for every module of ``packages`` under ``root``.

    Only directories with an ``__init__.py`` count as (sub)packages, so build
    output and other stray folders inside a package are left out.
    """
    modules: dict[str, Path] = {}

    def walk(folder: Path, dotted: str) -> None:
        modules[dotted] = folder / "__init__.py"
        for child in sorted(folder.iterdir()):
            if child.is_dir() and (child / "__init__.py").is_file():
                walk(child, f"{dotted}.{child.name}")
            elif child.suffix == ".py" and child.name != "__init__.py":
                modules[f"{dotted}.{child.stem}"] = child

    for package in packages:
        folder = root.joinpath(*package.split("."))
        if not (folder / "__init__.py").is_file():
            raise FileNotFoundError(f"no package {package} under {root}")
        walk(folder, package)
    return modules


def _resolve(name: str, known: dict[str, Path]) -> str | None:
    """The longest known module that ``name`` names or lies inside, if any."""
    parts = name.split(".")
    while parts:
        candidate = ".".join(parts)
        if candidate in known:
            return candidate
        parts.pop()
    return None


def _base_of_relative(module: str, is_package: bool, level: int, target: str | None) -> str:
    package = module.split(".") if is_package else module.split(".")[:-1]
    if level > 1:
        package = package[: len(package) - (level - 1)]
    return ".".join([*package, target] if target else package)


def imports_of(module: str, path: Path, known: dict[str, Path]) -> set[str]:
    """The modules among ``known`` that ``module`` imports anywhere in its source."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                target = _resolve(alias.name, known)
                if target:
                    found.add(target)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = _base_of_relative(module, path.name == "__init__.py", node.level, node.module)
            else:
                base = node.module or ""
            for alias in node.names:
                # `from a import b` imports the module a.b when there is one, else a name from a.
                target = _resolve(f"{base}.{alias.name}", known) if alias.name != "*" else None
                target = target or _resolve(base, known)
                if target:
                    found.add(target)
    found.discard(module)
    return found


def import_graph(root: Path, packages: Sequence[str]) -> dict[str, set[str]]:
    """Module -> the modules of ``packages`` it imports (function-local and TYPE_CHECKING ones included)."""
    modules = package_modules(root, packages)
    return {name: imports_of(name, path, modules) for name, path in modules.items()}


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected groups of more than one module, each sorted (Tarjan's algorithm)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    groups: list[list[str]] = []

    def visit(start: str) -> None:
        # Iterative, so a deep chain of imports cannot hit the recursion limit.
        work = [(start, iter(sorted(graph.get(start, ()))))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        while work:
            node, edges = work[-1]
            advanced = False
            for target in edges:
                if target not in index:
                    index[target] = low[target] = len(index)
                    stack.append(target)
                    on_stack.add(target)
                    work.append((target, iter(sorted(graph.get(target, ())))))
                    advanced = True
                    break
                if target in on_stack:
                    low[node] = min(low[node], index[target])
            if advanced:
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
            if low[node] == index[node]:
                group = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    group.append(member)
                    if member == node:
                        break
                if len(group) > 1:
                    groups.append(sorted(group))

    for name in sorted(graph):
        if name not in index:
            visit(name)
    return sorted(groups)


def describe(graph: dict[str, set[str]], group: list[str]) -> str:
    members = set(group)
    edges = [f"  {a} -> {b}" for a in group for b in sorted(graph[a] & members)]
    return "\n".join([", ".join(group), *edges])


def test_sim_modules_import_one_way() -> None:
    graph = import_graph(ROOT, ["sim"])
    assert len(graph) > 20, "the sim package was not found"
    found = cycles(graph)
    assert not found, "import cycles in sim:\n" + "\n\n".join(describe(graph, g) for g in found)


def test_hidden_imports_count(tmp_path: Path) -> None:
    """The detector itself: a cycle closed by a function-local or TYPE_CHECKING import is still a cycle."""
    package = tmp_path / "pkg"
    (package / "sub").mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "sub" / "__init__.py").write_text("")
    (package / "a.py").write_text("from pkg.sub import b\n")
    (package / "sub" / "b.py").write_text("def f():\n    from .. import a\n")
    (package / "c.py").write_text("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    import pkg.d\n")
    (package / "d.py").write_text("from . import c\n")
    (package / "e.py").write_text("import pkg.a\nfrom pkg.c import something\n")
    graph = import_graph(tmp_path, ["pkg"])
    assert graph["pkg.e"] == {"pkg.a", "pkg.c"}
    assert cycles(graph) == [["pkg.a", "pkg.sub.b"], ["pkg.c", "pkg.d"]]


def package_graph(graph: dict[str, set[str]], depth: int) -> dict[str, set[str]]:
    """The module graph folded to packages: ``bot.sources.kube.cache`` counts as ``bot.sources`` at depth 2.

    A module directly inside a package (``bot.runtime``) stays a node of its own.
    """

    def fold(name: str) -> str:
        return ".".join(name.split(".")[:depth])

    folded: dict[str, set[str]] = {}
    for source, targets in graph.items():
        node = fold(source)
        folded.setdefault(node, set()).update(fold(t) for t in targets if fold(t) != node)
    return folded


def test_bot_and_handlers_import_one_way() -> None:
    """Files, and the sub-packages of bot, import one way: fetch, analyse, render, deliver, never back up."""
    graph = import_graph(ROOT, ["bot", "handlers"])
    assert len(graph) > 40, "the bot package was not found"
    found = cycles(graph)
    assert not found, "import cycles between files:\n" + "\n\n".join(describe(graph, g) for g in found)
    layers = package_graph(graph, 2)
    found = cycles(layers)
    assert not found, "import cycles between packages:\n" + "\n\n".join(describe(layers, g) for g in found)


def test_only_the_composition_root_knows_the_handlers() -> None:
    """bot.runtime builds the command registry from handlers; nothing else in bot reaches up to them."""
    graph = import_graph(ROOT, ["bot", "handlers"])
    reaching_up = sorted(m for m, targets in graph.items() if m.startswith("bot.") and any(t.startswith("handlers") for t in targets))
    assert reaching_up == ["bot.runtime"]
