# Not system.log_test: the bundle's root system/log admits only packages below system.log.
package system.log.mask_test

import data.system.log

marker := "**REDACTED**"

upsert(path, value) := {"op": "upsert", "path": path, "value": value}

event(asked) := {"input": asked, "result": {"allow": true, "reasons": ["fine"]}}

start(parameters) := event({"action": "workflow.start", "task": {"description": "report", "parameters": parameters}})

test_sensitive_keys if {
	sensitive := [
		"password", "db_password", "dbpassword", "X-API-Key", "api_key", "apikey", "client_secret", "access_token",
		"Authorization", "email", "emails", "credentials", "private_key", "keys", "auth", "pwd", "cookie",
	]
	every key in sensitive {
		log.sensitive_key(key)
	}
	every key in ["keyboard", "monkey", "author", "environment", "amount", "note", 7] {
		not log.sensitive_key(key)
	}
}

test_sensitive_parameters_are_masked_at_any_depth if {
	parameters := {
		"password": "hunter2",
		"db": {"apiKey": "abc", "host": "db1"},
		"users": [{"email": "x", "name": "n"}],
		"environment": "prod",
	}
	log.mask == {
		upsert("/input/task/parameters/password", marker),
		upsert("/input/task/parameters/db/apiKey", marker),
		upsert("/input/task/parameters/users/0/email", marker),
	} with input as start(parameters)
}

test_the_outermost_sensitive_key_is_masked_whole if {
	log.mask == {upsert("/input/task/parameters/credentials", marker)}
		with input as start({"credentials": {"user": "u", "password": "p"}})
}

test_step_arguments_are_masked_too if {
	asked := {"action": "step.execute", "step": {"activity": "Echo", "path": "p", "args": ["ok", {"token": "t0k3n"}]}}
	log.mask == {upsert("/input/step/args/1/token", marker)} with input as event(asked)
}

test_secret_looking_text_is_masked_where_it_is if {
	api_key := "sk-live-4f9a8b7c6d5e4f3a2b1c0d9e"
	asked := {
		"action": "workflow.start",
		"task": {
			"description": "mail ops-lead@example.com with password=hunter2",
			"parameters": {"note": sprintf("key %s", [api_key])},
		},
	}
	log.mask == {
		upsert("/input/task/description", "mail **REDACTED** with password=**REDACTED**"),
		upsert("/input/task/parameters/note", "key **REDACTED**"),
	} with input as event(asked)
}

test_a_sensitive_name_keeps_its_name_and_loses_its_value if {
	log._redacted("login password=hunter2, then") == "login password=**REDACTED**, then"
	log._redacted("\"db_token\": \"abc\"") == "\"db_token\": \"**REDACTED**\""
	log._redacted("pw: hunter2 key=abc") == "pw: **REDACTED** key=**REDACTED**"
	log._redacted("the key point") == "the key point"
}

test_known_token_shapes_are_masked if {
	every secret in [
		"bearer abcdefghijklmnop", "ghp_abcdefghijklmnopqrstuvwxyz", "xoxb-1234567890-abc",
		"akiaabcdefghijklmnop", "eyjhbgcioijiuzi1niis.eyjzdwiioiixmjm0.sig", "pk_test_abcdefghijklmnop",
		"a1b2c3d4e5f6a7b8c9d0e1f2a3b4c5d6",
	] {
		log._redacted(sprintf("use %s now", [secret])) == "use **REDACTED** now"
	}
	every fine in ["123e4567-e89b-12d3-a456-426614174000", "customer_db_extract_pipeline_v2_nightly", "plain words"] {
		log._redacted(fine) == fine
	}
}

test_an_approval_comment_is_masked if {
	asked := {"action": "approval.decide", "approval": {"approver": "bob", "comment": "ping bob@example.com"}}
	log.mask == {upsert("/input/approval/comment", "ping **REDACTED**")} with input as event(asked)
}

test_reasons_that_quote_a_secret_are_masked if {
	decided := {
		"input": {"task": {"description": "x", "parameters": {"password": "hunter2"}}},
		"result": {"reasons": ["ok", "Task \"use hunter2 for ops@example.com\" is forbidden"]},
	}
	log.mask == {
		upsert("/input/task/parameters/password", marker),
		upsert("/result/reasons/1", "Task \"use **REDACTED** for **REDACTED**\" is forbidden"),
	} with input as decided
}

test_the_candidates_reasons_are_masked_too if {
	decided := {
		"input": {"task": {"description": "x"}},
		"result": {"reasons": ["ok"], "shadow": {"reasons": ["mail ops@example.com", "ok"]}},
	}
	log.mask == {upsert("/result/shadow/reasons/0", "mail **REDACTED**")} with input as decided
}

# OPA addresses a path by its plain segments and lists masked paths in the log: a key it
# cannot address, or that is itself secret, masks its nearest addressable ancestor.
test_keys_that_cannot_be_addressed_mask_their_parent if {
	log.mask == {upsert("/input/task/parameters", marker)} with input as start({"bob@example.com": "admin"})
	log.mask == {upsert("/input/task/parameters/db", marker)} with input as start({"db": {"api key": "x"}})
}

test_nothing_to_mask if {
	log.mask == set() with input as start({"environment": "prod", "amount": 7})
	log.mask == set() with input as {"input": "garbage"}
	log.mask == set() with input as {}
}
