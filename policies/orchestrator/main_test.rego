package orchestrator.main_test

import data.orchestrator.main

start(requester, description, parameters) := {
	"action": "workflow.start",
	"workflow": {"type": "GovernedWorkflow", "id": "wf-1", "run_id": "run-1"},
	"requester": {"id": requester, "roles": []},
	"task": {"description": description, "parameters": parameters},
}

test_low_risk_start_is_allowed_without_approval if {
	d := main.decision with input as start("alice", "Generate the weekly usage report", {})
	d.allow
	not d.require_approval
	d.risk == "low"
	d.action == "workflow.start"
	d.policy_version == data.orchestrator.settings.policy_version
	d.reasons == [
		"Risk low: nothing in the task calls for an approval.",
		"alice holds role(s) engineer, which may start work.",
	]
}

test_risky_start_requires_approval if {
	d := main.decision with input as start("alice", "Deploy the billing service", {"environment": "production"})
	d.allow
	d.require_approval
	d.risk == "high"
}

test_denied_start_never_requires_approval if {
	d := main.decision with input as start("alice", "forbidden: deploy to production", {})
	not d.allow
	not d.require_approval
	count(d.reasons) == 1
}

test_unknown_or_missing_action_is_denied_not_undefined if {
	d := main.decision with input as {"action": "workflow.delete"}
	not d.allow
	d.reasons == ["Unknown action \"workflow.delete\": expected one of approval.decide, step.execute, workflow.start."]
	e := main.decision with input as {}
	not e.allow
	e.action == null
	e.reasons == ["Unknown action null: expected one of approval.decide, step.execute, workflow.start."]
}

test_approval_decisions_dispatch if {
	ok := main.decision with input as {"action": "approval.decide", "requester": {"id": "alice"}, "approval": {"approver": "bob", "decision": "approve"}}
	ok.allow
	not ok.require_approval
	ok.reasons == ["bob holds an approver role and did not request this work."]
	own := main.decision with input as {"action": "approval.decide", "requester": {"id": "bob"}, "approval": {"approver": "bob", "decision": "approve"}}
	not own.allow
}

test_step_decisions_dispatch if {
	ok := main.decision with input as {"action": "step.execute", "requester": {"id": "alice"}, "step": {"activity": "ExtractData", "path": "p", "args": []}}
	ok.allow
	ok.reasons == ["Step p may run ExtractData for alice."]
	no := main.decision with input as {"action": "step.execute", "requester": {"id": "alice"}, "step": {"activity": "DropDatabase", "path": "p", "args": []}}
	not no.allow
}
