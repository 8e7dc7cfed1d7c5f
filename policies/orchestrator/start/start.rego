# METADATA
# title: Starting a workflow
# description: |
#   May this requester start this task (action workflow.start)? Denies unauthenticated,
#   unknown or unauthorised requesters, tasks without a description, and tasks that
#   mention "forbidden" anywhere: in the description (the old demo's rule looked only at
#   its start), the kind, or a parameter's key or value at any depth.
package orchestrator.start

import data.orchestrator.identity
import data.orchestrator.requirement
import data.orchestrator.risk
import data.orchestrator.text
import data.orchestrator.words

# METADATA
# title: Denials
# description: Why this task may not start; empty when it may.
deny contains msg if some msg in identity.requester_problems

deny contains _no_description if _description == ""

deny contains _forbidden_task(_description) if words.mentions_forbidden(_description)

deny contains text.forbidden_mention(sprintf("The task kind %q", [text.short(risk.kind)])) if {
	words.mentions_forbidden(risk.kind)
}

# Names where, not what: the value may be a secret, and the reason is kept in history.
deny contains text.forbidden_mention(sprintf("The task's %s", [text.location("parameters", path)])) if {
	some path in words.forbidden_paths(risk.parameters, risk.strings)
}

# METADATA
# title: Notes
# description: |
#   Why an allowed start is allowed: who may start it, and its risk (which says when
#   an approval is required).
notes contains msg if some msg in identity.requester_notes

notes contains risk.explanation

notes contains requirement.explanation if risk.level == "high"

# The description as the rules read it: leading and trailing whitespace removed; empty
# when there is none (or it is not a string).
_description := trim_space(input.task.description) if is_string(input.task.description)

default _description := ""

# Messages.

_no_description := "The task has no description: say what the work is."

_forbidden_task(description) := sprintf(
	"Task %q is forbidden: work that mentions \"forbidden\" is never allowed.",
	[text.short(description)],
)
