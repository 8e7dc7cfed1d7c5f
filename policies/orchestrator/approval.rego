# METADATA
# title: Deciding an approval
# description: |
#   May this person approve or reject this workflow's pending approval (action
#   approval.decide)? The approver must be in the directory and hold an approver
#   role, must not be the requester (separation of duties), and the decision must
#   be approve or reject.
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

deny contains "No approver was given: say who decides." if not approver

deny contains sprintf("Approver %s is not in the directory.", [text.quoted(approver)]) if {
	not identity.known(approver)
}

deny contains sprintf("%s cannot %s their own request: separation of duties.", [approver, verb]) if {
	approver == input.requester.id
}

deny contains msg if {
	identity.known(approver)
	not identity.may_approve(approver)
	msg := sprintf(
		"%s holds %s; deciding approvals needs one of: %s.",
		[approver, identity.held(approver), text.listed(directory.roles.approve)],
	)
}

deny contains sprintf("Unknown decision %s: expected approve or reject.", [text.quoted(decision)]) if {
	not decision in decisions
}

notes contains msg if {
	identity.may_approve(approver)
	approver != input.requester.id
	msg := sprintf(
		"%s holds %s, which may %s, and is not the requester.",
		[approver, identity.held(approver), verb],
	)
}
