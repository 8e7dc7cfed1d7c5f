"""Everything wrong with a definition document, all at once, each with its path.

`problems(document)` checks, in this order and without ever raising:

1. the document is JSON (string keys, finite numbers) and not absurdly nested (here);
2. its size (at most MAX_DOCUMENT_BYTES as compact JSON; here);
3. the JSON Schema (schema.json, draft 2020-12), its errors rewritten for people
   (schema_checks.py);
4. the meaning (semantics.py): activity names and argument types against the catalog,
   references to named results that exist and are produced before the step (not in a
   concurrent branch), unique result names, conditions, onDeny placement, and the limits
   on steps, depth and parallel size.

Paths read like `execution.blocks[2].blocks[0].activityName`. The CLI runs it before
starting a workflow and the DeclarativeWorkflow runs it again first thing.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable
from typing import Any

from orchestrator import values
from orchestrator.declarative.catalog import ActivityCatalog
from orchestrator.declarative.catalogs import installed_catalog
from orchestrator.declarative.problem import Problem, join_path
from orchestrator.declarative.schema_checks import schema_problems
from orchestrator.declarative.semantics import semantic_problems
from orchestrator.declarative.signature import json_kind

MAX_DOCUMENT_BYTES = 512 * 1024
MAX_JSON_DEPTH = 100


def problems(
    document: Any, catalog: ActivityCatalog | None = None, source: str = ""
) -> list[Problem]:
    """Every problem of the document, in document order; empty when it is valid."""
    known = catalog or installed_catalog()
    found = _json_problems(document)
    if found:
        return found
    size = len(json.dumps(document, separators=(",", ":")).encode())
    if size > MAX_DOCUMENT_BYTES:
        return [
            Problem(
                "",
                f"the definition is {size // 1024:,} KiB as JSON; at most "
                f"{MAX_DOCUMENT_BYTES // 1024:,} KiB (split it into several workflows)",
            )
        ]
    schema_found = schema_problems(document)
    semantic = semantic_problems(document, known)
    schema_paths = {problem.path for problem in schema_found}
    merged = schema_found + [p for p in semantic if p.path not in schema_paths]
    unique = list(dict.fromkeys(merged))
    return sorted(unique, key=lambda p: _path_key(p.path))


def format_problems(found: Iterable[Problem]) -> list[str]:
    return [str(problem) for problem in found]


def summarize(found: list[Problem], at_most: int) -> str:
    """The first `at_most` problems on one line, then how many more there are."""
    shown = "; ".join(format_problems(found[:at_most]))
    more = len(found) - at_most
    return shown + (f"; and {more} more" if more > 0 else "")


# --- 1. JSON ---------------------------------------------------------------------------


def _json_problems(document: Any) -> list[Problem]:
    found: list[Problem] = []
    stack: list[tuple[str, Any, int]] = [("", document, 1)]
    while stack and len(found) < 50:
        path, value, depth = stack.pop()
        if depth > MAX_JSON_DEPTH:
            found.append(Problem(path, f"nested more than {MAX_JSON_DEPTH} levels deep"))
            continue
        if isinstance(value, dict):
            for key in reversed(list(value)):
                if not isinstance(key, str):
                    found.append(Problem(path, f"keys must be strings, not {key!r}"))
                    continue
                if problem := values.text_problem(key, controls=False):
                    found.append(Problem(path, f"the key {key!a} {problem}"))
                    continue
                stack.append((join_path(path, key), value[key], depth + 1))
        elif isinstance(value, list):
            for index in range(len(value) - 1, -1, -1):
                stack.append((f"{path}[{index}]", value[index], depth + 1))
        elif isinstance(value, str) and (problem := values.text_problem(value, controls=False)):
            found.append(Problem(path, f"the text {problem}"))
        elif isinstance(value, float) and not math.isfinite(value):
            found.append(Problem(path, f"{value} is not a JSON number"))
        elif value is not None and not isinstance(value, str | int | float | bool):
            found.append(Problem(path, f"a {type(value).__name__} is not a JSON value"))
    if not found and not isinstance(document, dict):
        found.append(
            Problem(
                "",
                f"a definition is an object with workflowName and execution (or the flat "
                f"activities list), not {json_kind(document)}",
            )
        )
    return found


_TOKENS = re.compile(r"\[(\d+)\]|\[(\"(?:[^\"\\]|\\.)*\")\]|\.?([^.\[]+)")


def _path_key(path: str) -> tuple[tuple[int, int, str], ...]:
    key = []
    for index, quoted, name in _TOKENS.findall(path):
        if index:
            key.append((0, int(index), ""))
        else:
            key.append((1, 0, quoted or name))
    return tuple(key)
