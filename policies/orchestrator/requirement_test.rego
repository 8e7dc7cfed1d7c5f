package orchestrator.requirement_test

import data.orchestrator.requirement

test_durations_read_in_hours_when_whole if {
	requirement.duration(7200) == "2h"
	requirement.duration(5400) == "5400s"
}

test_short_deadlines_are_explained_in_seconds if {
	explanation := requirement.explanation with input as {"task": {"description": "x"}}
		with data.orchestrator.settings.approval.standard.deadline_seconds as 90
	explanation == "Needs 1 approver within 90s."
}
