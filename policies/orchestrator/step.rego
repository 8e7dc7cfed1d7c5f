# METADATA
# title: Executing a declarative step
# description: |
#   May this step of a declarative workflow run (action step.execute)? The requester
#   must be allowed to start work; some activities are never allowed; an argument
#   (at any depth) that starts with "forbidden" is denied; some activities need a
#   production role when an argument names a production environment. Rules as data
#   in data.orchestrator.settings.steps. Steps never require approval.
package orchestrator.step

import data.orchestrator.directory
import data.orchestrator.identity
import data.orchestrator.settings
import data.orchestrator.text

activity := input.step.activity if {
	is_string(input.step.activity)
	input.step.activity != ""
}

path := input.step.path if is_string(input.step.path)

default path := "(unknown step)"

args := input.step.args

default args := []

# Every string anywhere in the arguments, however deeply nested.
strings contains value if {
	walk(args, [_, value])
	is_string(value)
}

# Whole words of the arguments: "prod-warehouse" names prod, "products" does not.
words contains word if {
	some value in strings
	some word in regex.split(`[^a-z0-9]+`, lower(value))
}

touches_production if {
	some word in words
	word in settings.risk.production_environments
}

deny contains msg if some msg in identity.requester_problems

deny contains sprintf("Step %s names no activity.", [path]) if not activity

deny contains sprintf("Step %s: activity %s is never allowed.", [path, activity]) if {
	activity in settings.steps.forbidden_activities
}

deny contains msg if {
	some value in strings
	startswith(lower(trim_space(value)), "forbidden")
	msg := sprintf(
		"Step %s: argument %q starts with \"forbidden\", which is never allowed.",
		[path, text.short(trim_space(value))],
	)
}

deny contains msg if {
	activity in settings.steps.production_activities
	touches_production
	identity.known(identity.requester_id)
	not identity.may_touch_production(identity.requester_id)
	msg := sprintf(
		"Step %s: %s into production needs one of: %s; %s holds %s.",
		[
			path, activity, text.listed(directory.roles.production),
			identity.requester_id, identity.held(identity.requester_id),
		],
	)
}

notes contains sprintf("Step %s may run %s for %s.", [path, activity, identity.requester_id]) if {
	identity.may_start(identity.requester_id)
}

notes contains sprintf("%s holds %s, which may write to production.", [identity.requester_id, identity.held(identity.requester_id)]) if {
	activity in settings.steps.production_activities
	touches_production
	identity.may_touch_production(identity.requester_id)
}
