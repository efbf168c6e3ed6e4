"""Extract tool calls from model output, as a serving framework's parser would.

The strict tier accepts exactly `<tool_call>{"name": str, "arguments": {...}}</tool_call>`
blocks (several per answer), in JSON as RFC 8259 defines it (no bare NaN or Infinity; evals/jsontext.py)
and with a non-empty name; anything else containing a `<tool_call>` tag is a parse failure,
since a framework would hand the client garbage or nothing. That includes a block whose arguments
sit under another key (`"parameters"`, `"args"`, ...): a Hermes-style serving parser reads
`arguments` only, so the call would reach the tool with no arguments at all. (Extra keys beside
`arguments`, such as an `id`, are ignored, as such a parser ignores them.) A key written twice in a
block reads as its last value, as a serving parser built on `json.loads` hands it to the tool; training
data is held to more (orchestrator/data quarantines such a row as `duplicate_key`), since there it
would teach one of two values, and here the score follows the value the tool would receive.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any, Iterable, Iterator

from evals import jsontext
from evals.pythonic_calls import PythonicCallError, written_call_list

_BLOCK = re.compile(r"<tool_call>(.*?)</tool_call>", re.DOTALL)
# Changes whenever parse_strict reads some text otherwise. Reports record it (`parser`): a check that parses a
# stored output again holds a record to the parser that made it only when the versions agree (a report
# written before the strict tier refused arguments under `parameters` would read as edited).
STRICT_PARSER_VERSION = "2026-12-07"
STRICT_KEYS = frozenset({"name", "arguments"})


@dataclass(frozen=True)
class Parsed:
    calls: list[dict] = field(default_factory=list)
    ok: bool = True           # False: the output tried to call a tool and no parser tier could read it
    error: str | None = None
    text: str = ""            # what remains once the call blocks are cut out


def parse_strict(output: str) -> Parsed:
    calls = []
    for raw in _BLOCK.findall(output):
        try:
            obj = jsontext.loads(raw.strip())
        except json.JSONDecodeError as err:
            return Parsed(ok=False, error=f"tool_call block is not JSON: {err.msg}", text=output)
        if not isinstance(obj, dict) or not isinstance(obj.get("name"), str) or not obj["name"].strip():
            return Parsed(ok=False, error="tool_call block lacks a non-empty string 'name'", text=output)
        other = sorted(set(obj) - STRICT_KEYS)
        if "arguments" not in obj and other:  # {"name": "f", "parameters": {...}}: the arguments would be lost
            return Parsed(ok=False, error=f"tool_call block has no 'arguments' but has key(s) {other}", text=output)
        args = obj.get("arguments", {})
        if not isinstance(args, dict):
            return Parsed(ok=False, error="tool_call 'arguments' is not an object", text=output)
        calls.append({"name": obj["name"], "arguments": args})
    rest = _BLOCK.sub("", output)
    if "<tool_call>" in rest or "</tool_call>" in rest:
        return Parsed(ok=False, error="unbalanced <tool_call> tag", text=output)
    return Parsed(calls=calls, ok=True, text=rest.strip())


# --- lenient tier -----------------------------------------------------------------------------
# What a reasonable parser could still rescue. It only ever adds calls a strict parser missed;
# the strict scorer never sees its output, so it cannot turn a wrong answer into a right one.
# Where nothing marks an attempt to call (a code fence, JSON in prose), a rescued object must also
# name an offered tool: `{"name": "Alice", "age": 30}` in an answer is an example, not a call.

_FENCE = re.compile(r"```(?:json|tool_call|python)?\s*(.*?)```", re.DOTALL)
_PYTHON_TAG = re.compile(r"<\|python_tag\|>(.*?)(?:<\|eom_id\|>|<\|eot_id\|>|$)", re.DOTALL)
_XML_FUNCTION = re.compile(r"<function=([\w.\-]+)>(.*?)</function>", re.DOTALL)
_XML_PARAM = re.compile(r"<parameter=([\w.\-]+)>\s*(.*?)\s*</parameter>", re.DOTALL)
_OPEN_BLOCK = re.compile(r"<tool_call>(.*)$", re.DOTALL)
NAME_KEYS = ("name", "tool", "tool_name", "function_name", "function")
ARG_KEYS = ("arguments", "args", "parameters", "params", "input", "kwargs")


_STRING = re.compile(r'"(?:[^"\\]|\\.)*"')


def _outside_strings(text: str, fix) -> str:
    """`fix` applied to the parts of `text` that are not double-quoted JSON strings: a repair must
    not rewrite "None of the above" inside a value."""
    out, last = [], 0
    for match in _STRING.finditer(text):
        out += [fix(text[last:match.start()]), match.group(0)]
        last = match.end()
    return "".join(out + [fix(text[last:])])


def _python_constants(part: str) -> str:
    part = re.sub(r",\s*([}\]])", r"\1", part)                  # trailing commas
    return re.sub(r"\bTrue\b", "true", re.sub(r"\bFalse\b", "false", re.sub(r"\bNone\b", "null", part)))


def _repair_json(text: str) -> str:
    text = text.strip()
    while text.startswith("{{") and text.endswith("}}"):
        text = text[1:-1].strip()
    if "'" in text and '"' not in text:                          # Python-style single quotes
        text = text.replace("'", '"')
    return _outside_strings(text, _python_constants)


def _loads_loose(text: str):
    for candidate in (text, _repair_json(text)):
        try:
            return jsontext.loads(candidate)
        except (json.JSONDecodeError, ValueError):
            continue
    return None


def _balanced_objects(text: str) -> list[str]:
    """Every top-level {...} or [...] span, found by bracket matching outside strings."""
    spans, depth, start, in_str, esc, quote = [], 0, None, False, False, ""
    for i, ch in enumerate(text):
        if in_str:
            if esc:
                esc = False
            elif ch == "\\":
                esc = True
            elif ch == quote:
                in_str = False
            continue
        if ch in "\"'" and depth:
            in_str, quote, esc = True, ch, False
        elif ch in "{[":
            if depth == 0:
                start = i
            depth += 1
        elif ch in "}]" and depth:
            depth -= 1
            if depth == 0 and start is not None:
                spans.append(text[start:i + 1])
    return spans


def _as_call(obj) -> dict | None:
    """Normalise one decoded object to {"name", "arguments"} if it looks like a call."""
    if not isinstance(obj, dict):
        return None
    if isinstance(obj.get("function"), dict):  # OpenAI {"type": "function", "function": {...}}
        return _as_call(obj["function"])
    name = next((obj[k] for k in NAME_KEYS if isinstance(obj.get(k), str)), None)
    if not name or not name.strip():
        return None
    args = next((obj[k] for k in ARG_KEYS if k in obj), None)
    if args is None:  # arguments under a key no one uses: take the one object-valued key, if there is one
        objects = [v for k, v in obj.items() if k not in NAME_KEYS and isinstance(v, dict)]
        args = objects[0] if len(objects) == 1 else {}
    if isinstance(args, str):
        args = _loads_loose(args) if args.strip() else {}
    if not isinstance(args, dict):
        return None
    return {"name": name, "arguments": args}


def _json_items(text: str) -> Iterator[Any]:
    """Each value written as JSON in `text` (its top-level {...} and [...] spans, else the whole text),
    an array's items one by one."""
    for span in _balanced_objects(text) or [text]:
        obj = _loads_loose(span)
        if obj is not None:
            yield from obj if isinstance(obj, list) else [obj]


def _calls_from_json_text(text: str) -> list[dict]:
    return [c for c in map(_as_call, _json_items(text)) if c]


def _xml_value(raw: str):
    value = _loads_loose(raw)
    return raw if value is None else value


def _xml_arguments(body: str) -> dict:
    """A `<function=name>` block's arguments: its `<parameter=k>` tags (Qwen3-Coder), or a JSON object
    as the whole body (Llama 3.x's `<function=name>{"k": v}</function>`)."""
    params = _XML_PARAM.findall(body)
    if not params:
        whole = _loads_loose(body.strip())
        if isinstance(whole, dict):
            return whole
    return {k: _xml_value(v) for k, v in params}


def _xml_calls(output: str) -> list[dict]:
    return [{"name": n, "arguments": _xml_arguments(body)} for n, body in _XML_FUNCTION.findall(output)]


def _marked_sources(output: str) -> list[str]:
    """What `<tool_call>` blocks (closed, then one left open) and python tags hold: text the model
    marked as a call."""
    return [*_BLOCK.findall(output), *_OPEN_BLOCK.findall(_BLOCK.sub("", output)), *_PYTHON_TAG.findall(output)]


def written_calls(output: str) -> tuple[list[dict], int]:
    """Every call written in a text answer, whatever tool it names, and how many JSON values written
    beside them are no call: for judging a teacher's answer, where dropping a call the teacher made
    (to a tool it was not offered, in a second code fence, as a stray array item) would keep a row
    that says something else than the teacher did. Sources in the lenient parser's order: XML
    function blocks, <tool_call> blocks and python tags, else every code fence, else the prose; else
    a Python-style call list."""
    xml = _xml_calls(output)
    if xml:
        return xml, 0
    for sources in (_marked_sources(output), _FENCE.findall(output), [output]):
        items = [item for source in sources for item in _json_items(source)]
        calls = [c for c in map(_as_call, items) if c]
        if calls:
            return calls, len(items) - len(calls)
    return _pythonic(output), 0


def _pythonic(output: str) -> list[dict]:
    """Calls written as a Python call list (`[get_weather(city='Oslo')]`: Llama 3.2's pythonic tool
    format, ToolACE's), wholly or after some text; [] for any other text, or one that does not read."""
    try:
        found = written_call_list(output)
    except PythonicCallError:
        return []
    return found[1] if found else []


def parse_lenient(output: str, tools: Iterable[str] | None = None) -> Parsed:
    """Strict first; otherwise rescue calls from XML function blocks, unclosed or malformed
    <tool_call> blocks, <|python_tag|>, code fences and bare JSON in prose, then Python call lists
    (`[get_weather(city='Oslo')]`, whole or ending the text, in a fence or not). `tools`, the names the
    case offers: a call rescued from a fence or from prose must name one of them (None: any name)."""
    strict = parse_strict(output)
    if strict.ok and strict.calls:
        return strict
    xml = _xml_calls(output)
    if xml:
        return Parsed(calls=xml, text=output)
    offered = None if tools is None else set(tools)

    def offered_only(calls: list[dict]) -> list[dict]:
        return calls if offered is None else [c for c in calls if c["name"] in offered]

    for source in _marked_sources(output):  # the model meant to call: any name is a (possibly wrong) call
        calls = _calls_from_json_text(source)
        if calls:
            return Parsed(calls=calls, text=output)
    sources = [*(f.strip() for f in _FENCE.findall(output)), output.strip()]
    for read in (_calls_from_json_text, _pythonic):  # JSON first; then a Python call list, as Llama 3.2 writes
        for source in sources:
            calls = offered_only(read(source))
            if calls:
                return Parsed(calls=calls, text=output)
    return strict
