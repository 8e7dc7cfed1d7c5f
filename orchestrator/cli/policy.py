"""`orchestrator policy shadow-report [--since D] [--json]`: what the candidate would change.

Reads every governed and declarative run's history (as `audit export` does) and counts
the decisions where the shadow policy disagreed with the enforcing one.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import asdict

from temporalio.client import Client

from orchestrator.audit import shadow_report
from orchestrator.audit.records import AuditRecord, UnreadableRun
from orchestrator.audit.runs import governed_runs
from orchestrator.cli import output
from orchestrator.cli.audit import from_temporal, since_timestamp
from orchestrator.cli.dispatch import with_client
from orchestrator.config import Settings


def add_commands(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add `policy` (and its `shadow-report`) to the CLI's parser."""
    policy = subparsers.add_parser("policy", help="policy rollout: the shadow policy's report")
    actions = policy.add_subparsers(dest="policy_command", required=True, metavar="ACTION")
    report = actions.add_parser(
        "shadow-report",
        help="how many decisions the candidate (shadow) policy would change, where and why",
    )
    report.add_argument(
        "--since", metavar="DURATION", help="workflows started within, e.g. 1h, 7d (default: all)"
    )
    output.add_options(report)
    policy.set_defaults(handler=with_client(handle))


async def handle(args: argparse.Namespace, settings: Settings, client: Client) -> int:
    """Exit 0 even when some run is unreadable: the report is advisory and names those runs
    (in it and on stderr); `audit export` is the record that fails for them."""
    since = since_timestamp(args.since)
    runs = await from_temporal(governed_runs(client, since))
    records = [run for run in runs if isinstance(run, AuditRecord)]
    unreadable = [run for run in runs if isinstance(run, UnreadableRun)]
    for run in unreadable:
        print(
            f"orchestrator: shadow-report: {run.workflow_id} (run {run.run_id}) not counted: "
            f"{run.error}",
            file=sys.stderr,
        )
    report = shadow_report.summarise(records, since, unreadable)
    output.emit(args, asdict(report), lambda: shadow_report.render(report))
    return 0
