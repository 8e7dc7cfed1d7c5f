"""Reading definition text (JSON or YAML) and files into documents.

`load_text`/`load_file` turn text into a JSON-compatible document or raise `LoadError`
with one line naming the file, line and column; YAML is read safely and as JSON (no
timestamps, sets or binary; string keys; no duplicate keys; aliases counted as expanded).
`definition_name` is what a document is called. `build.build_definition` turns a document
that validation accepted into typed blocks.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import yaml

MAX_FILE_BYTES = 4 * 1024 * 1024
# Aliases (*anchor) share one object many times over: a few lines of YAML can expand to
# billions of nodes. Count the expanded document and stop early.
MAX_NODES = 500_000


class LoadError(Exception):
    """The file cannot be read as a definition; the message is one line for the user."""


class _Loader(yaml.SafeLoader):
    """Safe YAML that yields JSON: timestamps stay strings, duplicate keys are errors."""


# Drop the implicit timestamp resolver: `2024-01-01` stays the string it reads as.
_Loader.yaml_implicit_resolvers = {
    key: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for key, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def _mapping(loader: _Loader, node: yaml.MappingNode) -> dict[Any, Any]:
    loader.flatten_mapping(node)
    result: dict[Any, Any] = {}
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        if not isinstance(key, str):
            raise yaml.constructor.ConstructorError(
                None,
                None,
                f"keys must be strings; {key!r} is a {type(key).__name__} (quote it)",
                key_node.start_mark,
            )
        if key in result:
            raise yaml.constructor.ConstructorError(
                None, None, f"duplicate key {key!r}", key_node.start_mark
            )
        result[key] = loader.construct_object(value_node, deep=True)
    return result


def _refuse(tag: str) -> Any:
    def construct(loader: _Loader, node: yaml.Node) -> Any:
        raise yaml.constructor.ConstructorError(
            None, None, f"{tag} values are not JSON; write a string instead", node.start_mark
        )

    return construct


_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _mapping)
_Loader.add_constructor("tag:yaml.org,2002:binary", _refuse("binary (!!binary)"))
_Loader.add_constructor("tag:yaml.org,2002:set", _refuse("set (!!set)"))
_Loader.add_constructor("tag:yaml.org,2002:timestamp", _refuse("timestamp (!!timestamp)"))


def load_text(text: str, source: str = "<definition>") -> Any:
    """The document in `text`: JSON when it looks like JSON (or the name ends .json), else YAML."""
    if source.endswith(".json") or text.lstrip().startswith(("{", "[")):
        try:
            document = json.loads(text, parse_constant=_no_constant)
        except json.JSONDecodeError as error:
            raise LoadError(
                f"{source}:{error.lineno}:{error.colno}: not valid JSON: {error.msg}"
            ) from None
        except RecursionError:
            raise LoadError(f"{source}: nested too deeply to read") from None
        except ValueError as error:
            raise LoadError(f"{source}: not valid JSON: {error}") from None
    else:
        try:
            document = yaml.load(text, Loader=_Loader)  # noqa: S506 - a SafeLoader subclass
        except yaml.MarkedYAMLError as error:
            mark = error.problem_mark or error.context_mark
            where = f"{source}:{mark.line + 1}:{mark.column + 1}" if mark else source
            problem = error.problem or error.context or "cannot be parsed"
            context = f" ({error.context})" if error.context and error.problem else ""
            raise LoadError(f"{where}: not valid YAML: {problem}{context}") from None
        except yaml.YAMLError as error:
            raise LoadError(f"{source}: not valid YAML: {error}") from None
        except RecursionError:
            raise LoadError(f"{source}: nested too deeply to read") from None
    _check_size(document, source)
    return document


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def _check_size(document: Any, source: str) -> None:
    nodes = 0
    stack = [document]
    while stack:
        current = stack.pop()
        nodes += 1
        if nodes > MAX_NODES:
            raise LoadError(
                f"{source}: more than {MAX_NODES:,} values once aliases are expanded; "
                "a definition is far smaller"
            )
        if isinstance(current, float) and not math.isfinite(current):
            raise LoadError(f"{source}: {current} is not a JSON number")
        if isinstance(current, dict):
            stack.extend(current.values())
        elif isinstance(current, list):
            stack.extend(current)


def load_file(path: Path | str) -> Any:
    """The document in a definition file; LoadError when it is missing, too big or broken."""
    path = Path(path)
    try:
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            raise LoadError(
                f"{path}: {size:,} bytes; a definition file is at most {MAX_FILE_BYTES:,}"
            )
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise LoadError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise LoadError(f"{path}: is a directory, not a definition file") from None
    except UnicodeDecodeError as error:
        raise LoadError(f"{path}: not UTF-8 text ({error.reason} at byte {error.start})") from None
    except OSError as error:
        raise LoadError(f"{path}: cannot be read: {error.strerror}") from None
    return load_text(text, str(path))


def definition_name(document: dict[str, Any], source: str = "") -> str:
    """workflowName, or for a flat definition without one, the file's stem."""
    name = document.get("workflowName")
    if isinstance(name, str) and name:
        return name
    stem = Path(source).stem if source else ""
    return stem or "unnamed"
