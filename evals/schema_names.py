"""Python type names in a tool's JSON Schema, as ToolACE, BFCL and Gorilla write them, as JSON Schema's.

Their tools say `"type": "dict"` for the parameters object and `"float"`, `"tuple"` or `"any"` below it.
No JSON Schema validator accepts those names, so every such row was quarantined as
`invalid_tool_schema`, and kept as written they would show the model a schema dialect no caller
sends. The names map one to one (dict → object, float → number, int → integer, str → string, bool →
boolean, list/tuple → array; `any` constrains nothing, so its `type` is left out). Only `type` values
are touched, in the schema and in every subschema (`properties`, `items`, `anyOf`, ...); a property
*named* "type" is a property, not a keyword.
"""

from __future__ import annotations

from typing import Any

PYTHON_TYPE_NAMES = {"dict": "object", "float": "number", "int": "integer", "str": "string", "bool": "boolean",
                     "list": "array", "tuple": "array", "double": "number", "long": "integer"}
_SCHEMA_MAPS = ("properties", "patternProperties", "$defs", "definitions", "dependentSchemas")
_SCHEMA_LISTS = ("anyOf", "oneOf", "allOf", "prefixItems")
_SCHEMA_ONE = ("items", "additionalProperties", "not", "contains", "if", "then", "else", "propertyNames",
               "additionalItems", "unevaluatedItems", "unevaluatedProperties")


def _mapped(kind: Any) -> Any:
    if isinstance(kind, str):
        return PYTHON_TYPE_NAMES.get(kind, kind)
    if isinstance(kind, list):
        return list(dict.fromkeys(PYTHON_TYPE_NAMES.get(k, k) if isinstance(k, str) else k for k in kind))
    return kind


def _any(kind: Any) -> bool:
    """`any`, alone or among other types (["string", "any"] admits everything just as well)."""
    return kind == "any" or isinstance(kind, list) and "any" in kind


def with_json_schema_types(schema: Any) -> Any:
    """A copy of `schema` with Python type names replaced by JSON Schema's (the same object when none is)."""
    if not isinstance(schema, dict):
        return schema
    out = dict(schema)
    if _any(out.get("type")):
        del out["type"]
    elif "type" in out:
        out["type"] = _mapped(out["type"])
    for key in _SCHEMA_MAPS:
        if isinstance(out.get(key), dict):
            out[key] = {name: with_json_schema_types(sub) for name, sub in out[key].items()}
    for key in _SCHEMA_LISTS:
        if isinstance(out.get(key), list):
            out[key] = [with_json_schema_types(sub) for sub in out[key]]
    for key in _SCHEMA_ONE:
        if isinstance(out.get(key), list):  # draft-4 style tuple items
            out[key] = [with_json_schema_types(sub) for sub in out[key]]
        elif key in out:
            out[key] = with_json_schema_types(out[key])
    return out if out != schema else schema
