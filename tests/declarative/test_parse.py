"""Reading definition files: JSON and YAML, one clear line on errors, never a traceback."""

from __future__ import annotations

from pathlib import Path

import pytest

from orchestrator.declarative.parse import LoadError, load_file, load_text


def test_yaml_and_json_give_the_same_document() -> None:
    yaml_text = "workflowName: w\nexecution:\n  activityName: Echo\n  args: [1, 'two']\n"
    json_text = '{"workflowName": "w", "execution": {"activityName": "Echo", "args": [1, "two"]}}'
    assert load_text(yaml_text, "a.yaml") == load_text(json_text, "a.json")


def test_bad_yaml_names_file_line_and_column() -> None:
    with pytest.raises(LoadError) as caught:
        load_text("workflowName: w\nexecution:\n  blocks: [a, b\n  type: x\n", "broken.yaml")
    message = str(caught.value)
    assert message.startswith("broken.yaml:4:")
    assert "not valid YAML" in message and "\n" not in message


def test_bad_json_names_line_and_column() -> None:
    with pytest.raises(LoadError, match=r"^x\.json:3:1: not valid JSON: "):
        load_text('{"workflowName": "w",\n "execution": {}\n', "x.json")


def test_duplicate_keys_and_non_string_keys_are_errors() -> None:
    with pytest.raises(LoadError, match=r"d\.yaml:2:1: .*duplicate key 'workflowName'"):
        load_text("workflowName: a\nworkflowName: b\n", "d.yaml")
    with pytest.raises(LoadError, match=r"keys must be strings; 1 is a int"):
        load_text("1: a\n", "k.yaml")


def test_yaml_dates_stay_strings_and_binary_is_refused() -> None:
    assert load_text("a: 2024-01-02\n", "t.yaml") == {"a": "2024-01-02"}
    with pytest.raises(LoadError, match="binary"):
        load_text("a: !!binary aGVsbG8=\n", "b.yaml")


def test_alias_bombs_are_refused() -> None:
    bomb = "a: &a [x, x, x, x, x, x, x, x, x, x]\n"
    for level in "bcdefgh":
        previous = chr(ord(level) - 1)
        bomb += f"{level}: &{level} [*{previous}, *{previous}, *{previous}, *{previous}, "
        bomb += f"*{previous}, *{previous}, *{previous}, *{previous}, *{previous}, *{previous}]\n"
    with pytest.raises(LoadError, match="aliases are expanded"):
        load_text(bomb, "bomb.yaml")


def test_deep_nesting_and_nan_are_refused_cleanly() -> None:
    with pytest.raises(LoadError, match="nested too deeply"):
        load_text("[" * 100_000 + "]" * 100_000, "deep.json")
    with pytest.raises(LoadError, match="NaN is not a JSON number"):
        load_text('{"a": NaN}', "nan.json")


def test_missing_file_and_directory(tmp_path: Path) -> None:
    with pytest.raises(LoadError, match="no such file"):
        load_file(tmp_path / "nope.yaml")
    with pytest.raises(LoadError, match="is a directory"):
        load_file(tmp_path)
