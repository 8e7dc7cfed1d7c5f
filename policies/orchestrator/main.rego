# METADATA
# title: Orchestrator policy
# description: |
#   The one decision the worker asks for:
#   POST /v1/data/orchestrator/main/decision?provenance=true
#   It dispatches on input.action and always answers with a decision object, so a
#   missing, garbled or unknown input is a deny with a reason, never an undefined
#   result. allow is derived from the denials: nothing denies, nothing is missing.
package orchestrator.main

import data.orchestrator.approval
import data.orchestrator.requirement
import data.orchestrator.risk
import data.orchestrator.settings
import data.orchestrator.start
import data.orchestrator.step
import data.orchestrator.text

# In the order the unknown-action reason lists them.
known_actions := ["workflow.start", "step.execute", "approval.decide"]

actions := {name | some name in known_actions}

# What the caller asked for, whatever it is (null when input has no action).
requested := input.action

default requested := null

action := requested if requested in actions

# METADATA
# title: Decision
# description: |
#   {allow, reasons, require_approval, risk, action, policy_version}, defined for
#   every input, plus "approval" (who may approve, quorum, deadline, escalation)
#   when require_approval is true.
# entrypoint: true
decision := object.union(
	{
		"action": reported_action,
		"allow": count(deny) == 0,
		"reasons": reasons,
		"require_approval": require_approval,
		"risk": risk.level,
		"policy_version": policy_version,
	},
	approval_requirement,
)

approval_requirement := {"approval": requirement.requirement} if require_approval

default approval_requirement := {}

reported_action := requested if is_string(requested)

default reported_action := null

deny contains msg if {
	not action
	msg := sprintf(
		"Unknown action %s: expected one of %s.",
		[text.quoted(requested), concat(", ", known_actions)],
	)
}

deny contains msg if {
	action == "workflow.start"
	some msg in start.deny
}

deny contains msg if {
	action == "step.execute"
	some msg in step.deny
}

deny contains msg if {
	action == "approval.decide"
	some msg in approval.deny
}

notes contains msg if {
	action == "workflow.start"
	some msg in start.notes
}

notes contains msg if {
	action == "step.execute"
	some msg in step.notes
}

notes contains msg if {
	action == "approval.decide"
	some msg in approval.notes
}

# On deny, every reason; on allow, why it was allowed. Sorted either way.
reasons := sort(deny) if count(deny) > 0

reasons := sort(notes) if count(deny) == 0

# METADATA
# title: Approval required
# description: |
#   An allowed workflow.start of a high-risk task, or an allowed step.execute of a
#   high-risk step, waits for a human (risk.rego says why, requirement.rego who and how
#   many). Approval decisions never do.
default require_approval := false

gated_actions := {"workflow.start", "step.execute"}

require_approval if {
	action in gated_actions
	count(deny) == 0
	risk.level == "high"
}

# METADATA
# title: Policy version
# description: |
#   Which policy revision decided. Loaded as a bundle (opa run --bundle policies/),
#   it is the revision in policies/.manifest; loaded as plain files, the copy in
#   settings/data.yaml. Bump both on every policy change: `opa test --bundle`
#   fails while they differ.
policy_version := revision if {
	some loaded in data.system.bundles
	"orchestrator" in loaded.manifest.roots
	revision := loaded.manifest.revision
} else := settings.policy_version
