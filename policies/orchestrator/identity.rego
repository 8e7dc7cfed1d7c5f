# METADATA
# title: Identity
# description: |
#   Who the requester and the approver are, according to the directory in
#   data.orchestrator.directory (directory/data.yaml). Only the directory's roles
#   count: roles a caller asserts in input.requester.roles are never trusted.
package orchestrator.identity

import data.orchestrator.directory
import data.orchestrator.text

# METADATA
# title: Requester id
# description: The requester's id, when input names one (a non-empty string).
requester_id := input.requester.id if {
	is_string(input.requester.id)
	input.requester.id != ""
}

known(id) if directory.people[id]

roles(id) := {role | some role in directory.people[id].roles}

may_start(id) if {
	some role in roles(id)
	role in directory.roles.start
}

may_approve(id) if {
	some role in roles(id)
	role in directory.roles.approve
}

may_touch_production(id) if {
	some role in roles(id)
	role in directory.roles.production
}

# METADATA
# title: Roles held
# description: '"role(s) a, b" or "no role", for reasons.'
held(id) := sprintf("role(s) %s", [text.listed(roles(id))]) if count(roles(id)) > 0

held(id) := "no role" if count(roles(id)) == 0

# METADATA
# title: Requester problems
# description: Why the requester may not start work or run steps; empty when they may.
requester_problems contains "No requester was given: every request must name who asks." if {
	not requester_id
}

requester_problems contains sprintf("Requester %s is not in the directory.", [text.quoted(id)]) if {
	id := requester_id
	not known(id)
}

requester_problems contains msg if {
	known(requester_id)
	not may_start(requester_id)
	msg := sprintf(
		"%s holds %s; starting work needs one of: %s.",
		[requester_id, held(requester_id), text.listed(directory.roles.start)],
	)
}

# METADATA
# title: Requester notes
# description: Why the requester may start work, for the decision's reasons.
requester_notes contains msg if {
	may_start(requester_id)
	msg := sprintf("%s holds %s, which may start work.", [requester_id, held(requester_id)])
}
