"""Tool definitions a case or a training row offers: each must be usable before anything is scored.

A tool is `{"type": "function", "function": {"name", "description"?, "parameters"?}}` (or the bare
function object). Two tools with one name make a call ambiguous; `parameters` that is not a valid
JSON Schema (Draft 2020-12, as the scorer and the data filter validate arguments with it) cannot
check any call, and it is rendered into the prompt as it stands.
"""

from __future__ import annotations

import fractions
import functools
import json
import urllib.parse

import jsonschema


def tool_names(case: dict) -> list[str]:
    """The names of the tools a case offers."""
    return [t.get("function", t).get("name") for t in case.get("tools") or []]


def with_parameters(fn: dict) -> dict:
    """A function schema whose JSON Schema is under Anthropic's `input_schema`, with it under
    `parameters` (the same object when it has `parameters` or no `input_schema`)."""
    if "input_schema" not in fn or "parameters" in fn:
        return fn
    return {**{k: v for k, v in fn.items() if k != "input_schema"}, "parameters": fn["input_schema"]}


def exact_decimal(value: float | int) -> fractions.Fraction:
    """The number as JSON text writes it (a float's shortest round-trip decimal), as an exact fraction:
    0.1 is 1/10, not the binary double nearest it. Raises ValueError on infinity or NaN."""
    return fractions.Fraction(repr(value)) if isinstance(value, float) else fractions.Fraction(value)


def _multiple_of(validator, divisor, instance, schema):
    """JSON Schema's `multipleOf` in decimal: jsonschema divides binary floats, so 19.99 was "not a
    multiple of 0.01" (19.99 / 0.01 = 1998.9999999999998) and every cent amount under the usual money
    schema was refused. Each number is read as the shortest decimal that round-trips (what JSON text
    writes), and the remainder taken exactly. An infinite or NaN number is a multiple of nothing."""
    if not validator.is_type(instance, "number") or isinstance(divisor, bool) or not isinstance(divisor, (int, float)):
        return
    try:  # exact: a Fraction of each decimal text (a Decimal quotient rounds at 28 digits)
        whole = exact_decimal(instance) % exact_decimal(divisor) == 0
    except (ValueError, ZeroDivisionError, OverflowError):  # inf or nan (jsonschema's own check raised on them)
        whole = False
    if not whole:
        yield jsonschema.ValidationError(f"{instance!r} is not a multiple of {divisor!r}")


ArgumentValidator = jsonschema.validators.extend(jsonschema.Draft202012Validator, {"multipleOf": _multiple_of})


def argument_validator(schema: dict | bool | None, formats: bool = False):
    """The one validator of call arguments against a tool's schema (Draft 2020-12, decimal `multipleOf`),
    for the data filter, generators, teacher labels, case files and the scorer alike; `formats` also
    checks `format` (date, email, ...), as the toolset generator does."""
    checker = ArgumentValidator.FORMAT_CHECKER if formats else None
    return ArgumentValidator({} if schema is None else schema, format_checker=checker)


def declared_arguments(schema: dict | None) -> set[str] | None:
    """The argument names a tool's schema declares; None when it declares none or allows others
    (`additionalProperties` true or a schema, `patternProperties`). JSON Schema lets an undeclared
    argument through unless `additionalProperties` is false, but a function refuses a keyword it
    does not take: training rows and reference calls that pass one are refused."""
    if not isinstance(schema, dict) or not isinstance(schema.get("properties"), dict) \
            or schema.get("additionalProperties") not in (None, False) or "patternProperties" in schema:
        return None
    return set(schema["properties"])


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
        problem = schema_problem(params)
        if problem:
            return "invalid_tool_schema", f"tool {name!r}: parameters is not a valid JSON Schema at {problem}"
    return None


def schema_problem(params: dict) -> str | None:
    """Where and why a tool's `parameters` cannot check a call ("properties/x: $ref '#/$defs/y' points to
    nothing in the schema"), or None: the metaschema, nesting depth and local references."""
    return _schema_error(json.dumps(params, sort_keys=True, default=repr))


MAX_SCHEMA_DEPTH = 64  # objects and arrays nested in one schema (32 levels of properties); jsonschema recurses per level


@functools.lru_cache(maxsize=4096)
def _schema_error(schema_json: str) -> str | None:
    """Where and why a schema fails the Draft 2020-12 metaschema, nests too deeply, or refers (`$ref`)
    outside itself or to nothing, or None. Validating a call against such a schema crashed (a remote or
    `file:` reference is never fetched; a dangling one and deep nesting raised inside jsonschema).
    Cached by its JSON text: a dataset offers the same few tools on thousands of rows."""
    schema = json.loads(schema_json)
    depth_problem = _too_deep(schema, "")
    if depth_problem:
        return depth_problem
    try:
        jsonschema.Draft202012Validator.check_schema(schema)
    except jsonschema.SchemaError as err:
        return f"{'/'.join(str(p) for p in err.absolute_path) or '(top)'}: {err.message}"
    for where, node in _all_dicts(schema):
        ref = node.get("$ref")
        if not isinstance(ref, str):
            continue
        where = where.lstrip("/")
        if not ref.startswith("#"):
            return f"{where or '(top)'}: $ref {ref[:80]!r} points outside the schema (remote and file references are not fetched)"
        try:
            _resolve_local(schema, ref)
        except LookupError:
            return f"{where or '(top)'}: $ref {ref[:80]!r} points to nothing in the schema"
    return None


def _too_deep(value, where: str, depth: int = 0) -> str | None:
    if depth > MAX_SCHEMA_DEPTH:
        return f"{where[:60] + '/...' if len(where) > 60 else where}: nested over {MAX_SCHEMA_DEPTH} levels deep"
    children = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else ()
    for key, child in children:
        problem = _too_deep(child, f"{where}/{key}" if where else str(key), depth + 1)
        if problem:
            return problem
    return None


def _resolve_local(schema, ref: str):
    """The part of `schema` a local reference ("#", "#/$defs/x") names; LookupError when there is none.
    (An "$anchor" reference, "#name", is looked up among the schema's anchors.)"""
    pointer = ref[1:]
    if pointer and not pointer.startswith("/"):  # "#name": an $anchor
        if any(isinstance(v, dict) and v.get("$anchor") == pointer for _, v in _all_dicts(schema)):
            return True
        raise LookupError(ref)
    node = schema
    for part in [p.replace("~1", "/").replace("~0", "~") for p in pointer.split("/")[1:]]:
        part = urllib.parse.unquote(part)
        if isinstance(node, dict) and part in node:
            node = node[part]
        elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        else:
            raise LookupError(ref)
    return node


def _all_dicts(value, where: str = ""):
    """(path, object) for every object in a JSON value, itself first."""
    if isinstance(value, dict):
        yield where, value
        for key, child in value.items():
            yield from _all_dicts(child, f"{where}/{key}")
    elif isinstance(value, list):
        for i, child in enumerate(value):
            yield from _all_dicts(child, f"{where}/{i}")
