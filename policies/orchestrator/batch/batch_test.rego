package orchestrator.batch_test

import data.orchestrator.batch
import data.orchestrator.main

approver := {
	"action": "approval.decide",
	"workflow": {"type": "GovernedWorkflow", "id": "wf-1", "run_id": "run-1"},
	"requester": {"id": "alice", "roles": []},
	"task": {"description": "deploy api to production", "parameters": {"environment": "production"}},
	"approval": {"approver": "bob", "decision": "approve", "authenticated": true},
}

self_approval := json.patch(approver, [{"op": "replace", "path": "/approval/approver", "value": "alice"}])

# The allow and reasons main.decision gives the input alone.
alone(each) := {"allow": decision.allow, "reasons": decision.reasons} if {
	decision := main.decision with input as each
}

test_each_input_gets_the_verdict_of_its_decision_alone if {
	inputs := [approver, self_approval, {"action": "nonsense"}]
	verdicts := batch.verdicts with input as {"inputs": inputs}
	count(verdicts) == 3
	verdicts[0] == alone(approver)
	verdicts[1] == alone(self_approval)
	verdicts[2] == alone({"action": "nonsense"})
	verdicts[0].allow
	not verdicts[1].allow
}

test_no_inputs_no_verdicts if {
	batch.verdicts == [] with input as {}
	batch.verdicts == [] with input as {"inputs": "not a list"}
}
