"""The cluster stack's ports: the dev stack's (clients use the same addresses) and each
Temporal service's own gRPC, membership and metrics ports, plus PostgreSQL's."""

from __future__ import annotations

import random
import socket
from dataclasses import dataclass, fields
from typing import Self

from orchestrator.devstack.services import Ports

# The Temporal services in start order: history owns the shards the others route to, and
# the worker service (Temporal's own system workflows) needs a frontend to poll.
TEMPORAL_SERVICES = ("history", "matching", "frontend", "worker")
# Where free() looks: above the well-known ports, below Linux's ephemeral range.
LOW_PORTS = (20000, 32767)


@dataclass(frozen=True)
class ClusterPorts(Ports):
    """`temporal` and `temporal_http` are the frontend's, so clients connect as they do
    to the dev server; every port is overridable with `ORCH_<NAME>_PORT` (Ports.from_env)."""

    history: int = 7234
    matching: int = 7235
    temporal_worker: int = 7239
    frontend_membership: int = 6933
    history_membership: int = 6934
    matching_membership: int = 6935
    worker_membership: int = 6939
    frontend_metrics: int = 9091
    history_metrics: int = 9092
    matching_metrics: int = 9093
    worker_service_metrics: int = 9094
    # Not 5432: a PostgreSQL of the host's own may listen there.
    postgres: int = 15432

    @classmethod
    def free(cls) -> Self:
        """Free ports below 32768: Temporal's membership table keeps a service's port as a
        smallint, so the kernel's ephemeral range (where port 0 binds) is out of reach;
        and outgoing connections, which take ephemeral ports, can never steal these."""
        sockets: list[socket.socket] = []
        picked: list[int] = []
        try:
            for port in random.sample(range(LOW_PORTS[0], LOW_PORTS[1]), 400):
                if len(picked) == len(fields(cls)):
                    break
                s = socket.socket()
                try:
                    s.bind(("127.0.0.1", port))
                except OSError:
                    s.close()
                    continue
                sockets.append(s)
                picked.append(port)
            return cls(*picked)
        finally:
            for s in sockets:
                s.close()

    def grpc(self, service: str) -> int:
        return {
            "frontend": self.temporal,
            "history": self.history,
            "matching": self.matching,
            "worker": self.temporal_worker,
        }[service]

    def membership(self, service: str) -> int:
        port: int = getattr(self, f"{service}_membership")
        return port

    def metrics(self, service: str) -> int:
        port: int = getattr(
            self, "worker_service_metrics" if service == "worker" else f"{service}_metrics"
        )
        return port
