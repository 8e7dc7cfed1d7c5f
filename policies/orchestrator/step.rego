# METADATA
# title: Executing a declarative step
# description: |
#   May this step of a declarative workflow run (action step.execute)? The requester
#   must be allowed to start work; some activities are never allowed; "forbidden" in the
#   activity name or anywhere in the arguments (a string or an object key, at any depth)
#   is denied; some activities need a production role when the step targets production.
#   Rules as data in data.orchestrator.settings.steps. Whether an allowed step needs an
#   approval is its risk (risk.rego), exactly as for starting work (main.rego).
package orchestrator.step

import data.orchestrator.directory
import data.orchestrator.identity
import data.orchestrator.requirement
import data.orchestrator.risk
import data.orchestrator.settings
import data.orchestrator.text
import data.orchestrator.words

activity := input.step.activity if {
	is_string(input.step.activity)
	input.step.activity != ""
}

path := input.step.path if is_string(input.step.path)

default path := "(unknown step)"

args := input.step.args

default args := []

# Activity names compare without case or separators: the lists name catalog activities,
# and "dropDatabase" or "Drop_Database" must not slip past "DropDatabase".
listed(name, names) if words.compact(name) in {words.compact(other) | some other in names}

deny contains msg if some msg in identity.requester_problems

deny contains sprintf("Step %s names no activity.", [path]) if not activity

deny contains sprintf("Step %s: activity %s is never allowed.", [path, activity]) if {
	listed(activity, settings.steps.forbidden_activities)
}

deny contains sprintf("Step %s: activity %s mentions \"forbidden\", which is never allowed.", [path, activity]) if {
	words.mentions_forbidden(activity)
}

# Names where, not what: the value may be a secret, and the reason is kept in history.
# risk.strings are the arguments' strings (the step is what risk judges for step.execute).
deny contains sprintf("Step %s: %s mentions \"forbidden\", which is never allowed.", [path, text.location("args", at)]) if {
	some at in words.forbidden_paths(args, risk.strings)
}

deny contains msg if {
	listed(activity, settings.steps.production_activities)
	risk.production
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
	listed(activity, settings.steps.production_activities)
	risk.production
	identity.may_touch_production(identity.requester_id)
}

notes contains msg if some msg in identity.on_behalf

notes contains risk.explanation

notes contains requirement.explanation if risk.level == "high"
