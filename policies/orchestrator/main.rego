# METADATA
# title: Orchestrator policy
# description: |
#   The one decision the worker asks for: POST /v1/data/orchestrator/main/decision.
#   It dispatches on input.action and always answers with a decision object, so a
#   missing or garbled input is a deny with a reason, never an undefined result.
package orchestrator.main

import data.orchestrator.approval
import data.orchestrator.risk
import data.orchestrator.settings
import data.orchestrator.start
import data.orchestrator.step

actions := {"workflow.start", "step.execute", "approval.decide"}

action := input.action if input.action in actions

# METADATA
# title: Decision
# description: allow, reasons, require_approval, risk, action and policy_version.
# entrypoint: true
decision := {
	"action": object.get(input, "action", null),
	"allow": count(deny) == 0,
	"reasons": reasons,
	"require_approval": require_approval,
	"risk": risk.level,
	"policy_version": settings.policy_version,
}

deny contains msg if {
	not action
	msg := sprintf(
		"Unknown action %s: expected one of approval.decide, step.execute, workflow.start.",
		[json.marshal(object.get(input, "action", null))],
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

# On deny, every reason; on allow, why it was allowed.
reasons := sort(deny) if count(deny) > 0

reasons := sort(notes) if count(deny) == 0

default require_approval := false

require_approval if {
	action == "workflow.start"
	count(deny) == 0
	risk.level == "high"
}
