# METADATA
# title: Starting a workflow
# description: |
#   May this requester start this task (action workflow.start)? Denies unknown or
#   unauthorised requesters, tasks without a description, and tasks whose
#   description starts with "forbidden" (the old demo's rule).
package orchestrator.start

import data.orchestrator.identity
import data.orchestrator.requirement
import data.orchestrator.risk
import data.orchestrator.text

# The description as the rules read it: leading and trailing whitespace removed.
description := trim_space(input.task.description) if is_string(input.task.description)

forbidden if startswith(lower(description), "forbidden")

deny contains msg if some msg in identity.requester_problems

deny contains "The task has no description: say what the work is." if not description

deny contains "The task has no description: say what the work is." if description == ""

deny contains msg if {
	forbidden
	msg := sprintf(
		"Task %q is forbidden: descriptions starting with \"forbidden\" are never allowed.",
		[text.short(description)],
	)
}

# Why an allowed start is allowed: who may start it, and its risk (which says when
# an approval is required).
notes contains msg if some msg in identity.requester_notes

notes contains risk.explanation

notes contains requirement.explanation if risk.level == "high"
