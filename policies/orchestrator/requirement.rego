# METADATA
# title: Approval requirement
# description: |
#   What an approval needs when a decision requires one: dual control (two distinct
#   approvers, a shorter deadline) for payments, production and amounts above the
#   threshold; the standard requirement otherwise. Both are data in
#   settings.approval, so changing who approves is a data change.
package orchestrator.requirement

import data.orchestrator.risk
import data.orchestrator.settings

# METADATA
# title: Dual control
# description: Why this task needs two approvers; empty when one is enough.
dual_control contains sprintf("the task kind %q needs two approvers", [kind]) if {
	is_string(input.task.kind)
	kind := lower(input.task.kind)
	kind in settings.approval.dual_control_kinds
}

dual_control contains "production changes need two approvers" if {
	is_string(risk.parameters.environment)
	lower(risk.parameters.environment) in settings.risk.production_environments
}

dual_control contains "amounts above the threshold need two approvers" if {
	amount := risk.parameters.amount
	is_number(amount)
	amount > settings.risk.amount_threshold
}

# METADATA
# title: Requirement
# description: The requirement object the decision reports under "approval".
requirement := settings.approval.dual_control if {
	count(dual_control) > 0
} else := settings.approval.standard

# METADATA
# title: Requirement explanation
# description: One sentence for the decision's reasons.
explanation := sprintf(
	"Needs %d distinct approvers (%s) within %s.",
	[requirement.quorum, concat("; ", sort(dual_control)), duration(requirement.deadline_seconds)],
) if count(dual_control) > 0

explanation := sprintf(
	"Needs 1 approver within %s.",
	[duration(requirement.deadline_seconds)],
) if count(dual_control) == 0

duration(seconds) := sprintf("%dh", [seconds / 3600]) if seconds % 3600 == 0

duration(seconds) := sprintf("%ds", [seconds]) if seconds % 3600 != 0
