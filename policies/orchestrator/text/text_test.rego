package orchestrator.text_test

import data.orchestrator.text

test_short_text_is_kept if {
	text.short("deploy api") == "deploy api"
}

test_long_text_is_cut_to_sixty_characters if {
	long := concat("", ["a" | some _ in numbers.range(1, 100)])
	cut := text.short(long)
	count(cut) == 60
	endswith(cut, "...")
}

test_quoted_strings_and_other_values if {
	text.quoted("x") == "\"x\""
	text.quoted(null) == "null"
	text.quoted(7) == "7"
	text.quoted({"a": 1}) == "{\"a\":1}"
}

test_listed_sorts_and_joins if {
	text.listed({"service", "engineer", "operator"}) == "engineer, operator, service"
	text.listed([]) == ""
}

test_locations_read_like_paths if {
	text.location("parameters", []) == "parameters"
	text.location("args", [0, "rows", 1]) == "args[0].rows[1]"
	text.location("parameters", ["db", "odd key", "x-y"]) == "parameters.db[\"odd key\"][\"x-y\"]"
}

test_forbidden_mentions_name_where if {
	text.forbidden_mention("Step p: args[0]") == "Step p: args[0] mentions \"forbidden\", which is never allowed."
}
