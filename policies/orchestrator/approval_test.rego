package orchestrator.approval_test

import data.orchestrator.approval

decide(requester, approver, decision) := {
	"requester": {"id": requester, "roles": []},
	"task": {"description": "deploy api to production"},
	"approval": {"approver": approver, "decision": decision, "comment": "ok", "authenticated": true},
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
	approval.deny == {"dave holds role(s) viewer; deciding this approval needs one of: approver."} with input as decide("alice", "dave", "approve")
	approval.deny == {"erin holds role(s) operator; deciding this approval needs one of: approver."} with input as decide("alice", "erin", "reject")
}

test_asserted_approver_roles_are_ignored if {
	approval.deny == {"alice holds role(s) engineer; deciding this approval needs one of: approver."} with input as {
		"requester": {"id": "erin"},
		"approval": {"approver": "alice", "decision": "approve", "roles": ["approver"], "authenticated": true},
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
	approval.deny == {"Unknown decision null: expected approve or reject."} with input as {"requester": {"id": "alice"}, "approval": {"approver": "bob", "authenticated": true}}
	approval.deny == {
		"bob cannot decide on their own request: separation of duties.",
		"Unknown decision \"APPROVE\": expected approve or reject.",
	} with input as decide("bob", "bob", "APPROVE")
}

test_missing_approval_is_refused if {
	approval.deny == {
		"No approver was given: say who decides.",
		unauthenticated("no credential"),
		"Unknown decision null: expected approve or reject.",
	} with input as {"requester": {"id": "alice"}}
	approval.deny == {
		"No approver was given: say who decides.",
		unauthenticated("no credential"),
		"Unknown decision null: expected approve or reject.",
	} with input as {"requester": {"id": "alice"}, "approval": "approve"}
}

unauthenticated(why) := sprintf("The approval is not authenticated (%s): decide with `orchestrator approve` or the API, which sign it.", [why])

with_approval(extra) := object.union(decide("alice", "bob", "approve"), {"approval": object.union(decide("alice", "bob", "approve").approval, extra)})

test_unauthenticated_approval_is_refused_with_the_verifier_reason if {
	approval.deny == {unauthenticated("no credential")} with input as with_approval({"authenticated": false})
	approval.deny == {unauthenticated("signature does not match")} with input as with_approval({"authenticated": false, "authentication_error": "signature does not match"})
	approval.deny == {unauthenticated("no credential")} with input as with_approval({"authenticated": "yes"})
}

test_quorum_counts_distinct_approvers if {
	approval.deny == {"bob already approved: this approval needs distinct approvers."} with input as with_approval({"approved_by": ["bob"]})
	count(approval.deny) == 0 with input as with_approval({"approved_by": ["carol"]})
}

test_a_prior_approver_may_still_reject if {
	count(approval.deny) == 0 with input as object.union(decide("alice", "bob", "reject"), {"approval": {"approved_by": ["bob"]}})
}

test_required_roles_replace_the_directory_default if {
	approval.deny == {"bob holds role(s) approver, engineer; deciding this approval needs one of: security."} with input as with_approval({"required_roles": ["security"]})
	count(approval.deny) == 0 with input as object.union(decide("alice", "carol", "approve"), {"approval": {"required_roles": ["security"]}})
}

test_widened_roles_let_an_operator_approve if {
	widened := object.union(decide("alice", "erin", "approve"), {"approval": {"required_roles": ["approver", "operator"]}})
	count(approval.deny) == 0 with input as widened
	approval.notes == {"erin holds role(s) operator, which may approve, and is not the requester."} with input as widened
}

test_requester_may_approve_only_when_the_requirement_waives_separation if {
	own := decide("bob", "bob", "approve")
	count(approval.deny) == 0 with input as object.union(own, {"approval": {"exclude_requester": false}})
	approval.deny == {"bob cannot approve their own request: separation of duties."} with input as object.union(own, {"approval": {"exclude_requester": true}})
}
