"""The console's Jinja2 environment: templates from templates/, HTML always escaped."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader

FOLDER = Path(__file__).parent / "templates"


def when(value: Any) -> str:
    """An ISO time as `2026-12-02 01:54 UTC`; anything else as given."""
    if not value:
        return "-"
    try:
        moment = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return str(value)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def listed(values: Any) -> str:
    items = [str(value) for value in values or []]
    return ", ".join(items) if items else "-"


environment = Environment(
    loader=FileSystemLoader(FOLDER),
    autoescape=True,
    trim_blocks=True,
    lstrip_blocks=True,
)
environment.filters["when"] = when
environment.filters["listed"] = listed


def render(name: str, status_code: int = 200, **context: Any) -> HTMLResponse:
    context.setdefault("flash", None)
    html = environment.get_template(name).render(**context)
    return HTMLResponse(html, status_code=status_code, headers=SECURITY_HEADERS)


# Pages use only the project's own files: nothing else may load, nothing may frame them.
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; frame-ancestors 'none'; form-action 'self'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}
