package orchestrator.risk_test

import data.orchestrator.risk

task(description) := {"task": {"description": description}}

test_plain_report_is_low if {
	risk.level == "low" with input as task("Generate the weekly usage report")
	risk.explanation == "Risk low: nothing in the task calls for an approval." with input as task("Generate the weekly usage report")
}

test_missing_or_garbage_task_is_low if {
	risk.level == "low" with input as {}
	risk.level == "low" with input as {"task": "deploy"}
	risk.level == "low" with input as "deploy to production"
}

test_production_deploy_is_high_and_says_why if {
	risk.level == "high" with input as task("deploy api to production")
	risk.explanation == "Approval required: the task mentions \"deploy\"; the task mentions \"production\"." with input as task("deploy api to production")
}

test_keywords_match_whole_words_in_any_case if {
	risk.level == "high" with input as task("DROP the temp tables")
	risk.level == "low" with input as task("Read the deployment guide")
	risk.level == "low" with input as task("List products")
}

test_high_kind_is_high if {
	risk.high == {"the task kind \"migration\" is high risk"} with input as {"task": {"description": "Move tables", "kind": "Migration"}}
	risk.level == "low" with input as {"task": {"description": "Move tables", "kind": "report"}}
}

test_production_environment_is_high if {
	risk.high == {"the task targets production"} with input as {"task": {"description": "Refresh caches", "parameters": {"environment": "PROD"}}}
	risk.explanation == "Approval required: the task targets production." with input as {"task": {"description": "Refresh caches", "parameters": {"environment": "production"}}}
	risk.level == "low" with input as {"task": {"description": "Refresh caches", "parameters": {"environment": "dev"}}}
}

test_amount_above_threshold_is_high if {
	risk.high == {"the amount 25000 is above 10000"} with input as {"task": {"description": "Refund order", "parameters": {"amount": 25000}}}
	risk.level == "low" with input as {"task": {"description": "Refund order", "parameters": {"amount": 10000}}}
}

test_destructive_flag_is_high if {
	risk.high == {"the task is marked destructive"} with input as {"task": {"description": "Tidy up", "parameters": {"destructive": true}}}
	risk.level == "low" with input as {"task": {"description": "Tidy up", "parameters": {"destructive": "yes"}}}
}

test_medium_keyword_is_medium if {
	risk.level == "medium" with input as task("Restart the staging cache")
	risk.explanation == "Risk medium (no approval needed): the task mentions \"restart\"; the task mentions \"staging\"." with input as task("Restart the staging cache")
}

test_high_wins_over_medium if {
	risk.level == "high" with input as task("Restart and deploy")
	risk.explanation == "Approval required: the task mentions \"deploy\"." with input as task("Restart and deploy")
}

test_wrongly_typed_fields_are_ignored if {
	risk.level == "low" with input as {"task": {"description": 42, "kind": 7, "parameters": ["environment", "production"]}}
	risk.level == "low" with input as {"task": {"description": "x", "parameters": {"environment": 1, "amount": "99999"}}}
}
