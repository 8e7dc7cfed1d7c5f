"""The API's documentation pages, `/docs` (Swagger UI) and `/redoc`, from local files only.

FastAPI's own pages load their JavaScript, CSS, favicon (and ReDoc's fonts) from public
CDNs, so offline, or behind a firewall, they render blank. The PyPI package fastapi-offline
ships those same files (a recent Swagger UI 5, which reads the OpenAPI 3.1 document FastAPI
writes, and ReDoc): they install with the API's other dependencies and are served here
under ASSETS, from this process. Nothing on these pages asks any other host for anything.
"""

from __future__ import annotations

from importlib.util import find_spec
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

# Where the pages' assets are served from (outside /v1: no token needed to read the docs).
ASSETS = "/docs-assets"
DOCS = "/docs"
REDOC = "/redoc"


def asset_folder() -> Path:
    """The folder of Swagger UI's and ReDoc's files that fastapi-offline installs."""
    spec = find_spec("fastapi_offline")
    if spec is None or spec.origin is None:
        raise RuntimeError(
            "the Python package fastapi-offline is not installed (it ships the API docs' "
            "Swagger UI and ReDoc files); run `make setup`."
        )
    return Path(spec.origin).parent / "static"


def install(app: FastAPI) -> None:
    """Serve /docs and /redoc on `app`, which must be created with docs_url=None and
    redoc_url=None (FastAPI's own, CDN-loading pages)."""
    app.mount(ASSETS, StaticFiles(directory=asset_folder()), name="docs-assets")
    openapi_url = app.openapi_url or "/openapi.json"

    @app.get(DOCS, include_in_schema=False)
    async def swagger_ui(request: Request) -> HTMLResponse:
        root = request.scope.get("root_path", "")
        return get_swagger_ui_html(
            openapi_url=f"{root}{openapi_url}",
            title=f"{app.title}: Swagger UI",
            swagger_js_url=f"{root}{ASSETS}/swagger-ui-bundle.js",
            swagger_css_url=f"{root}{ASSETS}/swagger-ui.css",
            swagger_favicon_url=f"{root}{ASSETS}/favicon.png",
            # Swagger UI would otherwise ask validator.swagger.io to judge the document.
            swagger_ui_parameters={"validatorUrl": None},
        )

    @app.get(REDOC, include_in_schema=False)
    async def redoc(request: Request) -> HTMLResponse:
        root = request.scope.get("root_path", "")
        return get_redoc_html(
            openapi_url=f"{root}{openapi_url}",
            title=f"{app.title}: ReDoc",
            redoc_js_url=f"{root}{ASSETS}/redoc.standalone.js",
            redoc_favicon_url=f"{root}{ASSETS}/favicon.png",
            # Google Fonts are a CDN too; the system fonts read as well.
            with_google_fonts=False,
        )
