"""/docs and /redoc render without the internet: every asset comes from the API itself."""

from __future__ import annotations

import re

import httpx
import pytest

# What a page loads: <script src>, <link href>, and Swagger UI's document `url: '...'`.
LOADED = re.compile(r"""(?:src|href)="([^"]+)"|url: '([^']+)'""")
KINDS = {".js": "javascript", ".css": "text/css", ".png": "image/png", ".json": "json"}


@pytest.mark.parametrize("page", ["/docs", "/redoc"])
async def test_docs_pages_load_only_local_assets_that_answer(
    offline: httpx.AsyncClient, page: str
) -> None:
    answer = await offline.get(page)
    assert answer.status_code == 200, answer.text
    html = answer.text
    urls = {a or b for a, b in LOADED.findall(html)}
    assert urls, html
    # No host of any kind: no CDN, and no font or validator service either.
    assert not [url for url in urls if not url.startswith("/") or url.startswith("//")], urls
    assert "http://" not in html and "https://" not in html
    assert "validatorUrl" in html or page == "/redoc"
    for url in sorted(urls):
        asset = await offline.get(url)
        assert asset.status_code == 200, (url, asset.status_code)
        suffix = url[url.rfind(".") :]
        assert KINDS[suffix] in asset.headers["content-type"], (url, asset.headers)
        assert len(asset.content) > 1000, url


async def test_swagger_ui_is_version_5_which_reads_openapi_3_1(
    offline: httpx.AsyncClient,
) -> None:
    """Swagger UI 4 shows "Unable to render this definition" for FastAPI's OpenAPI 3.1."""
    assert (await offline.get("/openapi.json")).json()["openapi"].startswith("3.1")
    bundle = (await offline.get("/docs-assets/swagger-ui-bundle.js")).text
    assert re.search(r'"5\.\d+\.\d+"', bundle), "no Swagger UI 5 version string in the bundle"


async def test_docs_need_no_token_and_stay_out_of_the_openapi_document(
    offline: httpx.AsyncClient,
) -> None:
    paths = (await offline.get("/openapi.json")).json()["paths"]
    assert not [path for path in paths if path.startswith(("/docs", "/redoc"))]
