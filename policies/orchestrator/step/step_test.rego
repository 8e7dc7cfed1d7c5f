package orchestrator.step_test

import data.orchestrator.settings
import data.orchestrator.step

# A requester whose start credential the worker verified, signed with their own key.
signed(id) := {"id": id, "roles": [], "authenticated": true, "issuer": id}

run(requester, activity, args) := {
	"action": "step.execute",
	"requester": signed(requester),
	"step": {"activity": activity, "args": args, "path": "execution.blocks[2]"},
}

needs_operator(activity) := sprintf(
	"Step execution.blocks[2]: %s into production needs one of: operator; alice holds role(s) engineer.",
	[activity],
)

low := "Risk low: nothing in the step calls for an approval."

forbidden_at(where) := sprintf("Step execution.blocks[2]: %s mentions \"forbidden\", which is never allowed.", [where])

test_ordinary_step_is_allowed if {
	count(step.deny) == 0 with input as run("alice", "ExtractData", ["sales"])
	step.notes == {low, "Step execution.blocks[2] may run ExtractData for alice."}
		with input as run("alice", "ExtractData", ["sales"])
}

test_step_without_args_is_allowed if {
	count(step.deny) == 0
		with input as {"requester": signed("scheduler"), "step": {"activity": "ExtractData", "path": "p"}}
}

test_forbidden_activity_is_denied if {
	step.deny == {"Step execution.blocks[2]: activity DropDatabase is never allowed."}
		with input as run("alice", "DropDatabase", [])
	step.deny == {"Step execution.blocks[2]: activity drop_database is never allowed."}
		with input as run("alice", "drop_database", [])
}

test_an_activity_named_forbidden_is_denied if {
	step.deny == {"Step execution.blocks[2]: activity ForbiddenThing mentions \"forbidden\", which is never allowed."}
		with input as run("alice", "ForbiddenThing", [])
}

# Names where, never the value (it may be a secret). Before 2026.12.01-1 only strings that
# started with "forbidden" counted, and object keys did not.
test_forbidden_argument_is_denied_even_nested if {
	step.deny == {forbidden_at("args[0].rows[1]")}
		with input as run("alice", "TransformData", [{"rows": ["ok", " Forbidden row"]}])
	step.deny == {forbidden_at("args")} with input as run("alice", "TransformData", "forbidden")
	step.deny == {forbidden_at("args[0]")} with input as run("alice", "Echo", ["please run this forbidden job"])
	step.deny == {forbidden_at("args[0].forbidden")} with input as run("alice", "Echo", [{"forbidden": "x"}])
	step.deny == {forbidden_at("args[0].a.b[0][\"a forbidden key\"]")}
		with input as run("alice", "Echo", [{"a": {"b": [{"a forbidden key": 1}]}}])
}

test_production_load_needs_operator if {
	step.deny == {needs_operator("LoadData")} with input as run("alice", "LoadData", ["prod-warehouse"])
	step.deny == {needs_operator("LoadData")}
		with input as run("alice", "LoadData", [{"target": {"environment": "Production"}}])
	step.deny == {needs_operator("loaddata")} with input as run("alice", "loaddata", ["prod1"])
}

test_operator_may_load_into_production_with_dual_control if {
	count(step.deny) == 0 with input as run("erin", "LoadData", ["prod-warehouse"])
	step.notes == {
		"Approval required: the step mentions \"prod\"; the step targets production.",
		"Needs 2 distinct approvers (production changes need two approvers) within 8h.",
		"Step execution.blocks[2] may run LoadData for erin.",
		"erin holds role(s) operator, which may write to production.",
	} with input as run("erin", "LoadData", ["prod-warehouse"])
}

test_non_production_load_is_allowed if {
	count(step.deny) == 0 with input as run("alice", "LoadData", ["staging-warehouse"])
	count(step.deny) == 0 with input as run("alice", "LoadData", ["products"])
	count(step.deny) == 0 with input as run("alice", "ExtractData", ["prod-warehouse"])
}

test_a_payment_activity_needs_dual_control if {
	step.notes == {
		"Approval required: the step mentions \"payment\".",
		"Needs 2 distinct approvers (the activity ProcessPayment is a payment and needs two approvers) within 8h.",
		"Step execution.blocks[2] may run ProcessPayment for alice.",
	} with input as run("alice", "ProcessPayment", ["invoice 7"])
}

test_a_step_started_by_the_api_says_so if {
	by_api := object.union(run("alice", "ExtractData", []), {"requester": {"issuer": "api"}})
	step.notes == {
		low,
		"Step execution.blocks[2] may run ExtractData for alice.",
		"api started it on behalf of alice.",
	} with input as by_api
}

test_step_without_activity_or_path_is_denied if {
	step.deny == {"Step (unknown step) names no activity."} with input as {"requester": signed("alice"), "step": {}}
	step.deny == {"Step (unknown step) names no activity."}
		with input as {"requester": signed("alice"), "step": {"activity": 5}}
	step.deny == {"Step (unknown step) names no activity."}
		with input as {"requester": signed("alice"), "step": "LoadData"}
}

test_requester_problems_deny_steps if {
	step.deny == {"Requester \"mallory\" is not in the directory."} with input as run("mallory", "LoadData", ["prod"])
	step.deny == {"dave holds role(s) viewer; starting work needs one of: engineer, operator, service."}
		with input as run("dave", "ExtractData", [])
	unsigned := object.union(run("alice", "ExtractData", []), {"requester": {"authenticated": false}})
	how_to_sign := "start work with `orchestrator start` or the API, which sign it"
	unauthenticated := sprintf("The requester is not authenticated (no credential): %s.", [how_to_sign])
	step.deny == {unauthenticated} with input as unsigned
}

test_activity_lists_compare_without_case_or_separators if {
	step._listed("Drop-Database", settings.steps.forbidden_activities)
	not step._listed("DropTable", settings.steps.forbidden_activities)
}
