"""Every source format becomes one internal row: the OpenAI `messages` + `tools` form plus `meta`.

Internal row:
    {"id": "<source>:<row>",
     "messages": [{"role": "system"|"user"|"assistant"|"tool", "content": str,
                   "tool_calls": [{"type": "function", "function": {"name", "arguments"}, "id"?}],  # assistant
                   "name"?, "tool_call_id"?}],                                                        # tool
     "tools": [{"type": "function", "function": {"name", "description"?, "parameters"?}}],
     "meta": {"source", "row", "format", "track", "session_id", "timestamp", "state_times", "original_id", ...}}

`meta.track` is the row's own track, else its source's `track`; `meta.source_track` keeps the
source's. `meta.timestamp` (epoch seconds) is when the final user turn was asked; `meta.state_times` lists
`{"message": index, "timestamp": epoch seconds}` for tool results that carry a time (the stale-state
check reads both). Tool-call `arguments` are decoded to objects when they are JSON strings; a string
that is not JSON is kept as it is, for the quality filter to reject.

Formats (`format: auto` picks per row: `conversations` → sharegpt, `messages` → openai,
`user` + `answer` → trace, `query` + `answers` → xlam, a `chat` string → glaive):

- **openai**: `{"messages": [...], "tools": [...] | "<JSON string>", "id"?, "meta"?, ...}`. Tools may be
  bare function schemas (`{"name", "parameters"}`); they are wrapped as `{"type": "function", ...}`.
  `messages` (like `tools`) may be a JSON string, as Parquet / Arrow columns often hold it, and
  `tools` a list of JSON strings, one per tool; a tool's `input_schema` (Anthropic) is its
  `parameters`. A top-level `system` becomes the first system message. A legacy row's `functions`
  list is its tools. An assistant message's `weight` (0 or 1, OpenAI's fine-tuning format) is kept:
  a weight-0 turn stays in the prompt and is left out of the loss (orchestrator/train/trainer.py).
  Other top-level keys (e.g. `scenario`) move into `meta`; a `timestamp` on a tool message moves
  into `meta.state_times`.
  OpenAI's legacy form (an assistant `function_call`, a `function` role for its result) is read as
  `tool_calls` and a `tool` message.
  An assistant turn that is nothing but a Python-style call list (`[f(x=1)]`, ToolACE's form) is
  read as those calls (evals/pythonic_calls.py; one that cannot be read is quarantined as
  `unsupported_call_syntax`), and ToolACE's tools are the JSON list its system prompt gives after "Here
  is a list of functions in JSON format that you can invoke:". A bare JSON call
  (`{"name": ..., "arguments": ...}` as an assistant's whole text) is quarantined as
  `unsupported_call_syntax`: kept as text it would teach a call as a plain answer. Python type names
  in a tool's schema (`"type": "dict"`, "float", ...) become JSON Schema's (evals/schema_names.py).
  glaive's `<functioncall> {...}` is read as a call, and the functions its system prompt lists after "Use them
  if required -" are the row's tools (glaive has no tools column). A `developer` message is a system message, and call
  `arguments` of `""` are `{}`.
  In every format, an assistant turn that writes its calls as Hermes-style `<tool_call>{...}</tool_call>`
  blocks in its text (and no `tool_calls`) gets them as `tool_calls`, and a tool result wrapped in
  `<tool_response>` is unwrapped (one per call after parallel calls). As hermes-function-calling-v1
  writes them, the blocks may be Python dicts (single quotes, True/None), and a row with no tools
  column may list its tools in a `<tools>` block of the system prompt (JSON or a Python literal):
  they become the row's tools, and the block leaves the prompt (the chat template writes the tools).
  A message's `content` may be OpenAI content parts: the text parts are joined (evals/messages.py);
  a row with an image, audio or other non-text part is quarantined as `non_text_content`, and a
  user, system or assistant turn whose content is neither text nor parts as `bad_structure`. A
  structured tool result (an object, a list of records) is kept as its JSON text.
  JSON means RFC 8259: a line with a bare `NaN` / `Infinity`, or nested too deeply to read, is
  `malformed_json`; an object that names a key twice anywhere in a row (two `messages`, two
  `content`s, a schema's `required` twice, a call's argument twice) is `duplicate_key`, since JSON
  readers keep one of the values and drop the other.
- **sharegpt** (as LLaMA-Factory reads it): `{"conversations": [{"from": "human"|"gpt"|"function_call"|
  "observation"|"system", "value": str}], "system"?: str, "tools"?: "<JSON string>" | list}`; the tags
  other exports use are read too (`user`, `assistant`, `model`, `developer`; `tool` and `function_response`
  for an observation), and turns written as `{"role", "content"}` instead of `{"from", "value"}`. A
  top-level `system` and a first system turn are one prompt when they agree, else the row is quarantined.
  A `function_call` value is the JSON of one call `{"name", "arguments"}` or of a list of calls
  (parallel); it becomes an assistant turn with `tool_calls`. An `observation` becomes one tool
  message named after the call it answers; after k > 1 parallel calls, an observation whose value is
  a JSON list of k items becomes k tool messages, one per call.
- **xlam** (Salesforce xlam-function-calling-60k and other APIGen exports): `{"id"?, "query": str,
  "answers": [{"name", "arguments"}] | "<JSON string>", "tools": [...] | "<JSON string>"}` becomes the
  query as a user turn and one assistant turn of its calls; the tools' per-parameter Python-style
  types become a JSON Schema object (evals/xlam.py). A row with empty `answers` (xlam-irrelevance) has
  no reply to train on and is quarantined as `no_reply` (as an eval case it expects no call).
- **glaive** (glaive-function-calling-v2 as published): a `system` string and the conversation in
  one `chat` string of `USER:` / `ASSISTANT:` / `FUNCTION RESPONSE:` turns; read as the openai row
  those turns make (tools from the system prompt, `<functioncall>` turns as calls).
- **trace** (raw agent logs; this project's schema):
      {"session_id": str, "timestamp": ISO-8601 | epoch seconds,      # when the user asked
       "tools": [...], "system"?: str,
       "history"?: [earlier OpenAI messages of the session, each may carry "timestamp"],
       "user": str,
       "calls": [{"name": str, "arguments": obj | JSON str, "result": any, "timestamp"?: ..., "round"?: int}],
       "answer": str, "meta"?: {...}}
  Calls with the same `round` (default: their position, i.e. sequential) form one assistant turn of
  parallel calls, followed by their results as tool messages; `answer` is the final assistant turn.
"""

from __future__ import annotations

import ast
import json
import re
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from evals import jsontext
from evals.cases import load_cases
from evals.messages import (ROLES, TOOL_RESPONSE, ContentError, anthropic_turns, content_text, inline_calls,
                            is_control_character, standard_message)
from evals.pythonic_calls import PythonicCallError, written_call_list
from evals.tools import with_parameters
from evals.xlam import XlamError, is_xlam_row, xlam_parts
from orchestrator.data.quarantine import row_ref
from evals.schema_names import with_json_schema_types

# LLaMA-Factory's tags, and the ones other ShareGPT exports use for the same turns.
SHAREGPT_ROLES = {"human": "user", "user": "user", "gpt": "assistant", "assistant": "assistant", "model": "assistant",
                  "system": "system", "developer": "system", "function_call": "function_call", "observation": "observation",
                  "tool": "observation", "function_response": "observation"}


class Reject(Exception):
    """A row that cannot be normalised: `check` is the counted name, the message the details."""

    def __init__(self, check: str, reason: str):
        super().__init__(reason)
        self.check, self.reason = check, reason


def detect_format(row: dict) -> str:
    if "conversations" in row:
        return "sharegpt"
    if "messages" in row:
        return "openai"
    if "user" in row and "answer" in row:
        return "trace"
    if is_xlam_row(row):
        return "xlam"
    if isinstance(row.get("chat"), str):
        return "glaive"
    raise Reject("unrecognised_format", "neither 'messages' (openai), 'conversations' (sharegpt), "
                                        "'user' + 'answer' (trace), 'query' + 'answers' (xlam) nor 'chat' (glaive)")


MIN_EPOCH, MAX_EPOCH = -62135596800, 253402300799  # 0001-01-01 and 9999-12-31T23:59:59 UTC: what datetime holds


def parse_time(value: Any, what: str) -> float:
    """ISO-8601 (a trailing Z allowed; naive times are UTC) or epoch seconds → epoch seconds."""
    if isinstance(value, bool):
        raise Reject("bad_timestamp", f"{what} {value!r} is not ISO-8601 or epoch seconds")
    if isinstance(value, (int, float)):
        if not MIN_EPOCH <= value <= MAX_EPOCH:  # NaN fails both comparisons
            raise Reject("bad_timestamp", f"{what} {value!r} is not epoch seconds between years 1 and 9999")
        return float(value)
    if isinstance(value, str):
        try:
            t = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            pass
        else:
            return (t if t.tzinfo else t.replace(tzinfo=timezone.utc)).timestamp()
    raise Reject("bad_timestamp", f"{what} {value!r} is not ISO-8601 or epoch seconds")


def json_kind(value: Any) -> str:
    """'null', 'a JSON list', 'a JSON string', ... for a value where an object was expected."""
    if value is None:
        return "null"
    kind = {list: "list", str: "string", bool: "boolean", int: "number", float: "number"}.get(type(value))
    return f"a JSON {kind}" if kind else f"a {type(value).__name__}"


def _loads_unique(text: str, what: str) -> Any:
    """JSON text inside a row (a tools or messages column written as a string), refused as the row is
    when an object in it names a key twice (see `decode`)."""
    try:
        return jsontext.loads(text, unique_keys=True)
    except jsontext.DuplicateKeyError as dup:
        raise Reject("duplicate_key", f"{what}: {dup.msg}: a reader keeps one of the two values and drops "
                                      f"the other") from None


def _strict_json_or_self(value: Any, what: str) -> Any:
    """A column that may be JSON text (Parquet / Arrow) decoded, refused if it names a key twice; text
    that is not JSON stays text (the caller refuses it by its shape)."""
    try:
        return _loads_unique(value, what) if isinstance(value, str) else value
    except json.JSONDecodeError:
        return value


def _json_or_self(value: Any, unique_keys: bool = False) -> Any:
    if isinstance(value, str):
        try:
            return jsontext.loads(value, unique_keys=unique_keys)
        except json.JSONDecodeError:
            return value
    return value


def openai_tools(value: Any) -> list[dict]:
    value = [] if value is None else value
    if isinstance(value, str):
        try:
            value = _loads_unique(value, "tools") if value.strip() else []
        except json.JSONDecodeError:
            raise Reject("malformed_json", "tools is a string that is not JSON") from None
    if not isinstance(value, list):
        raise Reject("bad_structure", "tools is not a list")
    out = []
    for i, t in enumerate(value):
        if isinstance(t, str):  # a list of JSON strings, one per tool (When2Call and other exports)
            try:
                t = _loads_unique(t, f"tool {i}")
            except json.JSONDecodeError:
                raise Reject("malformed_json", f"tool {i} is a string that is not JSON") from None
        if not isinstance(t, dict):
            raise Reject("bad_structure", f"tool {i} is {json_kind(t)}, not an object")
        fn = t.get("function", t)
        if not isinstance(fn, dict) or not isinstance(fn.get("name"), str) or not fn["name"]:
            raise Reject("bad_structure", f"tool {i} has no name")
        unwritable = _unwritable_name(fn["name"])
        if unwritable:
            raise Reject("bad_structure", f"tool {i}'s name {unwritable}")
        fn = with_parameters(fn)  # Anthropic's input_schema is the same JSON Schema
        if isinstance(fn.get("parameters"), dict):  # "dict", "float", ... (ToolACE, BFCL): JSON Schema's names
            fn = {**fn, "parameters": with_json_schema_types(fn["parameters"])}
        out.append({"type": "function", "function": fn})
    return out


def _unwritable_name(name: str) -> str | None:
    """Why a model could not write `name` in a call, or None: blank, or holding a control character
    (a NUL, a newline). Spaces, dots and long names stay: public datasets name tools "Market Trends API"
    and "math.factorial"."""
    if not name.strip():
        return f"{name!r} is blank"
    control = next((c for c in name if is_control_character(c)), None)
    if control is not None:
        return f"{name[:40]!r} holds the control character {control!r}"
    return None


def _pythonic_turn(text: str, index: int) -> tuple[str, list[dict]] | None:
    """(the text before them, the calls) of an assistant turn that writes its calls as a Python-style
    call list (`[f(x=1), g()]`, as ToolACE does; evals/pythonic_calls.py), wholly or after
    some text, else None. A whole turn shaped as a call list that cannot be read is refused: kept as
    text it would train a call as a plain answer."""
    try:
        found = written_call_list(text)
    except PythonicCallError as err:
        raise Reject("unsupported_call_syntax",
                     f"message {index} writes its calls as Python-style text ({text.strip()[:60]!r}) that cannot be "
                     f"read as calls: {err}") from None
    return None if found is None else (found[0], [_call(c) for c in found[1]])


_WHOLE_FENCE = re.compile(r"\s*```[A-Za-z]*\s*\n(.*?)\n?\s*```\s*", re.DOTALL)


def _check_assistant_text(text: str, index: int) -> None:
    """Refuse an assistant turn that writes its call as bare JSON text: kept as text, it would train a
    call as a plain answer (and count as a no-tool row). A Markdown code fence around it changes nothing."""
    fenced = _WHOLE_FENCE.fullmatch(text)
    text = fenced.group(1) if fenced else text
    whole = _literal(text) if text.strip().startswith(("{", "[")) else None
    if isinstance(whole, dict):
        whole = [whole]
    if isinstance(whole, list) and whole and all(isinstance(c, dict) and isinstance(c.get("name"), str)
                                                 and ("arguments" in c or "parameters" in c) for c in whole):
        raise Reject("unsupported_call_syntax",
                     f"message {index} writes its call as bare JSON text ({text.strip()[:60]!r}); toolsweep reads "
                     "calls from tool_calls, function_call turns or <tool_call> JSON blocks")


def _call(value: Any) -> dict:
    """One tool call in the internal form; `arguments` decoded when it is a JSON string."""
    if not isinstance(value, dict):
        raise Reject("bad_structure", "a tool call that is not an object")
    fn = value.get("function", value)
    if not isinstance(fn, dict) or not isinstance(fn.get("name"), str):
        raise Reject("bad_structure", "a tool call without a name")
    unwritable = _unwritable_name(fn["name"]) if fn["name"] else None  # "": named by the filter (unknown_tool)
    if unwritable:
        raise Reject("bad_structure", f"a tool call's name {unwritable}")
    args = fn.get("arguments", fn.get("parameters", {}))
    if isinstance(args, str) and not args.strip():  # API logs write "" for a call without arguments
        args = {}
    # A key named twice is refused (kept as text, the filter quarantines it): with the last value
    # read, '{"zone": 3, "open": true, "zone": 4}' trained a call to zone 4 before "Zone 3 is open."
    call = {"type": "function", "function": {"name": fn["name"], "arguments": _json_or_self(args, unique_keys=True)}}
    if value.get("id") is not None:
        call["id"] = value["id"]
    return call


def _message(m: Any, index: int, state_times: list[dict]) -> dict:
    if isinstance(m, dict):
        if m.get("role") == "assistant" and isinstance(m.get("content"), str):
            m = {**m, "content": _json_call_blocks(m["content"])}
        m = standard_message(m)
    if not isinstance(m, dict):
        raise Reject("bad_structure", f"message {index} is {json_kind(m)}, not an object")
    if m.get("role") not in ROLES:
        raise Reject("bad_structure", f"message {index} has a missing or unknown role ({m.get('role')!r})")
    # Arrow / Parquet rows carry every struct key, null where a message has none: drop those nulls.
    out = {k: v for k, v in m.items() if k != "timestamp" and not (v is None and k in ("name", "tool_call_id", "id"))}
    try:  # content parts joined, a structured tool result as its JSON text (evals/messages.py)
        out["content"] = content_text(out.get("content"), m["role"])
    except ContentError as err:
        raise Reject("non_text_content" if err.kind == "non_text" else "bad_structure",
                     f"message {index}: {err}") from None
    if "weight" in out:  # OpenAI fine-tuning: weight 0 keeps an assistant turn in context, untrained
        if m["role"] != "assistant":
            del out["weight"]
        elif isinstance(out["weight"], bool) or out["weight"] not in (0, 1):
            raise Reject("bad_structure", f"message {index}: weight is {out['weight']!r}; expected 0 or 1")
        else:
            out["weight"] = int(out["weight"])
    if m["role"] == "assistant" and not out.get("tool_calls"):
        written = _pythonic_turn(out["content"], index)
        if written:
            out["content"], out["tool_calls"] = written
        else:
            _check_assistant_text(out["content"], index)
    if out.get("tool_calls"):
        if not isinstance(out["tool_calls"], list):
            raise Reject("bad_structure", f"message {index}: tool_calls is not a list")
        out["tool_calls"] = [_call(c) for c in out["tool_calls"]]
    elif "tool_calls" in out:
        del out["tool_calls"]
    if m.get("timestamp") is not None and m["role"] == "tool":
        state_times.append({"message": index, "timestamp": parse_time(m["timestamp"], f"message {index} timestamp")})
    return out


_TOOLS_BLOCK = re.compile(r"<tools>(.*?)</tools>", re.DOTALL)
_CALL_BLOCK = re.compile(r"(<tool_call>)(.*?)(</tool_call>)", re.DOTALL)
# glaive's call: the tag, then one object to the end of the turn (an end-of-text marker aside)
_GLAIVE_CALL = re.compile(r"<functioncall>\s*(\{.*\})\s*(?:<\|endoftext\|>)?\s*$", re.DOTALL)


def _literal(text: str) -> Any:
    """`text` as JSON, else as a Python literal (Hermes-style datasets write their tool lists and calls
    with single quotes and True/False/None), else None. ast.literal_eval evaluates no code. A key
    named twice in one dict is refused (`duplicate_key`) in either form: both keep the last value."""
    try:
        return _loads_unique(text, "a <tool_call> or <tools> block")
    except json.JSONDecodeError:
        pass
    try:
        tree = ast.parse(text.strip(), mode="eval")
        value = ast.literal_eval(tree)
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        return None
    for node in ast.walk(tree):
        keys = [k.value for k in node.keys if isinstance(k, ast.Constant)] if isinstance(node, ast.Dict) else []
        twice = next((k for i, k in enumerate(keys) if k in keys[:i]), None)
        if twice is not None:
            raise Reject("duplicate_key", f"a <tool_call> or <tools> block: the key {twice!r} appears twice in "
                                          "one dict: a reader keeps one of the two values and drops the other")
    return value


def _hermes_system_tools(messages: list[dict]) -> list[dict]:
    """Tools a Hermes-style system prompt lists in a `<tools>` block (the dataset has no tools
    column). The block leaves the prompt, since the chat template writes the tools itself."""
    if not messages or messages[0]["role"] != "system":
        return []
    system = messages[0]["content"]
    # the last non-empty block: Hermes prompts also name the tags in prose ("within <tools> </tools> XML tags")
    block = next((b for b in reversed(list(_TOOLS_BLOCK.finditer(system))) if b.group(1).strip()), None)
    if not block:
        return []
    listed = _literal(block.group(1))
    if isinstance(listed, dict):
        listed = [listed]
    if listed is None:  # one tool per line
        listed = [_literal(line) for line in block.group(1).splitlines() if line.strip()]
    if not isinstance(listed, list) or not listed or any(not isinstance(t, dict) for t in listed):
        raise Reject("malformed_json", f"message 0: the <tools> block of the system prompt is neither JSON nor a "
                                       "Python literal list of tools")
    messages[0] = {**messages[0], "content": (system[:block.start()] + system[block.end():]).strip()}
    return openai_tools(listed)


# glaive-function-calling-v2's system prompt: "... with access to the following functions. Use them if
# required -" and then the functions as JSON objects, one after another, to the end of the prompt.
_GLAIVE_TOOLS = re.compile(r"\s*Use them if required\s*-\s*(?=\{)", re.IGNORECASE)
_GLAIVE_ROLE_PREFIX = re.compile(r"^\s*SYSTEM:\s*")


def _glaive_system_tools(messages: list[dict]) -> list[dict]:
    """Tools a glaive-style system prompt lists after "Use them if required -" (glaive has no tools
    column, so every row was quarantined as unknown_tool); they leave the prompt, as a `<tools>` block does."""
    if not messages or messages[0]["role"] != "system":
        return []
    system = messages[0]["content"]
    marker = _GLAIVE_TOOLS.search(system)
    if not marker:
        return []
    listed, at, decoder = [], marker.end(), json.JSONDecoder()
    while at < len(system):
        try:
            value, at = decoder.raw_decode(system, at)
        except json.JSONDecodeError as err:
            raise Reject("malformed_json", f"message 0: the functions the system prompt lists after 'Use them if "
                                           f"required -' are not JSON objects ({err.msg}, char {err.pos})") from None
        listed.extend(value if isinstance(value, list) else [value])
        while at < len(system) and system[at] in " \t\r\n,":
            at += 1
    if not listed or any(not isinstance(t, dict) for t in listed):
        raise Reject("malformed_json", "message 0: the functions the system prompt lists after 'Use them if "
                                       "required -' are not JSON objects")
    # glaive writes the role into the text too ("SYSTEM: You are ..."); the template writes the role
    messages[0] = {**messages[0], "content": _GLAIVE_ROLE_PREFIX.sub("", system[:marker.start()]).strip()}
    return openai_tools(listed)


# ToolACE's system prompt: "... Here is a list of functions in JSON format that you can invoke:\n[...]. \n
# Should you decide to return the function call(s), Put it in the format of [func1(...)]\n\nNO other
# text MUST be included." The list is the row's tools; the list and the format instruction leave the
# prompt (the chat template writes the tools and its own call format, which the calls are trained in).
_TOOLACE_TOOLS = re.compile(r"\s*Here is a list of functions in JSON format that you can invoke:\s*(?=\[)", re.IGNORECASE)
_TOOLACE_FORMAT = re.compile(r"\.?\s*(?:Should you decide to return the function call\(s\).*?NO other text MUST be "
                             r"included\.?)?\s*", re.IGNORECASE | re.DOTALL)


def _toolace_system_tools(messages: list[dict]) -> list[dict]:
    """Tools a ToolACE-style system prompt lists as one JSON array; they leave the prompt."""
    if not messages or messages[0]["role"] != "system":
        return []
    system = messages[0]["content"]
    marker = _TOOLACE_TOOLS.search(system)
    if not marker:
        return []
    try:
        listed, end = json.JSONDecoder().raw_decode(system, marker.end())
    except json.JSONDecodeError as err:
        raise Reject("malformed_json", f"message 0: the functions the system prompt lists after 'Here is a list of "
                                       f"functions in JSON format' are not a JSON list ({err.msg}, char {err.pos})") from None
    if not isinstance(listed, list) or not listed or any(not isinstance(t, dict) for t in listed):
        raise Reject("malformed_json", "message 0: the functions the system prompt lists after 'Here is a list of "
                                       "functions in JSON format' are not a list of objects")
    tail = _TOOLACE_FORMAT.match(system, end)
    messages[0] = {**messages[0], "content": (system[:marker.start()] + " " + system[tail.end():]).strip()}
    # ToolACE writes "required": null beside each function's parameters: a null says nothing
    return openai_tools([{k: v for k, v in t.items() if v is not None} for t in listed])


def _row_tools(column: Any, messages: list[dict]) -> list[dict]:
    """The row's tools: its tools column, else a Hermes `<tools>` block or a glaive function list in the
    system prompt. With both, the column wins and a `<tools>` block still leaves the prompt (the
    template writes the tools once)."""
    tools = openai_tools(column)
    if not tools:
        return _hermes_system_tools(messages) or _glaive_system_tools(messages) or _toolace_system_tools(messages)
    try:
        _hermes_system_tools(messages)
    except Reject:  # an unreadable block beside a tools column: the column is what counts
        pass
    return tools


# glaive writes the arguments as a single-quoted JSON string; an apostrophe inside them ("Don't Stop
# Me Now") makes the object no Python literal, so the quoted part is cut out by position instead.
_GLAIVE_QUOTED_ARGS = re.compile(r"\{\s*\"name\"\s*:\s*\"([^\"]+)\"\s*,\s*\"arguments\"\s*:\s*'(.*)'\s*\}\s*$", re.DOTALL)
# Call lists other templates write as text: NeMo / When2Call's <TOOLCALL>[...]</TOOLCALL> and
# Mistral's [TOOL_CALLS][...] (to the end of the turn).
_LISTED_CALLS = (("<TOOLCALL>", re.compile(r"<TOOLCALL>\s*(.*?)\s*</TOOLCALL>", re.DOTALL)),
                 ("[TOOL_CALLS]", re.compile(r"\[TOOL_CALLS\]\s*(.*?)\s*$", re.DOTALL)))


def _glaive_call(obj: str) -> str:
    value = _literal(obj)
    if not isinstance(value, dict):
        quoted = _GLAIVE_QUOTED_ARGS.match(obj)
        args = _json_or_self(quoted.group(2)) if quoted else None
        if not isinstance(args, dict):
            raise Reject("unparseable_tool_call", f"a glaive <functioncall> that is neither JSON nor a Python literal "
                                                  f"({obj.strip()[:60]!r})")
        value = {"name": quoted.group(1), "arguments": args}
    return f"<tool_call>{json.dumps(value, ensure_ascii=False)}</tool_call>"


def _listed_calls(tag: str, body: str) -> str:
    listed = _literal(body)
    listed = [listed] if isinstance(listed, dict) else listed
    if not isinstance(listed, list) or not listed or not all(isinstance(c, dict) and isinstance(c.get("name"), str)
                                                            for c in listed):
        raise Reject("unparseable_tool_call", f"a {tag} call list that is not a JSON list of calls ({body[:60]!r})")
    return "\n".join(f"<tool_call>{json.dumps(c, ensure_ascii=False)}</tool_call>" for c in listed)


def _json_call_blocks(text: str) -> str:
    """An assistant's calls as datasets write them in text, rewritten as the `<tool_call>` JSON blocks
    the strict parser reads: `<tool_call>` blocks holding a Python dict (`{'name': 'f', 'arguments':
    {'x': True}}`, hermes-function-calling-v1's form) as JSON, glaive's `<functioncall>`, NeMo's
    `<TOOLCALL>[...]</TOOLCALL>` and Mistral's `[TOOL_CALLS][...]`; arguments given as a JSON string
    decoded (as they are in `tool_calls`). A `<tool_call>` block that is none of these stays as written,
    for the quality filter to refuse with the parser's reason; the other forms are refused here."""
    if "<functioncall>" in text:  # glaive-function-calling-v2: `<functioncall> {"name": ..., "arguments": '{...}'}`
        text = _GLAIVE_CALL.sub(lambda m: _glaive_call(m.group(1)), text)
    for tag, pattern in _LISTED_CALLS:
        if tag in text:
            text = pattern.sub(lambda m: _listed_calls(tag, m.group(1)), text)

    def as_json(match: re.Match) -> str:
        value = _literal(match.group(2))
        if not isinstance(value, dict):
            return match.group(0)
        args = value.get("arguments")
        if isinstance(args, str) and isinstance(_json_or_self(args), dict):
            value = {**value, "arguments": _json_or_self(args)}
        return match.group(1) + json.dumps(value, ensure_ascii=False) + match.group(3)
    return _CALL_BLOCK.sub(as_json, text) if "<tool_call>" in text else text


def _finish(messages: list[dict], tools: list[dict], meta: dict) -> dict:
    if not messages:
        raise Reject("bad_structure", "no messages")
    if not any(m["role"] == "assistant" for m in messages):
        raise Reject("bad_structure", "no assistant turn")
    return {"id": row_ref(meta["source"], meta["row"]), "messages": messages, "tools": tools, "meta": meta}


def _base_meta(row: dict, source: str, index: int, fmt: str, track: str | None) -> dict:
    given = _strict_json_or_self(row.get("meta"), "meta")  # a JSON string column (Parquet / Arrow), like messages and tools
    meta = dict(given) if isinstance(given, dict) else {}
    meta.update({"source": source, "row": index, "format": fmt, "track": meta.get("track") or track})
    if track:
        meta["source_track"] = track
    if row.get("id") is not None:
        meta["original_id"] = row["id"]
    if meta.get("timestamp") is not None:
        meta["timestamp"] = parse_time(meta["timestamp"], "meta.timestamp")
    return meta


def from_openai(row: dict, meta: dict) -> dict:
    msgs = row.get("messages")
    if isinstance(msgs, str):  # a JSON string column (Parquet / Arrow, a CSV cell) is decoded
        try:
            msgs = _loads_unique(msgs, "messages")
        except json.JSONDecodeError as err:
            raise Reject("malformed_json", f"messages is a string that is not JSON ({err.msg})") from None
    if not isinstance(msgs, list):
        raise Reject("bad_structure", "messages is not a list")
    try:  # Anthropic's tool_use / tool_result blocks as tool_calls and tool messages
        msgs = anthropic_turns(msgs)
    except ContentError as err:
        raise Reject("non_text_content" if err.kind == "non_text" else "bad_structure", str(err)) from None
    # OpenAI's legacy rows list their tools under `functions`; a top-level `system` (Anthropic's
    # Messages form, some exports) is the conversation's system prompt.
    tools = row.get("tools") if row.get("tools") is not None else row.get("functions")
    for k, v in row.items():
        if k not in ("messages", "tools", "meta", "id", "system") and not (k == "functions" and tools is v):
            meta.setdefault(k, v)
    state_times: list[dict] = []
    messages = _split_tool_responses(_results_in_user_turns([_message(m, i, state_times) for i, m in enumerate(msgs)]),
                                     state_times)
    if row.get("system") is not None:
        try:
            system = content_text(row["system"], "system")
        except ContentError as err:
            raise Reject("bad_structure", f"system: {err}") from None
        if messages and messages[0]["role"] == "system":
            if system.strip() and messages[0]["content"] != system:
                raise Reject("bad_structure", "a top-level 'system' and a different system message: which one "
                                              "is the prompt is not clear")
        elif system.strip():
            messages.insert(0, {"role": "system", "content": system})
            for t in state_times:  # tool-result times point at message indices
                t["message"] += 1
    meta["state_times"] = state_times
    return _finish(messages, _row_tools(tools, messages), meta)


def _response_name(block: str) -> str | None:
    value = _literal(block)
    return value["name"] if isinstance(value, dict) and isinstance(value.get("name"), str) else None


def _blocks_per_call(text: str, calls: list) -> list[str] | None:
    """The `<tool_response>` blocks of one tool turn after k > 1 parallel calls, when it holds k of
    them, else None: one per call, paired by the function name each block carries (Hermes writes
    `{"name": ..., "content": ...}`, and not always in the calls' order), else by position."""
    blocks = [b.strip() for b in TOOL_RESPONSE.findall(text)]
    if len(calls) <= 1 or len(blocks) != len(calls):
        return None
    names = [_response_name(b) for b in blocks]
    wanted = [c["function"]["name"] for c in calls]
    if not all(names) or names == wanted:
        return blocks
    if sorted(names) != sorted(wanted):
        raise Reject("orphan_tool_result", f"the <tool_response> blocks answer {names} but the calls were to {wanted}")
    paired, unused = [], list(range(len(blocks)))
    for name in wanted:  # each call takes the first unused block that names its function
        j = next(j for j in unused if names[j] == name)
        unused.remove(j)
        paired.append(blocks[j])
    return paired


def _only_tool_responses(text: str) -> bool:
    """The text is nothing but `<tool_response>` blocks (a result some exports put in a user turn)."""
    return bool(TOOL_RESPONSE.search(text)) and not TOOL_RESPONSE.sub("", text).strip()


def _results_in_user_turns(messages: list[dict]) -> list[dict]:
    """A user turn that is nothing but `<tool_response>` blocks, right after a calling assistant turn,
    is that round's tool result (kept as a user turn, the call went unanswered and the model was
    shown the result as something the user said)."""
    out = []
    for m in messages:
        before = out[-1] if out else {}
        if m["role"] == "user" and before.get("role") == "assistant" and before.get("tool_calls") \
                and _only_tool_responses(m["content"]):
            blocks = TOOL_RESPONSE.findall(m["content"])
            m = {"role": "tool", "content": blocks[0].strip() if len(blocks) == 1 else m["content"]}
        out.append(m)
    return out


def _split_tool_responses(messages: list[dict], state_times: list[dict]) -> list[dict]:
    """One tool message holding k > 1 `<tool_response>` blocks right after an assistant turn of k calls
    becomes k tool messages, one per call in order (a Hermes ShareGPT export mapped `from` → `role`
    writes them so; the ShareGPT reader already splits them). Tool-result times shift with the indices."""
    out: list[dict] = []
    moved: dict[int, list[int]] = {}  # old index -> its new indices
    for i, m in enumerate(messages):
        before = out[-1] if out else {}
        calls = (before.get("tool_calls") or []) if before.get("role") == "assistant" else []
        blocks = _blocks_per_call(m["content"], calls) if m["role"] == "tool" else None
        if blocks is None:
            moved[i] = [len(out)]
            out.append(m)
            continue
        moved[i] = list(range(len(out), len(out) + len(calls)))  # the message's time belongs to each part
        for call, block in zip(calls, blocks):
            part = {"role": "tool", "name": call["function"]["name"], "content": block.strip()}
            if call.get("id") is not None:
                part["tool_call_id"] = call["id"]
            out.append(part)
    if len(out) != len(messages):
        state_times[:] = [{**t, "message": j} for t in state_times for j in moved[t["message"]]]
    return out


def from_sharegpt(row: dict, meta: dict) -> dict:
    turns = _strict_json_or_self(row.get("conversations"), "conversations")
    if not isinstance(turns, list):
        raise Reject("bad_structure", "conversations is not a list")
    messages: list[dict] = []
    if isinstance(row.get("system"), str) and row["system"]:
        messages.append({"role": "system", "content": row["system"]})
    last_calls: list[dict] = []
    for i, turn in enumerate(turns):
        if isinstance(turn, dict) and "from" not in turn and "role" in turn:  # many hub exports use role/content
            turn = {"from": turn["role"], "value": turn.get("content")}
        if not isinstance(turn, dict) or turn.get("from") not in SHAREGPT_ROLES:
            who = turn.get("from") if isinstance(turn, dict) else None
            raise Reject("bad_structure", f"turn {i} has a missing or unknown 'from' ({who!r})")
        role, value = SHAREGPT_ROLES[turn["from"]], turn.get("value")
        if not isinstance(value, str):
            raise Reject("bad_structure", f"turn {i}: value is not a string")
        if role == "user" and last_calls and _only_tool_responses(value):  # a result written as a user turn
            role = "observation"
        if role == "system" and len(messages) == 1 and messages[0]["role"] == "system" and i == 0:
            if value.strip() and value != messages[0]["content"]:  # as from_openai: which one is the prompt?
                raise Reject("bad_structure", "a top-level 'system' and a different system turn: which one is the "
                                              "prompt is not clear")
            continue
        if role == "function_call":
            try:
                parsed = _loads_unique(value, f"turn {i}: the function_call value")
            except json.JSONDecodeError:
                raise Reject("malformed_json", f"turn {i}: function_call value is not JSON") from None
            last_calls = [_call(c) for c in (parsed if isinstance(parsed, list) else [parsed])]
            messages.append({"role": "assistant", "content": "", "tool_calls": last_calls})
        elif role == "assistant" and inline_calls(value := _json_call_blocks(value)) is not None:  # Hermes style
            text, calls = inline_calls(value)
            last_calls = [_call(c) for c in calls]
            messages.append({"role": "assistant", "content": text, "tool_calls": last_calls})
        elif role == "assistant" and (written := _pythonic_turn(value, len(messages))):  # ToolACE style
            text, last_calls = written
            messages.append({"role": "assistant", "content": text, "tool_calls": last_calls})
        elif role == "observation":
            parts = _blocks_per_call(value, last_calls)  # one <tool_response> per parallel call
            if parts is None:
                responses = TOOL_RESPONSE.findall(value)
                if len(responses) == 1:
                    value = responses[0].strip()
                parts = _json_or_self(value) if len(last_calls) > 1 else None
            if isinstance(parts, list) and len(parts) == len(last_calls):
                for call, part in zip(last_calls, parts):
                    content = part if isinstance(part, str) else json.dumps(part, ensure_ascii=False)
                    messages.append({"role": "tool", "name": call["function"]["name"], "content": content})
            else:
                name = last_calls[0]["function"]["name"] if last_calls else None
                messages.append({"role": "tool", "name": name, "content": value} if name else
                                {"role": "tool", "content": value})
            last_calls = []
        else:
            if role == "assistant":
                _check_assistant_text(value, len(messages))
            messages.append({"role": role, "content": value})
            last_calls = []
    for k, v in row.items():
        if k not in ("conversations", "tools", "system", "meta", "id"):
            meta.setdefault(k, v)
    meta["state_times"] = []
    return _finish(messages, _row_tools(row.get("tools"), messages), meta)


def from_trace(row: dict, meta: dict) -> dict:
    for key, kind in (("session_id", str), ("user", str), ("answer", str)):
        if not isinstance(row.get(key), kind):
            raise Reject("bad_structure", f"trace without a string {key!r}")
    if row.get("timestamp") is None:
        raise Reject("bad_structure", "trace without a 'timestamp'")
    calls = row.get("calls") or []
    if not isinstance(calls, list):
        raise Reject("bad_structure", "trace 'calls' is not a list")
    meta.update({"session_id": row["session_id"], "timestamp": parse_time(row["timestamp"], "timestamp")})
    state_times: list[dict] = []
    messages: list[dict] = []
    if isinstance(row.get("system"), str) and row["system"]:
        messages.append({"role": "system", "content": row["system"]})
    history = row.get("history") or []
    if not isinstance(history, list):
        raise Reject("bad_structure", "trace 'history' is not a list of messages")
    for m in history:
        messages.append(_message(m, len(messages), state_times))
    messages.append({"role": "user", "content": row["user"]})
    rounds: dict[Any, list[dict]] = {}
    for i, c in enumerate(calls):
        if not isinstance(c, dict):
            raise Reject("bad_structure", f"trace call {i} is not an object")
        key = c.get("round", i)
        if not isinstance(key, (int, str)) or isinstance(key, bool):
            raise Reject("bad_structure", f"trace call {i}: 'round' is a JSON {type(key).__name__}, expected a number or a string")
        rounds.setdefault(key, []).append(c)
    for group in rounds.values():
        messages.append({"role": "assistant", "content": "", "tool_calls": [_call(c) for c in group]})
        for c in group:
            if c.get("timestamp") is not None:
                state_times.append({"message": len(messages), "timestamp": parse_time(c["timestamp"], "call timestamp")})
            result = c.get("result", "")
            messages.append({"role": "tool", "name": c.get("name"),
                             "content": result if isinstance(result, str) else json.dumps(result, ensure_ascii=False)})
    messages.append({"role": "assistant", "content": row["answer"]})
    meta["state_times"] = state_times
    return _finish(messages, openai_tools(row.get("tools")), meta)


def from_xlam(row: dict, meta: dict) -> dict:
    """A one-turn xLAM row (evals/xlam.py): the query, then one assistant turn of its calls. A row
    whose `answers` is empty (xlam-irrelevance) holds no reply, so it has nothing to train."""
    try:
        query, tools, calls = xlam_parts(row)
    except XlamError as err:
        raise Reject("bad_structure", f"xlam row: {err}") from None
    if not calls:
        raise Reject("no_reply", "xlam row with no answers (an irrelevance row): it holds no reply to train "
                                 "on; use it as an eval case (no call expected) or add the reply as an openai row")
    for k, v in row.items():
        if k not in ("query", "tools", "answers", "meta", "id"):
            meta.setdefault(k, v)
    meta["state_times"] = []
    messages = [{"role": "user", "content": query},
                {"role": "assistant", "content": "",
                 "tool_calls": [{"type": "function", "function": c} for c in calls]}]
    return _finish(messages, tools, meta)


# glaive-function-calling-v2 as published: a `system` string ("SYSTEM: ... Use them if required -\n{...}")
# and the whole conversation in one `chat` string of "USER:", "ASSISTANT:" and "FUNCTION RESPONSE:"
# turns, three newlines apart, each assistant turn closed by <|endoftext|>.
_GLAIVE_TURN = re.compile(r"(?:^|\n)[ \t]*(USER|ASSISTANT|FUNCTION RESPONSE):[ \t]?")
_GLAIVE_ROLES = {"USER": "user", "ASSISTANT": "assistant", "FUNCTION RESPONSE": "tool"}
_END_OF_TEXT = re.compile(r"\s*<\|endoftext\|>\s*$")


def from_glaive(row: dict, meta: dict) -> dict:
    """A glaive `system` + `chat` row as OpenAI messages, then read as an openai row (which reads the
    tools its system prompt lists and its `<functioncall>` turns)."""
    chat, system = row.get("chat"), row.get("system")
    if not isinstance(chat, str) or (system is not None and not isinstance(system, str)):
        raise Reject("bad_structure", "glaive row: 'chat' (and 'system', when given) must be strings")
    pieces = _GLAIVE_TURN.split(chat)
    if pieces[0].strip():
        raise Reject("bad_structure", f"glaive row: the chat does not start with a 'USER:' or 'ASSISTANT:' turn "
                                      f"({pieces[0].strip()[:40]!r})")
    messages = [{"role": "system", "content": _GLAIVE_ROLE_PREFIX.sub("", system)}] if system and system.strip() else []
    for marker, text in zip(pieces[1::2], pieces[2::2]):
        messages.append({"role": _GLAIVE_ROLES[marker], "content": _END_OF_TEXT.sub("", text).strip()})
    rest = {k: v for k, v in row.items() if k not in ("chat", "system")}
    return from_openai({**rest, "messages": messages}, meta)


CONVERTERS = {"openai": from_openai, "sharegpt": from_sharegpt, "trace": from_trace, "xlam": from_xlam,
              "glaive": from_glaive}
FORMAT_KEYS = {"openai": ("messages",), "sharegpt": ("conversations",), "trace": ("user", "answer"),
               "xlam": ("query", "answers"), "glaive": ("chat",)}  # a row of each format has them


def decode(raw: str | bytes | dict) -> dict:
    """A raw record (a JSONL line or an Arrow row) as a dict, or Reject."""
    if isinstance(raw, bytes):  # a JSONL line that is not UTF-8 (evals.textio.jsonl_lines)
        try:
            raw = raw.decode("utf-8")
        except UnicodeDecodeError as err:
            raise Reject("not_utf8", f"not UTF-8 text (byte 0x{raw[err.start]:02x} at byte {err.start} of the "
                                     f"line)") from None
    if isinstance(raw, str):
        try:  # JSON keeps an object's last value for a key: a message, a schema's `required`, a call's
            row = _loads_unique(raw, "the row")  # argument would be dropped without a trace
        except json.JSONDecodeError as err:
            where = f" (char {err.pos})" if err.pos else ""  # the reader's own errors carry no position
            raise Reject("malformed_json", f"not valid JSON: {err.msg}{where}") from None
    else:
        row = raw
    if not isinstance(row, dict):
        raise Reject("not_an_object", f"a JSON {type(row).__name__}, not an object")
    return row


def normalise(raw: str | bytes | dict, source: str, index: int, fmt: str = "auto", track: str | None = None) -> dict:
    """One raw record → one internal row, or Reject with the reason."""
    try:
        row = decode(raw)
    except Reject as rej:
        if rej.check == "not_utf8":  # only JSONL lines arrive as bytes: the index is the line number − 1
            raise Reject(rej.check, f"line {index + 1}: {rej.reason}") from None
        raise
    detected = detect_format(row) if fmt == "auto" else fmt
    if fmt != "auto":
        missing = [k for k in FORMAT_KEYS[fmt] if k not in row]
        if missing:
            raise Reject("unrecognised_format", f"source format is {fmt} but the row has no {missing[0]!r}")
    meta = _base_meta(row, source, index, detected, track)
    out = CONVERTERS[detected](row, meta)
    return undo_arrow_widening(out, restore_nulls=isinstance(raw, dict))


# --- Arrow rows (Parquet, save_to_disk, hub) -------------------------------------------------------
# Arrow gives a column one type: an integer argument beside a 0.5 in another row comes back as 3.0,
# and a key absent from one row is padded with null (sources.py drops those nulls, and with them a
# real null). The call's own tool schema says what the value was: a whole-number float where the
# schema wants an integer is that integer, and a required key the schema lets be null was that null.
# A JSON row gets the first half too (`"count": 5.0` for an integer trains as `5`, as the same row read
# from Parquet does: one spelling per value whatever the file type); not the second, since a key a JSON
# row leaves out was left out by its writer (the filter names it as a missing required argument).

def _types(schema: dict) -> set[str]:
    t = schema.get("type")
    out = {t} if isinstance(t, str) else set(t) if isinstance(t, list) else set()
    for key in ("anyOf", "oneOf"):
        for sub in schema.get(key) or []:
            if isinstance(sub, dict):
                out |= _types(sub)
    if schema.get("nullable") is True:  # OpenAPI's spelling
        out.add("null")
    return out


def _by_schema(value: Any, schema: Any, restore_nulls: bool = True) -> Any:
    if not isinstance(schema, dict):
        return value
    types = _types(schema)
    if isinstance(value, float) and value.is_integer() and "integer" in types and "number" not in types:
        return int(value)
    if isinstance(value, dict) and isinstance(schema.get("properties"), dict):
        props = schema["properties"]
        out = {k: _by_schema(v, props.get(k), restore_nulls) for k, v in value.items()}
        for k in (schema.get("required") or []) if restore_nulls else []:
            if isinstance(k, str) and k not in out and isinstance(props.get(k), dict) and "null" in _types(props[k]):
                out[k] = None
        return out
    if isinstance(value, list) and isinstance(schema.get("items"), dict):
        return [_by_schema(v, schema["items"], restore_nulls) for v in value]
    return value


def undo_arrow_widening(row: dict, restore_nulls: bool = True) -> dict:
    """`row` with each call's arguments restored by its tool's schema (see above); `restore_nulls`
    False for a JSON row: whole numbers only."""
    schemas = {t["function"]["name"]: t["function"].get("parameters") for t in row["tools"]}
    for m in row["messages"]:
        for c in m.get("tool_calls") or []:
            fn = c["function"]
            if isinstance(fn.get("arguments"), dict) and fn["name"] in schemas:
                fn["arguments"] = _by_schema(fn["arguments"], schemas[fn["name"]], restore_nulls)
    return row


# --- eval case files ---------------------------------------------------------------------------

def case_conversation(row: dict) -> dict | None:
    """A case-file row without `expected`, read as a training row is (evals.cases.load_cases's
    `read_row`): its messages and tools, None for a row in no known format, ValueError naming why
    a row in a known one cannot be read."""
    try:
        return normalise(json.dumps(row, ensure_ascii=False), "cases", 0)
    except Reject as rej:
        if rej.check == "unrecognised_format":
            return None
        raise ValueError(f"read as a training-style conversation, {rej.reason} (what training quarantines as "
                         f"{rej.check})") from None


def load_eval_cases(path: Path | str) -> list[dict]:
    """evals.cases.load_cases, reading training-style rows in every format training reads."""
    return load_cases(path, read_row=case_conversation)
