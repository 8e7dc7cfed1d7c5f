package orchestrator.start_test

import data.orchestrator.start

# A requester whose start credential the worker verified, signed with their own key.
signed(id) := {"id": id, "roles": [], "authenticated": true, "issuer": id}

task(requester, description) := {"requester": signed(requester), "task": {"description": description}}

with_task(fields) := {"requester": signed("alice"), "task": object.union({"description": "report"}, fields)}

forbidden(description) := sprintf(
	"Task %q is forbidden: work that mentions \"forbidden\" is never allowed.",
	[description],
)

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
	start.deny == {forbidden("Forbidden: drop the db")} with input as task("alice", "Forbidden: drop the db")
	start.deny == {forbidden("FORBIDDEN thing")} with input as task("alice", " \t FORBIDDEN thing")
}

# Was allowed before 2026.12.01-1, when only the start of the description counted.
test_forbidden_anywhere_in_the_description_is_denied if {
	start.deny == {forbidden("Report on forbidden words")} with input as task("alice", "Report on forbidden words")
	start.deny == {forbidden("please run this forbidden job")} with input as task("alice", "please run this forbidden job")
	start.deny == {forbidden("\"forbidden\": drop it")} with input as task("alice", "\"forbidden\": drop it")
	start.deny == {forbidden("unforbiddenly")} with input as task("alice", "unforbiddenly")
	start.deny == {forbidden("for-bidden")} with input as task("alice", "for-bidden")
}

test_forbidden_in_the_kind_is_denied if {
	start.deny == {"The task kind \"forbidden-kind\" mentions \"forbidden\", which is never allowed."}
		with input as with_task({"kind": "forbidden-kind"})
}

# Names the parameter, never its value: the value may be a secret.
test_forbidden_in_a_parameter_key_or_value_is_denied if {
	start.deny == {"The task's parameters.note mentions \"forbidden\", which is never allowed."}
		with input as with_task({"parameters": {"note": "a Forbidden job"}})
	start.deny == {"The task's parameters.forbidden mentions \"forbidden\", which is never allowed."}
		with input as with_task({"parameters": {"forbidden": true}})
	start.deny == {"The task's parameters.steps[1][\"the forbidden one\"] mentions \"forbidden\", which is never allowed."}
		with input as with_task({"parameters": {"steps": [{}, {"the forbidden one": 1}]}})
}

test_long_forbidden_description_is_shortened if {
	long := "forbidden: an extremely long description that goes on and on well past sixty characters"
	start.deny == {forbidden("forbidden: an extremely long description that goes on and...")}
		with input as task("alice", long)
}

test_missing_or_blank_description_is_denied if {
	no_description := {"The task has no description: say what the work is."}
	start.deny == no_description with input as {"requester": signed("alice")}
	start.deny == no_description with input as {"requester": signed("alice"), "task": {"description": 42}}
	start.deny == no_description with input as task("alice", "   ")
}

test_requester_problems_deny if {
	start.deny == {"Requester \"mallory\" is not in the directory."} with input as task("mallory", "report")
	start.deny == {"dave holds role(s) viewer; starting work needs one of: engineer, operator, service."}
		with input as task("dave", "report")
}

test_every_problem_is_reported if {
	start.deny == {
		"No requester was given: every request must name who asks.",
		"The requester is not authenticated (no credential): start work with `orchestrator start` or the API, which sign it.",
		"The task has no description: say what the work is.",
	} with input as {}
}
