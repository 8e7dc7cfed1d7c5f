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

# METADATA
# title: Denials
# description: Why this step may not run; empty when it may.
deny contains msg if some msg in identity.requester_problems

deny contains sprintf("Step %s names no activity.", [_path]) if not _activity

deny contains sprintf("Step %s: activity %s is never allowed.", [_path, _activity]) if {
	_listed(_activity, settings.steps.forbidden_activities)
}

deny contains text.forbidden_mention(sprintf("Step %s: activity %s", [_path, _activity])) if {
	words.mentions_forbidden(_activity)
}

# Names where, not what: the value may be a secret, and the reason is kept in history.
# risk.strings are the arguments' strings (the step is what risk judges for step.execute).
deny contains text.forbidden_mention(sprintf("Step %s: %s", [_path, text.location("args", at)])) if {
	some at in words.forbidden_paths(_args, risk.strings)
}

deny contains _production_needs_role(identity.requester_id) if {
	_writes_to_production
	identity.known(identity.requester_id)
	not identity.may_touch_production(identity.requester_id)
}

# METADATA
# title: Notes
# description: Why an allowed step may run (who runs it), and its risk.
notes contains sprintf("Step %s may run %s for %s.", [_path, _activity, identity.requester_id]) if {
	identity.may_start(identity.requester_id)
}

notes contains _may_write_to_production(identity.requester_id) if {
	_writes_to_production
	identity.may_touch_production(identity.requester_id)
}

notes contains msg if some msg in identity.on_behalf

notes contains risk.explanation

notes contains requirement.explanation if risk.level == "high"

_activity := input.step.activity if {
	is_string(input.step.activity)
	input.step.activity != ""
}

_path := input.step.path if is_string(input.step.path)

default _path := "(unknown step)"

_args := input.step.args

default _args := []

# Activity names compare without case or separators: the lists name catalog activities,
# and "dropDatabase" or "Drop_Database" must not slip past "DropDatabase".
_listed(name, names) if words.compact(name) in {words.compact(other) | some other in names}

# A production activity (settings.steps.production_activities) of a step that targets
# production.
_writes_to_production if {
	_listed(_activity, settings.steps.production_activities)
	risk.production
}

# Messages.

_production_needs_role(id) := sprintf(
	"Step %s: %s into production needs one of: %s; %s holds %s.",
	[_path, _activity, text.listed(directory.roles.production), id, identity.held(id)],
)

_may_write_to_production(id) := sprintf("%s holds %s, which may write to production.", [id, identity.held(id)])
