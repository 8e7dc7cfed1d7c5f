"""The governed workflow: policy gate, policy-governed approval, agent task, cleanup."""
