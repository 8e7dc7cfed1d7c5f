package orchestrator.identity_test

import data.orchestrator.identity

test_known_person_with_a_start_role_may_start if {
	identity.may_start("alice")
	count(identity.requester_problems) == 0 with input as {"requester": {"id": "alice"}}
	identity.requester_notes == {"alice holds role(s) engineer, which may start work."} with input as {"requester": {"id": "alice"}}
}

test_every_start_role_may_start if {
	identity.may_start("erin") # operator
	identity.may_start("scheduler") # service
	identity.requester_notes == {"bob holds role(s) approver, engineer, which may start work."} with input as {"requester": {"id": "bob"}}
}

test_missing_requester_is_a_problem if {
	missing := {"No requester was given: every request must name who asks."}
	identity.requester_problems == missing with input as {}
	identity.requester_problems == missing with input as {"requester": {"id": ""}}
	identity.requester_problems == missing with input as {"requester": {"id": 7}}
	identity.requester_problems == missing with input as {"requester": "alice"}
	identity.requester_problems == missing with input as "garbage"
}

test_unknown_requester_is_a_problem if {
	identity.requester_problems == {"Requester \"mallory\" is not in the directory."} with input as {"requester": {"id": "mallory"}}
}

test_requester_without_start_role_is_a_problem if {
	identity.requester_problems == {"dave holds role(s) viewer; starting work needs one of: engineer, operator, service."} with input as {"requester": {"id": "dave"}}
	identity.requester_problems == {"carol holds role(s) approver, security; starting work needs one of: engineer, operator, service."} with input as {"requester": {"id": "carol"}}
}

test_asserted_roles_are_ignored if {
	identity.requester_problems == {"dave holds role(s) viewer; starting work needs one of: engineer, operator, service."} with input as {"requester": {"id": "dave", "roles": ["engineer", "approver"]}}
	identity.requester_problems == {"Requester \"mallory\" is not in the directory."} with input as {"requester": {"id": "mallory", "roles": ["engineer"]}}
}

test_person_without_roles_holds_no_role if {
	people := {"nobody": {"roles": []}}
	identity.held("nobody") == "no role" with data.orchestrator.directory.people as people
	identity.requester_problems == {"nobody holds no role; starting work needs one of: engineer, operator, service."} with input as {"requester": {"id": "nobody"}}
		with data.orchestrator.directory.people as people
}

test_approver_and_production_roles if {
	identity.may_approve("bob")
	identity.may_approve("carol")
	not identity.may_approve("alice")
	identity.may_touch_production("erin")
	not identity.may_touch_production("alice")
	not identity.may_start("mallory")
}
