"""Temporal Schedules that start governed (or declarative) workflows on a timetable.

starts.py (what each run starts, validated and signed) · timing.py (option text -> when it
runs and what an overlapping run does) · service.py (create, change, trigger, backfill,
describe, list) · text.py (a spec as plain values and text) · errors.py (ScheduleInputError).
"""
