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
# title: Requester problems
# description: Why the requester may not start work or run steps; empty when they may.
requester_problems contains _no_requester if not requester_id

requester_problems contains _not_in_directory(id) if {
	id := requester_id
	not known(id)
}

requester_problems contains _may_not_start(requester_id) if {
	known(requester_id)
	not may_start(requester_id)
}

requester_problems contains _unauthenticated(credential_problem("requester")) if {
	not input.requester.authenticated == true
}

# Fail closed: a proven requester whose signer is not named cannot be checked below.
requester_problems contains _no_issuer if {
	input.requester.authenticated == true
	not _issuer
}

requester_problems contains _not_on_behalf(_issuer, requester_id) if {
	input.requester.authenticated == true
	_issuer != requester_id
	not _may_start_on_behalf(_issuer)
}

# METADATA
# title: Requester notes
# description: Why the requester may start work, for the decision's reasons.
requester_notes contains _may_start_note(requester_id) if may_start(requester_id)

requester_notes contains msg if some msg in on_behalf

# METADATA
# title: On behalf
# description: Who signed the start for the requester, when someone else did (the API).
on_behalf contains _on_behalf_note(_issuer, requester_id) if {
	_issuer != requester_id
	_may_start_on_behalf(_issuer)
}

# METADATA
# title: Requester id
# description: The requester's id, when input names one (a non-empty string).
requester_id := input.requester.id if {
	is_string(input.requester.id)
	input.requester.id != ""
}

# METADATA
# title: Credential problem
# description: |
#   Why the worker could not verify the credential in input[section] ("requester",
#   "approval"), as it says in authentication_error; "no credential" when it says nothing.
credential_problem(section) := input[section].authentication_error if {
	is_string(input[section].authentication_error)
	input[section].authentication_error != ""
} else := "no credential"

# METADATA
# title: Known
# description: The person is in the directory.
known(id) if directory.people[id]

# METADATA
# title: Roles
# description: The roles the directory gives a person (none for a stranger).
roles(id) := {role | some role in directory.people[id].roles}

# METADATA
# title: May start
# description: The person holds a directory role that may start work (roles.start).
may_start(id) if {
	some role in roles(id)
	role in directory.roles.start
}

# METADATA
# title: May touch production
# description: The person holds a directory role that may write to production (roles.production).
may_touch_production(id) if {
	some role in roles(id)
	role in directory.roles.production
}

# METADATA
# title: Roles held
# description: '"role(s) a, b" or "no role", for reasons.'
held(id) := sprintf("role(s) %s", [text.listed(roles(id))]) if count(roles(id)) > 0

held(id) := "no role" if count(roles(id)) == 0

# The key that signed the requester's start credential (a person's, or a service's).
_issuer := input.requester.issuer if {
	is_string(input.requester.issuer)
	input.requester.issuer != ""
}

_may_start_on_behalf(name) if name in settings.identity.may_start_on_behalf

# Messages.

_how_to_sign := "start work with `orchestrator start` or the API, which sign it"

_no_requester := "No requester was given: every request must name who asks."

_not_in_directory(id) := sprintf("Requester %s is not in the directory.", [text.quoted(id)])

_may_not_start(id) := sprintf(
	"%s holds %s; starting work needs one of: %s.",
	[id, held(id), text.listed(directory.roles.start)],
)

_unauthenticated(why) := sprintf("The requester is not authenticated (%s): %s.", [why, _how_to_sign])

_no_issuer := sprintf("The requester's start credential names no issuer: %s.", [_how_to_sign])

_not_on_behalf(issuer, id) := sprintf("%s may not start work on behalf of %s.", [issuer, id])

_may_start_note(id) := sprintf("%s holds %s, which may start work.", [id, held(id)])

_on_behalf_note(issuer, id) := sprintf("%s started it on behalf of %s.", [issuer, id])
