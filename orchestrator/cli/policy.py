"""`orchestrator policy shadow-report [--since D] [--json]`: what the candidate would change.

Reads every governed and declarative run's history (as `audit export` does) and counts
the decisions where the shadow policy disagreed with the enforcing one.
"""

from __future__ import annotations

import argparse
import json
from dataclasses import asdict

from temporalio.client import Client

from orchestrator import shadow_report
from orchestrator.cli.audit import governed_records, since_timestamp
from orchestrator.config import Settings


def add_command(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
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
    report.add_argument("--json", action="store_true", help="print JSON")


async def handle(args: argparse.Namespace, settings: Settings, client: Client) -> int:
    since = since_timestamp(args.since)
    report = shadow_report.summarise(await governed_records(client, since), since)
    print(json.dumps(asdict(report), indent=2) if args.json else shadow_report.render(report))
    return 0
