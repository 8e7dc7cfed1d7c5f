# METADATA
# title: Deciding an approval
# description: |
#   May this person approve or reject this workflow's pending approval (action
#   approval.decide)? The approval must be authenticated (the worker verified a
#   signed credential and put its subject in input.approval.approver); the approver
#   must be in the directory and hold one of the required roles (the requirement's,
#   widened by escalation; the directory's approver roles when none is given), must
#   not be the requester when the requirement excludes them (separation of duties),
#   must not have approved already (a quorum counts distinct people), and the
#   decision must be approve or reject.
package orchestrator.approval

import data.orchestrator.directory
import data.orchestrator.identity
import data.orchestrator.text

# METADATA
# title: Denials
# description: Why this approver may not decide this approval; empty when they may.
deny contains _no_approver if not _approver

deny contains _unauthenticated(identity.credential_problem("approval")) if {
	not input.approval.authenticated == true
}

deny contains _already_approved(_approver) if {
	_decision == "approve"
	_approver in {id | some id in input.approval.approved_by}
}

deny contains _not_in_directory(_approver) if not identity.known(_approver)

deny contains _own_request(_approver) if {
	_excludes_requester
	_approver == input.requester.id
}

deny contains _lacks_role(_approver) if {
	identity.known(_approver)
	not _holds_required_role(_approver)
}

deny contains _unknown_decision(_decision) if not _decision in _decisions

# METADATA
# title: Notes
# description: Why the approver may decide, for the decision's reasons.
notes contains _may_decide(_approver) if {
	_holds_required_role(_approver)
	_approver != input.requester.id
}

_approver := input.approval.approver if {
	is_string(input.approval.approver)
	input.approval.approver != ""
}

_decisions := {"approve", "reject"}

_decision := input.approval.decision

default _decision := null

# What the approver tried to do, for reasons.
_verb := _decision if _decision in _decisions

default _verb := "decide on"

# The roles that may decide now: the requirement's (after any widening), else the
# directory's approver roles.
_required_roles := {role | some role in input.approval.required_roles} if {
	count(input.approval.required_roles) > 0
} else := {role | some role in directory.roles.approve}

_holds_required_role(id) if {
	some role in identity.roles(id)
	role in _required_roles
}

# Separation of duties holds unless the requirement explicitly waives it.
_excludes_requester if not input.approval.exclude_requester == false

# Messages.

_no_approver := "No approver was given: say who decides."

_unauthenticated(why) := sprintf(
	"The approval is not authenticated (%s): decide with `orchestrator approve` or the API, which sign it.",
	[why],
)

_already_approved(id) := sprintf("%s already approved: this approval needs distinct approvers.", [id])

_not_in_directory(id) := sprintf("Approver %s is not in the directory.", [text.quoted(id)])

_own_request(id) := sprintf("%s cannot %s their own request: separation of duties.", [id, _verb])

_lacks_role(id) := sprintf(
	"%s holds %s; deciding this approval needs one of: %s.",
	[id, identity.held(id), text.listed(_required_roles)],
)

_unknown_decision(decision) := sprintf("Unknown decision %s: expected approve or reject.", [text.quoted(decision)])

_may_decide(id) := sprintf("%s holds %s, which may %s, and is not the requester.", [id, identity.held(id), _verb])
