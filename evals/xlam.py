"""Salesforce xLAM rows (xlam-function-calling-60k, xlam-irrelevance, other APIGen exports) in OpenAI form.

An xLAM row is one request and the calls that answer it, all in one turn:

    {"id": 7, "query": "Where can I find live giveaways for beta access and games?",
     "tools": "[{\"name\": \"live_giveaways_by_type\", \"description\": \"...\",
                 \"parameters\": {\"type\": {\"description\": \"...\", \"type\": \"str\", \"default\": \"game\"}}}]",
     "answers": "[{\"name\": \"live_giveaways_by_type\", \"arguments\": {\"type\": \"beta\"}}, ...]"}

`tools` and `answers` are JSON text (or already lists). Its `parameters` are not JSON Schema but one
entry per parameter with a Python-style type ("str", "int, optional", "List[str]", "Dict[str, Any]",
"Union[int, float]"). They become a JSON Schema object, because that is what the chat template writes
into the prompt, what the data filter and the scorer check arguments against, and what a served model
is shown: a model trained on xLAM's own notation would learn a tool format no caller uses.

Conversion rules (pure functions, no guessing beyond them):
- a type maps to its JSON Schema type (str → string, int → integer, float → number, bool → boolean,
  List[X] / list / tuple / set → array of X, Dict / dict → object, Union[A, B] → either); "Any",
  "Callable" or an unknown name constrain nothing ({}), so a value is never refused for a type toolsweep
  cannot read;
- a parameter is required unless its type says "optional" (Optional[...], "str, optional", or a
  default written in the type, "str, default='strict'"): xLAM marks optional parameters so, and the
  `default` it gives a required parameter is an example value (often ""), not a promise that the
  call may leave it out;
- a default is kept when it fits the type, after reading the text a number or boolean default is
  often written as ("10" for an int); otherwise it is left out rather than shown wrong;
- `parameters` that already are a JSON Schema object (`"type": "object"` or `"properties"`) are kept.
"""

from __future__ import annotations

import ast
import json
import re
from typing import Any

from evals import jsontext


class XlamError(ValueError):
    """An xLAM row that cannot be read: the message says which field and why."""


def is_xlam_row(row: Any) -> bool:
    """True for a row in xLAM's shape: a `query` and its `answers`."""
    return isinstance(row, dict) and "query" in row and "answers" in row


def _decoded(value: Any, what: str) -> Any:
    if isinstance(value, str):
        try:
            return jsontext.loads(value, unique_keys=True) if value.strip() else []
        except json.JSONDecodeError as err:
            raise XlamError(f"{what} is a string that is not JSON ({err.msg})") from None
    return value


_SCALARS = {"str": "string", "string": "string", "int": "integer", "integer": "integer", "float": "number",
            "number": "number", "double": "number", "decimal": "number", "bool": "boolean", "boolean": "boolean"}
_ARRAYS = {"list", "tuple", "set", "array", "sequence", "iterable", "frozenset"}
_OBJECTS = {"dict", "object", "mapping", "json"}
_OPTIONAL_MARK = re.compile(r",\s*optional\s*$", re.IGNORECASE)


def _split_top(text: str) -> list[str]:
    """`A, B[C, D]` → ["A", "B[C, D]"]: commas inside brackets do not split."""
    parts, depth, start = [], 0, 0
    for i, ch in enumerate(text):
        depth += ch == "["
        depth -= ch == "]"
        if ch == "," and depth == 0:
            parts.append(text[start:i].strip())
            start = i + 1
    parts.append(text[start:].strip())
    return [p for p in parts if p]


def type_schema(type_text: str) -> tuple[dict, bool]:
    """(JSON Schema, optional) for one of xLAM's Python-style type names."""
    text = type_text.strip()
    optional = bool(_OPTIONAL_MARK.search(text))
    text = _OPTIONAL_MARK.sub("", text).strip()
    head, _, inner = text.partition("[")
    head, inner = head.strip().split(".")[-1].lower(), inner.rsplit("]", 1)[0] if inner else ""
    if head == "optional":
        schema, _ = type_schema(inner)
        return schema, True
    if head in _SCALARS:
        return {"type": _SCALARS[head]}, optional
    if head in _ARRAYS:
        args = _split_top(inner)
        item = type_schema(args[0])[0] if len(args) == 1 or (head == "tuple" and len(set(args)) == 1) else {}
        return ({"type": "array", "items": item} if item else {"type": "array"}), optional
    if head in _OBJECTS:
        return {"type": "object"}, optional
    if head == "union":
        args = _split_top(inner)
        real = [a for a in args if a.lower() not in ("none", "nonetype")]
        optional = optional or len(real) < len(args)
        members = [type_schema(a)[0] for a in real]
        if members and all(set(m) == {"type"} and isinstance(m["type"], str) for m in members):
            kinds = list(dict.fromkeys(m["type"] for m in members))
            return ({"type": kinds[0]} if len(kinds) == 1 else {"type": kinds}), optional
        return {}, optional
    return {}, optional  # Any, Callable, a class name: nothing toolsweep could check


_BOOL_TEXT = {"true": True, "false": False}
_TYPED_DEFAULT = re.compile(r",\s*default\s*[=:]\s*(.+?)\s*$", re.IGNORECASE)


def _literal_text(text: str) -> Any:
    """A default written in a type string: a Python literal ('strict', 5, True) or the bare text."""
    try:
        return ast.literal_eval(text)
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        return text


def _default_value(default: Any, schema: dict) -> tuple[bool, Any]:
    """(keep, value): a default that fits the parameter's type, read from text if need be."""
    if default is None or default == "":
        return False, None
    kind = schema.get("type")
    if isinstance(default, str) and kind in ("integer", "number", "boolean"):
        text = default.strip()
        if kind == "boolean":
            return (True, _BOOL_TEXT[text.lower()]) if text.lower() in _BOOL_TEXT else (False, None)
        try:
            number = float(text) if kind == "number" else int(text)
        except ValueError:
            return False, None
        return True, number
    fits = {"string": str, "integer": int, "number": (int, float), "boolean": bool, "array": list,
            "object": dict}.get(kind) if isinstance(kind, str) else None
    if fits is None:
        return True, default
    if isinstance(default, bool) and kind != "boolean":
        return False, None
    return (True, default) if isinstance(default, fits) else (False, None)


def parameters_schema(params: Any, tool: str) -> dict:
    """xLAM's per-parameter map as a JSON Schema object (a schema already is one: kept)."""
    if params is None or params == {}:
        return {"type": "object", "properties": {}}
    if not isinstance(params, dict):
        raise XlamError(f"tool {tool!r}: parameters is a JSON {type(params).__name__}, expected an object")
    if params.get("type") == "object" or isinstance(params.get("properties"), dict):
        return params
    properties, required = {}, []
    for name, spec in params.items():
        if not isinstance(spec, dict):
            raise XlamError(f"tool {tool!r}: parameter {name!r} is a JSON {type(spec).__name__}, expected "
                            "{\"type\", \"description\", \"default\"?}")
        type_text = spec.get("type", "")
        if not isinstance(type_text, str):
            raise XlamError(f"tool {tool!r}: parameter {name!r} has a type that is not text ({type_text!r})")
        typed_default = _TYPED_DEFAULT.search(type_text)
        if typed_default:  # "str, default='strict'": optional, with that default
            type_text = type_text[:typed_default.start()]
        schema, optional = type_schema(type_text)
        optional = optional or bool(typed_default)
        schema = dict(schema)
        if isinstance(spec.get("description"), str) and spec["description"].strip():
            schema["description"] = spec["description"]
        if isinstance(spec.get("enum"), list) and spec["enum"]:
            schema["enum"] = spec["enum"]
        default = spec.get("default")
        if typed_default and default in (None, ""):
            default = _literal_text(typed_default.group(1))
        keep, value = _default_value(default, schema)
        if keep:
            schema["default"] = value
        properties[name] = schema
        if not optional:
            required.append(name)
    out: dict = {"type": "object", "properties": properties}
    if required:
        out["required"] = required
    return out


def xlam_tools(value: Any) -> list[dict]:
    """An xLAM `tools` field as OpenAI tools with JSON Schema parameters."""
    tools = _decoded(value, "tools")
    if tools is None:
        return []
    if not isinstance(tools, list):
        raise XlamError(f"tools is a JSON {type(tools).__name__}, expected a list")
    out = []
    for i, t in enumerate(tools):
        fn = t.get("function", t) if isinstance(t, dict) else None
        if not isinstance(fn, dict) or not isinstance(fn.get("name"), str) or not fn["name"].strip():
            raise XlamError(f"tool {i} has no name")
        converted = {"name": fn["name"]}
        if isinstance(fn.get("description"), str):
            converted["description"] = fn["description"]
        converted["parameters"] = parameters_schema(fn.get("parameters"), fn["name"])
        out.append({"type": "function", "function": converted})
    return out


def xlam_calls(value: Any) -> list[dict]:
    """An xLAM `answers` field as [{"name", "arguments"}] (arguments decoded when JSON text)."""
    answers = _decoded(value, "answers")
    if answers is None:
        return []
    if not isinstance(answers, list):
        raise XlamError(f"answers is a JSON {type(answers).__name__}, expected a list of calls")
    calls = []
    for i, a in enumerate(answers):
        if not isinstance(a, dict) or not isinstance(a.get("name"), str) or not a["name"].strip():
            raise XlamError(f"answer {i} is not a call with a name")
        args = a.get("arguments", {})
        args = _decoded(args, f"answer {i}'s arguments") if isinstance(args, str) and args.strip() else (
            {} if args in ("", None) else args)
        if not isinstance(args, dict):
            raise XlamError(f"answer {i} ({a['name']!r}): arguments is a JSON {type(args).__name__}, expected an object")
        calls.append({"name": a["name"], "arguments": args})
    return calls


def xlam_parts(row: dict) -> tuple[str, list[dict], list[dict]]:
    """(query, tools, calls) of an xLAM row; XlamError names what is wrong."""
    query = row.get("query")
    if not isinstance(query, str) or not query.strip():
        raise XlamError("query is not a non-empty string")
    return query, xlam_tools(row.get("tools")), xlam_calls(row.get("answers"))


def scenario_of(calls: list[dict]) -> str:
    """The harness's scenario for a one-turn request answered by these calls."""
    return "no_tool_needed" if not calls else "single_tool" if len(calls) == 1 else "multi_tool_parallel"
