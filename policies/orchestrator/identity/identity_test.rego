package orchestrator.identity_test

import data.orchestrator.identity

# A requester whose start credential the worker verified, signed with their own key.
signed(id) := {"requester": {"id": id, "roles": [], "authenticated": true, "issuer": id}}

how_to_sign := "start work with `orchestrator start` or the API, which sign it"

no_start_role(id, held) := sprintf("%s holds %s; starting work needs one of: engineer, operator, service.", [id, held])

unauthenticated(why) := sprintf("The requester is not authenticated (%s): %s.", [why, how_to_sign])

test_known_person_with_a_start_role_may_start if {
	identity.may_start("alice")
	count(identity.requester_problems) == 0 with input as signed("alice")
	identity.requester_notes == {"alice holds role(s) engineer, which may start work."} with input as signed("alice")
}

test_every_start_role_may_start if {
	identity.may_start("erin") # operator
	identity.may_start("scheduler") # service
	identity.requester_notes == {"bob holds role(s) approver, engineer, which may start work."} with input as signed("bob")
}

test_missing_requester_is_a_problem if {
	missing := "No requester was given: every request must name who asks."
	identity.requester_problems == {missing, unauthenticated("no credential")} with input as {}
	blank := {"requester": {"id": "", "authenticated": true, "issuer": "alice"}}
	identity.requester_problems == {missing} with input as blank
	identity.requester_problems == {missing} with input as {"requester": {"id": 7, "authenticated": true, "issuer": "bob"}}
	identity.requester_problems == {missing, unauthenticated("no credential")} with input as {"requester": "alice"}
	identity.requester_problems == {missing, unauthenticated("no credential")} with input as "garbage"
}

test_unknown_requester_is_a_problem if {
	identity.requester_problems == {"Requester \"mallory\" is not in the directory."} with input as signed("mallory")
}

test_requester_without_start_role_is_a_problem if {
	identity.requester_problems == {no_start_role("dave", "role(s) viewer")} with input as signed("dave")
	identity.requester_problems == {no_start_role("carol", "role(s) approver, security")} with input as signed("carol")
}

test_asserted_roles_are_ignored if {
	dave := {"requester": {"id": "dave", "roles": ["engineer", "approver"], "authenticated": true, "issuer": "dave"}}
	identity.requester_problems == {no_start_role("dave", "role(s) viewer")} with input as dave
	mallory := {"requester": {"id": "mallory", "roles": ["engineer"], "authenticated": true, "issuer": "mallory"}}
	identity.requester_problems == {"Requester \"mallory\" is not in the directory."} with input as mallory
}

test_person_without_roles_holds_no_role if {
	people := {"nobody": {"roles": []}}
	identity.held("nobody") == "no role" with data.orchestrator.directory.people as people
	identity.requester_problems == {no_start_role("nobody", "no role")} with input as signed("nobody")
		with data.orchestrator.directory.people as people
}

test_production_roles if {
	identity.may_touch_production("erin")
	not identity.may_touch_production("alice")
	not identity.may_start("mallory")
}

test_an_unauthenticated_requester_is_a_problem_with_the_verifier_reason if {
	claimed := {"requester": {"id": "alice", "roles": []}}
	identity.requester_problems == {unauthenticated("no credential")} with input as claimed
	error := "the signature does not match"
	refused := {"requester": {"id": "alice", "authenticated": false, "authentication_error": error}}
	identity.requester_problems == {unauthenticated("the signature does not match")} with input as refused

	# Only the boolean true proves anything.
	truthy := {"requester": {"id": "alice", "authenticated": "true", "issuer": "alice"}}
	identity.requester_problems == {unauthenticated("no credential")} with input as truthy
}

test_the_api_may_start_work_on_behalf_of_its_callers if {
	by_api := {"requester": {"id": "alice", "authenticated": true, "issuer": "api"}}
	count(identity.requester_problems) == 0 with input as by_api
	identity.requester_notes == {
		"alice holds role(s) engineer, which may start work.",
		"api started it on behalf of alice.",
	} with input as by_api
	identity.on_behalf == {"api started it on behalf of alice."} with input as by_api
	count(identity.on_behalf) == 0 with input as signed("alice")
}

test_nobody_else_starts_work_on_behalf_of_others if {
	by_bob := {"requester": {"id": "alice", "authenticated": true, "issuer": "bob"}}
	identity.requester_problems == {"bob may not start work on behalf of alice."} with input as by_bob

	# Policy decides who may: a data change lets a new service sign for others.
	count(identity.requester_problems) == 0 with input as by_bob
		with data.orchestrator.settings.identity.may_start_on_behalf as ["api", "bob"]
}

test_a_proven_requester_without_an_issuer_is_refused if {
	no_issuer := sprintf("The requester's start credential names no issuer: %s.", [how_to_sign])
	identity.requester_problems == {no_issuer} with input as {"requester": {"id": "alice", "authenticated": true}}
	blank := {"requester": {"id": "alice", "authenticated": true, "issuer": ""}}
	identity.requester_problems == {no_issuer} with input as blank
}
