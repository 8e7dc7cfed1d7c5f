"""Declarative workflows: definitions (YAML/JSON) of blocks that the DeclarativeWorkflow runs.

model.py (typed blocks, workflow I/O) · loader.py (files -> documents -> blocks) ·
schema.json (JSON Schema of the format) · validate.py (all problems, with paths) ·
expressions.py (references, conditions) · catalog.py (typed activity registry) ·
demo_catalog.py (the old demo's activities) · interpreter.py / workflow.py (running).
The format is described in examples/definitions/README.md.
"""
