package orchestrator.paired_test

import data.orchestrator.main
import data.orchestrator.paired

asked := {
	"action": "workflow.start",
	"workflow": {"type": "GovernedWorkflow", "id": "w", "run_id": "r"},
	"requester": {"id": "alice", "authenticated": true, "issuer": "dev"},
	"task": {"description": "Summarise the report", "parameters": {}},
}

test_the_enforcing_decision_with_the_candidates_beside_it if {
	decided := paired.decision with input as asked
	enforcing := main.decision with input as asked
	object.remove(decided, {"shadow"}) == enforcing
	decided.shadow.allow == enforcing.allow
	startswith(decided.shadow.policy_version, enforcing.policy_version)
}

test_without_a_candidate_only_the_enforcing_decision if {
	decided := paired.decision with input as asked with data.shadow.main.decision as "none"
	decided == main.decision with input as asked
	not "shadow" in object.keys(decided)
}
