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

approver := input.approval.approver if {
	is_string(input.approval.approver)
	input.approval.approver != ""
}

decisions := {"approve", "reject"}

decision := input.approval.decision

default decision := null

# What the approver tried to do, for reasons.
verb := decision if decision in decisions

default verb := "decide on"

# The roles that may decide now: the requirement's (after any widening), else the
# directory's approver roles.
required_roles := {role | some role in input.approval.required_roles} if {
	count(input.approval.required_roles) > 0
} else := {role | some role in directory.roles.approve}

holds_required_role(id) if {
	some role in identity.roles(id)
	role in required_roles
}

# Separation of duties holds unless the requirement explicitly waives it.
excludes_requester if not input.approval.exclude_requester == false

deny contains "No approver was given: say who decides." if not approver

deny contains msg if {
	not input.approval.authenticated == true
	msg := sprintf(
		"The approval is not authenticated (%s): decide with `orchestrator approve` or the API, which sign it.",
		[authentication_problem],
	)
}

authentication_problem := input.approval.authentication_error if {
	is_string(input.approval.authentication_error)
	input.approval.authentication_error != ""
} else := "no credential"

deny contains sprintf("%s already approved: this approval needs distinct approvers.", [approver]) if {
	decision == "approve"
	approver in {id | some id in input.approval.approved_by}
}

deny contains sprintf("Approver %s is not in the directory.", [text.quoted(approver)]) if {
	not identity.known(approver)
}

deny contains sprintf("%s cannot %s their own request: separation of duties.", [approver, verb]) if {
	excludes_requester
	approver == input.requester.id
}

deny contains msg if {
	identity.known(approver)
	not holds_required_role(approver)
	msg := sprintf(
		"%s holds %s; deciding this approval needs one of: %s.",
		[approver, identity.held(approver), text.listed(required_roles)],
	)
}

deny contains sprintf("Unknown decision %s: expected approve or reject.", [text.quoted(decision)]) if {
	not decision in decisions
}

notes contains msg if {
	holds_required_role(approver)
	approver != input.requester.id
	msg := sprintf(
		"%s holds %s, which may %s, and is not the requester.",
		[approver, identity.held(approver), verb],
	)
}
