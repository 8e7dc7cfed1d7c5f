package orchestrator.risk_test

import data.orchestrator.risk

task(description) := {"task": {"description": description}}

with_parameters(parameters) := {"task": {"description": "Refresh caches", "parameters": parameters}}

step(activity, args) := {"action": "step.execute", "step": {"activity": activity, "args": args, "path": "p"}}

test_plain_report_is_low if {
	risk.level == "low" with input as task("Generate the weekly usage report")
	risk.explanation == "Risk low: nothing in the task calls for an approval."
		with input as task("Generate the weekly usage report")
}

test_missing_or_garbage_task_is_low if {
	risk.level == "low" with input as {}
	risk.level == "low" with input as {"task": "deploy"}
	risk.level == "low" with input as "deploy to production"
}

test_production_deploy_is_high_and_says_why if {
	risk.level == "high" with input as task("deploy api to production")
	risk.explanation == "Approval required: the task mentions \"deploy\"; the task mentions \"production\"."
		with input as task("deploy api to production")
}

test_keywords_match_whole_words_in_any_case if {
	risk.level == "high" with input as task("DROP the temp tables")
	risk.level == "low" with input as task("List products")
	risk.level == "low" with input as task("Sync the dropbox folder")
	risk.level == "low" with input as task("Write the secretary's notes")
}

# Was low before 2026.12.01-1: "deployment" is a form of "deploy".
test_keywords_match_in_every_form if {
	forms := {
		"deploy": ["deploys", "Deployed", "DEPLOYING", "deployment", "Redeploy", "undeploy"],
		"drop": ["dropped", "dropping", "drops"],
		"delete": ["deleting", "deleted", "deletion"],
		"wipe": ["wiping", "wiped"],
		"migrate": ["migrating", "migration", "migrations"],
		"payment": ["payments"],
		"credential": ["credentials"],
		"shut down": ["shutting down", "shut-down"],
		"roll back": ["rolled back", "rolling back"],
	}
	every keyword, written in forms {
		every form in written {
			risk._high == {sprintf("the task mentions %q", [keyword])} with input as task(sprintf("please %s it", [form]))
		}
	}
	risk.level == "low" with input as task("a wip branch") # "wip" is not "wipe"
}

test_words_split_at_digits_and_punctuation if {
	risk.level == "high" with input as task("deploy2prod")
	risk.level == "high" with input as task("run deploy_v2")
}

test_high_kind_is_high if {
	risk._high == {"the task kind \"Migration\" is high risk"}
		with input as {"task": {"description": "Move tables", "kind": "Migration"}}
	risk.level == "low" with input as {"task": {"description": "Move tables", "kind": "report"}}
}

# Was low before 2026.12.01-1: a kind with a suffix or plural is still the kind.
test_kinds_with_a_suffix_or_plural_are_the_kind if {
	every kind in ["payment-batch", "payments", "deploy_v2", "PaymentBatch", "deployment"] {
		risk._high == {sprintf("the task kind %q is high risk", [kind])}
			with input as {"task": {"description": "Move it", "kind": kind}}
	}

	# A kind that names a high keyword is high too.
	risk._high == {"the task kind \"drop-tables\" is high risk"}
		with input as {"task": {"description": "Tidy", "kind": "drop-tables"}}
}

test_production_environment_is_high if {
	risk._high == {"the task targets production", "the task mentions \"prod\""}
		with input as with_parameters({"environment": "PROD"})
	risk.explanation == "Approval required: the task mentions \"production\"; the task targets production."
		with input as with_parameters({"environment": "production"})
	risk.level == "low" with input as with_parameters({"environment": "dev"})
}

# Was low before 2026.12.01-1: only the exact names prod and production counted.
test_production_environments_are_matched_by_their_words if {
	every environment in ["prod-eu", "prod_eu", "production-west", "prod.eu", "eu-prod", "prod1"] {
		"the task targets production" in risk._high with input as with_parameters({"environment": environment})
	}
	every environment in ["products", "staging", "preprod"] {
		not risk.production with input as with_parameters({"environment": environment})
	}
}

test_the_environment_is_read_below_any_key_that_names_it if {
	risk.production with input as with_parameters({"target_env": "prod"})
	risk.production with input as with_parameters({"Environment": "prod"})
	risk.production with input as with_parameters({"deploy": {"environments": ["dev", "production"]}})
	risk.production with input as with_parameters({"environment": {"name": "production"}})
	not risk.production with input as with_parameters({"environment": 1})
}

test_amount_above_threshold_is_high if {
	risk._high == {"the amount 25000 is above 10000"}
		with input as {"task": {"description": "Refund order", "parameters": {"amount": 25000}}}
	risk.level == "low" with input as {"task": {"description": "Refund order", "parameters": {"amount": 10000}}}
	risk._high == {"the amount 25000 is above 10000"} with input as with_parameters({"refund": {"amount_eur": 25000}})
}

# Was low before 2026.12.01-1: a string amount was ignored. The worker sends numeric
# strings as numbers, so a string here is not a number: fail closed.
test_an_amount_that_is_not_a_number_is_high if {
	risk._high == {"the amount \"ten thousand\" is not a number"} with input as with_parameters({"amount": "ten thousand"})
	risk._high == {"the amount \"1e309\" is not a number"} with input as with_parameters({"amount": "1e309"})
	risk._high == {"the amount true is not a number"} with input as with_parameters({"amount": true})
	risk.level == "low" with input as with_parameters({"amount": null})
}

# Was: only true. Now anything but a "no" is destructive (fail closed).
test_destructive_flag_is_high if {
	every flag in [true, "yes", "true", 1] {
		risk._high == {"the task is marked destructive"} with input as with_parameters({"destructive": flag})
	}
	every flag in [false, "no", "false", 0, null] {
		risk.level == "low" with input as with_parameters({"destructive": flag})
	}
}

test_medium_keyword_is_medium if {
	risk.level == "medium" with input as task("Restart the staging cache")
	risk.explanation == "Risk medium (no approval needed): the task mentions \"restart\"; the task mentions \"staging\"."
		with input as task("Restart the staging cache")
}

test_high_wins_over_medium if {
	risk.level == "high" with input as task("Restart and deploy")
	risk.explanation == "Approval required: the task mentions \"deploy\"." with input as task("Restart and deploy")
}

test_parameter_keys_and_values_count if {
	risk._high == {"the task mentions \"deploy\""} with input as with_parameters({"action": "redeploy"})
	risk._high == {"the task mentions \"secret\""} with input as with_parameters({"secrets": ["x"]})
}

test_wrongly_typed_fields_are_ignored if {
	risk.level == "low" with input as {"task": {"description": 42, "kind": 7, "parameters": ["environment", "production"]}}
	risk.level == "low" with input as {"task": {"description": "x", "parameters": {"environment": 1}}}
}

test_a_step_is_judged_by_its_activity_and_arguments if {
	risk.subject == "step" with input as step("ExtractData", [])
	risk.level == "low" with input as step("ExtractData", ["sales", 8])
	risk.explanation == "Risk low: nothing in the step calls for an approval." with input as step("ExtractData", [])
	risk._high == {"the step mentions \"deploy\""} with input as step("DeployService", ["api"])
	risk._high == {"the step mentions \"deploy\""} with input as step("Echo", [{"note": ["please redeploy"]}])
	risk._high == {"the step mentions \"drop\""} with input as step("Echo", [{"drop_tables": 1}])
	risk.level == "medium" with input as step("SendProgressUpdate", [])
	risk.level == "low" with input as {"action": "step.execute", "step": {"activity": "Echo"}}
	risk.level == "low" with input as {"action": "step.execute", "step": {"activity": 7}}
}

test_a_step_reads_environment_amount_and_destructive_at_any_depth if {
	risk._high == {"the step targets production", "the step mentions \"prod\""}
		with input as step("LoadData", ["prod-warehouse"])
	risk._high == {"the step targets production", "the step mentions \"production\""}
		with input as step("Echo", [{"target": {"environment": "production"}}])
	risk.production with input as step("Echo", [{"target": {"environment": "production"}}])
	risk._high == {"the amount 20000 is above 10000"} with input as step("Echo", [[{"amount": 20000}]])
	risk._high == {"the amount \"lots\" is not a number"} with input as step("Echo", [{"Amount": "lots"}])
	risk._high == {"the step is marked destructive"} with input as step("Echo", [{"options": {"destructive": true}}])
}

test_a_kind_matches_by_the_start_of_its_words if {
	risk.kinds_of("PaymentBatch", ["payment"]) == {"payment"}
	risk.kinds_of("ProcessPayments", ["payment", "deploy"]) == {"payment"}
	count(risk.kinds_of("report", ["payment"])) == 0
}
