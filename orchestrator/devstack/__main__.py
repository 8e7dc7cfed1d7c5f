"""`python -m orchestrator.devstack up|down|status|logs|env|console`: what `make up` & co. run.

`up` and `status` also say which workers poll the task queue (orchestrator/devstack/
workers.py): `up` starts none, and without one nothing runs.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from orchestrator.devstack import process, workers
from orchestrator.devstack.services import Binaries, Ports, StackError, StackLayout
from orchestrator.devstack.stack import DEFAULT_DATA, LocalStack, default_stack
from orchestrator.policy.load_errors import last_load_error


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m orchestrator.devstack")
    parser.add_argument("command", choices=["up", "down", "status", "logs", "env", "console"])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="state folder")
    parser.add_argument("--lines", type=int, default=40, help="log lines per service (logs)")
    parser.add_argument(
        "--starting-worker",
        action="store_true",
        help="up: the caller starts a worker next (`make worker`), so say nothing of workers",
    )
    args = parser.parse_args(argv)
    try:
        if args.command == "env":
            # Addresses only: no binary needed to print them.
            unlocated = Binaries(Path(), Path(), Path())
            stack = LocalStack(Ports.from_env(), StackLayout(root=args.data), unlocated)
            for key, value in stack.client_env().items():
                print(f"export {key}={value}")
            return 0
        stack = default_stack(args.data)
        if args.command == "up":
            started = time.monotonic()
            for line in stack.up():
                print(line)
            print(f"stack healthy in {time.monotonic() - started:.1f}s; `make down` stops it.")
            if not args.starting_worker:
                # `up` starts no worker: say so, and how to start one, unless one polls.
                print(workers.describe(workers.polling(stack), None))
        elif args.command == "down":
            for line in stack.down():
                print(line)
        elif args.command == "console":
            for line in stack.restart_api():
                print(line)
            print(stack.console_hint())
        elif args.command == "status":
            return print_status(stack)
        else:
            print_logs(stack, args.lines)
    except StackError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    return 0


def print_status(stack: LocalStack) -> int:
    healthy = True
    for service in stack.status():
        if service.healthy:
            word = "healthy"
        elif service.running:
            word = "UNHEALTHY"
        else:
            word = "stopped"
        # OPA answers /health while it serves the policy it had before a refused edit.
        load_error = (
            last_load_error(process.log_file(stack.layout, "opa"))
            if service.name == "opa" and service.running
            else None
        )
        if load_error:
            word = "STALE"
        healthy &= service.healthy and not load_error
        pid = f"pid {service.pid}" if service.running else "-"
        print(f"{service.name:<9} {word:<10} {pid:<11} {service.url}")
        if load_error:
            print(f"{'':9} OPA refused the last edit and serves the policy it had: {load_error}")
    if healthy:
        # Every worker Temporal sees (`make worker`'s included), not only the pid file's.
        background = process.running_pid(stack.layout, "worker")
        print(workers.describe(workers.polling(stack), background))
    return 0 if healthy else 1


def print_logs(stack: LocalStack, lines: int) -> None:
    for spec in stack.services:
        path = process.log_file(stack.layout, spec.name)
        print(f"==> {path} <==")
        if path.exists():
            print("\n".join(path.read_text(errors="replace").splitlines()[-lines:]))


if __name__ == "__main__":
    sys.exit(main())
