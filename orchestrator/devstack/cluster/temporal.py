"""Temporal's four services as separate processes of one server binary.

Each runs `temporal-server --config-file docker.yaml start --service NAME`: the template
the temporalio/server image renders (config/docker.yaml of the pinned module), filled from
the same environment variables compose.yaml sets, with this stack's ports. Every process
renders the whole cluster's map (all four services' ports) and serves only its own part;
the services find each other through the membership table in PostgreSQL.
"""

from __future__ import annotations

from orchestrator.devstack.cluster.binaries import ClusterBinaries
from orchestrator.devstack.cluster.ports import TEMPORAL_SERVICES, ClusterPorts
from orchestrator.devstack.cluster.postgres import ROLE
from orchestrator.devstack.services import REPO_ROOT, ServiceSpec

# Compose's Temporal reads the same dynamic config (Updates on, search attributes at once).
DYNAMIC_CONFIG = REPO_ROOT / "deploy" / "temporal" / "dynamicconfig" / "docker.yaml"
# Fixed when the cluster's database is created: history shards cannot change afterwards.
HISTORY_SHARDS = 4
# What each service's gRPC health service reports SERVING for (service/*/handler.go).
HEALTH_NAMES = {
    "frontend": "temporal.api.workflowservice.v1.WorkflowService",
    "history": "temporal.api.workflowservice.v1.HistoryService",
    "matching": "temporal.api.workflowservice.v1.MatchingService",
    "worker": "temporal.api.workflowservice.v1.WorkerService",
}


def database_env(ports: ClusterPorts, password: str) -> dict[str, str]:
    """compose.yaml's x-temporal-db, pointed at this stack's PostgreSQL. The template reads
    the persistence port from DB_PORT but visibility's from POSTGRES_PORT (default 5432,
    which is why compose needs neither): both are set."""
    return {
        "DB": "postgres12",
        "DB_PORT": str(ports.postgres),
        "POSTGRES_PORT": str(ports.postgres),
        "POSTGRES_SEEDS": "127.0.0.1",
        "POSTGRES_USER": ROLE,
        "POSTGRES_PWD": password,
    }


def cluster_env(ports: ClusterPorts, password: str) -> dict[str, str]:
    """What every service process renders the template with."""
    env = {
        **database_env(ports, password),
        "BIND_ON_IP": "127.0.0.1",
        "TEMPORAL_BROADCAST_ADDRESS": "127.0.0.1",
        "NUM_HISTORY_SHARDS": str(HISTORY_SHARDS),
        "DYNAMIC_CONFIG_FILE_PATH": str(DYNAMIC_CONFIG),
        "LOG_LEVEL": "warn",
        "FRONTEND_HTTP_PORT": str(ports.temporal_http),
    }
    for service in TEMPORAL_SERVICES:
        upper = service.upper()
        env[f"{upper}_GRPC_PORT"] = str(ports.grpc(service))
        env[f"{upper}_MEMBERSHIP_PORT"] = str(ports.membership(service))
    return env


def temporal_services(
    ports: ClusterPorts, binaries: ClusterBinaries, password: str
) -> list[ServiceSpec]:
    shared = cluster_env(ports, password)
    specs = []
    for service in TEMPORAL_SERVICES:
        grpc_port = ports.grpc(service)
        own_ports = [grpc_port, ports.membership(service), ports.metrics(service)]
        if service == "frontend":
            own_ports.append(ports.temporal_http)
        specs.append(
            ServiceSpec(
                name=f"temporal-{service}",
                argv=[
                    str(binaries.temporal_server),
                    "--config-file",
                    str(binaries.server_config),
                    "--allow-no-auth",
                    "start",
                    "--service",
                    service,
                ],
                env={
                    **shared,
                    # Each process its own metrics endpoint (one per service, as deployed).
                    "PROMETHEUS_ENDPOINT": f"127.0.0.1:{ports.metrics(service)}",
                },
                health_url=f"grpc-health://127.0.0.1:{grpc_port}/{HEALTH_NAMES[service]}",
                url=(
                    f"127.0.0.1:{grpc_port} (gRPC; HTTP API on {ports.temporal_http})"
                    if service == "frontend"
                    else f"127.0.0.1:{grpc_port} (gRPC, internal)"
                ),
                ports=tuple(own_ports),
                start_timeout=90.0,
            )
        )
    return specs
