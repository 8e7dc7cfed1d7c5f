"""The policy gate: what is sent to OPA, what comes back, and how workflows ask."""
