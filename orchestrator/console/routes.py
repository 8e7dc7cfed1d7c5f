"""The console's routes under /console, none of them in the API's OpenAPI document."""

from __future__ import annotations

from fastapi import APIRouter

from orchestrator.console import actions, admin, pages

router = APIRouter(prefix="/console", include_in_schema=False)
router.include_router(pages.router)
router.include_router(actions.router)
router.include_router(admin.router)
