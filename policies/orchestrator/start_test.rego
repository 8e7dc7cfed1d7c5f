package orchestrator.start_test

import data.orchestrator.start

task(requester, description) := {"requester": {"id": requester, "roles": []}, "task": {"description": description}}

test_allowed_task_has_no_denials_and_explains if {
	count(start.deny) == 0 with input as task("alice", "Generate the weekly usage report")
	start.notes == {
		"Risk low: nothing in the task calls for an approval.",
		"alice holds role(s) engineer, which may start work.",
	} with input as task("alice", "Generate the weekly usage report")
}

test_high_risk_note_says_why_approval_is_required if {
	start.notes == {
		"Approval required: the task mentions \"deploy\"; the task mentions \"production\".",
		"Needs 1 approver within 24h.",
		"alice holds role(s) engineer, which may start work.",
	} with input as task("alice", "deploy api to production")
}

test_forbidden_is_denied_case_insensitively_after_whitespace if {
	start.deny == {"Task \"Forbidden: drop the db\" is forbidden: descriptions starting with \"forbidden\" are never allowed."} with input as task("alice", "Forbidden: drop the db")
	start.deny == {"Task \"FORBIDDEN thing\" is forbidden: descriptions starting with \"forbidden\" are never allowed."} with input as task("alice", " \t FORBIDDEN thing")
}

test_forbidden_elsewhere_in_the_description_is_allowed if {
	count(start.deny) == 0 with input as task("alice", "Report on forbidden words")
}

test_long_forbidden_description_is_shortened if {
	long := "forbidden: an extremely long description that goes on and on well past sixty characters"
	start.deny == {"Task \"forbidden: an extremely long description that goes on and...\" is forbidden: descriptions starting with \"forbidden\" are never allowed."} with input as task("alice", long)
}

test_missing_or_blank_description_is_denied if {
	no_description := {"The task has no description: say what the work is."}
	start.deny == no_description with input as {"requester": {"id": "alice"}}
	start.deny == no_description with input as {"requester": {"id": "alice"}, "task": {"description": 42}}
	start.deny == no_description with input as task("alice", "   ")
}

test_requester_problems_deny if {
	start.deny == {"Requester \"mallory\" is not in the directory."} with input as task("mallory", "report")
	start.deny == {"dave holds role(s) viewer; starting work needs one of: engineer, operator, service."} with input as task("dave", "report")
}

test_every_problem_is_reported if {
	start.deny == {
		"No requester was given: every request must name who asks.",
		"The task has no description: say what the work is.",
	} with input as {}
}
