"""`orchestrator trace ID`: the workflow's trace from Jaeger, as a waterfall or as JSON.

The waterfall fits the terminal (`--width` forces a width; a pipe gets 100 columns) and
leaves out Temporal's zero-length markers unless `--all`. `--json` / `-o json` prints the
trace model (`telemetry.trace_model.tree_document`) with the same spans the waterfall
shows; `-o jsonl` one span a line.
"""

from __future__ import annotations

import argparse
import shutil

from temporalio.client import Client

from orchestrator.cli import output
from orchestrator.cli.dispatch import with_client
from orchestrator.cli.errors import CliError
from orchestrator.cli.parsing import positive_int, seconds
from orchestrator.config import Settings
from orchestrator.vocabulary import TRACE_ID
from telemetry.jaeger import JaegerError, ui_link
from telemetry.trace_model import TraceTree, build_tree, tree_document
from telemetry.waterfall import MIN_WIDTH, render_tree
from telemetry.workflow_traces import TraceLookupError, fetch_traces, workflow_trace_ids

# When stdout is no terminal (a pipe, a file) and COLUMNS is unset: a stable width.
DEFAULT_WIDTH = 100


def add_commands(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    sub = subparsers
    trace = sub.add_parser("trace", help="print a workflow's trace from Jaeger as a waterfall")
    trace.add_argument("workflow_id", metavar="ID")
    output.add_options(trace)
    trace.add_argument(
        "--wait", type=seconds, default=10.0, metavar="SECONDS", help="how long to wait for spans"
    )
    trace.add_argument(
        "--width",
        type=positive_int,
        metavar="COLUMNS",
        help=f"draw this wide (default: the terminal's width; at least {MIN_WIDTH})",
    )
    trace.add_argument(
        "--all",
        dest="all_spans",
        action="store_true",
        help="also show Temporal's zero-length marker spans (RunWorkflow, StartActivity, ...)",
    )
    trace.set_defaults(handler=with_client(show_trace))


async def show_trace(args: argparse.Namespace, settings: Settings, client: Client) -> int:
    try:
        trace_ids = await workflow_trace_ids(
            client,
            args.workflow_id,
            trace_id_key=TRACE_ID,
            query_url=settings.jaeger_query_url,
            service=settings.worker_service_name,
        )
        spans = await fetch_traces(settings.jaeger_query_url, trace_ids, wait_seconds=args.wait)
    except (TraceLookupError, JaegerError) as error:
        raise CliError(str(error)) from None
    tree = build_tree(spans, hide_markers=not args.all_spans)
    links = [ui_link(settings.jaeger_query_url, trace_id) for trace_id in trace_ids]
    format_ = output.chosen(args)
    if format_ == output.JSONL:
        output.emit(args, tree_document(tree)["spans"], "")
    else:
        output.emit(
            args,
            {**tree_document(tree), "jaeger_links": links},
            lambda: waterfall_text(tree, trace_ids, links, width=terminal_width(args.width)),
        )
    return 0


def waterfall_text(tree: TraceTree, trace_ids: list[str], links: list[str], *, width: int) -> str:
    """The waterfall, a note when the run's spans are in several traces, Jaeger's links."""
    lines = [render_tree(tree, width=width)]
    if len(trace_ids) > 1:
        lines.append(f"\n{len(trace_ids)} traces: the run was started without trace context.")
    lines.append("")
    lines.extend(f"Jaeger: {link}" for link in links)
    return "\n".join(lines)


def terminal_width(asked: int | None) -> int:
    """`--width`, else the terminal's columns (COLUMNS wins, as shutil has it)."""
    if asked is not None:
        return asked
    return shutil.get_terminal_size((DEFAULT_WIDTH, 24)).columns
