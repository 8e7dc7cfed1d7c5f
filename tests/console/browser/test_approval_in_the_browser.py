"""Approving in the console as people do it: in a real browser, typing and clicking.

Alice asks to deploy to production (dual control: two approvers, never herself); Bob
and Carol each sign in with their API token, read the request in their inbox and
approve it with a comment; the run completes. Policy refuses Alice on her own request,
in the policy's words; a page without a session sends the browser to sign in; a forged
CSRF token decides nothing; the run page shows the trace down to OPA's own span.
"""

from __future__ import annotations

import asyncio

import pytest
from selenium.webdriver.common.by import By

from tests.console.browser.pages import PHONE_HEIGHT, PHONE_WIDTH, Console
from tests.console.browser.runs import Requests
from tests.support import status_of, wait_for_stage

pytestmark = pytest.mark.integration

DEPLOY = "Deploy the billing service to production"
PRODUCTION = {"environment": "production"}
REPORT = "Generate the weekly usage report"  # low risk: policy lets it run unapproved
STAGE_SECONDS = 60.0
RUN_SECONDS = 120.0

# The markup of the decide form, fixed by the console's contract.
DECIDE_FORM = "form.decide"
OWN_REQUEST = "own request"  # approval.rego's separation-of-duties denial says so


async def test_bob_and_carol_approve_alices_production_deploy(
    console: Console, runs: Requests
) -> None:
    handle = await runs.start(DEPLOY, "alice", parameters=PRODUCTION)
    waiting = await wait_for_stage(handle, "awaiting_approval", STAGE_SECONDS)
    assert waiting.reasons, "policy gives reasons for asking an approval"

    console.sign_in("bob")
    entry = console.approval(handle.id)
    assert "0 of 2 approvals" in entry.text, entry.text
    assert "alice" in entry.text
    shown = [li.text for li in entry.find_elements(By.CSS_SELECTOR, "ul.reasons li")]
    for reason in waiting.reasons:
        assert any(reason in line for line in shown), (reason, shown)
    console.screenshot("inbox")

    result = console.decide(
        entry.find_element(By.CSS_SELECTOR, DECIDE_FORM), "approve", "Rollout plan reviewed"
    )
    assert result.startswith("Approved"), result
    assert "1 of 2" in result, result
    assert "1 of 2 approvals" in console.approval(handle.id).text
    console.sign_out()

    console.sign_in("carol")
    entry = console.approval(handle.id)
    assert "1 of 2 approvals" in entry.text, entry.text
    result = console.decide(
        entry.find_element(By.CSS_SELECTOR, DECIDE_FORM), "approve", "Security review done"
    )
    assert result.startswith("Approved"), result
    assert "2 of 2" in result, result

    async with asyncio.timeout(RUN_SECONDS):
        outcome = await handle.result()
    assert outcome.outcome == "completed"
    attempts = (await status_of(handle)).approval_attempts
    assert [(a.approver, a.accepted, a.comment) for a in attempts] == [
        ("bob", True, "Rollout plan reviewed"),
        ("carol", True, "Security review done"),
    ]

    # The run page, reached from the runs list as a person would.
    console.click_to_leave(console.driver.find_element(By.LINK_TEXT, "Runs"), "the runs list")
    run_link = console.reload_until(f'a[href$="/console/runs/{handle.id}"]')
    console.click_to_leave(run_link, "the run page")
    console.at(f"/console/runs/{handle.id}")
    page = console.text()
    for seen in ("completed", "bob", "carol", "Rollout plan reviewed", "Security review done"):
        assert seen in page, (seen, page)
    console.element("section#trace")
    console.screenshot("run")


async def test_alice_is_refused_by_policy_on_her_own_request(
    console: Console, runs: Requests
) -> None:
    """The inbox says why she may not decide, in the policy's words; and a decision
    she sends anyway (a form rebuilt in the browser's console) is refused by the
    workflow's own policy check, whose reasons the page shows."""
    handle = await runs.start(DEPLOY, "alice", parameters=PRODUCTION)
    await wait_for_stage(handle, "awaiting_approval", STAGE_SECONDS)

    console.sign_in("alice")
    entry = console.approval(handle.id)
    assert not entry.find_elements(By.CSS_SELECTOR, DECIDE_FORM), "alice may not decide"
    why = entry.find_element(By.CSS_SELECTOR, "p.may-not").text
    assert OWN_REQUEST in why, why

    csrf = console.driver.find_element(By.CSS_SELECTOR, "form#sign-out input[name=csrf]")
    console.driver.execute_script(
        """
        const [entry, csrf] = arguments;
        const form = document.createElement("form");
        form.className = "decide"; form.method = "post";
        form.action = `/console/runs/${entry.dataset.workflowId}/decide`;
        form.innerHTML = `<input type="hidden" name="csrf">
          <input type="hidden" name="step" value="">
          <textarea name="comment">It is my own change</textarea>
          <button name="decision" value="approve">Approve</button>`;
        form.querySelector("[name=csrf]").value = csrf.value;
        entry.append(form);
        """,
        entry,
        csrf,
    )
    form = entry.find_element(By.CSS_SELECTOR, DECIDE_FORM)
    result = console.decide(form, "approve", "It is my own change")
    console.screenshot("inbox-refused")

    attempts = (await status_of(handle)).approval_attempts
    assert [(a.approver, a.accepted) for a in attempts] == [("alice", False)]
    refused = attempts[0].reasons
    assert any(OWN_REQUEST in reason for reason in refused), refused
    assert result.startswith("Refused by policy:"), result
    for reason in refused:  # the policy's words, as the workflow's own check got them
        assert reason in result, (reason, result)

    # The run page keeps the refused attempt beside the accepted ones.
    console.open(f"/console/runs/{handle.id}")
    attempt = console.element("table.attempts tr.attempt.refused")
    assert "alice" in attempt.text, attempt.text


async def test_without_a_session_every_page_sends_the_browser_to_sign_in(
    console: Console, runs: Requests
) -> None:
    for path in ("/console/", "/console/runs", "/console/runs/no-such-run"):
        console.open(path)
        console.at("/console/sign-in")
        console.element("form#sign-in")
    console.open("/console/inbox.json")
    assert '"items"' not in console.text()

    console.sign_in("dave")
    assert "dave-token" not in console.driver.current_url
    cookie = console.driver.get_cookie("orch_console")
    assert cookie is not None
    assert (cookie["httpOnly"], cookie["sameSite"]) == (True, "Strict"), cookie
    assert "orch_console" not in console.driver.execute_script("return document.cookie")
    console.open("/console/inbox.json")
    assert '"items"' in console.text()

    console.open("/console/")
    console.sign_out()
    console.open("/console/")
    console.at("/console/sign-in")


async def test_a_forged_csrf_token_decides_nothing(console: Console, runs: Requests) -> None:
    handle = await runs.start(DEPLOY, "alice", parameters=PRODUCTION)
    await wait_for_stage(handle, "awaiting_approval", STAGE_SECONDS)

    console.sign_in("bob")
    entry = console.approval(handle.id)
    form = entry.find_element(By.CSS_SELECTOR, DECIDE_FORM)
    csrf = form.find_element(By.CSS_SELECTOR, "input[name=csrf]")
    assert csrf.get_attribute("type") == "hidden"
    console.driver.execute_script("arguments[0].value = 'forged-' + arguments[0].value", csrf)
    pressed = form.find_element(By.CSS_SELECTOR, 'button[name="decision"][value="approve"]')
    console.click_to_leave(pressed, "the page after pressing approve")
    console.until(lambda _: "did not come from your console session" in console.text(), "refusal")
    assert "Approved" not in console.text()

    status = await status_of(handle)
    assert status.approval_attempts == []
    assert status.pending_approval is not None and status.pending_approval.approved_by == []


async def test_the_open_inbox_says_when_a_new_approval_is_requested(
    console: Console, runs: Requests
) -> None:
    """No reload: the page's script asks inbox.json and shows a notice with a link."""
    console.sign_in("bob")
    notice = console.element("#new-approvals")
    assert not notice.is_displayed()

    handle = await runs.start(DEPLOY, "alice", parameters=PRODUCTION)
    await wait_for_stage(handle, "awaiting_approval", STAGE_SECONDS)
    console.until(lambda _: notice.is_displayed(), "the new-approval notice")
    assert "A new approval was requested" in notice.text, notice.text
    console.click_to_leave(notice.find_element(By.LINK_TEXT, "reload"), "the reloaded inbox")
    console.approval(handle.id)


async def test_the_run_page_shows_opas_span_under_the_workers_http_call(
    console: Console, runs: Requests
) -> None:
    handle = await runs.start(REPORT, "alice")
    async with asyncio.timeout(RUN_SECONDS):
        assert (await handle.result()).outcome == "completed"

    console.sign_in("dave")
    console.open(f"/console/runs/{handle.id}")
    # Spans reach Jaeger in batches a few seconds after they end: reload until OPA's are in.
    opa = console.reload_until(
        'section#trace li.span[data-service="orchestrator-worker"][data-name*="POST"]'
        ' > ul > li.span[data-service="opa"]',
        timeout=90,
    )
    http = opa.find_element(By.XPATH, "ancestor::li[contains(@class, 'span')][1]")
    activity = http.find_element(By.XPATH, "ancestor::li[contains(@class, 'span')][1]")
    assert activity.get_attribute("data-name") == "RunActivity:policy.decide"

    details = opa.find_element(By.CSS_SELECTOR, ":scope > details")
    assert details.get_attribute("open") is None
    details.find_element(By.TAG_NAME, "summary").click()
    console.until(lambda _: details.get_attribute("open") is not None, "the attributes opening")
    assert details.text.strip(), "OPA's span shows its attributes"
    console.screenshot("run-trace")


async def test_the_inbox_and_a_run_page_read_at_phone_width(
    console: Console, runs: Requests
) -> None:
    handle = await runs.start(DEPLOY, "alice", parameters=PRODUCTION)
    await wait_for_stage(handle, "awaiting_approval", STAGE_SECONDS)

    console.sign_in("bob")
    console.driver.set_window_size(PHONE_WIDTH, PHONE_HEIGHT)
    console.approval(handle.id)
    console.screenshot("inbox-phone")
    assert sticking_out(console) == [], "the inbox fits 390 px"

    console.open(f"/console/runs/{handle.id}")
    console.element(DECIDE_FORM)
    console.screenshot("run-phone")
    assert sticking_out(console) == [], "the run page fits 390 px"
    sideways = console.driver.execute_script(
        "return [...document.querySelectorAll('.scroll')]"
        ".filter(e => e.scrollWidth > e.clientWidth + 1).length"
    )
    assert sideways == 0, "each table row is a card at 390 px: nothing scrolls sideways"


async def test_every_control_has_an_accessible_label(console: Console, runs: Requests) -> None:
    handle = await runs.start(DEPLOY, "alice", parameters=PRODUCTION)
    await wait_for_stage(handle, "awaiting_approval", STAGE_SECONDS)

    console.sign_in("bob")
    console.approval(handle.id)
    assert unlabelled(console) == []
    console.open(f"/console/runs/{handle.id}")
    console.element(DECIDE_FORM)
    assert unlabelled(console) == []
    console.open("/console/runs")
    console.element("form#sign-out")
    assert unlabelled(console) == []


def sticking_out(console: Console) -> list[str]:
    """What reaches past the right edge of the window (its width less any scrollbar),
    other than what sits in a box that scrolls or clips it (a wide table in a scroller)."""
    found: list[str] = console.driver.execute_script(
        """
        const width = document.documentElement.clientWidth;
        const contained = (el) => {
          for (let box = el.parentElement; box && box !== document.body; box = box.parentElement) {
            if (getComputedStyle(box).overflowX !== "visible") return true;
          }
          return false;
        };
        const name = (el) => el.tagName.toLowerCase() + (el.id ? "#" + el.id : "") +
          (typeof el.className === "string" && el.className.trim()
            ? "." + el.className.trim().split(/\\s+/).join(".") : "");
        const out = [];
        if (document.documentElement.scrollWidth > width) {
          out.push(`the page scrolls sideways: ${document.documentElement.scrollWidth} > ${width}`);
        }
        for (const el of document.body.querySelectorAll("*")) {
          const box = el.getBoundingClientRect();
          if (box.width > 0 && box.right > width + 1 && !contained(el)) {
            out.push(`${name(el)} ends at ${Math.round(box.right)} px`);
          }
        }
        return out.slice(0, 15);
        """
    )
    return found


def unlabelled(console: Console) -> list[str]:
    """The visible controls that have no accessible name (label, aria, or text)."""
    found: list[str] = console.driver.execute_script(
        """
        const named = (el) => {
          if (el.getAttribute("aria-label") || el.getAttribute("aria-labelledby")) return true;
          if (el.tagName === "BUTTON") return el.textContent.trim() !== "";
          if (el.type === "submit" || el.type === "button") return (el.value || "").trim() !== "";
          if (el.closest("label")) return true;
          const label = el.id && document.querySelector(`label[for="${CSS.escape(el.id)}"]`);
          return Boolean(label && label.textContent.trim());
        };
        return [...document.querySelectorAll("input, textarea, select, button")]
          .filter((el) => el.type !== "hidden" && !named(el))
          .map((el) => el.outerHTML);
        """
    )
    return found
