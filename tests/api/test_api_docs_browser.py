"""/docs renders in a real headless Chromium that can reach no host but 127.0.0.1: what an
offline user (or a firewalled one) sees, rather than a blank page waiting on a CDN."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from selenium.webdriver.chrome.webdriver import WebDriver
from selenium.webdriver.common.by import By

from orchestrator.api import ApiConfig
from tests.api.conftest import OFFLINE, api_env
from tests.api.server import running_api
from tests.console.browser.conftest import headless_chromium

pytestmark = pytest.mark.integration


@pytest.fixture
def offline_chromium(tmp_path_factory: pytest.TempPathFactory) -> Iterator[WebDriver]:
    driver = headless_chromium(
        # Every name but the loopback address fails to resolve: no CDN can answer.
        ("--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",),
        tmp_path_factory.mktemp("chromedriver-docs") / "chromedriver.log",
    )
    try:
        yield driver
    finally:
        driver.quit()


def wait_for(driver: WebDriver, css: str, seconds: float = 30.0) -> list[str]:
    """The texts of the elements matching `css`, once there are any."""
    deadline = time.monotonic() + seconds
    while True:
        texts = [element.text for element in driver.find_elements(By.CSS_SELECTOR, css)]
        if texts:
            return texts
        if time.monotonic() > deadline:
            raise AssertionError(f"nothing matched {css!r}; page:\n{driver.page_source[:2000]}")
        time.sleep(0.1)


def test_swagger_ui_renders_every_operation_offline(offline_chromium: WebDriver) -> None:
    with running_api(OFFLINE, ApiConfig.from_env(api_env())) as base_url:
        offline_chromium.get(f"{base_url}/docs")
        [title] = wait_for(offline_chromium, ".swagger-ui .info .title")
        paths = wait_for(offline_chromium, ".opblock-summary-path")
    assert title.startswith("policy-orchestrator API")
    assert {"/v1/workflows", "/v1/workflows/{workflow_id}", "/v1/approvals/pending"} <= {
        path.replace("\u200b", "") for path in paths
    }
    # Swagger UI's own error box, e.g. Swagger UI 4 facing an OpenAPI 3.1 document.
    assert not offline_chromium.find_elements(By.CSS_SELECTOR, ".swagger-ui .errors-wrapper")


def test_redoc_renders_offline(offline_chromium: WebDriver) -> None:
    with running_api(OFFLINE, ApiConfig.from_env(api_env())) as base_url:
        offline_chromium.get(f"{base_url}/redoc")
        headings = wait_for(offline_chromium, "h1")
    assert any(heading.startswith("policy-orchestrator API") for heading in headings)
