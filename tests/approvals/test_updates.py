"""The `approve` and `reject` updates, declared once (ApprovalUpdates), reach both workflows.

Read from the workflow definitions temporalio builds at `@workflow.defn`: the handlers a
subclass inherits are registered under the update names every history records, each with
its validator, and they decide through the subclass's own gate.
"""

from __future__ import annotations

import pytest
from temporalio import workflow

from orchestrator.approvals.updates import ApprovalUpdates
from orchestrator.declarative.workflow import DeclarativeWorkflow
from orchestrator.governed.workflow import GovernedWorkflow
from orchestrator.vocabulary import APPROVE_UPDATE, REJECT_UPDATE


@pytest.mark.parametrize("workflow_class", [GovernedWorkflow, DeclarativeWorkflow])
def test_both_workflows_register_the_inherited_updates_with_their_validators(
    workflow_class: type[ApprovalUpdates],
) -> None:
    definition = workflow._Definition.must_from_class(workflow_class)
    assert set(definition.updates) == {APPROVE_UPDATE, REJECT_UPDATE}
    for name, handler in (
        (APPROVE_UPDATE, ApprovalUpdates.approve),
        (REJECT_UPDATE, ApprovalUpdates.reject),
    ):
        update = definition.updates[name]
        assert update.fn is handler._defn.fn
        assert update.validator is not None
    assert "status" in definition.queries


def test_each_workflow_says_which_gate_a_request_decides() -> None:
    for workflow_class in (GovernedWorkflow, DeclarativeWorkflow):
        assert workflow_class.approval_gate is not ApprovalUpdates.approval_gate
    assert ApprovalUpdates.__abstractmethods__ == frozenset({"approval_gate"})
