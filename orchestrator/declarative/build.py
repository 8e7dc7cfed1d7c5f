"""Building the typed definition (blocks, model.py) from a document that validation accepted.

`build_definition` is the only way from a document to blocks; the older flat form
(`activities:`) becomes one sequential block whose steps keep their `activities[i]` paths.
A step naming an approval entry of the catalog (RequestApproval, ...) becomes an approval
step. The document comes from parse.py (files, text) or from a workflow's input.
"""

from __future__ import annotations

from typing import Any

from orchestrator.declarative.catalog import ActivityCatalog
from orchestrator.declarative.catalogs import installed_catalog
from orchestrator.declarative.expressions import parse_condition
from orchestrator.declarative.model import (
    DEFAULT_APPROVAL_TIMEOUT_SECONDS,
    DEFAULT_TIMEOUT_SECONDS,
    FAIL,
    ActivityStep,
    ApprovalStep,
    Block,
    Definition,
    Parallel,
    Retry,
    Sequential,
    leaf_count,
)
from orchestrator.declarative.parse import definition_name
from orchestrator.declarative.signature import ACTIVITY, APPROVAL


def build_definition(
    document: dict[str, Any], source: str = "", catalog: ActivityCatalog | None = None
) -> Definition:
    """The typed definition of a document that validation accepted."""
    known = catalog or installed_catalog()
    legacy = "execution" not in document
    if legacy:
        steps = tuple(
            _block(raw, f"activities[{index}]", known)
            for index, raw in enumerate(document["activities"])
        )
        root: Block = Sequential(path="activities", blocks=steps)
    else:
        root = _block(document["execution"], "execution", known)
    return Definition(
        name=definition_name(document, source),
        root=root,
        steps=leaf_count(root),
        depth=_depth(root),
        legacy=legacy,
        description=str(document.get("description", "")),
    )


def _block(raw: dict[str, Any], path: str, known: ActivityCatalog) -> Block:
    kind = raw.get("type", "activity")
    when = parse_condition(raw["when"]) if "when" in raw else None
    common: dict[str, Any] = {
        "path": path,
        "when": when,
        "result_name": raw.get("resultName"),
        "description": raw.get("description", ""),
    }
    if kind in ("sequential", "parallel"):
        children = tuple(
            _block(child, f"{path}.blocks[{index}]", known)
            for index, child in enumerate(raw["blocks"])
        )
        cls = Sequential if kind == "sequential" else Parallel
        return cls(**common, blocks=children)
    if kind == "approval":
        return ApprovalStep(
            **common,
            timeout_seconds=float(raw.get("timeoutSeconds", DEFAULT_APPROVAL_TIMEOUT_SECONDS)),
        )
    name = raw["activityName"]
    entry = known.get(name)
    entry_kind = entry.kind if entry else ACTIVITY
    args = list(raw.get("args", []))
    if entry_kind == APPROVAL:
        text = "; ".join(str(arg) for arg in args if isinstance(arg, str | int | float))
        return ApprovalStep(
            path=path,
            when=when,
            result_name=raw.get("resultName"),
            description=raw.get("description") or text or f"{name} ({path})",
            timeout_seconds=float(raw.get("timeoutSeconds", DEFAULT_APPROVAL_TIMEOUT_SECONDS)),
            activity=name,
        )
    retry = raw.get("retry", {})
    defaults = Retry()
    return ActivityStep(
        **common,
        activity=name,
        args=tuple(args),
        use_data_flow=bool(raw.get("useDataFlow", True)),
        timeout_seconds=float(raw.get("timeoutSeconds", DEFAULT_TIMEOUT_SECONDS)),
        retry=Retry(
            maximum_attempts=int(retry.get("maximumAttempts", defaults.maximum_attempts)),
            initial_interval_seconds=float(
                retry.get("initialIntervalSeconds", defaults.initial_interval_seconds)
            ),
            backoff_coefficient=float(
                retry.get("backoffCoefficient", defaults.backoff_coefficient)
            ),
            maximum_interval_seconds=float(
                retry.get(
                    "maximumIntervalSeconds",
                    max(defaults.maximum_interval_seconds, retry.get("initialIntervalSeconds", 0)),
                )
            ),
        ),
        on_deny=raw.get("onDeny", FAIL),
        kind=entry_kind,
        on_policy_unavailable=raw.get("onPolicyUnavailable", "wait"),
        policy_budget_seconds=float(raw.get("policyBudgetSeconds", 120.0)),
    )


def _depth(block: Block) -> int:
    if isinstance(block, Sequential | Parallel):
        return 1 + max(_depth(child) for child in block.blocks)
    return 1
