"""The app's one Temporal client, connected on first use, and whether Temporal is ready."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from temporalio.client import Client
from temporalio.service import RPCError

from orchestrator.api.errors import ApiError, unavailable
from orchestrator.config import Settings
from orchestrator.connection import connect

CONNECT_TIMEOUT = 10.0
HEALTH_TIMEOUT = timedelta(seconds=2)


class Temporal:
    """One client for the app, connected on first use (the API starts even when Temporal
    is down; readiness says so)."""

    def __init__(self, settings: Settings, client: Client | None = None) -> None:
        self.settings = settings
        self._client = client
        self._lock = asyncio.Lock()

    async def client(self) -> Client:
        if self._client is not None:
            return self._client
        async with self._lock:
            if self._client is None:
                try:
                    self._client = await asyncio.wait_for(
                        connect(self.settings.temporal), CONNECT_TIMEOUT
                    )
                except (RuntimeError, OSError, TimeoutError):
                    raise unavailable(self.settings) from None
        return self._client

    async def ready(self) -> bool:
        try:
            client = await self.client()
            return await client.service_client.check_health(timeout=HEALTH_TIMEOUT)
        except (ApiError, RPCError, RuntimeError, TimeoutError):
            return False
