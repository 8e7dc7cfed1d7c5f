package orchestrator.main_test

import data.orchestrator.main
import data.orchestrator.settings

workflow := {"type": "GovernedWorkflow", "id": "wf-1", "run_id": "run-1"}

start(requester, description, parameters) := {
	"action": "workflow.start",
	"workflow": workflow,
	"requester": {"id": requester, "roles": []},
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
	"requester": {"id": requester, "roles": []},
	"step": {"activity": activity, "args": args, "path": "execution.blocks[2]"},
}

unknown_action(shown) := sprintf("Unknown action %s: expected one of workflow.start, step.execute, approval.decide.", [shown])

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
		"policy_version": settings.policy_version,
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
	d.reasons == ["Task \"Forbidden: deploy to production\" is forbidden: descriptions starting with \"forbidden\" are never allowed."]
}

test_denial_lists_every_reason_sorted if {
	d := main.decision with input as start("dave", "forbidden plan", {})
	d.reasons == [
		"Task \"forbidden plan\" is forbidden: descriptions starting with \"forbidden\" are never allowed.",
		"dave holds role(s) viewer; starting work needs one of: engineer, operator, service.",
	]
}

test_unknown_action_is_denied_naming_it if {
	d := main.decision with input as {"action": "workflow.delete", "requester": {"id": "alice"}}
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

test_steps_dispatch_and_never_require_approval if {
	ok := main.decision with input as execute("alice", "LoadData", ["staging"])
	ok.allow
	not ok.require_approval
	ok.reasons == ["Step execution.blocks[2] may run LoadData for alice."]

	no := main.decision with input as execute("alice", "DropDatabase", [])
	not no.allow
	no.reasons == ["Step execution.blocks[2]: activity DropDatabase is never allowed."]
}

test_policy_version_is_the_bundle_revision_when_loaded_as_a_bundle if {
	ours := {"orchestrator": {"manifest": {"revision": "r-9", "roots": ["orchestrator"]}}}
	main.policy_version == "r-9" with data.system.bundles as ours
	other := {"other": {"manifest": {"revision": "x", "roots": ["other"]}}}
	main.policy_version == settings.policy_version with data.system.bundles as other
	main.policy_version == settings.policy_version with data.system.bundles as {}
}

# Loaded with --bundle, the .manifest revision and settings' copy must agree, so a
# plain-files load (opa eval -d policies) reports the same version. Loaded as plain
# files there is no bundle and nothing to compare.
our_bundles contains loaded if {
	some loaded in data.system.bundles
	"orchestrator" in loaded.manifest.roots
}

test_manifest_revision_and_settings_agree if {
	every loaded in our_bundles {
		loaded.manifest.revision == settings.policy_version
	}
}

test_only_the_orchestrator_bundle_is_compared if {
	ours := {"roots": ["orchestrator"], "revision": "a"}
	bundles := {"p": {"manifest": ours}, "q": {"manifest": {"roots": ["other"], "revision": "b"}}}
	our_bundles == {{"manifest": ours}} with data.system.bundles as bundles
}
