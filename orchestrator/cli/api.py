"""`orchestrator api [--host 127.0.0.1] [--port 8080]`: serve the HTTP API with uvicorn.

FastAPI and uvicorn are imported when the API runs, not by every CLI command.
"""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from orchestrator.cli.dispatch import local
from orchestrator.cli.parsing import tcp_port
from orchestrator.config import ConfigError, Settings
from telemetry.logs import setup_logging
from telemetry.tracing import setup_tracing

if TYPE_CHECKING:
    import uvicorn

    from orchestrator.api import ApiConfig


def add_commands(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add `api` to the CLI's parser."""
    api = subparsers.add_parser(
        "api",
        help="serve the HTTP API (start, approve, events, status) with uvicorn",
        description="Tokens come from ORCH_API_TOKENS (token:identity,...) and/or the YAML "
        "file in ORCH_API_CONFIG, which also maps events to tasks (deploy/api.example.yaml).",
    )
    api.add_argument("--host", default="127.0.0.1", help="interface (default 127.0.0.1)")
    api.add_argument("--port", type=tcp_port, default=8080, help="port (default 8080)")
    api.set_defaults(handler=local(serve))


def build_server(args: argparse.Namespace, settings: Settings, config: ApiConfig) -> uvicorn.Server:
    """The uvicorn server for the app; `serve` runs it, tests run it in a thread."""
    import uvicorn

    from orchestrator.api import create_app

    if not config.tokens:
        raise ConfigError(
            "no API tokens: set ORCH_API_TOKENS=token:identity,... or list tokens in the "
            "ORCH_API_CONFIG file; the API never serves without authentication."
        )
    return uvicorn.Server(
        uvicorn.Config(
            create_app(settings, config),
            host=args.host,
            port=args.port,
            # The process's JSON logging (setup_logging) formats uvicorn's records too.
            log_config=None,
            server_header=False,
            proxy_headers=False,
            timeout_graceful_shutdown=10,
        )
    )


def serve(args: argparse.Namespace, settings: Settings) -> int:
    """Run the API in the foreground until Ctrl-C or SIGTERM; spans are flushed at exit."""
    from orchestrator.api import ApiConfig

    setup_logging("orchestrator-api", settings.log_level)
    tracing = setup_tracing("orchestrator-api")
    try:
        server = build_server(args, settings, ApiConfig.from_env())
        print(f"API on http://{args.host}:{args.port} (docs at /docs, schema at /openapi.json)")
        server.run()
    finally:
        tracing.shutdown()
    return 0
