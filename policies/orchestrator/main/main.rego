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
import data.orchestrator.schedule
import data.orchestrator.start
import data.orchestrator.step
import data.orchestrator.text

# METADATA
# title: Decision
# description: |
#   {allow, reasons, require_approval, risk, action, policy_version}, defined for
#   every input, plus "approval" (who may approve, quorum, deadline, escalation)
#   when require_approval is true.
# entrypoint: true
decision := object.union(
	{
		"action": _reported_action,
		"allow": count(_deny) == 0,
		"reasons": _reasons,
		"require_approval": _require_approval,
		"risk": risk.level,
		"policy_version": policy_version,
	},
	_approval_requirement,
)

# METADATA
# title: Verdict
# description: |
#   allow and reasons of the decision, and nothing else: what a read-only question
#   ("may bob decide this approval?") needs. The task's risk, which the decision
#   reports and which is most of its cost, is not evaluated for it.
verdict := {"allow": count(_deny) == 0, "reasons": _reasons}

# METADATA
# title: Policy version
# description: |
#   Which policy revision decided: the "revision" of policies/.manifest, its one home.
#   OPA exposes a loaded bundle's manifest at data.system.bundles (opa run --bundle,
#   opa eval --bundle, opa test --bundle; --watch reloads an edited .manifest), and
#   reports the same revision in ?provenance=true answers and its decision log. Loaded
#   as plain files there is no manifest, hence no revision: "unbundled" says so.
policy_version := revision if {
	some loaded in data.system.bundles
	"orchestrator" in loaded.manifest.roots
	revision := loaded.manifest.revision
} else := "unbundled"

# In the order the unknown-action reason lists them.
_known_actions := ["workflow.start", "step.execute", "approval.decide", "schedule.manage"]

_actions := {name | some name in _known_actions}

# What the caller asked for, whatever it is (null when input has no action).
_requested := input.action

default _requested := null

_action := _requested if _requested in _actions

_reported_action := _requested if is_string(_requested)

default _reported_action := null

_approval_requirement := {"approval": requirement.requirement} if _require_approval

default _approval_requirement := {}

_deny contains _unknown_action(_requested) if not _action

_deny contains msg if {
	_action == "workflow.start"
	some msg in start.deny
}

_deny contains msg if {
	_action == "step.execute"
	some msg in step.deny
}

_deny contains msg if {
	_action == "approval.decide"
	some msg in approval.deny
}

_deny contains msg if {
	_action == "schedule.manage"
	some msg in schedule.deny
}

_notes contains msg if {
	_action == "workflow.start"
	some msg in start.notes
}

_notes contains msg if {
	_action == "step.execute"
	some msg in step.notes
}

_notes contains msg if {
	_action == "approval.decide"
	some msg in approval.notes
}

_notes contains msg if {
	_action == "schedule.manage"
	some msg in schedule.notes
}

# On deny, every reason; on allow, why it was allowed. Sorted either way.
_reasons := sort(_deny) if count(_deny) > 0

_reasons := sort(_notes) if count(_deny) == 0

# An allowed workflow.start of a high-risk task, or an allowed step.execute of a
# high-risk step, waits for a human (risk.rego says why, requirement.rego who and how
# many). Approval decisions never do.
default _require_approval := false

_require_approval if {
	_action in _gated_actions
	count(_deny) == 0
	risk.level == "high"
}

_gated_actions := {"workflow.start", "step.execute"}

# Messages.

_unknown_action(requested) := sprintf(
	"Unknown action %s: expected one of %s.",
	[text.quoted(requested), concat(", ", _known_actions)],
)
