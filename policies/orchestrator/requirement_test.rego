package orchestrator.requirement_test

import data.orchestrator.requirement

test_durations_read_in_hours_when_whole if {
	requirement.duration(7200) == "2h"
	requirement.duration(5400) == "5400s"
}

test_short_deadlines_are_explained_in_seconds if {
	explanation := requirement.explanation with input as {"task": {"description": "x"}}
		with data.orchestrator.settings.approval.standard.deadline_seconds as 90
	explanation == "Needs 1 approver within 90s."
}

test_dual_control_for_tasks if {
	requirement.dual_control == {"the task kind \"payment-batch\" needs two approvers"} with input as {"task": {"description": "pay", "kind": "payment-batch"}}
	requirement.dual_control == {"production changes need two approvers"} with input as {"task": {"description": "x", "parameters": {"env": "prod-eu"}}}
	requirement.dual_control == {"amounts above the threshold need two approvers"} with input as {"task": {"description": "x", "parameters": {"amount": 10001}}}
	requirement.dual_control == {"amounts that are not numbers need two approvers"} with input as {"task": {"description": "x", "parameters": {"amount": "a lot"}}}
	count(requirement.dual_control) == 0 with input as {"task": {"description": "deploy the api"}}
}

step(activity, args) := {"action": "step.execute", "step": {"activity": activity, "args": args}}

test_dual_control_for_steps if {
	requirement.dual_control == {"the activity PaymentRun is a payment and needs two approvers"} with input as step("PaymentRun", [])
	requirement.dual_control == {"production changes need two approvers"} with input as step("Echo", ["prod-warehouse"])
	requirement.dual_control == {"amounts above the threshold need two approvers"} with input as step("Echo", [{"x": {"amount": 20000}}])
	requirement.requirement.quorum == 2 with input as step("Echo", [{"amount": "?"}])
	requirement.requirement.quorum == 1 with input as step("DeployService", ["api"])
}
