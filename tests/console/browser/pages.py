"""What a person does in the console, in a real browser: open, sign in, read, decide.

Every wait is a WebDriverWait on a condition (an element, a URL, a text), never a sleep;
where a person would press reload (the runs list catches up with Temporal's visibility
store a moment after a run changes), `reload_until` does so once per poll.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar
from urllib.parse import urlsplit

from selenium.common.exceptions import (
    NoSuchElementException,
    StaleElementReferenceException,
    WebDriverException,
)
from selenium.webdriver.chrome.webdriver import WebDriver as Chrome
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.remote.webelement import WebElement
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.wait import WebDriverWait

from tests.api.conftest import TOKENS

# Policy, Temporal updates and Jaeger's export delay are all real: waits are generous.
TIMEOUT = 60.0
# The desktop window, and a phone's (an iPhone 12-15's CSS pixels).
WIDTH, HEIGHT = 1280, 900
PHONE_WIDTH, PHONE_HEIGHT = 390, 844
Found = TypeVar("Found")
MAX_SHOT_HEIGHT = 12_000


@dataclass
class Console:
    driver: Chrome
    base_url: str
    artifacts: Path
    timeout: float = TIMEOUT

    # --- where we are ---------------------------------------------------------------

    def url(self, path: str) -> str:
        return f"{self.base_url}{path}"

    @property
    def path(self) -> str:
        return urlsplit(self.driver.current_url).path

    def open(self, path: str) -> None:
        self.driver.get(self.url(path))

    def text(self) -> str:
        return str(self.driver.find_element(By.TAG_NAME, "body").text)

    def until(
        self,
        condition: Callable[[WebDriver], Found],
        what: str,
        timeout: float | None = None,
        ignoring: tuple[type[Exception], ...] = (),
    ) -> Found:
        """Wait for `condition`; on timeout say what never happened and what the page said."""
        try:
            return WebDriverWait(
                self.driver,
                timeout or self.timeout,
                poll_frequency=0.25,
                ignored_exceptions=(
                    NoSuchElementException,
                    StaleElementReferenceException,
                    *ignoring,
                ),
            ).until(condition)
        except Exception as error:
            raise AssertionError(
                f"{what} never happened ({type(error).__name__}); at {self.driver.current_url}, "
                f"the page said:\n{self._page_text()}"
            ) from None

    def _page_text(self) -> str:
        try:
            return self.text()
        except Exception:  # only for the failure message
            return "(no page)"

    def element(self, css: str, timeout: float | None = None) -> WebElement:
        return self.until(EC.presence_of_element_located((By.CSS_SELECTOR, css)), css, timeout)

    def reload_until(self, css: str, timeout: float | None = None) -> WebElement:
        """Reload until `css` is on the page, as a person reloads a list that lags."""

        def reloaded(driver: WebDriver) -> WebElement | bool:
            found = driver.find_elements(By.CSS_SELECTOR, css)
            if found:
                return found[0]
            driver.refresh()
            return False

        found = self.until(reloaded, f"{css} after reloading", timeout)
        assert isinstance(found, WebElement)
        return found

    def click_to_leave(self, control: WebElement, what: str) -> None:
        """Click `control` and wait until the next page has loaded.

        The old page is marked; the new one has a fresh window without the mark. While the
        browser navigates, the driver may answer with a WebDriverException of its own (the
        old document went away mid-call): that is only "not yet".
        """
        self.driver.execute_script("window.consoleTestOldPage = true")
        control.click()
        self.until(
            lambda driver: driver.execute_script(
                "return document.readyState === 'complete' && !window.consoleTestOldPage"
            ),
            what,
            ignoring=(WebDriverException,),
        )

    def at(self, path: str, timeout: float | None = None) -> None:
        self.until(lambda driver: self.path == path, f"arriving at {path}", timeout)

    # --- signing in and out ---------------------------------------------------------

    def sign_in(self, who: str) -> None:
        """Type `who`'s API token into the sign-in form and press "Sign in"."""
        self.open("/console/sign-in")
        form = self.element("form#sign-in")
        token = form.find_element(By.ID, "token")
        assert token.get_attribute("type") == "password"
        label = form.find_element(By.CSS_SELECTOR, 'label[for="token"]')
        assert label.text.strip() == "API token", label.text
        token.clear()
        token.send_keys(TOKENS[who])
        self.click_to_leave(button(form, "Sign in"), "the page after signing in")
        self.at("/console/")

    def sign_out(self) -> None:
        form = self.element("form#sign-out")
        submit = form.find_element(By.CSS_SELECTOR, "button, input[type=submit]")
        self.click_to_leave(submit, "the page after signing out")
        self.element("form#sign-in")

    # --- deciding ---------------------------------------------------------------------

    def approval(self, workflow_id: str, step: str = "") -> WebElement:
        """The inbox's entry for this approval (reloading until it is listed)."""
        return self.reload_until(
            f'article.approval[data-workflow-id="{workflow_id}"][data-step="{step}"]'
        )

    def decide(self, form: WebElement, decision: str, comment: str) -> str:
        """Type the comment into `form`, press Approve or Reject, return the result shown."""
        textarea = form.find_element(By.CSS_SELECTOR, "textarea[name=comment]")
        textarea.clear()
        textarea.send_keys(comment)
        pressed = form.find_element(By.CSS_SELECTOR, f'button[name="decision"][value="{decision}"]')
        self.click_to_leave(pressed, f"the page after pressing {decision}")
        return str(self.element('p.result[role="status"]').text)

    # --- pictures ---------------------------------------------------------------------

    def screenshot(self, name: str) -> Path:
        """The whole page as NAME.png in the artifacts folder.

        The window is made as tall as the page for the picture, then put back: Chrome's
        own beyond-the-viewport capture lays the page out again without the scrollbar but
        keeps the narrower picture, cutting off its right edge.
        """
        size = self.driver.get_window_size()
        inner, page = self.driver.execute_script(
            "return [window.innerHeight, document.documentElement.scrollHeight]"
        )
        try:
            self.driver.set_window_size(
                size["width"], min(MAX_SHOT_HEIGHT, page + size["height"] - inner)
            )
            path = self.artifacts / f"{name}.png"
            path.write_bytes(self.driver.get_screenshot_as_png())
        finally:
            self.driver.set_window_size(size["width"], size["height"])
        return path


def button(root: WebElement, label: str) -> WebElement:
    """The submit control in `root` whose visible text (or value) is `label`."""
    for candidate in root.find_elements(By.CSS_SELECTOR, "button, input[type=submit]"):
        text = candidate.text or candidate.get_attribute("value") or ""
        if text.strip() == label:
            return candidate
    raise AssertionError(f"no {label!r} button in {root.get_attribute('outerHTML')}")
