# METADATA
# title: Words
# description: |
#   How the rules read text: its words, a keyword in any of its forms, and the word
#   "forbidden" wherever it hides. The worker has already normalised the input
#   (orchestrator/policy/normalize.py: Unicode NFKC, accents, invisible characters and
#   look-alike letters removed, case-folded), so these rules only split and compare; they
#   still lower-case, so the rules hold for input sent to OPA directly.
package orchestrator.words

import data.orchestrator.settings

# METADATA
# title: Words of a text
# description: |
#   Runs of letters and runs of digits, lower-cased, in order: "Deploy2prod-EU" is
#   deploy, 2, prod, eu. Anything else separates words.
of(text) := regex.find_n(`[a-z]+|[0-9]+`, lower(text), -1)

# METADATA
# title: Name as text
# description: |
#   An identifier with its camelCase and PascalCase words spaced, so activity names read
#   as words: "ExecuteAgentTask" is "Execute Agent Task", "HTTPDeploy" "HTTP Deploy".
name_text(name) := regex.replace(
	regex.replace(name, `([A-Z]+)([A-Z][a-z])`, "${1} ${2}"),
	`([a-z0-9])([A-Z])`,
	"${1} ${2}",
)

# METADATA
# title: Terms of texts
# description: |
#   The words of the texts and each pair of adjacent words ("shut down"), for matching
#   keywords of one or two words.
terms(texts) := {word | some text in texts; some word in of(text)} | {pair |
	some text in texts
	found := of(text)
	some i, word in found
	pair := concat(" ", [word, found[i + 1]])
}

# METADATA
# title: Keywords found
# description: |
#   The keywords that occur, in any of their forms, among the terms. One pattern for all
#   of them first picks the few terms worth a closer look.
found(keywords, found_terms) := {keyword |
	every_form := _any_of([_pattern(keyword) | some keyword in keywords])
	some term in found_terms
	regex.match(every_form, term)
	some keyword in keywords
	regex.match(_pattern(keyword), term)
}

# METADATA
# title: Compact
# description: Lower-cased letters and digits only, for comparing names ("Drop_Database" is "dropdatabase").
compact(text) := regex.replace(lower(text), `[^a-z0-9]`, "")

# METADATA
# title: Mentions "forbidden"
# description: |
#   The old demo's rule, widened: "forbidden" anywhere in a text, as a word or inside one,
#   in any case, also split by punctuation that is not a space ("for-bidden").
mentions_forbidden(text) if contains(regex.replace(lower(text), `[^a-z0-9\s]`, ""), "forbidden")

# METADATA
# title: Strings of a value
# description: Every string in a value, object keys and string values, at any depth.
strings_in(value) := string_values(value) | keys_in(value)

# METADATA
# title: String values of a value
# description: Every string value (not object key) in a value, at any depth.
string_values(value) := {node | walk(value, [_, node]); is_string(node)}

# METADATA
# title: Keys of a value
# description: |
#   Every object key in a value, at any depth. Read from the objects the walk finds, not
#   from each node's path: that is several times faster on a step with a thousand records.
keys_in(value) := {key | walk(value, [_, node]); is_object(node); some key, _ in node}

# METADATA
# title: Where "forbidden" is
# description: |
#   The paths inside a value (at any depth) of every string that mentions "forbidden",
#   and of every object key that does. `texts` holds at least the value's strings
#   (strings_in): the walk for paths runs only when one of them mentions it, which is rare.
forbidden_paths(value, texts) := {path |
	some text in texts
	mentions_forbidden(text)
	walk(value, [path, node])
	_forbidden_node(path, node)
}

# Suffixes that start with a vowel: only these follow a keyword that dropped its final
# "e" (migrat-ion) or doubled its last letter (dropp-ed), as in English spelling.
_vowel_suffixes := sort([suffix | some suffix in settings.words.suffixes; regex.match(`^[aeiou]`, suffix)])

_any_of(parts) := sprintf("(?:%s)", [concat("|", parts)])

# A regular expression for every form of a keyword (lower-case letters, one or two
# words): a prefix, the first word, then a suffix, or the first word without its final
# "e" or with its last letter doubled, then a suffix that starts with a vowel; then the
# second word, if any. Matching a pattern costs far less than listing forms.
_pattern(keyword) := sprintf("^%s(?:%s)%s$", [_any_of(settings.words.prefixes), concat("|", stems), rest]) if {
	parts := split(keyword, " ")
	first := parts[0]
	rest := concat("", [concat("", [" ", part]) | some part in array.slice(parts, 1, count(parts))])
	plain := concat("", [first, _any_of(settings.words.suffixes)])
	doubled := concat("", [first, substring(first, count(first) - 1, 1), _any_of(_vowel_suffixes)])
	dropped := [concat("", [trim_suffix(first, "e"), _any_of(_vowel_suffixes)]) | endswith(first, "e")]
	stems := array.concat([plain, doubled], dropped)
}

_forbidden_node(_, node) if {
	is_string(node)
	mentions_forbidden(node)
}

_forbidden_node(path, _) if {
	key := path[count(path) - 1]
	is_string(key)
	mentions_forbidden(key)
}
