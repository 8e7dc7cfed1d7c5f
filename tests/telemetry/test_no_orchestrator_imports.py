"""telemetry/ stands on its own: the orchestrator uses it, never the other way round."""

from __future__ import annotations

import ast

from tests.support import REPO


def test_telemetry_imports_nothing_from_orchestrator() -> None:
    offenders = []
    for path in sorted((REPO / "telemetry").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                names = [node.module or ""] if not node.level else []
            else:
                continue
            offenders += [
                f"{path.relative_to(REPO)}:{node.lineno} imports {name}"
                for name in names
                if name == "orchestrator" or name.startswith("orchestrator.")
            ]
    assert offenders == []
