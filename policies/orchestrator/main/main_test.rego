package orchestrator.main_test

import data.orchestrator.main
import data.orchestrator.settings

workflow := {"type": "GovernedWorkflow", "id": "wf-1", "run_id": "run-1"}

# A requester whose start credential the worker verified, signed with their own key.
signed(id) := {"id": id, "roles": [], "authenticated": true, "issuer": id}

start(requester, description, parameters) := {
	"action": "workflow.start",
	"workflow": workflow,
	"requester": signed(requester),
	"task": {"description": description, "kind": "report", "parameters": parameters},
}

decide(requester, approver, decision) := {
	"action": "approval.decide",
	"workflow": workflow,
	"requester": {"id": requester, "roles": []},
	"task": {"description": "deploy api to production", "parameters": {"environment": "production"}},
	"approval": {"approver": approver, "decision": decision, "comment": "looks fine", "authenticated": true},
}

execute(requester, activity, args) := {
	"action": "step.execute",
	"workflow": {"type": "DeclarativeWorkflow", "id": "wf-2", "run_id": "run-2", "definition": "data-pipeline"},
	"requester": signed(requester),
	"step": {"activity": activity, "args": args, "path": "execution.blocks[2]"},
}

unknown_action(shown) := sprintf(
	"Unknown action %s: expected one of workflow.start, step.execute, approval.decide, schedule.manage.",
	[shown],
)

test_low_risk_start_is_allowed_without_approval if {
	d := main.decision with input as start("alice", "generate weekly report", {})
	d == {
		"action": "workflow.start",
		"allow": true,
		"reasons": [
			"Risk low: nothing in the task calls for an approval.",
			"alice holds role(s) engineer, which may start work.",
		],
		"require_approval": false,
		"risk": "low",
		"policy_version": main.policy_version,
	}
}

test_medium_risk_start_runs_without_approval if {
	d := main.decision with input as start("erin", "restart the cache", {})
	d.allow
	d.risk == "medium"
	not d.require_approval
}

test_production_deploy_requires_approval if {
	d := main.decision with input as start("alice", "deploy api to production", {"environment": "production"})
	d.allow
	d.require_approval
	d.risk == "high"
	d.reasons == [
		"Approval required: the task mentions \"deploy\"; the task mentions \"production\"; the task targets production.",
		"Needs 2 distinct approvers (production changes need two approvers) within 8h.",
		"alice holds role(s) engineer, which may start work.",
	]
	d.approval == settings.approval.dual_control
}

test_high_risk_start_without_dual_control_needs_the_standard_approval if {
	d := main.decision with input as start("alice", "deploy the api", {})
	d.require_approval
	d.approval == settings.approval.standard
	"Needs 1 approver within 24h." in d.reasons
}

test_payment_kind_and_large_amounts_need_dual_control if {
	kind := main.decision with input as object.union(start("alice", "pay the invoice", {}), {"task": {"kind": "payment"}})
	kind.approval.quorum == 2
	"Needs 2 distinct approvers (the task kind \"payment\" needs two approvers) within 8h." in kind.reasons
	amount := main.decision with input as start("alice", "pay the invoice", {"amount": 20000})
	amount.approval.quorum == 2
}

test_decisions_without_approval_carry_no_requirement if {
	d := main.decision with input as start("alice", "Generate the weekly usage report", {})
	not d.approval
}

test_denied_start_never_requires_approval if {
	d := main.decision with input as start("alice", "Forbidden: deploy to production", {})
	not d.allow
	not d.require_approval
	d.risk == "high"
	d.reasons == [
		"Task \"Forbidden: deploy to production\" is forbidden: work that mentions \"forbidden\" is never allowed.",
	]
}

test_denial_lists_every_reason_sorted if {
	d := main.decision with input as start("dave", "forbidden plan", {})
	d.reasons == [
		"Task \"forbidden plan\" is forbidden: work that mentions \"forbidden\" is never allowed.",
		"dave holds role(s) viewer; starting work needs one of: engineer, operator, service.",
	]
}

test_unknown_action_is_denied_naming_it if {
	d := main.decision with input as {"action": "workflow.delete", "requester": signed("alice")}
	not d.allow
	not d.require_approval
	d.action == "workflow.delete"
	d.reasons == [unknown_action("\"workflow.delete\"")]
}

test_missing_or_garbage_input_is_a_decision_not_undefined if {
	empty := main.decision with input as {}
	empty.action == null
	not empty.allow
	empty.reasons == [unknown_action("null")]
	empty.risk == "low"
	not empty.require_approval

	for_string := main.decision with input as "garbage"
	for_string.reasons == [unknown_action("null")]

	for_array := main.decision with input as [1, 2]
	not for_array.allow

	number := main.decision with input as {"action": 7}
	number.action == null
	number.reasons == [unknown_action("7")]
}

test_no_input_at_all_is_a_deny if {
	not main.decision.allow
	main.decision.reasons == [unknown_action("null")]
}

test_approval_by_another_approver_is_allowed if {
	d := main.decision with input as decide("alice", "bob", "approve")
	d.allow
	not d.require_approval
	d.risk == "high"
	d.reasons == ["bob holds role(s) approver, engineer, which may approve, and is not the requester."]
}

test_approval_by_the_requester_is_denied if {
	d := main.decision with input as decide("bob", "bob", "approve")
	not d.allow
	not d.require_approval
	d.reasons == ["bob cannot approve their own request: separation of duties."]
}

test_steps_dispatch_and_only_risky_ones_require_approval if {
	ok := main.decision with input as execute("alice", "LoadData", ["warehouse"])
	ok.allow
	not ok.require_approval
	not ok.approval
	ok.risk == "low"
	ok.reasons == [
		"Risk low: nothing in the step calls for an approval.",
		"Step execution.blocks[2] may run LoadData for alice.",
	]

	no := main.decision with input as execute("alice", "DropDatabase", [])
	not no.allow
	not no.require_approval
	no.reasons == ["Step execution.blocks[2]: activity DropDatabase is never allowed."]
}

# The governed path asks two approvers for this work; the same work as a step must too.
test_a_risky_step_requires_the_same_approval_as_starting_the_work if {
	args := ["Deploy the billing service to production", {"environment": "production"}]
	d := main.decision with input as execute("alice", "ExecuteAgentTask", args)
	d.allow
	d.require_approval
	d.risk == "high"
	d.approval == settings.approval.dual_control
	d.reasons == [
		"Approval required: the step mentions \"deploy\"; the step mentions \"production\"; the step targets production.",
		"Needs 2 distinct approvers (production changes need two approvers) within 8h.",
		"Step execution.blocks[2] may run ExecuteAgentTask for alice.",
	]
	started := main.decision with input as start("alice", args[0], args[1])
	started.approval == d.approval
}

test_a_denied_risky_step_requires_no_approval if {
	d := main.decision with input as execute("dave", "DeployService", ["api"])
	not d.allow
	d.risk == "high"
	not d.require_approval
}

test_unauthenticated_requesters_start_nothing if {
	refused := {"authenticated": false, "authentication_error": "the signature does not match"}
	unsigned := object.union(start("alice", "generate weekly report", {}), {"requester": refused})
	d := main.decision with input as unsigned
	not d.allow
	d.reasons == [concat("", [
		"The requester is not authenticated (the signature does not match): ",
		"start work with `orchestrator start` or the API, which sign it.",
	])]
}

test_policy_version_is_the_bundle_revision_when_loaded_as_a_bundle if {
	ours := {"orchestrator": {"manifest": {"revision": "r-9", "roots": ["orchestrator"]}}}
	main.policy_version == "r-9" with data.system.bundles as ours
	other := {"other": {"manifest": {"revision": "x", "roots": ["other"]}}}
	main.policy_version == "unbundled" with data.system.bundles as other
	main.policy_version == "unbundled" with data.system.bundles as {}
	no_revision := {"orchestrator": {"manifest": {"roots": ["orchestrator"]}}}
	main.policy_version == "unbundled" with data.system.bundles as no_revision
}

# Loaded as a bundle (`make policy-check` tests with --bundle), the decision reports the
# revision policies/.manifest names, and the manifest must name one. Loaded as plain files
# there is no bundle and nothing to check.
our_bundles contains loaded if {
	some loaded in data.system.bundles
	"orchestrator" in loaded.manifest.roots
}

test_decisions_report_the_manifest_revision if {
	every loaded in our_bundles {
		is_string(loaded.manifest.revision)
		loaded.manifest.revision != ""
		main.policy_version == loaded.manifest.revision
		decided := main.decision with input as start("alice", "generate weekly report", {})
		decided.policy_version == loaded.manifest.revision
	}
}

test_only_the_orchestrator_bundle_is_checked if {
	ours := {"roots": ["orchestrator"], "revision": "a"}
	bundles := {"p": {"manifest": ours}, "q": {"manifest": {"roots": ["other"], "revision": "b"}}}
	our_bundles == {{"manifest": ours}} with data.system.bundles as bundles
}
