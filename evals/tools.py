"""Tool definitions a case or a training row offers: each must be usable before anything is scored.

A tool is `{"type": "function", "function": {"name", "description"?, "parameters"?}}` (or the bare
function object). Two tools with one name make a call ambiguous; `parameters` that is not a valid
JSON Schema (Draft 2020-12, as the scorer and the data filter validate arguments with it) cannot
check any call, and it is rendered into the prompt as it stands.
"""

from __future__ import annotations

import functools
import json

import jsonschema


def tool_names(case: dict) -> list[str]:
    """The names of the tools a case offers."""
    return [t.get("function", t).get("name") for t in case.get("tools") or []]


def tool_schema_problem(tools: list[dict]) -> tuple[str, str] | None:
    """(check, reason) for the first tool definition that cannot be used, or None."""
    seen: set[str] = set()
    for t in tools:
        fn = t.get("function", t)
        name, params = fn["name"], fn.get("parameters")
        if name in seen:
            return "duplicate_tool", f"tool {name!r} is defined twice"
        seen.add(name)
        if params is None:
            continue
        if not isinstance(params, dict):
            return "invalid_tool_schema", f"tool {name!r}: parameters is a JSON {type(params).__name__}, not a schema object"
        problem = _schema_error(json.dumps(params, sort_keys=True, default=repr))
        if problem:
            return "invalid_tool_schema", f"tool {name!r}: parameters is not a valid JSON Schema at {problem}"
    return None


@functools.lru_cache(maxsize=4096)
def _schema_error(schema_json: str) -> str | None:
    """Where and why a schema fails the Draft 2020-12 metaschema, or None. Cached by its JSON text:
    a dataset offers the same few tools on thousands of rows."""
    try:
        jsonschema.Draft202012Validator.check_schema(json.loads(schema_json))
    except jsonschema.SchemaError as err:
        return f"{'/'.join(str(p) for p in err.absolute_path) or '(top)'}: {err.message}"
    return None
