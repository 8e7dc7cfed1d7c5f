# METADATA
# title: Executing a declarative step
# description: |
#   May this step of a declarative workflow run (action step.execute)? The requester
#   must be allowed to start work; some activities are never allowed; arguments that
#   start with "forbidden" are denied; production loads need a production role.
package orchestrator.step

import data.orchestrator.directory
import data.orchestrator.identity
import data.orchestrator.settings

activity := input.step.activity if {
	is_string(input.step.activity)
	input.step.activity != ""
}

path := input.step.path if is_string(input.step.path)

default path := "(unknown step)"

# Every string anywhere in the arguments, however deeply nested.
strings contains value if {
	walk(object.get(input.step, "args", []), [_, value])
	is_string(value)
}

deny contains msg if some msg in identity.requester_problems

deny contains sprintf("Step %s names no activity.", [path]) if not activity

deny contains sprintf("Step %s: activity %s is never allowed.", [path, activity]) if {
	activity in settings.steps.forbidden_activities
}

deny contains msg if {
	some value in strings
	startswith(lower(trim_space(value)), "forbidden")
	msg := sprintf("Step %s: an argument starts with \"forbidden\", which is never allowed.", [path])
}

deny contains msg if {
	activity in settings.steps.production_activities
	touches_production
	not identity.may_touch_production(identity.requester_id)
	msg := sprintf(
		"Step %s: %s into production needs one of: %s; %s holds %s.",
		[
			path, activity, identity.listed(directory.roles.production),
			identity.requester_id, identity.held(identity.requester_id),
		],
	)
}

touches_production if {
	some value in strings
	some word in settings.risk.production_environments
	contains(lower(value), word)
}

notes contains sprintf("Step %s may run %s for %s.", [path, activity, identity.requester_id]) if {
	identity.may_start(identity.requester_id)
}
