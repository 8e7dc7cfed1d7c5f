"""What the candidate (shadow) policy would have changed, summarised from audit records.

`orchestrator policy shadow-report` feeds this every governed and declarative run's
audit record (orchestrator/audit/records.py): each decision that carries a shadow result is
counted once, as agreeing, disagreeing (the decision would change) or a shadow error.
Pure: no Temporal, no I/O, so the counting is tested exactly.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

from orchestrator.audit.records import AuditRecord, UnreadableRun


@dataclass(frozen=True)
class AffectedWorkflow:
    workflow_id: str
    run_id: str
    workflow_type: str
    # The decisions of this run that would change, and how ("outcome: allow -> deny").
    disagreements: int
    differences: list[str]


@dataclass
class ShadowReport:
    since: str | None
    workflow_runs: int = 0
    # Decisions OPA answered (not unavailable) and those the candidate answered too.
    decisions: int = 0
    evaluated: int = 0
    agreed: int = 0
    disagreed: int = 0
    errors: int = 0
    candidate_revisions: dict[str, int] = field(default_factory=dict)
    # Per disagreeing decision: each difference, the action, the reasons gained or lost.
    changes: dict[str, int] = field(default_factory=dict)
    by_action: dict[str, int] = field(default_factory=dict)
    reasons_added: dict[str, int] = field(default_factory=dict)
    reasons_removed: dict[str, int] = field(default_factory=dict)
    error_messages: dict[str, int] = field(default_factory=dict)
    workflows: list[AffectedWorkflow] = field(default_factory=list)
    # Runs whose history could not be read: not counted above, and named so it shows.
    unreadable: list[str] = field(default_factory=list)


def summarise(
    records: list[AuditRecord],
    since: str | None = None,
    unreadable: Sequence[UnreadableRun] = (),
) -> ShadowReport:
    report = ShadowReport(
        since=since,
        workflow_runs=len(records) + len(unreadable),
        unreadable=[f"{run.workflow_id} (run {run.run_id}): {run.error}" for run in unreadable],
    )
    revisions: Counter[str] = Counter()
    changes: Counter[str] = Counter()
    by_action: Counter[str] = Counter()
    added: Counter[str] = Counter()
    removed: Counter[str] = Counter()
    errors: Counter[str] = Counter()
    for record in records:
        run_disagreements = 0
        run_differences: list[str] = []
        for decision in record.decisions:
            if decision.outcome in ("unavailable", "error"):
                continue
            report.decisions += 1
            shadow = decision.answer.shadow
            if shadow is None:
                continue
            report.evaluated += 1
            if shadow.error:
                report.errors += 1
                errors[shadow.error] += 1
                continue
            revisions[shadow.policy_revision] += 1
            if shadow.agrees:
                report.agreed += 1
                continue
            report.disagreed += 1
            run_disagreements += 1
            by_action[decision.answer.action] += 1
            changes.update(shadow.differences)
            added.update(shadow.reasons_added)
            removed.update(shadow.reasons_removed)
            run_differences += [d for d in shadow.differences if d not in run_differences]
        if run_disagreements:
            report.workflows.append(
                AffectedWorkflow(
                    workflow_id=record.workflow_id,
                    run_id=record.run_id,
                    workflow_type=record.workflow_type,
                    disagreements=run_disagreements,
                    differences=run_differences,
                )
            )
    report.candidate_revisions = dict(revisions.most_common())
    report.changes = dict(changes.most_common())
    report.by_action = dict(by_action.most_common())
    report.reasons_added = dict(added.most_common())
    report.reasons_removed = dict(removed.most_common())
    report.error_messages = dict(errors.most_common())
    return report


def render(report: ShadowReport, limit: int = 20) -> str:
    """The report for a terminal: totals, then what would change, where and why."""
    scope = f"workflows started since {report.since}" if report.since else "all workflows"
    lines = [f"shadow policy report: {scope} ({report.workflow_runs} runs)"]
    if report.unreadable:
        lines.append(f"  {len(report.unreadable)} run(s) unreadable, not counted:")
        lines += [f"    {run}" for run in report.unreadable[:limit]]
    if not report.evaluated:
        lines.append(
            f"  no decision carries a shadow result ({report.decisions} decisions): is a "
            "candidate deployed at OPA_SHADOW_DECISION_PATH (policies/shadow/)?"
        )
        return "\n".join(lines)
    candidates = ", ".join(report.candidate_revisions) or "?"
    lines += [
        f"  decisions            {report.decisions}",
        f"  shadow evaluated     {report.evaluated}  (candidate {candidates})",
        f"  agree                {report.agreed}",
        f"  would change         {report.disagreed}",
        f"  shadow errors        {report.errors}",
    ]
    sections = [
        ("what would change", report.changes, ""),
        ("by action", report.by_action, ""),
        ("reasons the candidate adds", report.reasons_added, "+ "),
        ("reasons the candidate drops", report.reasons_removed, "- "),
        ("shadow errors", report.error_messages, ""),
    ]
    for title, counts, mark in sections:
        if counts:
            lines.append(f"{title}:")
            lines += [f"  {count:4}  {mark}{text}" for text, count in list(counts.items())[:limit]]
    if report.workflows:
        lines.append(f"workflows that would change ({len(report.workflows)}):")
        for workflow in report.workflows[:limit]:
            lines.append(
                f"  {workflow.workflow_id}  ({workflow.workflow_type}, "
                f"{workflow.disagreements} decision(s)): {'; '.join(workflow.differences)}"
            )
        if len(report.workflows) > limit:
            lines.append(f"  ... and {len(report.workflows) - limit} more (--json lists all)")
    return "\n".join(lines)
