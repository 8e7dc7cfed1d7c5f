package orchestrator.schedule_test

import data.orchestrator.main

manage(who, operation) := {
	"action": "schedule.manage",
	"workflow": {"type": "Schedule", "id": "nightly", "run_id": ""},
	"requester": {"id": who, "roles": [], "authenticated": true},
	"schedule": {"id": "nightly", "operation": operation},
}

test_an_operator_may_pause_unpause_and_trigger if {
	every operation in ["pause", "unpause", "trigger"] {
		decision := main.decision with input as manage("erin", operation)
		decision.allow
		not decision.require_approval
		decision.reasons == ["erin holds role(s) operator, which may manage schedules."]
	}
}

test_others_are_refused_in_the_policys_words if {
	decision := main.decision with input as manage("bob", "pause")
	not decision.allow
	decision.reasons == ["bob holds role(s) approver, engineer; managing schedules needs one of: operator."]
}

test_strangers_the_unauthenticated_and_unknown_operations_are_refused if {
	stranger := main.decision with input as manage("mallory", "pause")
	stranger.reasons == ["\"mallory\" is not in the directory."]
	unsigned := json.patch(
		manage("erin", "pause"),
		[{"op": "replace", "path": "/requester/authenticated", "value": false}],
	)
	not main.decision.allow with input as unsigned
	odd := main.decision with input as manage("erin", "delete")
	odd.reasons == ["Unknown schedule operation \"delete\": expected pause, unpause or trigger."]
	nameless := main.decision with input as json.remove(manage("erin", "pause"), ["/requester/id"])
	not nameless.allow
}

test_no_operation_is_an_unknown_one if {
	decision := main.decision with input as json.remove(manage("erin", "pause"), ["/schedule"])
	decision.reasons == ["Unknown schedule operation null: expected pause, unpause or trigger."]
}
