# METADATA
# title: Shadow (candidate) policy
# description: |
#   A candidate decision, asked beside the enforcing one on every decision:
#   POST /v1/data/shadow/main/decision (OPA_SHADOW_DECISION_PATH). Its answer is
#   recorded (workflow history, a span event, a counter) and never changes the
#   outcome; `orchestrator policy shadow-report` says where the two disagree.
#   Express a candidate as the enforcing decision evaluated with changed settings or
#   rules (`with`), or write a whole decision here. Delete the rule (or this file)
#   and no shadow is evaluated. See the README, "Rolling out a policy change".
package shadow.main

import data.orchestrator.main

# METADATA
# title: Candidate decision
# description: The enforcing decision under the candidate settings, labelled as the candidate.
# entrypoint: true
decision := object.union(enforcing, {"policy_version": version}) if {
	enforcing := main.decision with data.orchestrator.settings.risk.amount_threshold as _amount_threshold
	version := sprintf("%s+%s", [main.policy_version, _candidate])
}

# What the candidate changes, named in its policy_version so reports can tell
# candidates apart.
_candidate := "amount-threshold-5000"

# The change on trial: amounts above 5,000 (not 10,000) are high risk, so need approval.
_amount_threshold := 5000
