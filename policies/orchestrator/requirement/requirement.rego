# METADATA
# title: Approval requirement
# description: |
#   What an approval needs when a decision requires one (a high-risk workflow.start or
#   step.execute): dual control (two distinct approvers, a shorter deadline) for
#   payments, production and amounts above the threshold; the standard requirement
#   otherwise. Both are data in settings.approval, so changing who approves is a data
#   change.
package orchestrator.requirement

import data.orchestrator.risk
import data.orchestrator.settings

# METADATA
# title: Requirement
# description: The requirement object the decision reports under "approval".
requirement := settings.approval.dual_control if {
	count(_dual_control) > 0
} else := settings.approval.standard

# METADATA
# title: Requirement explanation
# description: One sentence for the decision's reasons.
explanation := sprintf(
	"Needs %d distinct approvers (%s) within %s.",
	[requirement.quorum, concat("; ", sort(_dual_control)), _duration(requirement.deadline_seconds)],
) if count(_dual_control) > 0

explanation := sprintf(
	"Needs 1 approver within %s.",
	[_duration(requirement.deadline_seconds)],
) if count(_dual_control) == 0

# Why this work needs two approvers; empty when one is enough. The same signals as risk
# (risk.rego), for the task or the step alike: a payment kind (a step's activity name
# counts as its kind), production, an amount above the threshold or not a number.
_dual_control contains sprintf("the task kind %q needs two approvers", [risk.kind]) if {
	risk.subject == "task"
	count(risk.kinds_of(risk.kind, settings.approval.dual_control_kinds)) > 0
}

_dual_control contains sprintf("the activity %s is a %s and needs two approvers", [risk.activity, kind]) if {
	risk.subject == "step"
	some kind in risk.kinds_of(risk.activity, settings.approval.dual_control_kinds)
}

_dual_control contains "production changes need two approvers" if risk.production

_dual_control contains "amounts above the threshold need two approvers" if count(risk.amounts_above) > 0

_dual_control contains "amounts that are not numbers need two approvers" if count(risk.unreadable_amounts) > 0

_duration(seconds) := sprintf("%dh", [seconds / 3600]) if seconds % 3600 == 0

_duration(seconds) := sprintf("%ds", [seconds]) if seconds % 3600 != 0
