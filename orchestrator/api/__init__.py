"""The HTTP API (ASGI, FastAPI): `orchestrator api` serves it with uvicorn."""

from orchestrator.api.app import create_app
from orchestrator.api.config import ApiConfig

__all__ = ["ApiConfig", "create_app"]
