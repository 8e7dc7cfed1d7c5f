package orchestrator.step_test

import data.orchestrator.step

run(requester, activity, args) := {
	"requester": {"id": requester},
	"step": {"activity": activity, "args": args, "path": "execution.blocks[1]"},
}

test_ordinary_step_is_allowed if {
	count(step.deny) == 0 with input as run("alice", "ExtractData", ["sales"])
	step.notes == {"Step execution.blocks[1] may run ExtractData for alice."} with input as run("alice", "ExtractData", ["sales"])
}

test_forbidden_activity_is_denied if {
	step.deny == {"Step execution.blocks[1]: activity DropDatabase is never allowed."} with input as run("alice", "DropDatabase", [])
}

test_forbidden_argument_is_denied_even_nested if {
	step.deny == {"Step execution.blocks[1]: an argument starts with \"forbidden\", which is never allowed."} with input as run("alice", "TransformData", [{"rows": ["ok", " Forbidden row"]}])
}

test_production_load_needs_operator if {
	step.deny == {"Step execution.blocks[1]: LoadData into production needs one of: operator; alice holds role(s) engineer."} with input as run("alice", "LoadData", ["prod-warehouse"])
	count(step.deny) == 0 with input as run("erin", "LoadData", ["prod-warehouse"])
	count(step.deny) == 0 with input as run("alice", "LoadData", ["staging-warehouse"])
}

test_step_without_activity_or_path_is_denied if {
	step.deny == {"Step (unknown step) names no activity."} with input as {"requester": {"id": "alice"}, "step": {}}
}

test_requester_problems_deny_steps if {
	step.deny == {"Requester \"mallory\" is not in the directory."} with input as run("mallory", "ExtractData", [])
}
