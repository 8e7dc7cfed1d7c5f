"""The built-in entries: old demo names that the interpreter runs itself, not as activities.

CheckPolicy asks OPA (a real policy decision); RequestHumanApproval and RequestApproval
are approval steps (real governed approvals). Every installed catalog holds them.
"""

from __future__ import annotations

from orchestrator.declarative.catalog import ActivityCatalog
from orchestrator.declarative.signature import (
    ANY,
    APPROVAL,
    POLICY,
    CatalogEntry,
    EntryKind,
    Param,
)


def _builtin(name: str, kind: EntryKind, description: str) -> CatalogEntry:
    return CatalogEntry(
        name=name,
        params=(Param("data", ANY, required=False), Param("args", ANY, False, variadic=True)),
        returns=ANY,
        flow=True,
        kind=kind,
        description=description,
    )


_APPROVAL_STEP = (
    "An approval step (as `type: approval`); the string arguments describe the request."
)

CATALOG = ActivityCatalog(
    [
        _builtin(
            "CheckPolicy",
            POLICY,
            "Asks OPA (workflow.start) about the work the first string argument describes, "
            "with the first object argument as task parameters; a denial fails the workflow "
            "(PolicyDenied). Result: {allow, require_approval, risk, reasons, decision_id, "
            "policy_revision}.",
        ),
        _builtin("RequestHumanApproval", APPROVAL, _APPROVAL_STEP),
        _builtin("RequestApproval", APPROVAL, _APPROVAL_STEP),
    ]
)
