package shadow.main_test

import data.orchestrator.main
import data.shadow.main as shadow

payment(amount) := {
	"action": "workflow.start",
	"workflow": {"type": "GovernedWorkflow", "id": "wf-1", "run_id": "run-1"},
	"requester": {"id": "alice", "roles": [], "authenticated": true, "issuer": "alice"},
	"task": {"description": "pay the supplier invoice", "kind": "report", "parameters": {"amount": amount}},
}

test_candidate_requires_approval_between_the_two_thresholds if {
	enforcing := main.decision with input as payment(7000)
	candidate := shadow.decision with input as payment(7000)
	enforcing.require_approval == false
	candidate.require_approval == true
	candidate.risk == "high"
	"Approval required: the amount 7000 is above 5000." in candidate.reasons
}

test_candidate_agrees_outside_the_change if {
	for_small := shadow.decision with input as payment(100)
	for_small.require_approval == false
	for_large := shadow.decision with input as payment(20000)
	enforcing := main.decision with input as payment(20000)
	for_large.require_approval == enforcing.require_approval
	for_large.approval == enforcing.approval
}

test_candidate_names_itself_in_its_version if {
	candidate := shadow.decision with input as payment(100)
	enforcing := main.decision with input as payment(100)
	candidate.policy_version == sprintf("%s+amount-threshold-5000", [enforcing.policy_version])
}
