# METADATA
# title: Text helpers
# description: |
#   Small helpers that keep reasons readable: quoting and shortening what a caller
#   sent (never echo a huge string), listing names in a stable order, locations inside
#   a value, and the one reason several packages give for "forbidden".
package orchestrator.text

# METADATA
# title: Shortened
# description: The text itself when short, else its first characters and "...".
short(text) := text if count(text) <= _max_echo

short(text) := sprintf("%s...", [substring(text, 0, _max_echo - 3)]) if count(text) > _max_echo

# METADATA
# title: Quoted
# description: |
#   Any input value as JSON for a reason: strings quoted and shortened, anything
#   else (null, numbers, objects) as its shortened JSON text.
quoted(value) := sprintf("%q", [short(value)]) if is_string(value)

quoted(value) := short(json.marshal(value)) if not is_string(value)

# METADATA
# title: Listed
# description: Names sorted and joined with commas.
listed(names) := concat(", ", sort([name | some name in names]))

# METADATA
# title: Location
# description: |
#   Where a path (from walk) points inside a value, for reasons: parameters.db.hosts[0],
#   args[1]["odd key"]. Keys are shortened like any echoed text.
location(root, path) := concat("", array.concat([root], [_segment(part) | some part in path]))

# METADATA
# title: Mentions "forbidden"
# description: |
#   The reason for a name, key or value that mentions "forbidden" (words.mentions_forbidden),
#   after what says where: "The task's parameters.note", "Step p: args[0]".
forbidden_mention(where) := sprintf("%s mentions \"forbidden\", which is never allowed.", [where])

# Caller-supplied strings longer than this are cut in reasons.
_max_echo := 60

_identifier := `^[A-Za-z_][A-Za-z0-9_]*$`

_segment(part) := sprintf("[%d]", [part]) if is_number(part)

_segment(part) := sprintf(".%s", [short(part)]) if {
	is_string(part)
	regex.match(_identifier, part)
}

_segment(part) := sprintf("[%s]", [quoted(part)]) if {
	is_string(part)
	not regex.match(_identifier, part)
}
