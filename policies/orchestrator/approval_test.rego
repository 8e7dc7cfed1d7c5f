package orchestrator.approval_test

import data.orchestrator.approval

decide(approver, decision) := {
	"requester": {"id": "alice"},
	"approval": {"approver": approver, "decision": decision},
}

test_approver_who_did_not_request_may_decide if {
	count(approval.deny) == 0 with input as decide("bob", "approve")
	count(approval.deny) == 0 with input as decide("carol", "reject")
	approval.notes == {"bob holds an approver role and did not request this work."} with input as decide("bob", "approve")
}

test_requester_cannot_approve_their_own_request if {
	"bob cannot decide on their own request: separation of duties." in approval.deny with input as {
		"requester": {"id": "bob"},
		"approval": {"approver": "bob", "decision": "approve"},
	}
}

test_non_approver_is_refused if {
	approval.deny == {"dave holds role(s) viewer; deciding approvals needs one of: approver."} with input as decide("dave", "approve")
}

test_unknown_approver_is_refused if {
	approval.deny == {"Approver \"mallory\" is not in the directory."} with input as decide("mallory", "approve")
}

test_missing_approver_is_refused if {
	approval.deny == {"No approver was given: say who decides."} with input as decide("", "approve")
}

test_unknown_decision_is_refused if {
	approval.deny == {"Unknown decision \"maybe\": expected approve or reject."} with input as decide("bob", "maybe")
	approval.deny == {"Unknown decision null: expected approve or reject."} with input as {"requester": {"id": "alice"}, "approval": {"approver": "bob"}}
}
