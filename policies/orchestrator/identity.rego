# METADATA
# title: Identity
# description: |
#   Who the requester and the approver are, according to the directory in
#   data.orchestrator.directory (directory/data.yaml). Only the directory's roles
#   count: roles a caller asserts in input.requester.roles are never trusted. The
#   requester must be authenticated: the worker verified the start credential the work
#   was started with (input.requester.authenticated, and issuer: the key that signed it),
#   and only keys in settings.identity.may_start_on_behalf may sign for someone else.
package orchestrator.identity

import data.orchestrator.directory
import data.orchestrator.settings
import data.orchestrator.text

# METADATA
# title: Requester id
# description: The requester's id, when input names one (a non-empty string).
requester_id := input.requester.id if {
	is_string(input.requester.id)
	input.requester.id != ""
}

# The key that signed the requester's start credential (a person's, or a service's).
issuer := input.requester.issuer if {
	is_string(input.requester.issuer)
	input.requester.issuer != ""
}

authentication_problem := input.requester.authentication_error if {
	is_string(input.requester.authentication_error)
	input.requester.authentication_error != ""
} else := "no credential"

may_start_on_behalf(name) if name in settings.identity.may_start_on_behalf

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

requester_problems contains msg if {
	not input.requester.authenticated == true
	msg := sprintf(
		"The requester is not authenticated (%s): start work with `orchestrator start` or the API, which sign it.",
		[authentication_problem],
	)
}

# Fail closed: a proven requester whose signer is not named cannot be checked below.
requester_problems contains "The requester's start credential names no issuer: start work with `orchestrator start` or the API, which sign it." if {
	input.requester.authenticated == true
	not issuer
}

requester_problems contains sprintf("%s may not start work on behalf of %s.", [issuer, requester_id]) if {
	input.requester.authenticated == true
	issuer != requester_id
	not may_start_on_behalf(issuer)
}

# METADATA
# title: Requester notes
# description: Why the requester may start work, for the decision's reasons.
requester_notes contains msg if {
	may_start(requester_id)
	msg := sprintf("%s holds %s, which may start work.", [requester_id, held(requester_id)])
}

requester_notes contains msg if some msg in on_behalf

# METADATA
# title: On behalf
# description: Who signed the start for the requester, when someone else did (the API).
on_behalf contains sprintf("%s started it on behalf of %s.", [issuer, requester_id]) if {
	issuer != requester_id
	may_start_on_behalf(issuer)
}
