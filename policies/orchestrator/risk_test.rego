package orchestrator.risk_test

import data.orchestrator.risk

test_plain_report_is_low if {
	risk.level == "low" with input as {"task": {"description": "Generate the weekly usage report"}}
	risk.explanation == "Risk low: nothing in the task calls for an approval." with input as {"task": {"description": "Generate the weekly usage report"}}
}

test_missing_task_is_low if {
	risk.level == "low" with input as {}
}

test_high_keyword_is_high if {
	risk.level == "high" with input as {"task": {"description": "Deploy the API"}}
	risk.explanation == "Risk high: the task mentions \"deploy\"." with input as {"task": {"description": "Deploy the API"}}
}

test_keywords_match_whole_words_only if {
	risk.level == "low" with input as {"task": {"description": "Read the deployment guide"}}
}

test_high_kind_is_high if {
	risk.high == {"the task kind \"migration\" is high risk"} with input as {"task": {"description": "Move tables", "kind": "Migration"}}
}

test_production_environment_is_high if {
	risk.high == {"the task targets production"} with input as {"task": {"description": "Refresh caches", "parameters": {"environment": "PROD"}}}
}

test_large_amount_is_high if {
	risk.high == {"the amount 25000 is above 10000"} with input as {"task": {"description": "Refund order", "parameters": {"amount": 25000}}}
	risk.level == "low" with input as {"task": {"description": "Refund order", "parameters": {"amount": 20}}}
}

test_destructive_flag_is_high if {
	risk.high == {"the task is marked destructive"} with input as {"task": {"description": "Tidy up", "parameters": {"destructive": true}}}
}

test_medium_keyword_is_medium if {
	risk.level == "medium" with input as {"task": {"description": "Restart the staging cache"}}
	risk.explanation == "Risk medium: the task mentions \"restart\"; the task mentions \"staging\"." with input as {"task": {"description": "Restart the staging cache"}}
}

test_wrongly_typed_fields_are_ignored if {
	risk.level == "low" with input as {"task": {"description": 42, "kind": 7, "parameters": ["environment", "production"]}}
	risk.level == "low" with input as {"task": {"description": "x", "parameters": {"environment": 1, "amount": "99999"}}}
}
