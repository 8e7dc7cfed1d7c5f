package orchestrator.words_test

import data.orchestrator.words

test_words_are_runs_of_letters_or_digits if {
	words.of("Deploy2prod-EU, now!") == ["deploy", "2", "prod", "eu", "now"]
	words.of("") == []
}

test_names_read_as_words if {
	words.name_text("ExecuteAgentTask") == "Execute Agent Task"
	words.name_text("HTTPDeploy") == "HTTP Deploy"
	words.name_text("deployV2") == "deploy V2"
	words.of(words.name_text("DeployService")) == ["deploy", "service"]
}

test_terms_are_words_and_adjacent_pairs if {
	words.terms({"Shut it down", "x"}) == {"shut", "it", "down", "shut it", "it down", "x"}
}

test_every_form_of_a_keyword_is_found if {
	deploys := ["deploy", "deploys", "deployed", "deploying", "deployment", "deployments", "redeploy", "undeploying"]
	every form in deploys {
		words.found(["deploy"], {form}) == {"deploy"}
	}
	every form in ["drop", "dropped", "dropping", "dropper"] {
		words.found(["drop"], {form}) == {"drop"}
	}
	every form in ["migrate", "migrating", "migrated", "migration", "migrations", "remigrate"] {
		words.found(["migrate"], {form}) == {"migrate"}
	}
	words.found(["shut down"], {"shutting down"}) == {"shut down"}
}

test_other_words_are_not_forms if {
	every word in ["dropbox", "droplet", "drp", "deplo", "wip", "migrant", "products", "predeploy"] {
		count(words.found(["drop", "deploy", "wipe", "migrate", "prod"], {word})) == 0
	}
	count(words.found(["shut down"], {"shut", "down"})) == 0
}

test_only_vowel_suffixes_follow_a_changed_stem if {
	words._vowel_suffixes == ["able", "ed", "er", "ers", "es", "ing", "ion", "ions", "ive"]
	plain := "drop(?:|s|es|d|ed|ing|ment|ments|ion|ions|er|ers|able|ive)"
	doubled := "dropp(?:able|ed|er|ers|es|ing|ion|ions|ive)"
	words._pattern("drop") == sprintf("^(?:|re|un)(?:%s|%s)$", [plain, doubled])
}

test_names_compact_without_case_or_separators if {
	words.compact("Drop_Database v2") == "dropdatabasev2"
}

test_forbidden_is_found_anywhere if {
	hidden := [
		"forbidden", "FORBIDDEN: x", "a forbidden job", "\"forbidden\"",
		"unforbiddenly", "for-bidden", "for.bid.den",
	]
	every text in hidden {
		words.mentions_forbidden(text)
	}
	every text in ["for bidden", "forbid", "allowed"] {
		not words.mentions_forbidden(text)
	}
}

test_forbidden_paths_name_keys_and_strings if {
	value := {"a": ["ok", "forbidden"], "forbidden key": 1, "b": {"c": 2}}
	words.strings_in(value) == {"a", "ok", "forbidden", "forbidden key", "b", "c"}
	words.forbidden_paths(value, words.strings_in(value)) == {["a", 1], ["forbidden key"]}
	words.forbidden_paths("forbidden", {"forbidden"}) == {[]}
	words.forbidden_paths(7, set()) == set()
}
