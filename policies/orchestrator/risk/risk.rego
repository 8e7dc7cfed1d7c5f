# METADATA
# title: Risk
# description: |
#   How risky the work is (high, medium or low) and why. For step.execute it is the step
#   (its activity name, split into words, and every string and key of its arguments, at
#   any depth); for the other actions the task (its description, its kind, and its
#   parameters' keys and values, at any depth). Keywords match in any of their forms
#   ("Redeploying" is "deploy", see words.rego); the environment, amounts and the
#   destructive flag are read below any key that names them, at any depth. High-risk
#   work needs a human approval. Keywords, kinds and thresholds live in
#   data.orchestrator.settings.risk.
package orchestrator.risk

import data.orchestrator.settings
import data.orchestrator.text
import data.orchestrator.words

# METADATA
# title: Risk level
# description: high when any high signal is present, else medium when any medium one is, else low.
level := "high" if count(_high) > 0

level := "medium" if {
	count(_high) == 0
	count(_medium) > 0
}

default level := "low"

# METADATA
# title: Risk explanation
# description: One sentence for the decision's reasons, saying the level and its signals.
explanation := sprintf("Approval required: %s.", [concat("; ", sort(_high))]) if count(_high) > 0

explanation := sprintf("Risk medium (no approval needed): %s.", [concat("; ", sort(_medium))]) if {
	count(_high) == 0
	count(_medium) > 0
}

explanation := sprintf("Risk low: nothing in the %s calls for an approval.", [subject]) if level == "low"

# METADATA
# title: Subject
# description: What is judged, "step" or "task"; reasons name it.
subject := "step" if input.action == "step.execute"

default subject := "task"

# METADATA
# title: Task kind
# description: input.task.kind, when it is a string.
kind := input.task.kind if is_string(input.task.kind)

# METADATA
# title: Task parameters
# description: input.task.parameters, when it is an object; else empty.
parameters := input.task.parameters if is_object(input.task.parameters)

default parameters := {}

# METADATA
# title: Step activity
# description: input.step.activity, when it is a string; else empty.
activity := input.step.activity if is_string(input.step.activity)

default activity := ""

# METADATA
# title: Strings of the fields
# description: |
#   Every string of the subject's structured part (task parameters or step arguments),
#   keys and values, at any depth: start.rego and step.rego look for "forbidden" in them.
strings := words.string_values(_fields) | _keys

# METADATA
# title: Kinds of a name
# description: |
#   Which of `kinds` a kind (or an activity name) is: one of its words starts with it,
#   so "payments", "payment-batch", "deploy_v2" and "DeploymentJob" count.
kinds_of(name, kinds) := {kind |
	some word in words.of(words.name_text(name))
	some kind in kinds
	startswith(word, kind)
}

# METADATA
# title: Production
# description: |
#   An environment value has a production word ("prod-eu", "production-west", not
#   "products"); for a step, so does any word of its arguments ("prod-warehouse").
production if {
	some value in _environments
	is_string(value)
	some word in words.of(value)
	word in settings.risk.production_environments
}

production if {
	subject == "step"
	some term in _terms
	term in settings.risk.production_environments
}

# METADATA
# title: Amounts above the threshold
# description: The numeric amounts above settings.risk.amount_threshold.
amounts_above contains amount if {
	some amount in _amounts
	is_number(amount)
	amount > settings.risk.amount_threshold
}

# METADATA
# title: Unreadable amounts
# description: |
#   Fail closed: an amount that is not a number (numeric strings arrive as numbers) might
#   be any amount.
unreadable_amounts contains amount if {
	some amount in _amounts
	not is_number(amount)
	amount != null
}

_description := input.task.description if is_string(input.task.description)

default _description := ""

# The structured part of the subject: where the environment, amounts and the destructive
# flag are read.
_fields := input.step.args if subject == "step"

_fields := parameters if subject == "task"

default _fields := []

# Every object key in the fields, at any depth.
_keys := words.keys_in(_fields)

# The texts whose words count.
_texts contains _description if subject == "task"

_texts contains words.name_text(activity) if subject == "step"

_texts contains value if some value in strings

_terms := words.terms(_texts)

# The keys whose words (in any form) include one of `names`.
_named(names) := {key |
	some key in _keys
	count(words.found(names, words.terms({key}))) > 0
}

# Every value (not an object or array) at any depth below a key in _named(names).
_below(names) := {value |
	found := _named(names)
	count(found) > 0 # most fields name none: skip the walk
	walk(_fields, [path, value])
	not is_object(value)
	not is_array(value)
	some key in path
	key in found
}

_environments := _below(settings.risk.environment_keys)

_amounts := _below(settings.risk.amount_keys)

# A kind is high risk when it is a high kind or has a high keyword in any form
# ("drop-tables", "redeploy").
_high_kind if count(kinds_of(kind, settings.risk.high_kinds)) > 0

_high_kind if count(words.found(settings.risk.high_keywords, words.terms({kind}))) > 0

# Signals: the phrases the explanation joins.

_high contains msg if some msg in _mentions(settings.risk.high_keywords)

_high contains sprintf("the task kind %q is high risk", [kind]) if {
	subject == "task"
	_high_kind
}

_high contains sprintf("the %s targets production", [subject]) if production

_high contains sprintf("the amount %v is above %v", [amount, settings.risk.amount_threshold]) if {
	some amount in amounts_above
}

_high contains sprintf("the amount %s is not a number", [text.quoted(amount)]) if {
	some amount in unreadable_amounts
}

_high contains sprintf("the %s is marked destructive", [subject]) if {
	some value in _below(settings.risk.destructive_keys)
	not value in settings.risk.not_destructive
}

_medium contains msg if some msg in _mentions(settings.risk.medium_keywords)

# The keywords (in any of their forms) the subject mentions.
_mentions(keywords) := {sprintf("the %s mentions %q", [subject, keyword]) |
	some keyword in words.found(keywords, _terms)
}
