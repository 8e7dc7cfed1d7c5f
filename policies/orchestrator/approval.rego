# METADATA
# title: Deciding an approval
# description: |
#   May this person approve or reject this pending request (action approval.decide)?
#   Only holders of an approver role, and never the requester (separation of duties).
package orchestrator.approval

import data.orchestrator.directory
import data.orchestrator.identity

approver := input.approval.approver if {
	is_string(input.approval.approver)
	input.approval.approver != ""
}

decisions := {"approve", "reject"}

deny contains "No approver was given: say who decides." if not approver

deny contains sprintf("Approver %q is not in the directory.", [approver]) if {
	not identity.known(approver)
}

deny contains sprintf("%s cannot decide on their own request: separation of duties.", [approver]) if {
	approver == input.requester.id
}

deny contains msg if {
	identity.known(approver)
	not identity.may_approve(approver)
	msg := sprintf(
		"%s holds %s; deciding approvals needs one of: %s.",
		[approver, identity.held(approver), identity.listed(directory.roles.approve)],
	)
}

deny contains sprintf("Unknown decision %s: expected approve or reject.", [json.marshal(decision)]) if {
	decision := object.get(input.approval, "decision", null)
	not decision in decisions
}

notes contains sprintf("%s holds an approver role and did not request this work.", [approver]) if {
	identity.may_approve(approver)
	approver != input.requester.id
}
