package orchestrator.identity_test

import data.orchestrator.identity

test_known_person_with_a_start_role_may_start if {
	identity.may_start("alice")
	count(identity.requester_problems) == 0 with input as {"requester": {"id": "alice"}}
	identity.requester_notes == {"alice holds role(s) engineer, which may start work."} with input as {"requester": {"id": "alice"}}
}

test_missing_requester_is_a_problem if {
	identity.requester_problems == {"No requester was given: every request must name who asks."} with input as {}
	identity.requester_problems == {"No requester was given: every request must name who asks."} with input as {"requester": {"id": ""}}
	identity.requester_problems == {"No requester was given: every request must name who asks."} with input as {"requester": {"id": 7}}
}

test_unknown_requester_is_a_problem if {
	identity.requester_problems == {"Requester \"mallory\" is not in the directory."} with input as {"requester": {"id": "mallory"}}
}

test_requester_without_start_role_is_a_problem if {
	identity.requester_problems == {"dave holds role(s) viewer; starting work needs one of: engineer, operator, service."} with input as {"requester": {"id": "dave"}}
}

test_asserted_roles_are_ignored if {
	identity.requester_problems == {"dave holds role(s) viewer; starting work needs one of: engineer, operator, service."} with input as {"requester": {"id": "dave", "roles": ["engineer", "approver"]}}
}

test_person_without_roles_holds_no_role if {
	identity.held("nobody") == "no role" with data.orchestrator.directory.people as {"nobody": {"roles": []}}
	identity.requester_problems == {"nobody holds no role; starting work needs one of: engineer, operator, service."} with input as {"requester": {"id": "nobody"}}
		with data.orchestrator.directory.people as {"nobody": {"roles": []}}
}

test_approver_and_production_roles if {
	identity.may_approve("bob")
	not identity.may_approve("alice")
	identity.may_touch_production("erin")
	not identity.may_touch_production("alice")
}
