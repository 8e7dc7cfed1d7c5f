# METADATA
# title: The enforcing decision and the candidate's, in one request
# description: |
#   POST /v1/data/orchestrator/paired/decision answers with what
#   /v1/data/orchestrator/main/decision answers and, under `shadow`, the candidate's
#   decision (data.shadow.main.decision) when the candidate defines one: one round trip
#   and one evaluation, instead of a second request that shares OPA's CPU. The worker
#   reads the enforcing fields as it reads main's. A candidate that fails to evaluate
#   fails this request; the worker then asks main alone, so a candidate can never
#   change, delay for long or block an outcome.
package orchestrator.paired

import data.orchestrator.main
import data.shadow.main as candidate

# METADATA
# title: Paired decision
# description: main.decision, with the candidate's decision under `shadow` when there is one.
# entrypoint: true
decision := object.union(main.decision, {"shadow": candidate.decision}) if {
	is_object(candidate.decision)
} else := main.decision
