package orchestrator.requirement_test

import data.orchestrator.requirement

task(kind, parameters) := {"task": {"description": "x", "kind": kind, "parameters": parameters}}

step(activity, args) := {"action": "step.execute", "step": {"activity": activity, "args": args}}

test_durations_read_in_hours_when_whole if {
	requirement._duration(7200) == "2h"
	requirement._duration(5400) == "5400s"
}

test_short_deadlines_are_explained_in_seconds if {
	explanation := requirement.explanation with input as {"task": {"description": "x"}}
		with data.orchestrator.settings.approval.standard.deadline_seconds as 90
	explanation == "Needs 1 approver within 90s."
}

test_dual_control_for_tasks if {
	requirement._dual_control == {"the task kind \"payment-batch\" needs two approvers"}
		with input as task("payment-batch", {})
	requirement._dual_control == {"production changes need two approvers"} with input as task("report", {"env": "prod-eu"})
	requirement._dual_control == {"amounts above the threshold need two approvers"}
		with input as task("report", {"amount": 10001})
	requirement._dual_control == {"amounts that are not numbers need two approvers"}
		with input as task("report", {"amount": "a lot"})
	count(requirement._dual_control) == 0 with input as {"task": {"description": "deploy the api"}}
}

test_dual_control_for_steps if {
	requirement._dual_control == {"the activity PaymentRun is a payment and needs two approvers"}
		with input as step("PaymentRun", [])
	requirement._dual_control == {"production changes need two approvers"} with input as step("Echo", ["prod-warehouse"])
	requirement._dual_control == {"amounts above the threshold need two approvers"}
		with input as step("Echo", [{"x": {"amount": 20000}}])
	requirement.requirement.quorum == 2 with input as step("Echo", [{"amount": "?"}])
	requirement.requirement.quorum == 1 with input as step("DeployService", ["api"])
}
