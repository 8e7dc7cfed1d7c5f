"""`orchestrator api`'s uvicorn server in a background thread, on a free port."""

from __future__ import annotations

import argparse
import contextlib
import socket
import threading
import time
from collections.abc import Iterator

from orchestrator.api import ApiConfig
from orchestrator.cli.api import build_server
from orchestrator.config import Settings


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@contextlib.contextmanager
def running_api(settings: Settings, config: ApiConfig) -> Iterator[str]:
    """The base URL of a real uvicorn serving the app (its own loop and Temporal client)."""
    port = free_port()
    server = build_server(argparse.Namespace(host="127.0.0.1", port=port), settings, config)
    thread = threading.Thread(target=server.run, name=f"uvicorn-{port}", daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError(f"uvicorn did not start on port {port}")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=15)
