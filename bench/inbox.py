"""`make bench-inbox`: the console inbox's server time with many approvals waiting.

Starts its own stack on free ports (Temporal on its SQLite file, as `make up` runs it),
a worker process, and N governed runs that wait for two approvers (production deploys by
alice). Then bob asks for inbox pages through the real app in this process (ASGI, no
network), so the time is the server's: the visibility query (which returns each run's
memo of what waits) and the read-only policy check of whether bob may decide. Pages 1
and the last are timed alternately, the last page both as reached by its link and as
typed, and page 1's parts apart; writes bench/results/inbox.{json,md}.

`--smoke` uses tiny counts, to keep the harness working.
"""

from __future__ import annotations

import argparse
import asyncio
import html
import json
import re
import secrets
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

from bench.decisions import percentiles
from bench.run import RESULTS, machine, worker_processes
from orchestrator import starts
from orchestrator.api import ApiConfig, create_app
from orchestrator.approvals.may_decide import judge
from orchestrator.approvals.waiting import from_memo
from orchestrator.config import Settings
from orchestrator.connection import connect
from orchestrator.console.inbox import pending_runs
from orchestrator.devstack import Binaries, LocalStack, Ports, StackLayout
from orchestrator.governed.model import GovernedRequest
from orchestrator.policy.identity import Keyring
from orchestrator.vocabulary import APPROVAL_STATUS

PAGE_SIZE = 50
TASK = "Deploy the billing service to production"


async def start_waiting(client: Any, settings: Settings, keys: Keyring, count: int) -> None:
    """`count` runs of alice's, each to wait for two approvers; started 20 at a time."""
    key = keys.key("alice")
    request = GovernedRequest(
        task=TASK, requester="alice", parameters={"environment": "production"}
    )
    for first in range(0, count, 20):
        await asyncio.gather(
            *(
                starts.start(
                    client,
                    request,
                    key,
                    f"bench-inbox-{uuid.uuid4().hex[:12]}",
                    task_queue=settings.temporal.task_queue,
                )
                for _ in range(first, min(first + 20, count))
            )
        )


async def wait_until_pending(client: Any, count: int, within: float) -> float:
    """Seconds until visibility lists `count` runs awaiting approval."""
    began = time.monotonic()
    query = f"{APPROVAL_STATUS.name} = 'pending' AND ExecutionStatus = 'Running'"
    while time.monotonic() - began < within:
        if (await client.count_workflows(query)).count >= count:
            return time.monotonic() - began
        await asyncio.sleep(0.5)
    raise RuntimeError(f"fewer than {count} runs reached the approval stage in {within:.0f}s")


async def time_pages(http: httpx.AsyncClient, urls: dict[str, str], rounds: int) -> dict[str, Any]:
    """Each URL `rounds` times, interleaved; per URL the server time in ms."""
    samples: dict[str, list[float]] = {name: [] for name in urls}
    shown: dict[str, int] = {}
    for _ in range(rounds):
        for name, url in urls.items():
            began = time.perf_counter()
            answer = await http.get(url)
            samples[name].append((time.perf_counter() - began) * 1000)
            answer.raise_for_status()
            shown[name] = answer.text.count('<article class="approval"')
    return {
        name: {**percentiles(times), "approvals_shown": shown[name]}
        for name, times in samples.items()
    }


async def last_page_by_link(http: httpx.AsyncClient) -> tuple[int, str]:
    """The last page's URL as a person reaches it: "Next page" from page 1 on."""
    url, page = "/console/", 1
    while True:
        answer = await http.get(url)
        found = re.search(r'rel="next" href="\?([^"]+)"', answer.text)
        if found is None:
            return page, url
        url, page = "/console/?" + html.unescape(found.group(1)), page + 1


async def time_parts(
    client: Any, console: Any, viewer: str, rounds: int
) -> dict[str, dict[str, float]]:
    """Page 1's two costs apart: the visibility list with memos, and the policy checks."""
    listing: list[float] = []
    policy: list[float] = []
    for _ in range(rounds):
        began = time.perf_counter()
        listed = await pending_runs(client, 1, console.cursors)
        found = [await from_memo(execution) or [] for execution in listed.runs]
        listed_at = time.perf_counter()
        items = [item for entries in found for item in entries]
        await judge(console.opa, items, viewer)
        listing.append((listed_at - began) * 1000)
        policy.append((time.perf_counter() - listed_at) * 1000)
    return {"page_1_list": percentiles(listing), "page_1_policy": percentiles(policy)}


async def run_bench(stack: LocalStack, pending: int, rounds: int) -> dict[str, Any]:
    env = stack.client_env()
    settings = Settings.from_env(
        {**env, "TEMPORAL_TASK_QUEUE": f"bench-inbox-{uuid.uuid4().hex[:6]}"}
    )
    worker_env = {
        **env,
        "TEMPORAL_TASK_QUEUE": settings.temporal.task_queue,
        "ORCH_METRICS_PORT": "0",
    }
    client = await connect(settings.temporal)
    keys = Keyring.load(stack.layout.identities)
    with worker_processes("governed", worker_env):
        began = time.monotonic()
        await start_waiting(client, settings, keys, pending)
        waited = await wait_until_pending(client, pending, within=60 + pending)
        setup_seconds = time.monotonic() - began
        token = secrets.token_urlsafe(16)
        config = ApiConfig.from_env({"ORCH_API_TOKENS": f"{token}:bob"})
        app = create_app(settings, config, client=client)
        transport = httpx.ASGITransport(app=app)
        try:
            async with httpx.AsyncClient(transport=transport, base_url="http://bench") as http:
                form = await http.get("/console/sign-in")
                csrf = re.search(r'name="csrf" value="([^"]+)"', form.text)
                assert csrf is not None, "the sign-in page has no CSRF token"
                signed = await http.post(
                    "/console/sign-in", data={"token": token, "csrf": csrf.group(1)}
                )
                if signed.status_code != 303:
                    raise RuntimeError(f"sign-in refused: {signed.status_code} {signed.text}")
                await http.get("/console/")  # warm: first OPA and Temporal connections
                last, linked = await last_page_by_link(http)
                urls = {"inbox page 1": "/console/"}
                if last > 1:
                    urls[f"inbox page {last}, by Next page"] = linked
                    urls[f"inbox page {last}, typed (pages skipped)"] = f"/console/?page={last}"
                pages = await time_pages(http, urls, rounds)
                parts = await time_parts(client, app.state.console, "bob", rounds)
        finally:
            await app.state.console.aclose()
    return {
        "pending": pending,
        "page_size": PAGE_SIZE,
        "rounds": rounds,
        "setup_seconds": round(setup_seconds, 1),
        "visible_after_seconds": round(waited, 1),
        "server": "temporal dev server, SQLite file",
        "pages": pages,
        "parts": parts,
    }


def markdown(report: dict[str, Any]) -> str:
    rows = [
        f"| {name} | {value['approvals_shown']} | {value['p50']:.0f} | "
        f"{value['p95']:.0f} | {value['p99']:.0f} |"
        for name, value in report["pages"].items()
    ]
    parts = [
        f"| {name.replace('_', ' ')} | {value['p50']:.0f} | {value['p95']:.0f} |"
        for name, value in report["parts"].items()
    ]
    return "\n".join(
        [
            f"# Console inbox, {report['pending']} approvals waiting ({report['date']})",
            "",
            f"{report['machine']}; {report['server']}; {report['rounds']} requests per page.",
            "",
            "| page | approvals shown | p50 ms | p95 ms | p99 ms |",
            "|---|---|---|---|---|",
            *rows,
            "",
            "Page 1 in parts (the list returns each run's memo; the policy checks are the",
            "read-only `approval.decide` questions for the viewer):",
            "",
            "| part | p50 ms | p95 ms |",
            "|---|---|---|",
            *parts,
            "",
        ]
    )


async def main_async(pending: int, rounds: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="bench-inbox-") as folder:
        stack = LocalStack(Ports.free(), StackLayout(Path(folder)), Binaries.locate(), False)
        stack.up()
        try:
            report = await run_bench(stack, pending, rounds)
        finally:
            stack.down()
    report["date"] = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    report["machine"] = machine()
    return report


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.inbox")
    parser.add_argument("--smoke", action="store_true", help="tiny counts: check the harness")
    parser.add_argument("--pending", type=int, default=500, help="approvals waiting")
    parser.add_argument("--rounds", type=int, default=20, help="requests per page")
    args = parser.parse_args()
    pending, rounds = (3, 2) if args.smoke else (args.pending, args.rounds)
    report = asyncio.run(main_async(pending, rounds))
    RESULTS.mkdir(exist_ok=True)
    stem = "inbox-smoke" if args.smoke else "inbox"
    (RESULTS / f"{stem}.json").write_text(json.dumps(report, indent=2) + "\n")
    text = markdown(report)
    (RESULTS / f"{stem}.md").write_text(text)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
