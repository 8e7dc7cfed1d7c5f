"""Everything wrong with a definition document, all at once, each with its path.

`problems(document)` checks, in this order and without ever raising:

1. the document is JSON (string keys, finite numbers) and not absurdly nested;
2. its size (at most MAX_DOCUMENT_BYTES as compact JSON);
3. the JSON Schema (schema.json, draft 2020-12), its errors rewritten for people;
4. the meaning: activity names and argument types against the catalog, references to
   named results that exist and are produced before the step (not in a concurrent
   branch), unique result names, conditions, onDeny placement, and the limits on steps,
   depth and parallel size.

Paths read like `execution.blocks[2].blocks[0].activityName`. The CLI runs it before
starting a workflow and the DeclarativeWorkflow runs it again first thing.
"""

from __future__ import annotations

import difflib
import json
import math
import re
from collections.abc import Iterable
from dataclasses import dataclass
from importlib import resources
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError

from orchestrator import values
from orchestrator.declarative import catalog as catalog_module
from orchestrator.declarative.catalog import ActivityCatalog, json_kind
from orchestrator.declarative.expressions import (
    RESULT_NAME,
    Reference,
    condition_problems,
    is_reference,
    parse_condition,
    scan,
)
from orchestrator.declarative.model import SKIP_BRANCH

MAX_STEPS = 5_000
MAX_DEPTH = 32
# One parallel block runs within one workflow run (no continue-as-new inside it): its
# steps' events (about 12 each) must stay well under Temporal's 51,200-event limit, and
# its concurrent activities under Temporal Cloud's 2,000 running-activities limit.
MAX_PARALLEL_STEPS = 1_000
MAX_DOCUMENT_BYTES = 512 * 1024
MAX_JSON_DEPTH = 100

SCHEMA: dict[str, Any] = json.loads(
    resources.files("orchestrator.declarative").joinpath("schema.json").read_text("utf-8")
)
_VALIDATOR = Draft202012Validator(SCHEMA)

_REQUIRED_HINTS = {
    "activityName": "the catalog name of the activity to run",
    "blocks": "the list of blocks to run",
    "workflowName": "the definition's name",
    "type": "activity, sequential, parallel or approval",
}


@dataclass(frozen=True)
class Problem:
    path: str  # "" for the document as a whole
    message: str

    def __str__(self) -> str:
        return f"{self.path or '(definition)'}: {self.message}"


def problems(
    document: Any, catalog: ActivityCatalog | None = None, source: str = ""
) -> list[Problem]:
    """Every problem of the document, in document order; empty when it is valid."""
    known = catalog or catalog_module.installed_catalog()
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
    schema_found = _schema_problems(document)
    semantic = _Semantics(known).check(document)
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
                stack.append((_join(path, key), value[key], depth + 1))
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


# --- 3. schema -------------------------------------------------------------------------


def _schema_problems(document: Any) -> list[Problem]:
    found = []
    for error in _VALIDATOR.iter_errors(document):
        found.extend(_explain(error))
    return found


def _explain(error: ValidationError) -> list[Problem]:
    path = _format_path(error.absolute_path)
    instance: Any = error.instance
    schema = error.schema if isinstance(error.schema, dict) else {}
    validator = error.validator
    value: Any = error.validator_value
    if validator == "required":
        missing = [key for key in value if isinstance(instance, dict) and key not in instance]
        return [
            Problem(_join(path, key), f"is required ({_REQUIRED_HINTS.get(key, 'missing')})")
            for key in missing
        ]
    if validator == "additionalProperties":
        allowed = sorted(schema.get("properties", {}))
        patterns = list(schema.get("patternProperties", {}))
        extras = [
            key
            for key in instance
            if key not in allowed and not any(re.search(p, key) for p in patterns)
        ]
        return [
            Problem(
                _join(path, key),
                f"unknown field{_suggest(key, allowed)}; allowed here: {', '.join(allowed)}",
            )
            for key in extras
        ]
    if validator == "oneOf" and path == "":
        if isinstance(instance, dict) and "execution" in instance and "activities" in instance:
            message = (
                "has both execution and activities: keep one (activities is the older "
                "flat form of one sequential block)"
            )
        else:
            message = "needs execution (a block) or activities (the older flat list of steps)"
        return [Problem("", message)]
    if validator == "type":
        expected = value if isinstance(value, str) else " or ".join(value)
        return [Problem(path, f"must be {_article(expected)}, not {json_kind(instance)}")]
    if validator in ("enum", "const"):
        options = value if validator == "enum" else [value]
        shown = ", ".join(str(option) for option in options)
        suggestion = (
            _suggest(instance, [str(o) for o in options]) if isinstance(instance, str) else ""
        )
        if path.endswith("onPolicyUnavailable"):
            suggestion += " (fail-open is not offered: an unavailable policy never lets work run)"
        return [Problem(path, f"must be one of: {shown}; not {json_kind(instance)}{suggestion}")]
    if validator == "minItems":
        return [
            Problem(path, "must not be empty" if value == 1 else f"needs at least {value} items")
        ]
    if validator == "minProperties":
        return [Problem(path, "must not be empty")]
    if validator == "minLength":
        return [Problem(path, "must not be empty")]
    if validator in ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"):
        relation = {
            "minimum": "at least",
            "maximum": "at most",
            "exclusiveMinimum": "more than",
            "exclusiveMaximum": "less than",
        }[validator]
        return [Problem(path, f"must be {relation} {value}, not {instance}")]
    if validator == "pattern":
        what = schema.get("title", "value")
        description = schema.get("description", f"must match {value}")
        return [Problem(path, f"{json.dumps(instance)[:60]} is not a valid {what}: {description}")]
    return [Problem(path, error.message)]


# --- 4. meaning ------------------------------------------------------------------------


class _Semantics:
    def __init__(self, catalog: ActivityCatalog) -> None:
        self.catalog = catalog
        self.found: list[Problem] = []
        self.declared: dict[str, str] = {}  # result name -> path of the block declaring it
        self.kinds: dict[str, str] = {}  # block path -> type
        self.steps = 0

    def check(self, document: dict[str, Any]) -> list[Problem]:
        root = self._root(document)
        if root is None:
            return self.found
        path, raw, legacy = root
        self._declare(raw, path, legacy, 1)
        self._walk(raw, path, legacy, 1, frozenset(), None)
        if self.steps > MAX_STEPS:
            self._add("", f"{self.steps:,} steps; a definition has at most {MAX_STEPS:,}")
        return self.found

    def _root(self, document: dict[str, Any]) -> tuple[str, Any, bool] | None:
        if "execution" in document:
            return "execution", document["execution"], False
        if isinstance(document.get("activities"), list):
            return "activities", document["activities"], True
        return None

    def _add(self, path: str, message: str) -> None:
        self.found.append(Problem(path, message))

    def _children(self, raw: Any, legacy: bool) -> list[Any] | None:
        if legacy:
            return raw if isinstance(raw, list) else None
        if isinstance(raw, dict) and raw.get("type") in ("sequential", "parallel"):
            blocks = raw.get("blocks")
            return blocks if isinstance(blocks, list) else None
        return None

    def _child_path(self, path: str, index: int, legacy: bool) -> str:
        return f"{path}[{index}]" if legacy else f"{path}.blocks[{index}]"

    def _declare(self, raw: Any, path: str, legacy: bool, depth: int) -> None:
        """First pass: every block's type and every result name with where it is declared."""
        if depth > MAX_DEPTH + 1:
            return
        self.kinds[path] = "sequential" if legacy else _kind(raw)
        if isinstance(raw, dict):
            name = raw.get("resultName")
            if isinstance(name, str) and RESULT_NAME.match(name):
                if name in self.declared:
                    self._add(
                        f"{path}.resultName",
                        f"{name!r} is already the result name of {self.declared[name]}; "
                        "result names are unique in a definition",
                    )
                else:
                    self.declared[name] = path
        for index, child in enumerate(self._children(raw, legacy) or []):
            self._declare(child, self._child_path(path, index, legacy), False, depth + 1)

    def _walk(
        self,
        raw: Any,
        path: str,
        legacy: bool,
        depth: int,
        available: frozenset[str],
        parallel: str | None,
    ) -> set[str]:
        """Second pass; returns the result names this block produces."""
        if depth > MAX_DEPTH:
            self._add(path, f"blocks are nested more than {MAX_DEPTH} deep here")
            return set()
        kind = "sequential" if legacy else _kind(raw)
        if not legacy and isinstance(raw, dict) and "when" in raw:
            self._condition(raw["when"], f"{path}.when", available)
        produced: set[str] = set()
        children = self._children(raw, legacy)
        if kind == "sequential" and children is not None:
            current = set(available)
            for index, child in enumerate(children):
                made = self._walk(
                    child,
                    self._child_path(path, index, legacy),
                    False,
                    depth + 1,
                    frozenset(current),
                    parallel,
                )
                current |= made
                produced |= made
        elif kind == "parallel" and children is not None:
            before = self.steps
            for index, child in enumerate(children):
                produced |= self._walk(
                    child, self._child_path(path, index, False), False, depth + 1, available, path
                )
            inside = self.steps - before
            if inside > MAX_PARALLEL_STEPS:
                self._add(
                    path,
                    f"{inside:,} steps in one parallel block; at most {MAX_PARALLEL_STEPS:,} "
                    "(a parallel block runs within one workflow run)",
                )
        elif kind == "approval":
            self.steps += 1
        elif kind == "activity" and isinstance(raw, dict):
            self.steps += 1
            self._activity(raw, path, available, parallel)
        if isinstance(raw, dict):
            name = raw.get("resultName")
            if isinstance(name, str) and RESULT_NAME.match(name):
                produced.add(name)
        return produced

    def _activity(
        self, raw: dict[str, Any], path: str, available: frozenset[str], parallel: str | None
    ) -> None:
        name = raw.get("activityName")
        args = raw.get("args", [])
        if isinstance(name, str) and name:
            entry = self.catalog.get(name)
            if entry is None:
                self._add(
                    f"{path}.activityName",
                    f"unknown activity {name!r}{_suggest(name, self.catalog.names())}; "
                    "`orchestrator definition catalog` lists them",
                )
            else:
                if isinstance(args, list):
                    data_flow = raw.get("useDataFlow", True) is not False
                    for problem in entry.check_args(args, is_reference, data_flow):
                        where = f"{path}.args"
                        if problem.index is not None:
                            where += f"[{problem.index}]"
                        self._add(where, problem.message)
                if raw.get("useDataFlow") is True and not entry.flow:
                    self._add(
                        f"{path}.useDataFlow",
                        f"{name} takes no data-flow input (its catalog entry says flow=False); "
                        "remove useDataFlow",
                    )
                if entry.kind == catalog_module.APPROVAL:
                    for key in ("retry", "onDeny", "useDataFlow"):
                        if key in raw:
                            self._add(
                                f"{path}.{key}",
                                f"{name} is an approval step; {key} does not apply to it",
                            )
        if raw.get("onDeny") == SKIP_BRANCH and parallel is None:
            self._add(
                f"{path}.onDeny",
                "skipBranch stops the enclosing branch of a parallel block, and this step is "
                "in none; outside parallel blocks a denial always fails the workflow",
            )
        retry = raw.get("retry")
        if isinstance(retry, dict):
            initial = retry.get("initialIntervalSeconds")
            most = retry.get("maximumIntervalSeconds")
            if (
                isinstance(initial, int | float)
                and isinstance(most, int | float)
                and initial > most
            ):
                self._add(
                    f"{path}.retry.maximumIntervalSeconds",
                    f"must be at least initialIntervalSeconds ({initial})",
                )
        if isinstance(args, list):
            for where, found in scan(args, f"{path}.args"):
                if isinstance(found, str):
                    self._add(where, found)
                else:
                    self._reference(found, where, path, available)

    def _condition(self, raw: Any, path: str, available: frozenset[str]) -> None:
        found = condition_problems(raw, path)
        for where, message in found:
            self._add(where, message)
        if found or not isinstance(raw, dict):
            return
        block = path.rsplit(".when", 1)[0]
        for reference in parse_condition(raw).references():
            self._reference(reference, path, block, available)

    def _reference(
        self, reference: Reference, where: str, block: str, available: frozenset[str]
    ) -> None:
        name = reference.name
        if name in available:
            return
        declared = self.declared.get(name)
        if declared is None:
            self._add(
                where,
                f"refers to result {name!r}, which no block declares (resultName)"
                f"{_suggest(name, list(self.declared))}",
            )
        elif declared == block or declared.startswith((block + ".", block + "[")):
            self._add(
                where,
                f"refers to result {name!r}, which this block itself produces ({declared}); "
                "it exists only after the block",
            )
        else:
            branch = self._concurrent(declared, block)
            if branch is not None:
                self._add(
                    where,
                    f"refers to result {name!r}, produced in another branch of the parallel "
                    f"block {branch} ({declared}), which runs at the same time; use it after "
                    "the parallel block",
                )
            else:
                self._add(
                    where,
                    f"refers to result {name!r}, which is produced later ({declared}); a step "
                    "can only use results produced before it runs",
                )

    def _concurrent(self, one: str, other: str) -> str | None:
        """The parallel block in which the two paths are in different branches, if any."""
        common = _common_ancestor(one, other)
        if common is not None and self.kinds.get(common) == "parallel":
            return common
        return None


def _kind(raw: Any) -> str:
    if not isinstance(raw, dict):
        return "invalid"
    kind = raw.get("type", "activity")
    return kind if isinstance(kind, str) else "invalid"


_SEGMENT = re.compile(r"\.blocks\[\d+\]|\[\d+\]")


def _ancestors(path: str) -> list[str]:
    """`execution.blocks[1].blocks[0]` -> [execution, execution.blocks[1], ...itself]."""
    ends = [match.end() for match in _SEGMENT.finditer(path)]
    first = _SEGMENT.search(path)
    base = path[: first.start()] if first else path
    return [base, *(path[:end] for end in ends)]


def _common_ancestor(one: str, other: str) -> str | None:
    common = None
    for left, right in zip(_ancestors(one), _ancestors(other), strict=False):
        if left != right:
            break
        common = left
    return common


# --- formatting ------------------------------------------------------------------------


def _join(path: str, key: str) -> str:
    if re.fullmatch(r"[A-Za-z_$][A-Za-z0-9_$-]*", key):
        return f"{path}.{key}" if path else key
    return f"{path}[{json.dumps(key)}]"


def _format_path(parts: Iterable[Any]) -> str:
    path = ""
    for part in parts:
        path = f"{path}[{part}]" if isinstance(part, int) else _join(path, str(part))
    return path


_TOKENS = re.compile(r"\[(\d+)\]|\[(\"(?:[^\"\\]|\\.)*\")\]|\.?([^.\[]+)")


def _path_key(path: str) -> tuple[tuple[int, int, str], ...]:
    key = []
    for index, quoted, name in _TOKENS.findall(path):
        if index:
            key.append((0, int(index), ""))
        else:
            key.append((1, 0, quoted or name))
    return tuple(key)


def _suggest(word: str, options: list[str]) -> str:
    close = difflib.get_close_matches(word, options, n=1, cutoff=0.7)
    return f" (did you mean {close[0]}?)" if close else ""


def _article(kind: str) -> str:
    return f"an {kind}" if kind[:1] in "aeiou" else f"a {kind}"
