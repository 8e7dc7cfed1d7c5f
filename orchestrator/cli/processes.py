"""Long-running processes in the foreground: `orchestrator worker` and `codec-server`."""

from __future__ import annotations

import argparse
import contextlib

from orchestrator import worker as worker_process
from orchestrator.cli.dispatch import local
from orchestrator.cli.parsing import tcp_port
from orchestrator.codec.codec import CodecError, EncryptionCodec, KeyRing
from orchestrator.codec.server import make_server
from orchestrator.config import Settings
from telemetry.logs import setup_logging
from telemetry.tracing import setup_tracing


def add_commands(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    worker = subparsers.add_parser(
        "worker", help="run a worker (workflows + activities) in the foreground"
    )
    worker.add_argument(
        "--audit-only",
        action="store_true",
        help="serve only scheduled audit checkpoints (needs ORCH_AUDIT_SIGNING_KEY_FILE), so "
        "the signing key stays off the workers that run policy and agent work",
    )
    worker.set_defaults(handler=local(run_worker))

    codec = subparsers.add_parser("codec-server", help="decrypt payloads for the Temporal Web UI")
    codec.add_argument("--host", default="127.0.0.1")
    codec.add_argument("--port", type=tcp_port, default=8089)
    codec.set_defaults(handler=local(codec_server))


def run_worker(args: argparse.Namespace, settings: Settings) -> int:
    setup_logging("orchestrator-worker", settings.log_level)
    tracing = setup_tracing("orchestrator-worker")
    try:
        worker_process.main(settings, audit_only=args.audit_only)
    finally:
        tracing.shutdown()
    return 0


def codec_server(args: argparse.Namespace, settings: Settings) -> int:
    if settings.temporal.encryption_keys_file is None:
        raise CodecError("set ORCH_ENCRYPTION_KEYS_FILE: the codec server needs the keys.")
    codec = EncryptionCodec(KeyRing.load(settings.temporal.encryption_keys_file))
    server = make_server(
        codec, list(settings.codec_tokens), args.host, args.port, settings.temporal.ui_url
    )
    print(f"codec server on http://{args.host}:{args.port} (POST /decode, /encode)")
    with contextlib.suppress(KeyboardInterrupt):
        server.serve_forever()
    return 0
