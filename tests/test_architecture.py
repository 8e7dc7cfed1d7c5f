"""The shape of orchestrator/, kept as the code grows: each concept in one package.

Read from the source (no imports run): module size, import cycles, private names used
across packages, and how many loose modules sit at the top. A failure names the module.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "orchestrator"
MAX_LINES = 400
MAX_TOP_LEVEL_MODULES = 7


def _modules() -> dict[str, Path]:
    found = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(ROOT).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        found[name] = path
    return found


MODULES = _modules()


def _imports(name: str, path: Path) -> Iterator[tuple[str, str]]:
    """(module imported, name taken from it or "") for every import of orchestrator code,
    at any depth: an import inside a function is still a dependency."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith("orchestrator"):
                    yield alias.name, ""
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            if not base.startswith("orchestrator"):
                continue
            for alias in node.names:
                submodule = f"{base}.{alias.name}"
                if submodule in MODULES:
                    yield submodule, ""
                else:
                    yield base, alias.name


def _graph() -> dict[str, set[str]]:
    return {
        name: {imported for imported, _ in _imports(name, path) if imported in MODULES} - {name}
        for name, path in MODULES.items()
    }


def _package_of(module: str) -> str:
    parts = module.split(".")
    return ".".join(parts[:2]) if len(parts) > 1 else module


def test_no_module_is_over_the_size_limit() -> None:
    too_long = {
        str(path.relative_to(ROOT)): lines
        for path in MODULES.values()
        if (lines := len(path.read_text(encoding="utf-8").splitlines())) > MAX_LINES
    }
    assert not too_long, f"split these by job (at most {MAX_LINES} lines): {too_long}"


def test_few_loose_modules_at_the_top() -> None:
    loose = sorted(
        path.name
        for path in PACKAGE.glob("*.py")
        if path.name not in ("__init__.py", "__main__.py")
    )
    assert len(loose) <= MAX_TOP_LEVEL_MODULES, f"move into a package: {loose}"


def test_no_import_cycles() -> None:
    """Tarjan's strongly connected components: any with two or more modules is a cycle."""
    graph = _graph()
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    cycles: list[list[str]] = []

    def visit(module: str) -> None:
        index[module] = low[module] = len(index)
        stack.append(module)
        for imported in sorted(graph[module]):
            if imported not in index:
                visit(imported)
                low[module] = min(low[module], low[imported])
            elif imported in stack:
                low[module] = min(low[module], index[imported])
        if low[module] == index[module]:
            component = []
            while True:
                top = stack.pop()
                component.append(top)
                if top == module:
                    break
            if len(component) > 1:
                cycles.append(sorted(component))

    for module in sorted(graph):
        if module not in index:
            visit(module)
    assert not cycles, f"these modules import each other: {cycles}"


def test_no_package_uses_another_packages_private_names() -> None:
    reaching = [
        f"{name} uses {imported}.{taken}"
        for name, path in MODULES.items()
        for imported, taken in _imports(name, path)
        if taken.startswith("_")
        and not taken.startswith("__")
        and _package_of(imported) != _package_of(name)
    ]
    assert not reaching, reaching
