"""What changes something: signing in and out, and approving or rejecting.

Every POST but sign-in needs a session and its CSRF token (and, when the browser says
where the form came from, this origin). A decision is signed and sent by the same code
as the API's approve/reject routes (`take_decision`), then the page is shown again (303)
with the outcome: accepted and how far the quorum is, or the policy's refusal in its
own words.
"""

from __future__ import annotations

import re
from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError

from orchestrator.api.dependencies import WORKFLOW_ID_PATTERN
from orchestrator.api.errors import ApiError
from orchestrator.api.models import Decision, Receipt
from orchestrator.api.routes.decisions import take_decision
from orchestrator.approvals.model import APPROVE, REJECT
from orchestrator.console.flash import Kind
from orchestrator.console.session import SignInRefused, Viewer, same_origin
from orchestrator.console.state import console_of, form_ok, viewer
from orchestrator.console.templates import render
from orchestrator.policy.contract import ApprovalDecision

router = APIRouter(include_in_schema=False)

SIGN_IN_FORM_REFUSED = (
    "This sign-in form expired or did not come from this console: sign in again below."
)
FORM_REFUSED = (
    "This form did not come from your console session (it expired, or another site sent "
    "it): reload the page and try again."
)


def _sign_in_page(request: Request, status: int = 200, error: str = "") -> Response:
    """The sign-in form with a fresh CSRF token, and its nonce in the page's cookie."""
    sessions = console_of(request).sessions
    nonce, csrf = sessions.sign_in_form(request)
    page = render("sign_in.html", status, viewer=None, error=error, csrf=csrf)
    sessions.set_sign_in_cookie(request, page, nonce)
    return page


@router.get("/sign-in", response_class=HTMLResponse)
async def sign_in_page(request: Request) -> Response:
    return _sign_in_page(request)


@router.post("/sign-in", response_class=HTMLResponse)
async def sign_in(
    request: Request,
    token: Annotated[str, Form()] = "",
    csrf: Annotated[str, Form()] = "",
) -> Response:
    console = console_of(request)
    if not same_origin(request) or not console.sessions.sign_in_form_ok(request, csrf):
        return _sign_in_page(request, 403, SIGN_IN_FORM_REFUSED)
    try:
        identity = console.sessions.sign_in(request, token.strip())
    except SignInRefused as refused:
        page = _sign_in_page(request, refused.status, str(refused))
        if refused.retry_after is not None:
            page.headers["Retry-After"] = str(refused.retry_after)
        return page
    response = RedirectResponse("/console/", status_code=303)
    console.sessions.set_cookie(request, response, console.sessions.cookie_value(identity))
    return response


@router.post("/sign-out")
async def sign_out(
    request: Request,
    who: Annotated[Viewer, Depends(viewer)],
    csrf: Annotated[str, Form()] = "",
) -> Response:
    console = console_of(request)
    if not form_ok(request, who, csrf):
        return render("error.html", 403, viewer=who, title="Not signed out", message=FORM_REFUSED)
    response = RedirectResponse("/console/sign-in", status_code=303)
    console.sessions.end(who, response)
    return response


@router.post("/runs/{workflow_id}/decide")
async def decide(
    workflow_id: str,
    request: Request,
    who: Annotated[Viewer, Depends(viewer)],
    csrf: Annotated[str, Form()] = "",
    decision: Annotated[str, Form()] = "",
    comment: Annotated[str, Form()] = "",
    step: Annotated[str, Form()] = "",
    back: Annotated[str, Form()] = "inbox",
) -> Response:
    console = console_of(request)
    if not form_ok(request, who, csrf):
        return render("error.html", 403, viewer=who, title="Not decided", message=FORM_REFUSED)
    if not re.match(WORKFLOW_ID_PATTERN, workflow_id):
        return render(
            "error.html", 404, viewer=who, title="No such run", message="Not a workflow id."
        )
    # Only these two places: a form field must never redirect anywhere else.
    target = f"/console/runs/{quote(workflow_id, safe=':@=+')}" if back == "run" else "/console/"
    response = RedirectResponse(target, status_code=303)
    kind, text = await _outcome(request, workflow_id, who.identity, decision, comment, step)
    console.flash.set(request, response, kind, text)
    return response


async def _outcome(
    request: Request, workflow_id: str, identity: str, decision: str, comment: str, step: str
) -> tuple[Kind, str]:
    """("ok" | "refused" | "error", the text the page shows)."""
    if decision not in (APPROVE, REJECT):
        return "error", "Not taken: choose Approve or Reject."
    try:
        body = Decision(comment=comment.strip(), step=step.strip() or None)
    except ValidationError as invalid:
        problem = invalid.errors()[0]
        where = ".".join(str(part) for part in problem.get("loc", ()))
        return "error", f"Not taken: {where}: {problem.get('msg', 'invalid')}"
    kind: ApprovalDecision = APPROVE if decision == APPROVE else REJECT
    try:
        receipt = await take_decision(request, workflow_id, kind, identity, body)
    except ApiError as error:
        reasons = error.extra.get("reasons") or []
        if error.code == "policy_refused" and reasons:
            # Each reason is a sentence of the policy's: shown as written, one after another.
            return "refused", "Refused by policy: " + " ".join(str(r) for r in reasons)
        return "error", f"Not taken: {error.message}"
    return "ok", accepted_text(receipt)


def accepted_text(receipt: Receipt) -> str:
    if receipt.decision == REJECT:
        return "Rejected: the run stops without doing the work."
    text = f"Approved: {receipt.approvals} of {receipt.quorum} approvals"
    if receipt.approvals >= receipt.quorum:
        text += "; the quorum is met, policy is asked again and the work runs."
    return text
