# METADATA
# title: Many verdicts in one request
# description: |
#   POST /v1/data/orchestrator/batch/verdicts with {"input": {"inputs": [...]}}
#   answers with one verdict per input, in order: the allow and reasons that
#   /v1/data/orchestrator/main/decision gives that input alone (main.verdict). The
#   console asks in one request whether the viewer may decide each approval on a page
#   of 50 (read-only: nothing is decided by asking); a workflow always asks alone.
package orchestrator.batch

import data.orchestrator.main

# METADATA
# title: Verdicts
# description: main.verdict for each of input.inputs; empty when there are none.
# entrypoint: true
verdicts := [verdict |
	some each in _inputs
	verdict := main.verdict with input as each
]

_inputs := input.inputs if is_array(input.inputs)

default _inputs := []
