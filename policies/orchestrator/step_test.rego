package orchestrator.step_test

import data.orchestrator.step

run(requester, activity, args) := {
	"requester": {"id": requester, "roles": []},
	"step": {"activity": activity, "args": args, "path": "execution.blocks[2]"},
}

test_ordinary_step_is_allowed if {
	count(step.deny) == 0 with input as run("alice", "ExtractData", ["sales"])
	step.notes == {"Step execution.blocks[2] may run ExtractData for alice."} with input as run("alice", "ExtractData", ["sales"])
}

test_step_without_args_is_allowed if {
	count(step.deny) == 0 with input as {"requester": {"id": "scheduler"}, "step": {"activity": "ExtractData", "path": "p"}}
}

test_forbidden_activity_is_denied if {
	step.deny == {"Step execution.blocks[2]: activity DropDatabase is never allowed."} with input as run("alice", "DropDatabase", [])
}

test_forbidden_argument_is_denied_even_nested if {
	step.deny == {"Step execution.blocks[2]: argument \"Forbidden row\" starts with \"forbidden\", which is never allowed."} with input as run("alice", "TransformData", [{"rows": ["ok", " Forbidden row"]}])
	step.deny == {"Step execution.blocks[2]: argument \"forbidden\" starts with \"forbidden\", which is never allowed."} with input as run("alice", "TransformData", "forbidden")
}

test_production_load_needs_operator if {
	step.deny == {"Step execution.blocks[2]: LoadData into production needs one of: operator; alice holds role(s) engineer."} with input as run("alice", "LoadData", ["prod-warehouse"])
	step.deny == {"Step execution.blocks[2]: LoadData into production needs one of: operator; alice holds role(s) engineer."} with input as run("alice", "LoadData", [{"target": {"environment": "Production"}}])
}

test_operator_may_load_into_production if {
	count(step.deny) == 0 with input as run("erin", "LoadData", ["prod-warehouse"])
	step.notes == {
		"Step execution.blocks[2] may run LoadData for erin.",
		"erin holds role(s) operator, which may write to production.",
	} with input as run("erin", "LoadData", ["prod-warehouse"])
}

test_non_production_load_is_allowed if {
	count(step.deny) == 0 with input as run("alice", "LoadData", ["staging-warehouse"])
	count(step.deny) == 0 with input as run("alice", "LoadData", ["products"])
	count(step.deny) == 0 with input as run("alice", "ExtractData", ["prod-warehouse"])
}

test_step_without_activity_or_path_is_denied if {
	step.deny == {"Step (unknown step) names no activity."} with input as {"requester": {"id": "alice"}, "step": {}}
	step.deny == {"Step (unknown step) names no activity."} with input as {"requester": {"id": "alice"}, "step": {"activity": 5}}
	step.deny == {"Step (unknown step) names no activity."} with input as {"requester": {"id": "alice"}, "step": "LoadData"}
}

test_requester_problems_deny_steps if {
	step.deny == {"Requester \"mallory\" is not in the directory."} with input as run("mallory", "LoadData", ["prod"])
	step.deny == {"dave holds role(s) viewer; starting work needs one of: engineer, operator, service."} with input as run("dave", "ExtractData", [])
}
