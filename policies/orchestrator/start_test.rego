package orchestrator.start_test

import data.orchestrator.start

task(description) := {"requester": {"id": "alice"}, "task": {"description": description}}

test_allowed_task_has_no_denials_and_explains if {
	count(start.deny) == 0 with input as task("Generate the weekly usage report")
	start.notes == {
		"Risk low: nothing in the task calls for an approval.",
		"alice holds role(s) engineer, which may start work.",
	} with input as task("Generate the weekly usage report")
}

test_high_risk_note_says_approval_is_required if {
	"Approval required before the work runs." in start.notes with input as task("Deploy to production")
}

test_forbidden_is_denied_case_insensitively_after_whitespace if {
	start.deny == {"Task \"FORBIDDEN thing\" is forbidden: descriptions starting with \"forbidden\" are never allowed."} with input as task("  FORBIDDEN thing")
}

test_long_forbidden_description_is_shortened if {
	long := "forbidden: an extremely long description that goes on and on well past sixty characters"
	start.deny == {"Task \"forbidden: an extremely long description that goes on and...\" is forbidden: descriptions starting with \"forbidden\" are never allowed."} with input as task(long)
}

test_missing_or_blank_description_is_denied if {
	start.deny == {"The task has no description: say what the work is."} with input as {"requester": {"id": "alice"}}
	start.deny == {"The task has no description: say what the work is."} with input as task("   ")
}

test_requester_problems_deny if {
	start.deny == {"Requester \"mallory\" is not in the directory."} with input as {"requester": {"id": "mallory"}, "task": {"description": "report"}}
}
