"""The pages that read: the inbox (and its JSON for the polling script), the runs list and
a run's page. Each needs a session; Temporal being unreachable is a page that says so."""

from __future__ import annotations

import asyncio
import logging
import re
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from temporalio.client import Client
from temporalio.service import RPCError

from orchestrator.api.dependencies import WORKFLOW_ID_PATTERN
from orchestrator.api.errors import ApiError
from orchestrator.approvals.may_decide import judge
from orchestrator.config import Settings
from orchestrator.console.inbox import inbox, page_number, waiting_ids
from orchestrator.console.runs import (
    FILTER_NAMES,
    FilterError,
    Filters,
    describe,
    list_runs,
    run_view,
)
from orchestrator.console.session import Viewer
from orchestrator.console.state import console_of, temporal_client, unavailable, viewer
from orchestrator.console.templates import render
from orchestrator.console.trace_view import TraceView, load_trace

log = logging.getLogger(__name__)
router = APIRouter(include_in_schema=False)
Signed = Annotated[Viewer, Depends(viewer)]


@router.get("/", response_class=HTMLResponse)
async def inbox_page(request: Request, who: Signed) -> Response:
    console = console_of(request)
    page = page_number(request.query_params.get("page"))
    try:
        found = await inbox(
            await temporal_client(request),
            console.opa,
            who.identity,
            page,
            console.cursors,
            request.query_params.get("after"),
        )
    except (ApiError, RPCError) as error:
        return unavailable(who, request, error)
    flash = console.flash.read(request)
    response = render("inbox.html", viewer=who, inbox=found, flash=flash, back="inbox")
    console.flash.clear(request, response)
    return response


@router.get("/inbox.json")
async def inbox_json(request: Request, who: Signed) -> Response:
    try:
        items = await waiting_ids(await temporal_client(request), console_of(request).cursors)
    except (ApiError, RPCError):
        return JSONResponse({"error": {"code": "unavailable"}}, status_code=503)
    return JSONResponse(
        {"count": len(items), "items": items}, headers={"Cache-Control": "no-store"}
    )


@router.get("/runs", response_class=HTMLResponse)
async def runs_page(request: Request, who: Signed) -> Response:
    given = {name: request.query_params.get(name, "") for name in FILTER_NAMES}
    page = page_number(request.query_params.get("page"))
    try:
        filters = Filters.parse(given)
    except FilterError as error:
        return render("runs.html", 422, viewer=who, filters=given, runs=None, error=str(error))
    try:
        found = await list_runs(
            await temporal_client(request),
            filters,
            page,
            console_of(request).cursors,
            request.query_params.get("after"),
        )
    except (ApiError, RPCError) as error:
        return unavailable(who, request, error)
    chosen = urlencode({name: value for name, value in given.items() if value})
    query = f"{chosen}&" if chosen else ""
    return render("runs.html", viewer=who, filters=given, runs=found, error="", query=query)


@router.get("/runs/{workflow_id}", response_class=HTMLResponse)
async def run_page(workflow_id: str, request: Request, who: Signed) -> Response:
    console = console_of(request)
    if not re.match(WORKFLOW_ID_PATTERN, workflow_id):
        return _missing(who, workflow_id)
    settings: Settings = request.app.state.settings
    try:
        client = await temporal_client(request)
        description = await describe(client, workflow_id)
        if description is None:
            return _missing(who, workflow_id)
        link = settings.workflow_link(workflow_id, description.run_id)
        view, trace = await asyncio.gather(
            run_view(client, description, link), _trace(settings, client, workflow_id)
        )
    except (ApiError, RPCError) as error:
        return unavailable(who, request, error)
    await judge(console.opa, view.waiting, who.identity)
    flash = console.flash.read(request)
    response = render("run.html", viewer=who, run=view, trace=trace, back="run", flash=flash)
    console.flash.clear(request, response)
    return response


def _missing(who: Viewer, workflow_id: str) -> HTMLResponse:
    return render(
        "error.html",
        404,
        viewer=who,
        title="No such run",
        message=f"No workflow with id {workflow_id!r}.",
    )


async def _trace(settings: Settings, client: Client, workflow_id: str) -> TraceView | None:
    """The run's trace view; None (the page says the trace is not available) when reading
    it failed in a way the view did not catch: a trace problem never breaks the page."""
    try:
        return await load_trace(settings, client, workflow_id)
    except Exception as error:
        log.warning("console: trace of %s failed: %s", workflow_id, error)
        return None
