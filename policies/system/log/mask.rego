# METADATA
# title: Decision-log masking
# description: |
#   OPA asks data.system.log.mask before it writes a decision to its decision log (the
#   console log: .data/logs/opa.log), with the decision event as input: input.input is
#   what the worker asked with, input.result the decision. The answer lists what to
#   overwrite, so secrets never reach the log: the value of every sensitive key in
#   task.parameters and step.args (password, token, api_key, email, ... at any depth),
#   and every e-mail address, API key or token in the task, the step, an approval comment
#   and the decision's reasons. The rules are data in
#   data.orchestrator.settings.sensitive. Spans carry no user data at all
#   (telemetry/policy_attributes.py); the log keeps the rest of the input, because
#   auditors join it to a workflow by decision id.
package system.log

import data.orchestrator.settings
import data.orchestrator.words

# METADATA
# title: Mask
# description: |
#   The mask operations OPA applies to the event before logging it: every secret found
#   is overwritten with the marker (a string keeps its other text), in place where its
#   path can be addressed, else its nearest addressable ancestor as a whole.
mask contains {"op": "upsert", "path": _pointer("input", path), "value": value} if {
	some [path, value] in _overwrite
	every part in path {
		_safe_segment(part)
	}
}

mask contains {"op": "upsert", "path": _pointer("input", _safe_prefix(path)), "value": _marker} if {
	some [path, _] in _overwrite
	some part in path
	not _safe_segment(part)
}

mask contains {"op": "upsert", "path": sprintf("/result/reasons/%d", [i]), "value": clean} if {
	some i, reason in input.result.reasons
	is_string(reason)
	clean := _redacted(reason)
	clean != reason
}

# The candidate's reasons, where orchestrator/paired answers it beside the decision.
mask contains {"op": "upsert", "path": sprintf("/result/shadow/reasons/%d", [i]), "value": clean} if {
	some i, reason in input.result.shadow.reasons
	is_string(reason)
	clean := _redacted(reason)
	clean != reason
}

# METADATA
# title: Sensitive key
# description: |
#   A key whose value is secret: without case and separators it contains one of
#   key_parts ("dbPassword", "X-API-Key"), or one of its words is one of key_words or
#   its plural ("private_key"; not "keyboard").
sensitive_key(key) if {
	is_string(key)
	some part in settings.sensitive.key_parts
	contains(words.compact(key), words.compact(part))
}

sensitive_key(key) if {
	is_string(key)
	some word in words.of(words.name_text(key))
	some listed in settings.sensitive.key_words
	word in {listed, concat("", [listed, "s"])}
}

_marker := settings.sensitive.marker

# What the worker asked with; anything that is not an object carries no fields to mask.
_asked := input.input if is_object(input.input)

default _asked := {}

# Where sensitive keys are looked for, and where secret-looking text is.
_keyed_sections := [["task", "parameters"], ["step", "args"]]

_text_sections := [["task"], ["step"], ["approval", "comment"]]

# The sensitive keys that occur at all: most decisions have none, and then nothing below
# walks the input.
_sensitive_keys contains key if {
	some section in _keyed_sections
	some key in words.keys_in(object.get(_asked, section, null))
	sensitive_key(key)
}

# Paths (from the input's root) of the values of sensitive keys: the outermost one where
# they nest, since masking it masks what is below.
_keyed contains array.concat(section, path) if {
	count(_sensitive_keys) > 0
	some section in _keyed_sections
	walk(object.get(_asked, section, null), [path, _])
	path[count(path) - 1] in _sensitive_keys
	not _sensitive_above(path)
}

_sensitive_above(path) if {
	some i, key in path
	i < count(path) - 1
	key in _sensitive_keys
}

# Strings below a sensitive key: also blanked where the decision's reasons quote them.
_secret_values contains value if {
	some path in _keyed
	walk(object.get(_asked, path, null), [_, value])
	is_string(value)
	count(value) >= 4
}

# "password=hunter2", "api_key: abc", "\"token\": \"abc\"": a sensitive name, then its
# value. The name (group 1) stays in the log, the value is replaced.
_key_value_patterns := [
	sprintf(`(?i)([a-z0-9_.-]*(?:%s)[a-z0-9_.-]*["']?\s*[:=]\s*["']?)[^\s,;"']+`, [concat("|", parts)]),
	sprintf(`(?i)(\b(?:%s)s?["']?\s*[:=]\s*["']?)[^\s,;"']+`, [concat("|", settings.sensitive.key_words)]),
] if {
	parts := {form | some part in settings.sensitive.key_parts; some form in {part, words.compact(part)}}
}

_patterns := [sprintf("(?i)%s", [pattern]) | some pattern in settings.sensitive.patterns]

_token := settings.sensitive.token

_token_pattern := sprintf("(?i)[a-z0-9_-]{%d,}", [_token.min_length])

# A long run that is random-looking enough to be a key: enough digits and letters, and
# not a UUID (ids are not secrets, and steps pass run ids along).
_token_like(run) if {
	count(regex.find_n(`[0-9]`, run, -1)) >= _token.min_digits
	count(regex.find_n(`(?i)[a-z]`, run, -1)) >= _token.min_letters
	not regex.match(`(?i)^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`, run)
}

# METADATA
# title: Secrets in a text
# description: What in a text must not be logged (pattern matches, token-like runs, secret values).
_secrets_in(text) := ({found |
	some pattern in _patterns
	some found in regex.find_n(pattern, text, -1)
} | {run |
	some run in regex.find_n(_token_pattern, text, -1)
	_token_like(run)
}) | {value |
	some value in _secret_values
	contains(text, value)
}

# METADATA
# title: Redacted
# description: The text with everything secret in it replaced by the marker.
_redacted(text) := strings.replace_n({found: _marker | some found in _secrets_in(named)}, named) if {
	named := regex.replace(
		regex.replace(text, _key_value_patterns[0], concat("", ["${1}", _marker])),
		_key_value_patterns[1],
		concat("", ["${1}", _marker]),
	)
}

# Every distinct string (keys included) of the task, the step and an approval comment.
_logged_strings contains text if {
	some section in _text_sections
	some text in words.strings_in(object.get(_asked, section, null))
}

# The ones with a secret in them, and what to log instead. Only when there are any is
# the input walked for where they are.
_cleaned[text] := clean if {
	some text in _logged_strings
	clean := _redacted(text)
	clean != text
}

# Every such string value by path (strings below sensitive keys are masked whole above).
_texts[path] := _cleaned[value] if {
	count(_cleaned) > 0
	some section in _text_sections
	walk(object.get(_asked, section, null), [inner, value])
	is_string(value)
	_cleaned[value]
	path := array.concat(section, inner)
	not _below_keyed(path)
}

_below_keyed(path) if {
	some masked in _keyed
	array.slice(path, 0, count(masked)) == masked
}

# Object keys that look like secrets themselves (an e-mail address as a key): the key
# cannot be renamed, so its whole object is masked (below, as an unsafe path).
_secret_keys contains path if {
	names := {key |
		some section in _text_sections
		some key in words.keys_in(object.get(_asked, section, null))
		_cleaned[key]
	}
	count(names) > 0
	some section in _text_sections
	walk(object.get(_asked, section, null), [inner, _])
	inner[count(inner) - 1] in names
	path := array.concat(section, inner)
}

# What to overwrite, as [path, value].
_overwrite contains [path, _marker] if some path in _keyed

_overwrite contains [path, clean] if some path, clean in _texts

_overwrite contains [path, _marker] if some path in _secret_keys

# A path segment OPA's mask can address exactly and that is safe to print (OPA lists
# masked paths in the log): an index, or a plain key that does not itself look secret.
_safe_segment(part) if is_number(part)

_safe_segment(part) if {
	is_string(part)
	regex.match(`^[A-Za-z0-9_.~-]+$`, part)
	count(_secrets_in(part)) == 0
}

# The longest prefix of a path made of safe segments.
_safe_prefix(path) := array.slice(path, 0, min({i | some i, part in path; not _safe_segment(part)}))

# A mask path: "/input/task/parameters/password", "/input/step/args/1".
_pointer(root, path) := concat("/", array.concat(["", root], [_segment(part) | some part in path]))

_segment(part) := format_int(part, 10) if is_number(part)

_segment(part) := part if is_string(part)
