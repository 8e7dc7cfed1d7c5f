"""Signing in and out, the session cookie, and what answers without a session."""

from __future__ import annotations

import time

import httpx
from fastapi import FastAPI

from orchestrator.console.session import COOKIE
from tests.api.conftest import TOKENS
from tests.console.conftest import BASE_URL, Browser, csrf_of, sign_in


async def test_sign_in_page_has_the_form(browser: Browser) -> None:
    async with browser() as anonymous:
        page = await anonymous.get("/console/sign-in")
    assert page.status_code == 200
    assert '<form id="sign-in" method="post"' in page.text
    assert '<label for="token">API token</label>' in page.text
    assert '<input id="token" name="token" type="password"' in page.text
    assert "Sign in</button>" in page.text
    assert page.headers["content-security-policy"].startswith("default-src 'self'")


async def test_sign_in_with_a_token_sets_a_strict_cookie_and_opens_the_inbox(
    browser: Browser,
) -> None:
    async with browser() as http:
        signed = await sign_in(http, TOKENS["bob"])
        assert signed.status_code == 303
        assert signed.headers["location"] == "/console/"
        cookie = signed.headers["set-cookie"]
        assert cookie.startswith(f"{COOKIE}=")
        for part in ("HttpOnly", "Path=/console", "SameSite=strict", "Max-Age=28800"):
            assert part.lower() in cookie.lower(), cookie
        assert "secure" not in cookie.lower()  # plain http here; https below
        assert TOKENS["bob"] not in cookie and "bob-token" not in signed.headers["location"]
        inbox = await http.get("/console/")
        assert inbox.status_code == 200, inbox.text
        assert "Signed in as <strong>bob</strong>" in inbox.text
        assert '<form id="sign-out" method="post" action="/console/sign-out">' in inbox.text


async def test_cookie_is_secure_over_https(browser: Browser) -> None:
    async with browser(base_url="https://console.test") as http:
        signed = await sign_in(http, TOKENS["bob"])
    assert signed.status_code == 303
    assert "secure" in signed.headers["set-cookie"].lower()


async def test_a_wrong_token_is_refused_and_counts_against_the_address(
    browser: Browser, web: FastAPI
) -> None:
    async with browser() as http:
        refused = await sign_in(http, "not-a-token")
        assert refused.status_code == 401
        assert "That token is not valid" in refused.text
        assert COOKIE + "=" not in refused.headers.get("set-cookie", "")
        assert "not-a-token" not in refused.text
        # The API's limiter: its limit of wrong tokens, then even a right one is refused.
        for _ in range(web.state.auth_limiter.limit - 1):
            await sign_in(http, "still-wrong")
        limited = await sign_in(http, TOKENS["bob"])
        assert limited.status_code == 429
        assert int(limited.headers["retry-after"]) >= 1
        # ... and the API refuses the address too: one limiter for both.
        api = await http.get(
            "/v1/approvals/pending", headers={"Authorization": f"Bearer {TOKENS['bob']}"}
        )
        assert api.status_code == 429


async def test_without_a_session_pages_redirect_and_json_answers_401(browser: Browser) -> None:
    async with browser() as anonymous:
        for path in ("/console/", "/console/runs", "/console/runs/some-run"):
            page = await anonymous.get(path)
            assert page.status_code == 303, path
            assert page.headers["location"] == "/console/sign-in"
        polled = await anonymous.get("/console/inbox.json")
        assert polled.status_code == 401
        assert polled.json()["error"]["code"] == "unauthorized"
        posted = await anonymous.post("/console/runs/some-run/decide", data={"decision": "approve"})
        assert posted.status_code == 303 and posted.headers["location"] == "/console/sign-in"


async def test_tampered_and_foreign_cookies_are_refused(browser: Browser, web: FastAPI) -> None:
    value = web.state.console.sessions.cookie_value("bob")
    payload, _, signature = value.rpartition(".")
    # The first character: the last one of base64 may carry only padding bits, so
    # changing it can leave the signature's bytes as they were.
    flipped = ("A" if signature[0] != "A" else "B") + signature[1:]
    # Another identity pasted into a validly-shaped cookie, without the secret.
    other = web.state.console.sessions.cookie_value("carol").rpartition(".")[0]
    for forged in (f"{payload}.{flipped}", f"{other}.{signature}", "garbage", value[:-3]):
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=web), base_url=BASE_URL, cookies={COOKIE: forged}
        ) as http:
            page = await http.get("/console/")
            assert page.status_code == 303, forged
            assert (await http.get("/console/inbox.json")).status_code == 401


async def test_expired_session_is_refused_by_the_server(browser: Browser, web: FastAPI) -> None:
    sessions = web.state.console.sessions
    stale = sessions.cookie_value("bob", issued_at=time.time() - sessions.lifetime - 1)
    future = sessions.cookie_value("bob", issued_at=time.time() + 3600)
    fresh = sessions.cookie_value("bob", issued_at=time.time() - sessions.lifetime + 60)
    for value, status in ((stale, 401), (future, 401), (fresh, 200)):
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=web), base_url=BASE_URL, cookies={COOKIE: value}
        ) as http:
            assert (await http.get("/console/inbox.json")).status_code == status


async def test_sign_out_clears_the_cookie_and_ends_the_session(
    browser: Browser, web: FastAPI
) -> None:
    async with browser("bob") as bob:
        page = await bob.get("/console/")
        kept = bob.cookies[COOKIE]
        refused = await bob.post("/console/sign-out", data={"csrf": "forged"})
        assert refused.status_code == 403
        assert (await bob.get("/console/inbox.json")).status_code == 200
        out = await bob.post("/console/sign-out", data={"csrf": csrf_of(page.text)})
        assert out.status_code == 303 and out.headers["location"] == "/console/sign-in"
        assert (
            'orch_console=""' in out.headers["set-cookie"]
            or "Max-Age=0" in out.headers["set-cookie"]
        )
        assert (await bob.get("/console/")).status_code == 303
    # A copy of the cookie taken before signing out is refused too.
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=web), base_url=BASE_URL, cookies={COOKIE: kept}
    ) as copy:
        assert (await copy.get("/console/inbox.json")).status_code == 401


async def test_static_files_are_the_projects_own(browser: Browser) -> None:
    async with browser() as anonymous:
        css = await anonymous.get("/console/static/console.css")
        script = await anonymous.get("/console/static/console.js")
    assert css.status_code == 200 and "text/css" in css.headers["content-type"]
    assert script.status_code == 200 and "/console/inbox.json" in script.text
    # Nothing loads from elsewhere: no imports, no remote fonts or images.
    assert "@import" not in css.text and "url(" not in css.text
    assert "http://" not in script.text and "https://" not in script.text


async def test_the_console_is_not_in_the_api_document(web: FastAPI) -> None:
    paths = web.openapi()["paths"]
    assert paths and not [path for path in paths if path.startswith("/console")]


async def test_a_sign_in_form_not_from_our_sign_in_page_is_refused(browser: Browser) -> None:
    """Login CSRF: another site posting its own token into our form would sign the victim
    in as the attacker. The form's token is bound to the sign-in page's cookie."""
    async with browser() as http:
        bare = await http.post("/console/sign-in", data={"token": TOKENS["bob"]})
        page = await http.get("/console/sign-in")
        forged = await http.post(
            "/console/sign-in", data={"token": TOKENS["bob"], "csrf": "0" * 64}
        )
        csrf = csrf_of(page.text)
    async with browser() as other:  # a token copied from another browser's page
        copied = await other.post("/console/sign-in", data={"token": TOKENS["bob"], "csrf": csrf})
    for refused in (bare, forged, copied):
        assert refused.status_code == 403
        assert "sign-in form expired or did not come from this console" in refused.text
        assert COOKIE + "=" not in refused.headers.get("set-cookie", "")
