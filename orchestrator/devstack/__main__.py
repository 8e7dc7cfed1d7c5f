"""`python -m orchestrator.devstack up|down|status|logs|env|console`: what `make up` & co. run.

`--stack cluster` does the same for the cluster stack (orchestrator/devstack/cluster:
Temporal's four services on PostgreSQL), which `make cluster-up` & co. run.

`up` and `status` also say which workers poll the task queue (orchestrator/devstack/
workers.py): `up` starts none, and without one nothing runs.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from orchestrator.devstack import process, workers
from orchestrator.devstack.cluster import ClusterPorts, ClusterStack, default_cluster
from orchestrator.devstack.cluster.binaries import ClusterBinaries
from orchestrator.devstack.cluster.stack import CLUSTER_DATA
from orchestrator.devstack.services import Binaries, Ports, StackError, StackLayout
from orchestrator.devstack.stack import DEFAULT_DATA, LocalStack, default_stack
from orchestrator.policy.load_errors import last_load_error


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m orchestrator.devstack")
    parser.add_argument("command", choices=["up", "down", "status", "logs", "env", "console"])
    parser.add_argument(
        "--stack",
        choices=["dev", "cluster"],
        default="dev",
        help="dev: Temporal's dev server (make up); cluster: its four services on PostgreSQL",
    )
    parser.add_argument("--data", type=Path, help="state folder (.data/ or .data/cluster/)")
    parser.add_argument("--lines", type=int, default=40, help="log lines per service (logs)")
    parser.add_argument(
        "--starting-worker",
        action="store_true",
        help="up: the caller starts a worker next (`make worker`), so say nothing of workers",
    )
    args = parser.parse_args(argv)
    try:
        if args.command == "env":
            for key, value in addresses_only(args.stack, args.data).client_env().items():
                print(f"export {key}={value}")
            return 0
        stack = (
            default_cluster(args.data or CLUSTER_DATA)
            if args.stack == "cluster"
            else default_stack(args.data or DEFAULT_DATA)
        )
        if args.command == "up":
            started = time.monotonic()
            for line in stack.up():
                print(line)
            down = "make cluster-down" if args.stack == "cluster" else "make down"
            print(f"stack healthy in {time.monotonic() - started:.1f}s; `{down}` stops it.")
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


def addresses_only(kind: str, data: Path | None) -> LocalStack:
    """A stack that can only say its addresses: no binary needed to print them."""
    if kind == "cluster":
        layout = StackLayout(root=data or CLUSTER_DATA)
        return ClusterStack(ClusterPorts.from_env(), layout, ClusterBinaries.unlocated())
    unlocated = Binaries(Path(), Path(), Path())
    return LocalStack(Ports.from_env(), StackLayout(root=data or DEFAULT_DATA), unlocated)


def print_status(stack: LocalStack) -> int:
    healthy = True
    services = stack.status()
    width = max(9, *(len(service.name) + 1 for service in services))
    for service in services:
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
        print(f"{service.name:<{width}} {word:<10} {pid:<11} {service.url}")
        if load_error:
            print(
                f"{'':{width}} OPA refused the last edit and serves the policy it had: {load_error}"
            )
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
