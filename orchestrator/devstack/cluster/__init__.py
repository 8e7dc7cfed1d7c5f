"""The cluster stack: Temporal as four services on PostgreSQL, beside the dev stack.

`make cluster-up` runs what a production Temporal deployment runs, on this host: the
server binary built from `go.temporal.io/server` (tools/servers/build-temporal.sh) started
once per service (frontend, history, matching, worker), each with its own ports and log,
on a PostgreSQL data directory of its own, with the schemas migrated by the server's own
SQL tool. The configuration is the server image's template (config/docker.yaml of the
same module) filled from the environment, and the schema and namespace steps are the
scripts compose.yaml runs (deploy/temporal/), so Docker users get what runs here.

The orchestrator's processes need nothing of their own for it: the worker, CLI, API and
console read TEMPORAL_ADDRESS & co. as they do for the dev stack (`env` prints them).
"""

from orchestrator.devstack.cluster.ports import ClusterPorts
from orchestrator.devstack.cluster.stack import ClusterStack, default_cluster

__all__ = ["ClusterPorts", "ClusterStack", "default_cluster"]
