"""Declarative workflows: definitions (YAML/JSON) of blocks that the DeclarativeWorkflow runs.

Reading: parse.py (text and files -> documents) · build.py (documents -> typed blocks) ·
model.py (typed blocks, workflow I/O) · expressions.py (references, conditions).
Checking: validate.py (all problems, with paths: JSON, size, then the two below) ·
schema_checks.py (schema.json, the JSON Schema of the format) · semantics.py (names,
arguments, references, limits) · problem.py (a problem and its path text).
Activities: signature.py (typed signatures, argument checks) · catalog.py (the registry
and its decorator) · catalogs/ (builtin.py, demo.py, demo_records.py; the installed
catalog) · activities.py (the validation activity).
Running: workflow.py (the workflow, its updates and query) · interpreter.py (blocks,
continue-as-new) · step_policy.py (policy decisions and approvals of steps) · state.py
(the run state).
The format is described in examples/definitions/README.md.
"""
