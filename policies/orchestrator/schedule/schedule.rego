# METADATA
# title: Managing a schedule
# description: |
#   May this person pause, unpause or trigger a Temporal Schedule now (action
#   schedule.manage, asked by the console before it acts)? They must be authenticated
#   (the console proved them with their API token), be in the directory and hold one of
#   the directory's schedule roles (roles.schedules); the operation must be pause,
#   unpause or trigger.
package orchestrator.schedule

import data.orchestrator.directory
import data.orchestrator.identity
import data.orchestrator.text

# METADATA
# title: Denials
# description: Why this person may not do this to the schedule; empty when they may.
deny contains _unauthenticated if not input.requester.authenticated == true

deny contains _not_in_directory(_who) if not identity.known(_who)

deny contains _lacks_role(_who) if {
	identity.known(_who)
	not _may_manage(_who)
}

deny contains _unknown_operation(_operation) if not _operation in _operations

# METADATA
# title: Notes
# description: Why the person may, for the decision's reasons.
notes contains _may(_who) if _may_manage(_who)

_who := input.requester.id if is_string(input.requester.id)

default _who := ""

_operation := input.schedule.operation

default _operation := null

_operations := {"pause", "unpause", "trigger"}

_may_manage(id) if {
	some role in identity.roles(id)
	role in directory.roles.schedules
}

# Messages.

_unauthenticated := "The person is not authenticated: manage schedules from the console or the CLI."

_not_in_directory(id) := sprintf("%s is not in the directory.", [text.quoted(id)])

_lacks_role(id) := sprintf(
	"%s holds %s; managing schedules needs one of: %s.",
	[id, identity.held(id), text.listed(directory.roles.schedules)],
)

_unknown_operation(operation) := sprintf(
	"Unknown schedule operation %s: expected pause, unpause or trigger.",
	[text.quoted(operation)],
)

_may(id) := sprintf("%s holds %s, which may manage schedules.", [id, identity.held(id)])
