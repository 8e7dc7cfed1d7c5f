"""The local stack without Docker: Temporal dev server, OPA and Jaeger as background processes."""

from orchestrator.devstack.services import Binaries, Ports, StackError, StackLayout
from orchestrator.devstack.stack import LocalStack

__all__ = ["Binaries", "LocalStack", "Ports", "StackError", "StackLayout"]
