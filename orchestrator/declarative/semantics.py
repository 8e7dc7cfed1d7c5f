"""Step 4 of validation, the meaning: what the schema cannot say.

Activity names and argument types against the catalog; references to named results that
exist and are produced before the step (not in a concurrent branch); unique result
names; conditions; onDeny placement; and the limits on steps, depth and parallel size.
Two passes over the raw document: every block's type and result name first, then the
checks, in document order.
"""

from __future__ import annotations

import re
from typing import Any

from orchestrator.declarative.catalog import ActivityCatalog
from orchestrator.declarative.expressions import (
    RESULT_NAME,
    Reference,
    condition_problems,
    is_reference,
    parse_condition,
    scan,
)
from orchestrator.declarative.model import SKIP_BRANCH
from orchestrator.declarative.problem import Problem, suggest
from orchestrator.declarative.signature import APPROVAL

MAX_STEPS = 5_000
MAX_DEPTH = 32
# One parallel block runs within one workflow run (no continue-as-new inside it): its
# steps' events (about 12 each) must stay well under Temporal's 51,200-event limit, and
# its concurrent activities under Temporal Cloud's 2,000 running-activities limit.
MAX_PARALLEL_STEPS = 1_000


def semantic_problems(document: dict[str, Any], catalog: ActivityCatalog) -> list[Problem]:
    """Every problem of meaning, in the order the checks find them."""
    return _Semantics(catalog).check(document)


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
                    f"unknown activity {name!r}{suggest(name, self.catalog.names())}; "
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
                if entry.kind == APPROVAL:
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
                f"{suggest(name, list(self.declared))}",
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
