package orchestrator.approval_test

import data.orchestrator.approval

decide(requester, approver, decision) := {
	"requester": {"id": requester, "roles": []},
	"task": {"description": "deploy api to production"},
	"approval": {"approver": approver, "decision": decision, "comment": "ok"},
}

test_approver_who_did_not_request_may_decide if {
	count(approval.deny) == 0 with input as decide("alice", "bob", "approve")
	count(approval.deny) == 0 with input as decide("alice", "carol", "reject")
	approval.notes == {"bob holds role(s) approver, engineer, which may approve, and is not the requester."} with input as decide("alice", "bob", "approve")
	approval.notes == {"carol holds role(s) approver, security, which may reject, and is not the requester."} with input as decide("alice", "carol", "reject")
}

test_requester_cannot_decide_on_their_own_request if {
	approval.deny == {"bob cannot approve their own request: separation of duties."} with input as decide("bob", "bob", "approve")
	approval.deny == {"bob cannot reject their own request: separation of duties."} with input as decide("bob", "bob", "reject")
	count(approval.notes) == 0 with input as decide("bob", "bob", "approve")
}

test_non_approver_is_refused if {
	approval.deny == {"dave holds role(s) viewer; deciding approvals needs one of: approver."} with input as decide("alice", "dave", "approve")
	approval.deny == {"erin holds role(s) operator; deciding approvals needs one of: approver."} with input as decide("alice", "erin", "reject")
}

test_asserted_approver_roles_are_ignored if {
	approval.deny == {"alice holds role(s) engineer; deciding approvals needs one of: approver."} with input as {
		"requester": {"id": "erin"},
		"approval": {"approver": "alice", "decision": "approve", "roles": ["approver"]},
	}
}

test_unknown_approver_is_refused if {
	approval.deny == {"Approver \"mallory\" is not in the directory."} with input as decide("alice", "mallory", "approve")
}

test_missing_approver_is_refused if {
	approval.deny == {"No approver was given: say who decides."} with input as decide("alice", "", "approve")
	approval.deny == {"No approver was given: say who decides."} with input as decide("alice", 7, "approve")
}

test_unknown_decision_is_refused if {
	approval.deny == {"Unknown decision \"maybe\": expected approve or reject."} with input as decide("alice", "bob", "maybe")
	approval.deny == {"Unknown decision null: expected approve or reject."} with input as {"requester": {"id": "alice"}, "approval": {"approver": "bob"}}
	approval.deny == {
		"bob cannot decide on their own request: separation of duties.",
		"Unknown decision \"APPROVE\": expected approve or reject.",
	} with input as decide("bob", "bob", "APPROVE")
}

test_missing_approval_is_refused if {
	approval.deny == {
		"No approver was given: say who decides.",
		"Unknown decision null: expected approve or reject.",
	} with input as {"requester": {"id": "alice"}}
	approval.deny == {
		"No approver was given: say who decides.",
		"Unknown decision null: expected approve or reject.",
	} with input as {"requester": {"id": "alice"}, "approval": "approve"}
}
