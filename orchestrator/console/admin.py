"""The operators' pages: schedules (pause, unpause, run now), the shadow policy's report
and the audit stream (download an export, verify an uploaded one).

Each needs a session; each POST its CSRF token (and this origin, when the browser says
where the form came from). Schedules change only through their Temporal handle, as
`orchestrator schedule pause|unpause|trigger` does; the export is built by the same code
as `orchestrator audit export` (orchestrator/audit/export.py), so the file verifies with
`orchestrator audit verify` too, and verifying here is that command's check.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, File, Form, Request, UploadFile
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from temporalio.service import RPCError, RPCStatusCode

from orchestrator.api.config import ApiConfig
from orchestrator.api.errors import ApiError
from orchestrator.audit import checkpoint
from orchestrator.audit import export as audit_export
from orchestrator.audit.chain import FORMATS
from orchestrator.audit.runs import RunsUnavailable
from orchestrator.audit.verify import verify
from orchestrator.config import Settings
from orchestrator.console.actions import FORM_REFUSED
from orchestrator.console.admin_data import (
    DEFAULT_WINDOW,
    WindowError,
    schedule_rows,
    shadow_page,
    window,
)
from orchestrator.console.flash import Kind
from orchestrator.console.session import Viewer
from orchestrator.console.state import console_of, form_ok, temporal_client, unavailable, viewer
from orchestrator.console.templates import SECURITY_HEADERS, render
from orchestrator.policy.client import PolicyError
from orchestrator.policy.contract import (
    SCHEDULE_MANAGE,
    PolicyInput,
    Requester,
    ScheduleSpec,
    WorkflowRef,
)
from orchestrator.policy.identity import API_ISSUER
from orchestrator.schedules import service
from orchestrator.schedules.service import SCHEDULE_ID_PATTERN

log = logging.getLogger(__name__)
router = APIRouter(include_in_schema=False)
Signed = Annotated[Viewer, Depends(viewer)]

SCHEDULE_ACTIONS = ("pause", "unpause", "trigger")
# A tampered file can be wrong on every line: the page lists this many, then counts.
PROBLEMS_SHOWN = 200


@router.get("/schedules", response_class=HTMLResponse)
async def schedules_page(request: Request, who: Signed) -> Response:
    console = console_of(request)
    try:
        rows = await schedule_rows(await temporal_client(request))
    except (ApiError, RPCError) as error:
        return unavailable(who, request, error)
    flash = console.flash.read(request)
    response = render("schedules.html", viewer=who, schedules=rows, flash=flash)
    console.flash.clear(request, response)
    return response


@router.post("/schedules/{schedule_id}/{action}")
async def schedule_action(
    schedule_id: str,
    action: str,
    request: Request,
    who: Signed,
    csrf: Annotated[str, Form()] = "",
) -> Response:
    if not form_ok(request, who, csrf):
        return render("error.html", 403, viewer=who, title="Not changed", message=FORM_REFUSED)
    if action not in SCHEDULE_ACTIONS or not SCHEDULE_ID_PATTERN.match(schedule_id):
        return render(
            "error.html", 404, viewer=who, title="No such action", message="Not a schedule action."
        )
    kind, text = await _schedule_outcome(request, schedule_id, action, who.identity)
    response = RedirectResponse("/console/schedules", status_code=303)
    console_of(request).flash.set(request, response, kind, text)
    return response


async def _schedule_outcome(
    request: Request, schedule_id: str, action: str, identity: str
) -> tuple[Kind, str]:
    """("ok" | "error", what the schedules page says happened).

    Policy decides first (schedule.manage: who may pause, unpause or trigger; the console
    proved the viewer with their API token), and its refusal is shown in its own words.
    """
    refused = await _policy_refuses(request, schedule_id, action, identity)
    if refused:
        return "error", f"Not done: {refused}"
    try:
        handle = (await temporal_client(request)).get_schedule_handle(schedule_id)
        if action == "trigger":
            log.info("console: %s triggered schedule %s", identity, schedule_id)
            workflow_id = await service.trigger(handle)
            if workflow_id is None:
                return "ok", (
                    f"{schedule_id}: triggered, but no run started yet (the overlap policy may "
                    "have skipped it while another run is open)."
                )
            return "ok", f"{schedule_id}: triggered, started {workflow_id}."
        # Kept as the schedule's note, as the CLI's --reason is: who did it, and where.
        note = f"{action}d by {identity} in the console"
        if action == "pause":
            await handle.pause(note=note)
            return "ok", f"{schedule_id}: paused ({note})."
        await handle.unpause(note=note)
        return "ok", f"{schedule_id}: active again ({note})."
    except ApiError as error:
        return "error", f"Not done: {error.message}"
    except RPCError as error:
        if error.status == RPCStatusCode.NOT_FOUND:
            return "error", f"Not done: no schedule with id {schedule_id!r}."
        return "error", f"Not done: Temporal refused the call for {schedule_id}: {error.message}"


async def _policy_refuses(
    request: Request, schedule_id: str, action: str, identity: str
) -> str | None:
    """None when policy allows `action` on the schedule; else why not (fail closed)."""
    question = PolicyInput(
        SCHEDULE_MANAGE,
        WorkflowRef("Schedule", schedule_id, ""),
        Requester(identity, authenticated=True, issuer=API_ISSUER),
        schedule=ScheduleSpec(schedule_id, action),
    )
    try:
        decision = await console_of(request).opa.decide(question)
    except PolicyError as error:
        return f"the policy service could not say whether you may ({error})."
    if decision.allow:
        log.info("console: policy allows %s to %s %s", identity, action, schedule_id)
        return None
    return "; ".join(decision.reasons) or "the policy refused, giving no reason."


@router.get("/shadow", response_class=HTMLResponse)
async def shadow(request: Request, who: Signed) -> Response:
    given = request.query_params.get("since", "")
    try:
        page = await shadow_page(await temporal_client(request), given)
    except WindowError as error:
        return render("shadow.html", 422, viewer=who, since=given, page=None, error=str(error))
    except (ApiError, RPCError, RunsUnavailable) as error:
        return unavailable(who, request, error)
    return render("shadow.html", viewer=who, since=page.since, page=page, error="")


def _audit_page(who: Viewer, request: Request, status: int = 200, **context: object) -> Response:
    config: ApiConfig = request.app.state.api_config
    context.setdefault("since", DEFAULT_WINDOW)
    context.setdefault("form", "jsonl")
    context.setdefault("error", "")
    context.setdefault("checked", None)
    return render(
        "audit.html",
        status,
        viewer=who,
        formats=FORMATS,
        max_bytes=config.max_body_bytes,
        shown=PROBLEMS_SHOWN,
        **context,
    )


@router.get("/audit", response_class=HTMLResponse)
async def audit(request: Request, who: Signed) -> Response:
    return _audit_page(who, request)


@router.get("/audit/export")
async def audit_export_download(request: Request, who: Signed) -> Response:
    given = request.query_params.get("since", "")
    form = request.query_params.get("format", "") or "jsonl"
    try:
        since, since_at = window(given)
        if form not in FORMATS:
            raise WindowError(f"format {form!r}: choose jsonl or cloudevents.")
    except WindowError as error:
        return _audit_page(who, request, 422, since=given, form=form, error=str(error))
    try:
        exported = await audit_export.build(await temporal_client(request), since_at, form)
    except (ApiError, RPCError, RunsUnavailable) as error:
        return unavailable(who, request, error)
    log.info("console: %s exported the audit stream since %s", who.identity, since)
    for problem in exported.problems:
        log.warning("console: audit export: %s", problem)
    signed = await asyncio.to_thread(sign, exported.entries, request.app.state.settings)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    return Response(
        exported.text.encode("utf-8"),
        media_type="application/x-ndjson",
        headers={
            **SECURITY_HEADERS,
            "Content-Disposition": f'attachment; filename="audit-{stamp}.{form}"',
            # The head to store apart from the file, as the CLI prints it on stderr.
            "X-Audit-Head": exported.head,
            "X-Audit-Records": str(exported.records),
            "X-Audit-Unfaithful-Runs": str(len(exported.problems)),
            # Its signed checkpoint's number in the log, when the server holds a key.
            **({"X-Audit-Checkpoint": str(signed["seq"])} if signed else {}),
        },
    )


def sign(entries: list[dict[str, Any]], settings: Settings) -> dict[str, Any] | None:
    """Checkpoint a download as `audit export` checkpoints its file (None: no key set)."""
    if settings.audit_signing_key_file is None:
        return None
    try:
        key = checkpoint.load_private_key(settings.audit_signing_key_file)
        return checkpoint.checkpoint_export(entries, key, settings.audit_checkpoint_log)
    except (checkpoint.CheckpointError, OSError) as error:
        # The file is still the export; with no checkpoint, verifying against the log fails.
        log.error("console: audit export not checkpointed: %s", error)
        return None


@router.post("/audit/verify", response_class=HTMLResponse)
async def audit_verify(
    request: Request,
    who: Signed,
    csrf: Annotated[str, Form()] = "",
    head: Annotated[str, Form()] = "",
    stream: Annotated[UploadFile | None, File()] = None,
) -> Response:
    if not form_ok(request, who, csrf):
        return render("error.html", 403, viewer=who, title="Not verified", message=FORM_REFUSED)
    if stream is None or not stream.filename:
        return _audit_page(who, request, 422, error="Choose the exported file to verify.")
    data = await stream.read()
    # Split as `orchestrator audit verify` splits the file, so line numbers agree.
    result = verify(data.splitlines(), expected_head=head.strip() or None)
    return _audit_page(who, request, checked=result, filename=stream.filename)
