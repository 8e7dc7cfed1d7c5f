"""A real headless Chromium on a real `orchestrator api` serving the console, a real worker
process, and the session's Temporal, OPA and Jaeger.

Chromium and ChromeDriver are Debian's packages (tools/browser/install.sh). Both paths
are handed to Selenium, so Selenium Manager never looks for, or downloads, a browser or
a driver; when either is missing the tests fail with the install command, never skip.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import uuid
from collections.abc import AsyncIterator, Generator, Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.chrome.webdriver import WebDriver
from temporalio.client import Client

from orchestrator.config import Settings
from orchestrator.devstack import LocalStack
from tests.api.conftest import api_env
from tests.api.server import free_port
from tests.console.browser.pages import HEIGHT, WIDTH, Console
from tests.console.browser.runs import Requests
from tests.console.browser.servers import Background, answers, background, logged
from tests.support import REPO, cli_env

INSTALL = "run `tools/browser/install.sh` as root (apt-get install -y chromium chromium-driver)"


def browser_paths() -> tuple[str, str]:
    chromium, chromedriver = shutil.which("chromium"), shutil.which("chromedriver")
    if chromium is None or chromedriver is None:
        missing = " and ".join(
            name
            for name, path in (("chromium", chromium), ("chromedriver", chromedriver))
            if not path
        )
        pytest.fail(f"{missing} not found on PATH: {INSTALL}.", pytrace=False)
    return chromium, chromedriver


@pytest.fixture(scope="session")
def artifacts() -> Path:
    """Screenshots go to $ORCH_TEST_ARTIFACTS/console, else test-results/console/."""
    root = Path(os.environ.get("ORCH_TEST_ARTIFACTS") or REPO / "test-results")
    folder = root / "console"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def headless_chromium(arguments: tuple[str, ...], log: Path) -> WebDriver:
    """Debian's Chromium, headless, driven by its chromedriver; fails saying how to fix it."""
    chromium, chromedriver = browser_paths()
    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for argument in (
        "--headless=new",
        "--no-sandbox",  # tests run as root, where Chromium's sandbox cannot start
        "--disable-dev-shm-usage",
        "--disable-background-networking",
        "--no-first-run",
        *arguments,
    ):
        options.add_argument(argument)
    service = Service(executable_path=chromedriver, log_output=str(log))
    try:
        return webdriver.Chrome(service=service, options=options)
    except Exception as error:  # say which binary and how to fix it
        pytest.fail(
            f"headless Chromium ({chromium}) did not start with {chromedriver}: {error}\n"
            f"If the two versions differ, reinstall both: {INSTALL}.",
            pytrace=False,
        )


@pytest.fixture(scope="session")
def chrome(tmp_path_factory: pytest.TempPathFactory) -> Iterator[WebDriver]:
    """One headless Chromium for the session; each test starts it with no cookies."""
    driver = headless_chromium(
        (
            f"--window-size={WIDTH},{HEIGHT}",
            # Only the console's own address is ever visited: no background traffic.
            "--disable-component-update",
            "--disable-sync",
            "--no-default-browser-check",
        ),
        tmp_path_factory.mktemp("chromedriver") / "chromedriver.log",
    )
    try:
        yield driver
    finally:
        driver.quit()


@pytest.fixture(scope="module")
def console_settings(base_settings: Settings) -> Settings:
    """The module's own task queue: its worker process takes only its runs."""
    temporal = replace(base_settings.temporal, task_queue=f"console-{uuid.uuid4().hex[:10]}")
    return replace(base_settings, temporal=temporal)


@pytest.fixture(scope="module")
async def console_worker(
    stack: LocalStack, console_settings: Settings, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Background]:
    """`orchestrator worker` in its own process, exporting its spans to the stack's Jaeger."""
    folder = tmp_path_factory.mktemp("console-worker")
    env = {
        **cli_env(stack, console_settings),
        "ORCH_METRICS_PORT": str(free_port()),
        "ORCH_AGENT_OUTBOX": str(folder / "outbox"),
    }
    async with background(
        "worker", ["worker"], env, folder, lambda worker: logged(worker, "worker polling")
    ) as worker:
        yield worker


@pytest.fixture(scope="module")
async def console_url(
    stack: LocalStack,
    console_settings: Settings,
    console_worker: Background,
    tmp_path_factory: pytest.TempPathFactory,
) -> AsyncIterator[str]:
    """`orchestrator api --port P` (API and console in one process), tokens for the
    directory's people; its base URL once /readyz answers."""
    folder = tmp_path_factory.mktemp("console-api")
    port = free_port()
    env = {**cli_env(stack, console_settings), **api_env()}
    base_url = f"http://127.0.0.1:{port}"
    async with background(
        "api",
        ["api", "--port", str(port)],
        env,
        folder,
        lambda _: answers(f"{base_url}/readyz"),
    ):
        yield base_url


@pytest.fixture
def console(
    chrome: WebDriver, console_url: str, artifacts: Path, request: pytest.FixtureRequest
) -> Iterator[Console]:
    """The browser, signed out (no cookies), at desktop width, on the console's server.

    A failing test leaves its last page behind as a screenshot and HTML, named after it.
    """
    chrome.execute_cdp_cmd("Network.clearBrowserCookies", {})
    chrome.set_window_size(WIDTH, HEIGHT)
    page = Console(chrome, console_url, artifacts)
    yield page
    report = getattr(request.node, "report_call", None)
    if report is not None and report.failed:
        name = f"failed-{request.node.name}"
        with contextlib.suppress(Exception):
            page.screenshot(name)
            (artifacts / f"{name}.html").write_text(chrome.page_source)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """Keep the call's report on the test, so `console` knows at teardown if it failed."""
    report = yield
    if report.when == "call":
        item.report_call = report  # type: ignore[attr-defined]
    return report


@pytest.fixture
async def runs(
    client: Client, console_settings: Settings, console_url: str
) -> AsyncIterator[Requests]:
    """Start runs on the console's queue; any still open are terminated afterwards."""
    started = Requests(client, console_settings)
    yield started
    await started.close()
