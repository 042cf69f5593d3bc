"""Rules that keep the package's shape: no import cycles, no reaching into another package's privates.

Both rules read every ``import`` and ``from ... import`` statement of ``src/skintrial`` with :mod:`ast`,
wherever it stands: at module level, inside a function (an import deferred into a function still ties
the two modules together, it only hides the cycle until that function runs) or under
``if TYPE_CHECKING:``. Relative imports are resolved. ``from P import n`` is an edge to the module
``P.n`` when that is a module, otherwise to ``P``. The parent packages Python imports on the way
(``skintrial.stats`` before ``skintrial.stats._engine``) are not edges: a package's ``__init__`` that
re-exports its own modules would otherwise be in a cycle with each of them.

Private, for the second rule: a module or name whose own name starts with ``_`` (dunders excepted) is
private to the package that holds it, subpackages included. ``skintrial.stats._engine`` and
``_helper`` defined in ``skintrial.stats.ancova`` are private to ``skintrial.stats``: any module under
``skintrial/stats/`` may import them, ``skintrial.report`` or ``skintrial.pipeline`` may not, and
imports what it needs from ``skintrial.stats`` (whose ``__init__`` re-exports it). The same rule makes
the top-level ``skintrial._io`` private to ``skintrial`` as a whole: it is shared infrastructure of
every stage (atomic writes, output folders), not a stage's internals. ``skintrial.errors`` is public.

These are tests rather than ruff rules: ruff's banned-api (TID251) bans a name everywhere, the owning
package included (see ``[tool.ruff.lint]`` in pyproject.toml).
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

import skintrial

SRC = Path(skintrial.__file__).resolve().parent  # src/skintrial
ROOT = "skintrial"


@dataclass(frozen=True)
class Import:
    """One imported module (or name) of one import statement."""

    importer: str  # the importing module, e.g. skintrial.cli._plan
    target: str  # the imported module, e.g. skintrial.report._figures
    name: str | None  # the imported name when it is not a module, e.g. figure_bytes
    file: Path
    line: int

    def where(self) -> str:
        return f"{self.file.relative_to(SRC.parent.parent)}:{self.line}"


def _modules() -> dict[str, Path]:
    """Dotted module name -> file, for every module and package of skintrial."""
    out = {}
    for path in sorted(SRC.rglob("*.py")):
        parts = path.relative_to(SRC.parent).with_suffix("").parts
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out[".".join(parts)] = path
    return out


MODULES = _modules()


def _is_package(module: str) -> bool:
    return MODULES[module].name == "__init__.py"


def _imports() -> list[Import]:
    """Every import of a skintrial module by a skintrial module."""
    out = []
    for module, path in MODULES.items():
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                pairs = [(alias.name, None) for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                if node.level:
                    base = module.split(".")
                    if not _is_package(module):
                        base = base[:-1]
                    base = base[: len(base) - (node.level - 1)]
                    source = ".".join([*base, node.module] if node.module else base)
                else:
                    source = node.module or ""
                pairs = [(source, alias.name) for alias in node.names]
            else:
                continue
            for source, name in pairs:
                if source != ROOT and not source.startswith(ROOT + "."):
                    continue
                if name is not None and f"{source}.{name}" in MODULES:
                    source, name = f"{source}.{name}", None
                out.append(Import(module, source, name, path, node.lineno))
    return out


IMPORTS = _imports()


def _owner(imp: Import) -> str | None:
    """The package a private import belongs to, or None when what is imported is public."""
    parts = imp.target.split(".")
    if imp.name is not None:
        parts.append(imp.name)
    for i, part in enumerate(parts):
        if part.startswith("_") and not (part.startswith("__") and part.endswith("__")):
            owner = ".".join(parts[:i])  # the nearest package above the private part
            while not (owner in MODULES and _is_package(owner)):
                owner = owner.rpartition(".")[0]
            return owner
    return None


def _inside(module: str, package: str) -> bool:
    return module == package or module.startswith(package + ".")


def private_imports() -> list[Import]:
    """Imports of a module or name private to a package the importer is not in."""
    out = []
    for imp in IMPORTS:
        owner = _owner(imp)
        if owner is not None and not _inside(imp.importer, owner):
            out.append(imp)
    return out


def import_cycles() -> list[list[str]]:
    """Strongly connected components of more than one module (or a module importing itself)."""
    graph: dict[str, set[str]] = {m: set() for m in MODULES}
    for imp in IMPORTS:
        if imp.target in graph:
            graph[imp.importer].add(imp.target)
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:  # Tarjan; the graph is ~100 modules deep at most
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1 or v in graph[v]:
                found.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return sorted(found)


def test_the_import_graph_sees_every_kind_of_import():
    """The graph is built right: relative, function-level and ``from P import module`` imports count."""
    assert len(MODULES) > 50 and "skintrial.stats._engine" in MODULES
    edges = {(i.importer, i.target) for i in IMPORTS}
    # skintrial.stats/__init__ re-exports fit_ols from its private engine
    assert ("skintrial.stats", "skintrial.stats._engine") in edges
    # the top-level package imports its stages lazily (importlib), which is no edge
    assert not any(i.importer == "skintrial" for i in IMPORTS)
    pkg = Import("skintrial.report._html", "skintrial.stats._engine", None, SRC / "x.py", 1)
    assert _owner(pkg) == "skintrial.stats"
    name = Import("skintrial.report._html", "skintrial.stats.ancova", "_helper", SRC / "x.py", 1)
    assert _owner(name) == "skintrial.stats"
    assert _owner(Import("skintrial.cli._app", "skintrial._io", None, SRC / "x.py", 1)) == "skintrial"
    assert _owner(Import("skintrial.cli._app", "skintrial", "__version__", SRC / "x.py", 1)) is None
    assert _owner(Import("skintrial.cli._app", "skintrial.errors", "InputError", SRC / "x.py", 1)) is None


def test_no_import_cycle_between_modules():
    cycles = import_cycles()
    lines = []
    for component in cycles:
        members = set(component)
        lines.append(" <-> ".join(component))
        lines += [
            f"    {i.where()}: {i.importer} imports {i.target}"
            for i in IMPORTS
            if i.importer in members and i.target in members
        ]
    assert not cycles, (
        f"{len(cycles)} import cycle(s) between skintrial's modules; move what both sides need into a "
        "module that neither imports, or pass it in as an argument:\n" + "\n".join(lines)
    )


def test_no_module_imports_another_packages_private_module():
    bad = private_imports()
    lines = [
        f"    {i.where()}: {i.importer} imports {i.target}{'.' + i.name if i.name else ''}, private to "
        f"{_owner(i)}"
        for i in bad
    ]
    assert not bad, (
        f"{len(bad)} import(s) of another package's private module or name; re-export what is needed "
        "from that package's __init__.py and import it from the package:\n" + "\n".join(lines)
    )
