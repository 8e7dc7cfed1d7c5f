"""The `approve` and `reject` updates, written once for every workflow that waits for approvals.

GovernedWorkflow and DeclarativeWorkflow inherit `ApprovalUpdates` and say which gate a
request is for (`approval_gate`). `@workflow.defn` on the subclass registers the handlers
and their validators: temporalio collects update methods with inspect.getmembers, which
includes inherited ones, so the update names are the ones below, as before.
"""

from __future__ import annotations

from abc import ABC, abstractmethod

from temporalio import workflow

from orchestrator.approvals.gate import ApprovalGate
from orchestrator.approvals.model import APPROVE, REJECT, ApprovalReceipt, ApprovalRequest
from orchestrator.vocabulary import APPROVE_UPDATE, REJECT_UPDATE


class ApprovalUpdates(ABC):
    """Update handlers that hand each request to the gate it decides."""

    @abstractmethod
    def approval_gate(self, request: ApprovalRequest) -> ApprovalGate:
        """The pending approval `request` is for; an ApplicationError when there is none."""

    # The policy activity's result for each attempt is the audit record in history;
    # refused attempts are kept in the gate and reported by the status query.
    @workflow.update(name=APPROVE_UPDATE)
    async def approve(self, request: ApprovalRequest) -> ApprovalReceipt:
        return await self.approval_gate(request).decide(APPROVE, request)

    @approve.validator
    def validate_approve(self, request: ApprovalRequest) -> None:
        self.approval_gate(request).validate(APPROVE, request)

    @workflow.update(name=REJECT_UPDATE)
    async def reject(self, request: ApprovalRequest) -> ApprovalReceipt:
        return await self.approval_gate(request).decide(REJECT, request)

    @reject.validator
    def validate_reject(self, request: ApprovalRequest) -> None:
        self.approval_gate(request).validate(REJECT, request)
