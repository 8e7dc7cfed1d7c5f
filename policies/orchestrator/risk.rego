# METADATA
# title: Risk
# description: |
#   How risky a task is (high, medium or low) and why, from its kind, the words of
#   its description and its parameters. High-risk work needs a human approval.
#   Keywords, kinds and thresholds live in data.orchestrator.settings.risk.
package orchestrator.risk

import data.orchestrator.settings

description := lower(input.task.description) if is_string(input.task.description)

default description := ""

# Whole words only: "deploy" matches "Deploy the API", not "deployment guide".
words := {word | some word in regex.split(`[^a-z0-9]+`, description); word != ""}

parameters := input.task.parameters if is_object(input.task.parameters)

default parameters := {}

high contains sprintf("the task mentions %q", [word]) if {
	some word in settings.risk.high_keywords
	word in words
}

high contains sprintf("the task kind %q is high risk", [kind]) if {
	is_string(input.task.kind)
	kind := lower(input.task.kind)
	kind in settings.risk.high_kinds
}

high contains "the task targets production" if {
	is_string(parameters.environment)
	lower(parameters.environment) in settings.risk.production_environments
}

high contains sprintf("the amount %v is above %v", [amount, settings.risk.amount_threshold]) if {
	amount := parameters.amount
	is_number(amount)
	amount > settings.risk.amount_threshold
}

high contains "the task is marked destructive" if parameters.destructive == true

medium contains sprintf("the task mentions %q", [word]) if {
	some word in settings.risk.medium_keywords
	word in words
}

# METADATA
# title: Risk level
# description: high when any high signal is present, else medium when any medium one is, else low.
level := "high" if count(high) > 0

level := "medium" if {
	count(high) == 0
	count(medium) > 0
}

default level := "low"

# METADATA
# title: Risk explanation
# description: One sentence for the decision's reasons, saying the level and its signals.
explanation := sprintf("Approval required: %s.", [concat("; ", sort(high))]) if count(high) > 0

explanation := sprintf("Risk medium (no approval needed): %s.", [concat("; ", sort(medium))]) if {
	count(high) == 0
	count(medium) > 0
}

explanation := "Risk low: nothing in the task calls for an approval." if level == "low"
