"""The schedules, shadow report and audit pages, on the real stack and a worker.

Schedules are made by `orchestrator schedule create` (tests/schedules/cli.py) and changed
through the console's forms; what Temporal then holds is read back from Temporal. The
export is downloaded, verified by upload, edited by one byte and verified again.
"""

from __future__ import annotations

import asyncio
import contextlib
import html
import json
import re
import uuid
from collections.abc import AsyncIterator, Callable
from datetime import timedelta

import httpx
import pytest
from temporalio.client import Client
from temporalio.service import RPCError

from orchestrator.api import ApiConfig
from orchestrator.audit import scheduled
from orchestrator.audit.runs import started_since
from orchestrator.config import Settings
from tests.console.conftest import Browser, csrf_of, result_of
from tests.schedules.cli import REPORT, create_hourly
from tests.support import RunningWorker, poll

pytestmark = pytest.mark.integration

# Between the candidate's approval threshold (5,000) and the enforcing one (10,000):
# enforced it runs straight away, the candidate would have stopped it for approval.
BETWEEN_THRESHOLDS = {"amount": 7000}
JSON_BODY = {"Content-Type": "application/json"}


@pytest.fixture
async def schedule_ids(client: Client) -> AsyncIterator[Callable[[], str]]:
    """Fresh schedule ids; every schedule a test made is deleted afterwards."""
    made: list[str] = []

    def new() -> str:
        made.append(f"sched-console-{uuid.uuid4().hex[:8]}")
        return made[-1]

    yield new
    for schedule_id in made:
        with contextlib.suppress(RPCError):
            await client.get_schedule_handle(schedule_id).delete()


def row_of(page: str, schedule_id: str) -> str:
    found = re.search(
        rf'<tr class="schedule" data-schedule-id="{re.escape(schedule_id)}".*?</tr>', page, re.S
    )
    assert found, f"no row for {schedule_id}"
    return html.unescape(found.group(0))


async def schedules_page(http: httpx.AsyncClient, schedule_id: str) -> str:
    """The schedules page once it lists `schedule_id` (visibility lists it a moment late)."""

    async def look() -> str:
        page = await http.get("/console/schedules")
        assert page.status_code == 200, page.text
        return page.text

    return await poll(look, lambda text: schedule_id in text, f"{schedule_id} listed", 15)


async def post_action(http: httpx.AsyncClient, schedule_id: str, action: str) -> str:
    """Press the row's button: the result shows on the schedules page after the 303."""
    csrf = csrf_of(await schedules_page(http, schedule_id))
    done = await http.post(f"/console/schedules/{schedule_id}/{action}", data={"csrf": csrf})
    assert done.status_code == 303, done.text
    assert done.headers["location"] == "/console/schedules"
    shown = await http.get("/console/schedules")
    assert shown.status_code == 200
    return shown.text


async def test_every_page_needs_a_session(browser: Browser) -> None:
    async with browser() as anonymous:
        for path in ("/console/schedules", "/console/shadow", "/console/audit"):
            page = await anonymous.get(path)
            assert (page.status_code, page.headers["location"]) == (303, "/console/sign-in")
        download = await anonymous.get("/console/audit/export?since=1h")
        assert (download.status_code, download.headers["location"]) == (303, "/console/sign-in")
        assert not download.content
        for path in ("/console/schedules/sched-x/pause", "/console/schedules/sched-x/trigger"):
            refused = await anonymous.post(path, data={"csrf": "x"})
            assert (refused.status_code, refused.headers["location"]) == (303, "/console/sign-in")
        upload = await anonymous.post(
            "/console/audit/verify", data={"csrf": "x"}, files={"stream": ("a.jsonl", b"{}\n")}
        )
        assert (upload.status_code, upload.headers["location"]) == (303, "/console/sign-in")


async def test_forms_refuse_a_missing_or_forged_csrf_token(
    browser: Browser, settings: Settings, client: Client, schedule_ids: Callable[[], str]
) -> None:
    schedule_id = schedule_ids()
    made = await create_hourly(settings, client, schedule_id)
    assert made.code == 0, made.err
    async with browser("alice") as alice:
        csrf = csrf_of(await schedules_page(alice, schedule_id))
        pause = f"/console/schedules/{schedule_id}/pause"
        for form, headers in (
            ({}, {}),
            ({"csrf": "forged"}, {}),
            ({"csrf": csrf[:-1] + ("0" if csrf[-1] != "0" else "1")}, {}),
            # The right token, from a page of another site.
            ({"csrf": csrf}, {"Origin": "https://evil.test"}),
        ):
            refused = await alice.post(pause, data=form, headers=headers)
            assert refused.status_code == 403, (form, headers)
            assert "did not come from your console session" in html.unescape(refused.text)
        for form in ({}, {"csrf": "forged"}):
            upload = await alice.post(
                "/console/audit/verify", data=form, files={"stream": ("a.jsonl", b"{}\n")}
            )
            assert upload.status_code == 403
        # Another session's token is no good either.
        async with browser("bob") as bob:
            theirs = await bob.post(pause, data={"csrf": csrf})
            assert theirs.status_code == 403
    description = await client.get_schedule_handle(schedule_id).describe()
    assert description.schedule.state.paused is False


async def test_pause_unpause_and_run_now_change_the_real_schedule(
    browser: Browser,
    settings: Settings,
    client: Client,
    worker: RunningWorker,
    schedule_ids: Callable[[], str],
) -> None:
    schedule_id = schedule_ids()
    made = await create_hourly(settings, client, schedule_id)
    assert made.code == 0, made.err
    handle = client.get_schedule_handle(schedule_id)
    async with browser("erin") as erin:
        row = row_of(await schedules_page(erin, schedule_id), schedule_id)
        assert 'data-state="active"' in row
        assert f"alice: {REPORT}" in row and "every 1h" in row and "GovernedWorkflow" in row
        assert "<time datetime=" in row, "the next runs are listed"
        assert f'aria-label="Pause {schedule_id}"' in row
        assert f'aria-label="Run now {schedule_id}"' in row

        # Policy decides who manages schedules (schedule.rego: the operator role).
        async with browser("alice") as alice:
            refused = await post_action(alice, schedule_id, "pause")
        assert result_of(refused) == (
            "Not done: alice holds role(s) engineer; managing schedules needs one of: operator."
        )
        assert (await handle.describe()).schedule.state.paused is False

        paused = await post_action(erin, schedule_id, "pause")
        assert result_of(paused) == f"{schedule_id}: paused (paused by erin in the console)."
        row = row_of(paused, schedule_id)
        assert 'data-state="paused"' in row and f'aria-label="Unpause {schedule_id}"' in row
        state = (await handle.describe()).schedule.state
        assert (state.paused, state.note) == (True, "paused by erin in the console")
        # Shown once: a reload does not repeat it.
        assert 'role="status"' not in (await erin.get("/console/schedules")).text

        active = await post_action(erin, schedule_id, "unpause")
        assert result_of(active) == (
            f"{schedule_id}: active again (unpaused by erin in the console)."
        )
        assert 'data-state="active"' in row_of(active, schedule_id)
        assert (await handle.describe()).schedule.state.paused is False

        ran = await post_action(erin, schedule_id, "trigger")
        started = re.fullmatch(rf"{schedule_id}: triggered, started (\S+)\.", result_of(ran))
        assert started, result_of(ran)
        workflow_id = started.group(1)
        assert workflow_id.startswith(f"{schedule_id}-")
        await asyncio.wait_for(client.get_workflow_handle(workflow_id).result(), 60)

        async def recent() -> str:
            return row_of(await schedules_page(erin, schedule_id), schedule_id)

        row = await poll(recent, lambda text: "completed" in text, "the run's outcome", 15)
        assert f'<a href="/console/runs/{workflow_id}">' in row
        assert "completed, policy allow" in row


async def test_the_audit_checkpoint_schedule_shows_what_it_runs(
    browser: Browser, settings: Settings, client: Client
) -> None:
    # Its runs take no request: the row names the workflow once, not "?: None".
    handle = await scheduled.set_schedule(client, settings, timedelta(hours=1))
    try:
        async with browser("erin") as erin:
            row = row_of(await schedules_page(erin, handle.id), handle.id)
        assert row.count("AuditCheckpointWorkflow") == 1 and "every 1h" in row
        assert "None" not in row and "?:" not in row
    finally:
        await handle.delete()


async def test_pausing_a_schedule_that_is_gone_says_so(browser: Browser) -> None:
    gone = f"sched-console-gone-{uuid.uuid4().hex[:6]}"
    async with browser("erin") as erin:
        csrf = csrf_of((await erin.get("/console/audit")).text)
        done = await erin.post(f"/console/schedules/{gone}/pause", data={"csrf": csrf})
        assert done.status_code == 303
        page = (await erin.get("/console/schedules")).text
        assert result_of(page) == f"Not done: no schedule with id {gone!r}."
        odd = await erin.post(f"/console/schedules/{gone}/delete", data={"csrf": csrf})
        assert odd.status_code == 404


async def test_shadow_report_shows_what_the_candidate_would_change(
    browser: Browser, worker: RunningWorker
) -> None:
    run = await worker.start_governed(REPORT, parameters=BETWEEN_THRESHOLDS)
    await asyncio.wait_for(run.result(), 60)
    async with browser("carol") as carol:

        async def report() -> str:
            page = await carol.get("/console/shadow", params={"since": "1h"})
            assert page.status_code == 200, page.text
            return html.unescape(page.text)

        page = await poll(report, lambda text: run.id in text, f"{run.id} in the report", 20)
        assert 'value="1h"' in page
        affected = re.search(
            rf'<tr class="affected-run" data-workflow-id="{re.escape(run.id)}">.*?</tr>',
            page,
            re.S,
        )
        assert affected, page
        assert f'<a href="/console/runs/{run.id}">' in affected.group(0)
        assert "outcome: allow -> approval_required" in affected.group(0)
        for section in ("totals", "changes", "by-action", "reasons-added", "affected"):
            assert f'<section id="{section}"' in page, section
        assert "<td>workflow.start</td>" in page
        assert "Approval required: the amount 7000 is above 5000." in page
        disagreed = re.search(r'<td data-count="disagreed">(\d+)</td>', page)
        assert disagreed and int(disagreed.group(1)) >= 1

        default = await carol.get("/console/shadow")
        assert default.status_code == 200 and 'value="24h"' in default.text
        wrong = await carol.get("/console/shadow", params={"since": "soon"})
        assert wrong.status_code == 422
        assert "since 'soon'" in html.unescape(wrong.text)


async def download(http: httpx.AsyncClient, form: str, ids: set[str]) -> httpx.Response:
    """The export of the last hour, once visibility lists every id."""

    async def export() -> httpx.Response:
        got = await http.get("/console/audit/export", params={"since": "1h", "format": form})
        assert got.status_code == 200, got.text
        return got

    return await poll(export, lambda got: all(i in got.text for i in ids), f"{ids} exported", 20)


async def verify_upload(http: httpx.AsyncClient, data: bytes, head: str = "") -> str:
    csrf = csrf_of((await http.get("/console/audit")).text)
    checked = await http.post(
        "/console/audit/verify",
        data={"csrf": csrf, "head": head},
        files={"stream": ("audit.jsonl", data, "application/x-ndjson")},
    )
    assert checked.status_code == 200, checked.text
    return checked.text


async def test_export_verifies_and_a_one_byte_edit_is_reported_on_its_line(
    browser: Browser, worker: RunningWorker
) -> None:
    began = started_since(5)
    run = await worker.start_governed(REPORT)
    await asyncio.wait_for(run.result(), 60)
    async with browser("dave") as dave:
        page = await dave.get("/console/audit")
        assert page.status_code == 200
        for hook in ('<form id="export" method="get"', 'enctype="multipart/form-data"'):
            assert hook in page.text
        for label in ("export-since", "export-format", "verify-file", "verify-head"):
            assert f'<label for="{label}">' in page.text

        got = await download(dave, "jsonl", {run.id})
        disposition = got.headers["content-disposition"]
        assert re.fullmatch(r'attachment; filename="audit-\d{8}T\d{6}Z\.jsonl"', disposition)
        lines = got.content.decode().splitlines()
        trailer = json.loads(lines[-1])
        assert trailer["kind"] == "end" and trailer["since"] <= began
        head = got.headers["x-audit-head"]
        assert head == trailer["head"] == trailer["prev_hash"]
        assert int(got.headers["x-audit-records"]) == len(lines) - 1

        intact = await verify_upload(dave, got.content, head)
        assert 'data-ok="true"' in intact
        assert result_of(intact) == f"ok: {len(lines) - 1} records, head {head}"

        number, entry = next(
            (n, json.loads(line))
            for n, line in enumerate(lines, start=1)
            if json.loads(line).get("workflow_id") == run.id
            and json.loads(line)["kind"] == "decision"
        )
        # One byte of the decision id changed, nothing else: its hash no longer matches.
        decision_id = entry["decision_id"]
        forged = decision_id[:-1] + ("0" if decision_id[-1] != "0" else "1")
        lines[number - 1] = lines[number - 1].replace(decision_id, forged)
        tampered = await verify_upload(dave, ("\n".join(lines) + "\n").encode())
        assert 'data-ok="false"' in tampered
        problems = re.findall(r'<li data-line="(\d+)" data-kind="([^"]+)">([^<]*)</li>', tampered)
        assert problems == [
            (
                str(number),
                "edited",
                f"line {number}: edited: seq {entry['seq']}: content does not match its hash",
            )
        ]

        events = await download(dave, "cloudevents", {run.id})
        assert events.headers["content-disposition"].endswith('.cloudevents"')
        first = json.loads(events.content.decode().splitlines()[0])
        assert first["specversion"] == "1.0"
        assert 'data-ok="true"' in await verify_upload(dave, events.content)

        for query, problem in (({"since": "later"}, "since 'later'"), ({"format": "xml"}, "xml")):
            wrong = await dave.get("/console/audit/export", params=query)
            assert wrong.status_code == 422 and problem in html.unescape(wrong.text)
            assert "content-disposition" not in wrong.headers


async def test_an_export_larger_than_an_api_body_may_be_uploaded_to_verify(
    browser: Browser,
) -> None:
    """The audit upload has its own limit (ORCH_CONSOLE_MAX_UPLOAD_BYTES, 64 MiB): a week's
    export is megabytes, while every other body keeps the API's 256 KiB."""
    big = b"not an audit line\n" * (400 * 1024 // 18)
    assert len(big) > ApiConfig().max_body_bytes
    async with browser("dave") as dave:
        page = await verify_upload(dave, big)
        assert 'data-ok="false"' in page and "line 1" in page
        refused = await dave.post(
            "/v1/workflows", content=b"{" + b" " * len(big) + b"}", headers=JSON_BODY
        )
    assert refused.status_code == 413
