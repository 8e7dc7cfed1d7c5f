package orchestrator.approval_test

import data.orchestrator.approval

decide(requester, approver, decision) := {
	"requester": {"id": requester, "roles": []},
	"task": {"description": "deploy api to production"},
	"approval": {"approver": approver, "decision": decision, "comment": "ok", "authenticated": true},
}

# decide("alice", "bob", "approve"), its approval changed by `extra`.
with_approval(extra) := object.union(decide("alice", "bob", "approve"), {"approval": extra})

unauthenticated(why) := sprintf(
	"The approval is not authenticated (%s): decide with `orchestrator approve` or the API, which sign it.",
	[why],
)

own_request(verb) := sprintf("bob cannot %s their own request: separation of duties.", [verb])

needs_role(id, held, roles) := sprintf("%s holds %s; deciding this approval needs one of: %s.", [id, held, roles])

test_approver_who_did_not_request_may_decide if {
	by_bob := decide("alice", "bob", "approve")
	by_carol := decide("alice", "carol", "reject")
	count(approval.deny) == 0 with input as by_bob
	count(approval.deny) == 0 with input as by_carol
	approval.notes == {"bob holds role(s) approver, engineer, which may approve, and is not the requester."}
		with input as by_bob
	approval.notes == {"carol holds role(s) approver, security, which may reject, and is not the requester."}
		with input as by_carol
}

test_requester_cannot_decide_on_their_own_request if {
	approval.deny == {own_request("approve")} with input as decide("bob", "bob", "approve")
	approval.deny == {own_request("reject")} with input as decide("bob", "bob", "reject")
	count(approval.notes) == 0 with input as decide("bob", "bob", "approve")
}

test_non_approver_is_refused if {
	approval.deny == {needs_role("dave", "role(s) viewer", "approver")} with input as decide("alice", "dave", "approve")
	approval.deny == {needs_role("erin", "role(s) operator", "approver")} with input as decide("alice", "erin", "reject")
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
	unknown_null := "Unknown decision null: expected approve or reject."
	maybe := decide("alice", "bob", "maybe")
	approval.deny == {"Unknown decision \"maybe\": expected approve or reject."} with input as maybe
	no_decision := {"requester": {"id": "alice"}, "approval": {"approver": "bob", "authenticated": true}}
	approval.deny == {unknown_null} with input as no_decision
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

test_unauthenticated_approval_is_refused_with_the_verifier_reason if {
	refused := {"authenticated": false, "authentication_error": "signature does not match"}
	approval.deny == {unauthenticated("no credential")} with input as with_approval({"authenticated": false})
	approval.deny == {unauthenticated("signature does not match")} with input as with_approval(refused)
	approval.deny == {unauthenticated("no credential")} with input as with_approval({"authenticated": "yes"})
}

test_quorum_counts_distinct_approvers if {
	again := with_approval({"approved_by": ["bob"]})
	approval.deny == {"bob already approved: this approval needs distinct approvers."} with input as again
	count(approval.deny) == 0 with input as with_approval({"approved_by": ["carol"]})
}

test_a_prior_approver_may_still_reject if {
	reject := object.union(decide("alice", "bob", "reject"), {"approval": {"approved_by": ["bob"]}})
	count(approval.deny) == 0 with input as reject
}

test_required_roles_replace_the_directory_default if {
	security := {"approval": {"required_roles": ["security"]}}
	by_bob := with_approval(security.approval)
	approval.deny == {needs_role("bob", "role(s) approver, engineer", "security")} with input as by_bob
	count(approval.deny) == 0 with input as object.union(decide("alice", "carol", "approve"), security)
}

test_widened_roles_let_an_operator_approve if {
	widened := object.union(decide("alice", "erin", "approve"), {"approval": {"required_roles": ["approver", "operator"]}})
	count(approval.deny) == 0 with input as widened
	approval.notes == {"erin holds role(s) operator, which may approve, and is not the requester."} with input as widened
}

test_requester_may_approve_only_when_the_requirement_waives_separation if {
	own := decide("bob", "bob", "approve")
	count(approval.deny) == 0 with input as object.union(own, {"approval": {"exclude_requester": false}})
	approval.deny == {own_request("approve")} with input as object.union(own, {"approval": {"exclude_requester": true}})
}
