"""The inbox pages 50 at a time, every waiting run on exactly one page, each with the
policy's view of the viewer. Its speed is bench/inbox.py's to measure, not this test's."""

from __future__ import annotations

import asyncio
import html
import re
from typing import Any

from temporalio.client import WorkflowHandle

from orchestrator.console.inbox import PAGE_SIZE, PENDING_QUERY
from tests.console.conftest import Browser
from tests.console.test_deciding import DEPLOY
from tests.support import RunningWorker, poll, wait_for_stage

WAITING = PAGE_SIZE + 1


def shown(page: str) -> list[str]:
    """Workflow ids on an inbox page: articles and runs listed as not answering."""
    ids = re.findall(r'<article class="approval" data-workflow-id="([^"]+)"', page)
    ids += re.findall(r'<li><a href="/console/runs/([^"]+)">', page)
    return ids


async def test_fifty_a_page_every_waiting_run_on_exactly_one_page(
    browser: Browser, worker: RunningWorker, terminate_after: list[WorkflowHandle[Any, Any]]
) -> None:
    handles = await asyncio.gather(
        *(
            worker.start_governed(DEPLOY, "alice", parameters={"environment": "production"})
            for _ in range(WAITING)
        )
    )
    terminate_after.extend(handles)
    await asyncio.gather(*(wait_for_stage(handle, "awaiting_approval", 60) for handle in handles))
    mine = {handle.id for handle in handles}
    async with browser("bob") as bob:
        await poll(
            lambda: worker.client.count_workflows(PENDING_QUERY),
            lambda counted: counted.count >= WAITING,
            "visibility listing every waiting run",
            30,
        )
        first = await bob.get("/console/")
        assert first.status_code == 200
        second = await bob.get("/console/", params={"page": "2"})
        assert second.status_code == 200
        # The "Next page" link carries a cursor: the same page, read in one request.
        link = re.search(r'rel="next" href="\?([^"]+)"', first.text)
        assert link is not None
        followed = await bob.get("/console/?" + html.unescape(link.group(1)))
        mangled = await bob.get("/console/", params={"page": "2", "after": "bm90LWEtdG9rZW4="})
    on_first, on_second = shown(first.text), shown(second.text)
    assert len(on_first) == PAGE_SIZE, len(on_first)
    assert not set(on_first) & set(on_second)
    assert shown(followed.text) == on_second
    assert shown(mangled.text) == on_second  # a cursor Temporal refuses: pages are skipped
    assert mine <= set(on_first) | set(on_second)
    assert 'rel="next" href="?page=2&amp;after=' in first.text and 'rel="prev"' in second.text
    # Each of bob's runs on the first page is one he may decide: the checks all ran.
    assert first.text.count('<form class="decide"') == len(mine & set(on_first))
