# METADATA
# title: Starting a workflow
# description: |
#   May this requester start this task (action workflow.start)? Denies unknown or
#   unauthorised requesters and tasks that start with "forbidden" (the old demo's rule).
package orchestrator.start

import data.orchestrator.identity
import data.orchestrator.risk

description := input.task.description if is_string(input.task.description)

deny contains msg if some msg in identity.requester_problems

deny contains "The task has no description: say what the work is." if {
	not description
}

deny contains "The task has no description: say what the work is." if {
	trim_space(description) == ""
}

deny contains msg if {
	startswith(lower(trim_space(description)), "forbidden")
	msg := sprintf(
		"Task %q is forbidden: descriptions starting with \"forbidden\" are never allowed.",
		[shortened(trim_space(description))],
	)
}

notes contains msg if some msg in identity.requester_notes

notes contains risk.explanation

notes contains "Approval required before the work runs." if risk.level == "high"

shortened(text) := text if count(text) <= 60

shortened(text) := sprintf("%s...", [substring(text, 0, 57)]) if count(text) > 60
