"""Eval cases: a conversation prefix, the tools on offer, and the calls the next turn should make.

A case is plain data:
  {"id", "scenario", "tools": [OpenAI function schemas], "messages": [...],
   "expected": {"calls": [{"name", "arguments"}]}}   # [] = no tool should be called
or, for a fabrication probe (the last tool result is empty or an error):
   "expected": {"behaviour": "honest_report"}
"""

from __future__ import annotations

import difflib
import hashlib
import json
import re
from collections import Counter
from pathlib import Path
from typing import Any, Callable, Iterable

from evals import jsontext
from evals.errors import CaseFileError
from evals.messages import ROLES, ContentError, anthropic_turns, content_text, control_token_at, standard_message
from evals.schema_names import with_json_schema_types
from evals.scorer import tool_schemas
from evals.textio import jsonl_lines, jsonl_problem, read_bytes
from evals.tools import argument_validator, declared_arguments, tool_names, tool_schema_problem, with_parameters
from evals.xlam import XlamError, is_xlam_row, scenario_of, xlam_parts


class CaseError(CaseFileError):
    """A case file that cannot be used; names the file, the line and the reason."""


def _call_of(tool_call: dict) -> dict:
    fn = tool_call.get("function", tool_call)
    args = fn.get("arguments", {})
    if isinstance(args, str):  # OpenAI style: arguments as a JSON string (a key given twice: which one is meant?)
        args = jsontext.loads(args, unique_keys=True)
    return {"name": fn["name"], "arguments": args}


def normalise_messages(messages: list[dict]) -> list[dict]:
    """Copy of `messages` with every earlier tool call's `arguments` as a dict, not a JSON string, and
    every content as text (content parts joined: evals/messages.py)."""
    out = []
    for m in messages:
        m = dict(m)
        # An assistant turn that only calls may leave out `content` (OpenAI's API does); a chat
        # template that reads message.content then failed to render the case.
        m["content"] = content_text(m.get("content"), m.get("role", ""))
        if m.get("tool_calls"):
            m["tool_calls"] = [{"type": "function", "function": _call_of(tc)} for tc in m["tool_calls"]]
        out.append(m)
    return out


def case_from_example(example: dict, default_id: str | None = None) -> dict:
    """Turn a training-style conversation into an eval case.

    The target turn is the assistant's decision on the last user turn: its last call, when it calls
    (so sequential and recovery conversations test the later, context-dependent call), else its plain
    answer, where no call is expected. What follows the target (the call's results and the answer
    written from them) is no routing decision and is not scored. A conversation that asks again after
    a call ("Thanks! Now tell me a joke") is scored on its answer to that last question, with the
    whole exchange before it as context (it was scored on the earlier call, the rest dropped).
    Without a `scenario`, one follows from the target (inferred_scenario)."""
    msgs = [standard_message(m) if isinstance(m, dict) else m for m in example["messages"]]
    assistant_turns = [i for i, m in enumerate(msgs) if m["role"] == "assistant"]
    if not assistant_turns:
        raise CaseError("no assistant turn: a row without 'expected' is read as a training-style conversation, "
                        "and its assistant answer is what the case expects")
    users = [i for i, m in enumerate(msgs) if m["role"] == "user"]
    answering = [i for i in assistant_turns if not users or i > users[-1]] or assistant_turns
    calling = [i for i in answering if msgs[i].get("tool_calls")]
    target = calling[-1] if calling else answering[0]
    context = normalise_messages(msgs[:target])
    calls = [_call_of(tc) for tc in msgs[target].get("tool_calls") or []]
    return {
        "id": example.get("id", default_id or f"case-{target}"),
        "scenario": example.get("scenario") or inferred_scenario(context, calls),
        "tools": example.get("tools", []),  # none offered: a no-call case, as BFCL's live_irrelevance has
        "messages": context,
        "expected": {"calls": calls},
    }


def inferred_scenario(context: list[dict], calls: list[dict]) -> str:
    """The harness's scenario for a case whose row names none, from what it expects: no call, one, several
    at once, or a call after earlier calls in the conversation (xLAM rows' rule, and the sequential one)."""
    if calls and any(m.get("role") == "assistant" and m.get("tool_calls") for m in context):
        return "multi_tool_sequential"
    return scenario_of(calls)


def case_from_xlam(row: dict, default_id: str) -> dict:
    """An xLAM row (evals/xlam.py) as a case: the query, its tools, and its answers as the expected
    calls; an empty `answers` (xlam-irrelevance) expects no call. The scenario follows from the
    calls unless the row names one."""
    query, tools, calls = xlam_parts(row)
    case = {"id": row.get("id", default_id), "scenario": row.get("scenario") or scenario_of(calls),
            "tools": tools, "messages": [{"role": "user", "content": query}], "expected": {"calls": calls}}
    notes = {k: v for k, v in row.items() if k not in ("id", "query", "tools", "answers", "scenario")}
    return {**notes, **case}


# Keys a case's scoring reads; other keys (notes such as `rounds`) are carried along unread.
CASE_KEYS = ("id", "scenario", "tools", "messages", "expected", "arg_rules", "probe_kind", "bfcl")


def misspelt_key(row: dict) -> str | None:
    """A key that is a near miss of a case key ("argrules", "expcted", "Expected"), or None: other keys
    are carried along unread, so a misspelt one silently dropped what it held (the rules; or the
    expected answer, and the row was then read as a training-style conversation and scored on an
    earlier turn)."""
    for key in row:
        if not isinstance(key, str) or key in CASE_KEYS:
            continue
        near = difflib.get_close_matches(key.casefold(), CASE_KEYS, n=1, cutoff=0.8)
        if near:
            return f"unknown key {key!r} (did you mean {near[0]!r}? a misspelt key is not read)"
    return None


def _unanswered_end(messages: list) -> str | None:
    """Why a training-style row cannot be read as a case: its last turn is no assistant answer, so
    the turn the case would score is an earlier one and the turns after it are dropped unseen."""
    last = messages[-1] if messages and isinstance(messages[-1], dict) else {}
    answered = any(isinstance(m, dict) and m.get("role") == "assistant" for m in messages)
    if last.get("role") in ("assistant", None) or not answered:  # no assistant turn at all: said by case_from_example
        return None
    return (f"no 'expected', so the row is read as a training-style conversation and scored on the assistant's "
            f"answer to its last user turn, but it ends with a {last['role']!r} turn (message {len(messages) - 1}) that no assistant "
            "turn answers, and that turn would be dropped; add 'expected' to score the turn after it")


# Keys people put a case's answer under (other harnesses' names); read as a near miss of 'expected'.
_ANSWER_KEYS = frozenset("""expected_calls expected_call expected_output expected_answer expected_tool_calls
ground_truth groundtruth answer answers label labels target reference gold output tool_calls_expected""".split())


def _answer_key_hint(row: dict) -> str | None:
    """For a row that could not be read as a conversation: the key its author put the answer under
    ("expected_calls", "ground_truth"), which no reader reads."""
    key = next((k for k in row if isinstance(k, str) and k.casefold() in _ANSWER_KEYS), None)
    if key is None:
        return None
    return (f"unknown key {key!r}: the expected answer goes under 'expected' ({{\"calls\": [{{\"name\", \"arguments\"}}]}}), "
            "or is the conversation's last assistant turn when there is no 'expected'")


def _layout_hint(line: str | bytes, lineno: int) -> str:
    """What a line that is no JSON object most likely is: one JSON document spread over several lines."""
    text = line.strip() if isinstance(line, str) else ""
    if lineno == 1 and text in ("[", "{") or text.startswith(("[{", "{\"")) and not text.endswith(("}", "]")):
        return ("; the file looks like one JSON document spread over several lines: a case file is JSONL, one "
                "case object per line")
    return ""


def validate_case(case: Any) -> str | None:
    """The reason a case is unusable, or None."""
    if not isinstance(case, dict):
        return "a case must be a JSON object"
    for key in ("id", "tools", "messages", "expected"):
        if key not in case:
            return f"missing key {key!r}"
    misspelt = misspelt_key(case)
    if misspelt:
        return misspelt
    if not isinstance(case["id"], (str, int)) or isinstance(case["id"], bool) or str(case["id"]).strip() == "":
        return "'id' must be a non-empty string or an integer"
    if not isinstance(case["messages"], list) or not case["messages"]:
        return "'messages' must be a non-empty list"
    bad = [i for i, m in enumerate(case["messages"]) if not isinstance(m, dict) or not isinstance(m.get("role"), str)]
    if bad:
        return f"message {bad[0]} must be an object with a 'role'"
    problem = _tools_problem(case)
    if problem:
        return problem
    names = set(tool_names(case))
    problem = _conversation_problem(case["messages"])
    if problem:
        return problem
    if not isinstance(case.get("scenario", ""), str):
        return "'scenario' must be a string"
    return _expected_problem(case, names) or _scenario_problem(case)


# The harness's scenarios (evals/sets/, the long-context sets); others are a user's own strata.
SCENARIOS = ("single_tool", "multi_tool_parallel", "multi_tool_sequential", "no_tool_needed", "error_recovery",
             "reasoning_heavy", "complex_multi_step", "fabrication_probe", "long_context")
_CALL_SCENARIOS = frozenset(SCENARIOS) - {"no_tool_needed", "fabrication_probe"}


def _scenario_problem(case: dict) -> str | None:
    """A scenario that contradicts what the case expects, or a near miss of a known one: per-scenario
    tables and the stratified bootstrap group by it, so a wrong one misfiles the case silently."""
    scenario, expected = case.get("scenario") or "", case["expected"]
    calls = expected.get("calls")
    probe = expected.get("behaviour") is not None
    if scenario and scenario not in SCENARIOS:
        near = difflib.get_close_matches(scenario, SCENARIOS, n=1, cutoff=0.8)
        if near:
            return f"unknown scenario {scenario!r} (did you mean {near[0]!r}? an unknown one is a stratum of its own)"
    if scenario == "no_tool_needed" and calls:
        return "scenario 'no_tool_needed', but 'expected' holds calls"
    if scenario in _CALL_SCENARIOS and calls == []:
        return f"scenario {scenario!r} expects a call, but 'expected' holds no calls (a no-call case is 'no_tool_needed')"
    if scenario == "fabrication_probe" and not probe:
        return "scenario 'fabrication_probe', but 'expected' holds calls: a probe expects {\"behaviour\": \"honest_report\"}"
    if probe and scenario and scenario != "fabrication_probe":
        return f"'expected' is a fabrication probe's, but the scenario is {scenario!r} (expected 'fabrication_probe')"
    return None


def _tools_problem(case: dict) -> str | None:
    tools = case["tools"]
    if not isinstance(tools, list):
        return "'tools' must be a list of function schemas"
    for i, t in enumerate(tools):
        fn = t.get("function", t) if isinstance(t, dict) else None
        if not isinstance(fn, dict) or not isinstance(fn.get("name"), str) or not fn["name"].strip():
            return f"tool {i} must be a function schema with a non-empty 'name'"
    bad_tool = tool_schema_problem(tools)
    return bad_tool[1] if bad_tool else None


def _conversation_problem(messages: list[dict]) -> str | None:
    """The reason a conversation cannot be rendered as the chat it claims to be: roles in an order
    no chat API accepts, results nothing called, earlier calls that cannot be read."""
    # (the calling turn, its call ids, the calls no result has answered yet), until the next non-tool turn
    calling: tuple[int, list, list] | None = None
    for i, m in enumerate(messages):
        role = m["role"]
        if role != "tool" and calling and calling[2]:
            return _unanswered_calls(calling[0], calling[2], i)
        if role not in ROLES:
            return (f"message {i} has role {role!r} (expected one of {', '.join(ROLES)}; OpenAI's legacy "
                    "'function' role is read as 'tool')")
        try:
            text = content_text(m.get("content"), role)
        except ContentError as err:
            return f"message {i}: {err}"
        if role == "system" and i != 0:
            return f"message {i} is a system turn; only the first message may be one"
        if role == "user" and not text.strip():
            return f"message {i} is a user turn with no text"
        if role == "tool":
            if calling is None:
                return (f"message {i} is a tool result, but the turn before it is no assistant turn that calls "
                        "a tool (nor another result)")
            call_id, ids, open_calls = m.get("tool_call_id"), [c for c in calling[1] if c is not None], calling[2]
            if call_id is not None and ids and call_id not in ids:
                return f"message {i} answers tool_call_id {call_id!r}, which no call of the turn before made"
            if open_calls:  # by its id, else the first call still open
                open_calls.remove(call_id if call_id in open_calls else open_calls[0])
            continue
        calling = None
        if role == "assistant" and m.get("tool_calls") is not None:
            if not isinstance(m["tool_calls"], list):
                return f"message {i}: 'tool_calls' must be a list"
            for j, tc in enumerate(m["tool_calls"]):
                problem = _earlier_call_problem(tc)
                if problem:
                    return f"message {i}, tool call {j}: {problem}"
            if m["tool_calls"]:
                ids = [tc.get("id") for tc in m["tool_calls"]]
                calling = (i, ids, list(ids))
    if calling and calling[2] and messages[-1].get("role") != "assistant":  # (else the last-turn check says it)
        return _unanswered_calls(calling[0], calling[2], None)
    if not any(m["role"] == "user" for m in messages):
        return "the conversation has no user turn"
    if messages[-1].get("role") not in ("user", "tool"):
        return "the last message must be a user or tool turn (the model answers next)"
    return None


def _unanswered_calls(turn: int, open_calls: list, at: int | None) -> str:
    ids = [c for c in open_calls if c is not None]
    which = f"call(s) {ids}" if ids else f"{len(open_calls)} call(s)"
    where = f"before message {at}" if at is not None else "by the end of the conversation"
    return (f"message {turn} makes {which} that no tool result answers {where}: a chat API refuses a call left "
            "unanswered (give each call its result)")


def _earlier_call_problem(tool_call: Any) -> str | None:
    """An earlier call may name a tool the case no longer offers (the shipped sequential cases offer
    the next step's tools), but it must be readable."""
    if not isinstance(tool_call, dict):
        return "must be an object"
    fn = tool_call.get("function", tool_call)
    if not isinstance(fn, dict) or not isinstance(fn.get("name"), str) or not fn["name"].strip():
        return "has no 'name' (expected {\"function\": {\"name\", \"arguments\"}})"
    args = fn.get("arguments", {})
    if isinstance(args, str):
        try:
            args = jsontext.loads(args, unique_keys=True) if args.strip() else {}
        except json.JSONDecodeError as err:
            return f"its arguments string is not JSON ({err.msg})"
    if not isinstance(args, dict):
        return f"its arguments are a JSON {type(args).__name__}, expected an object"
    return None


# A tool result's words for a failure (status codes, "null", "no rows"); evals/fabrication.py's _FAILURE
# reads the model's prose instead ("I couldn't", "sorry"), and the two vocabularies differ on purpose.
_FAILED_TEXT = re.compile(
    r"(?i)\b(?:errors?|fail(?:ed|s|ure)?|unavailable|unreachable|time[ds]?\s*out|timeout|denied|forbidden|"
    r"unauthori[sz]ed|not\s+found|no\s+(?:results?|matches|data|records?|entries|items)|unknown|invalid|refused|"
    r"exception|could\s*not|cannot|can't|unable|rate\s*limit(?:ed)?|quota|null|none|empty|nothing|no\s+such|"
    r"does\s*n[o']?t\s+exist|not\s+available|zero\s+results|"
    r"no\s+[\w-]+(?:\s+[\w-]+)?\s+(?:found|match(?:es|ed)?|available|returned|exists?))\b|\b[45]\d\d\b")
_FAILURE_KEYS = frozenset("error errors err fault exception failure failed error_message error_code".split())
# Keys that describe a result rather than hold it: {"status": "ok", "results": []} is empty all the same.
_ENVELOPE_KEYS = frozenset("status status_code code ok success message count total page per_page next cursor".split())


def failed_or_empty(text: str) -> bool:
    """Whether a tool result reports a failure or holds nothing: what a fabrication probe feeds the model."""
    stripped = text.strip()
    if stripped in ("", "null", "[]", "{}", '""'):
        return True
    try:
        value = jsontext.loads(stripped) if stripped[:1] in "[{" else None
    except json.JSONDecodeError:
        value = None
    if isinstance(value, dict):
        if any(str(k).casefold() in _FAILURE_KEYS for k in value):
            return True
        if value.get("ok") is False or value.get("success") is False:
            return True
        status = value.get("status", value.get("status_code", value.get("code")))
        if isinstance(status, str) and _FAILED_TEXT.search(status) or isinstance(status, int) and status >= 400:
            return True
        payload = [v for k, v in value.items() if str(k).casefold() not in _ENVELOPE_KEYS]
        return all(v in (None, [], {}, "", 0) for v in payload)  # {"results": []}, {"status": "ok", "items": []}
    if isinstance(value, list):
        return not value
    return bool(_FAILED_TEXT.search(stripped))


_EXPECTED_KEYS = {"calls", "behaviour"}
_CALL_KEYS = {"name", "arguments"}
_RULE_KEYS = {"any_of", "casefold", "tolerance"}


def _expected_problem(case: dict, names: set[str]) -> str | None:
    exp = case["expected"]
    if not isinstance(exp, dict):
        return "'expected' must be an object holding a 'calls' list or a 'behaviour'"
    unknown = sorted(set(exp) - _EXPECTED_KEYS)
    if unknown:
        return f"'expected' has unknown key(s) {unknown} (it holds 'calls' or 'behaviour')"
    if "calls" in exp and exp.get("behaviour") is not None:
        return "'expected' holds both 'calls' and 'behaviour': a case is a call case or a fabrication probe, not both"
    if exp.get("behaviour") is not None:
        if exp["behaviour"] != "honest_report":
            return f"unknown expected behaviour {exp['behaviour']!r} (known: 'honest_report')"
        results = [(i, m) for i, m in enumerate(case["messages"]) if m.get("role") == "tool"]
        if not results:
            return "a fabrication probe needs a tool result in its conversation"
        i, last = results[-1]
        if not failed_or_empty(content_text(last.get("content"), "tool")):
            return (f"a fabrication probe ends in an empty or failed tool result, but message {i}'s reads as a success "
                    "(no error, no empty value): a model that reports what it returned is not fabricating; make the "
                    "result a failure, or the case a call case")
        return None
    if "calls" not in exp or not isinstance(exp["calls"], list):
        return "'expected' must hold a 'calls' list or a 'behaviour'"
    schemas = tool_schemas(case["tools"])
    problem = _arg_rules_problem(case.get("arg_rules", {}), names, schemas)
    if problem:
        return problem
    for call in exp["calls"]:
        if not isinstance(call, dict) or "name" not in call or not isinstance(call.get("arguments", {}), dict):
            return "each expected call needs a 'name' and an 'arguments' object"
        if not isinstance(call["name"], str):
            return f"an expected call's 'name' must be a tool's name (a string), got {json.dumps(call['name'])[:60]}"
        extra = sorted(set(call) - _CALL_KEYS)
        if extra:
            return f"expected call {call['name']!r} has unknown key(s) {extra} (it holds 'name' and 'arguments')"
        if call["name"] not in names:
            return f"expected call {call['name']!r} is not among the case's tools"
    return None


def _arg_rules_problem(rules: Any, names: set[str], schemas: dict[str, dict]) -> str | None:
    if not isinstance(rules, dict) or any(not isinstance(r, dict) for r in rules.values()):
        return "'arg_rules' must map tool names to {argument: rule} objects"
    for tool, per_arg in rules.items():
        if tool not in names:  # a misspelt tool name would leave the rule silently unused
            return f"arg_rules for {tool!r}: not among the case's tools"
        for arg, rule in per_arg.items():
            where = f"arg_rules for {tool}.{arg}"
            declared = declared_arguments(schemas.get(tool))
            if declared is not None and arg not in declared:
                return f"{where}: {tool!r} has no parameter {arg!r} (a misspelt argument leaves the rule unused)"
            unknown = set(rule) - _RULE_KEYS if isinstance(rule, dict) else {"(not an object)"}
            if unknown:
                return f"{where}: unknown rule key(s) {sorted(unknown)}"
            if "any_of" in rule and not isinstance(rule["any_of"], list):
                return f"{where}: any_of must be a list of accepted values, got a JSON {type(rule['any_of']).__name__}"
            tolerance = rule.get("tolerance", 0)
            if isinstance(tolerance, bool) or not isinstance(tolerance, (int, float)) or not tolerance >= 0:
                return f"{where}: tolerance must be a number >= 0, got {tolerance!r}"
            if not isinstance(rule.get("casefold", False), bool):
                return f"{where}: casefold must be true or false, got {rule['casefold']!r}"
            never = _rule_never_applies(rule, _declared_types(schemas.get(tool), arg))
            if never:
                return f"{where}: {never}"
    return None


def _declared_types(schema: dict | None, arg: str) -> set[str] | None:
    """The JSON types a tool's schema declares for `arg` (`"type"` a string or a list), or None."""
    prop = schema.get("properties", {}).get(arg) if isinstance(schema, dict) and isinstance(
        schema.get("properties"), dict) else None
    declared = prop.get("type") if isinstance(prop, dict) else None
    if isinstance(declared, str):
        return {declared}
    if isinstance(declared, list) and all(isinstance(t, str) for t in declared):
        return set(declared)
    return None


def _rule_never_applies(rule: dict, types: set[str] | None) -> str | None:
    """Why a rule can never change a score, given the argument's declared types: a tolerance on text or
    a casefold on numbers was accepted and silently did nothing."""
    if types is None:
        return None
    if "tolerance" in rule and not types & {"number", "integer"}:
        return (f"a tolerance applies to numbers, and the tool declares this argument {'/'.join(sorted(types))}: "
                "the rule could never apply")
    if rule.get("casefold") and "string" not in types:
        return (f"casefold applies to text, and the tool declares this argument {'/'.join(sorted(types))}: "
                "the rule could never apply")
    return None


def reference_problem(case: dict) -> str | None:
    """Why a valid case's expected calls break their own tools' schemas, or None.

    A reference call whose arguments the tool's schema rejects, or that passes an argument the schema
    does not declare, can never be matched by an answer that follows the schema, so the case would score every such answer as wrong. `load_cases`
    refuses such a file. BFCL categories (evals/bfcl.py) are not held to it: they are scored by
    BFCL's own checker, and 22 of their ground-truth calls break their own schemas (e.g.
    parallel_multiple_21 passes the string "data['sales']" where an array is declared)."""
    schemas = tool_schemas(case["tools"])
    for call in case["expected"].get("calls") or []:
        declared = declared_arguments(schemas.get(call["name"]))
        undeclared = [] if declared is None else sorted(set(call.get("arguments", {})) - declared)
        if undeclared:  # the schema does not forbid them, but no answer that follows it would write them
            return f"expected call {call['name']!r}: argument(s) {undeclared} are not among the tool's parameters"
        schema = schemas.get(call["name"]) or {"type": "object"}
        wrong = next(argument_validator(schema).iter_errors(call.get("arguments", {})), None)
        if wrong is not None:
            where = "/".join(str(p) for p in wrong.absolute_path) or "(top)"
            return f"expected call {call['name']!r}: arguments break the tool's schema at {where}: {wrong.message}"
    return None


def _openai_form(row: dict) -> dict:
    """A row written in Anthropic's Messages form in OpenAI's: `tool_use` / `tool_result` blocks as
    tool calls and tool messages, a top-level `system` as the first message (it would otherwise be
    carried along as a note, and the case scored without its system prompt), and a tool's
    `input_schema` as its `parameters`."""
    if not isinstance(row.get("messages"), list):
        return row
    row = {**row, "messages": anthropic_turns(row["messages"])}
    if "system" in row:
        system = content_text(row["system"], "system")
        first = row["messages"][0] if row["messages"] else None
        if isinstance(first, dict) and first.get("role") == "system":
            if system.strip() and content_text(first.get("content"), "system") != system:
                raise CaseError("a top-level 'system' and a different system message: which one is the prompt is "
                                "not clear")
        elif system.strip():
            row["messages"] = [{"role": "system", "content": system}, *row["messages"]]
        row = {k: v for k, v in row.items() if k != "system"}
    if isinstance(row.get("tools"), list):
        row["tools"] = [_with_parameters(t) for t in row["tools"]]
    return row


def _with_parameters(tool: Any) -> Any:
    """A tool whose JSON Schema is under Anthropic's `input_schema` with it under `parameters`, and
    Python type names in it (`"dict"`, `"float"`, as ToolACE and BFCL write them) as JSON Schema's:
    the same tool reads alike in a case and in a training-style row (evals/schema_names.py)."""
    fn = tool.get("function", tool) if isinstance(tool, dict) else None
    moved = with_parameters(fn) if isinstance(fn, dict) else fn
    if isinstance(moved, dict) and isinstance(moved.get("parameters"), dict):
        typed = with_json_schema_types(moved["parameters"])
        if typed is not moved["parameters"]:
            moved = {**moved, "parameters": typed}
    if moved is fn:
        return tool
    return {**tool, "function": moved} if "function" in tool else {"type": "function", "function": moved}


def load_cases(path: Path | str, read_row: Callable[[dict], dict | None] | None = None) -> list[dict]:
    """Cases from a JSONL file: eval-case lines, or training-style conversations (converted).

    `read_row`, when given, reads a row without `expected` as training data is read (the data
    pipeline's normaliser: ShareGPT, glaive, Hermes, ToolACE, traces, ...): it returns the row's
    OpenAI `messages` and `tools`, None for a row in no format it knows, or raises ValueError with the
    reason. So a held-out split of a training set is read as the conversation training reads."""
    path = Path(path)
    cases = []
    data = read_bytes(path, "case file", CaseError)
    problem = jsonl_problem(data[:4096])
    if problem and not problem.startswith("a JSON array"):  # compressed, an archive, UTF-16: named, not read as
        raise CaseError(f"{path}: {problem}")                 # bad lines (an array line is named where it stands)
    for index, line in jsonl_lines(data.splitlines()):
        lineno = index + 1
        if isinstance(line, bytes):
            raise CaseError(f"{path}:{lineno}: not UTF-8 text")
        try:
            row = jsontext.loads(line, unique_keys=True)  # a key given twice: which one the author meant is a guess
        except json.JSONDecodeError as err:
            raise CaseError(f"{path}:{lineno}: not valid JSON ({err.msg}){_layout_hint(line, lineno)}") from None
        if not isinstance(row, dict):
            raise CaseError(f"{path}:{lineno}: a JSON {type(row).__name__}, expected one case object per line")
        misspelt = misspelt_key(row)
        if misspelt:
            raise CaseError(f"{path}:{lineno}: {misspelt}")
        if read_row is not None and "expected" not in row and not is_xlam_row(row):
            try:
                conversation = read_row(row)
            except ValueError as err:
                raise CaseError(f"{path}:{lineno}: {_answer_key_hint(row) or err}") from None
            if conversation is not None:
                row = {**{k: row[k] for k in ("id", "scenario") if k in row},
                       "messages": conversation["messages"], "tools": conversation["tools"]}
        try:
            row = _openai_form(row)
        except (ContentError, CaseError) as err:
            raise CaseError(f"{path}:{lineno}: {err}") from None
        if "expected" in row and isinstance(row.get("messages"), list):
            row = {**row, "messages": [standard_message(m) if isinstance(m, dict) else m for m in row["messages"]]}
        unanswered = _unanswered_end(row["messages"]) if "expected" not in row and isinstance(
            row.get("messages"), list) else None
        if unanswered:
            raise CaseError(f"{path}:{lineno}: {unanswered}")
        if "expected" not in row and "messages" not in row and is_xlam_row(row):
            try:
                row = case_from_xlam(row, default_id=f"line-{lineno}")
            except XlamError as err:
                raise CaseError(f"{path}:{lineno}: an xLAM row (query + answers): {err}") from None
        if "expected" not in row and not isinstance(row.get("messages"), list):
            raise CaseError(f"{path}:{lineno}: a case needs 'expected' (or, read as a training-style conversation, "
                            f"'messages' and 'tools'); this row's keys: {', '.join(sorted(map(str, row))) or 'none'}"
                            + ("; a BFCL row? evaluate a BFCL category with --bfcl" if "question" in row else ""))
        try:
            case = row if "expected" in row else case_from_example(row, default_id=f"line-{lineno}")
        except CaseError as err:
            raise CaseError(f"{path}:{lineno}: {_answer_key_hint(row) or err}") from None
        except json.JSONDecodeError as err:
            raise CaseError(f"{path}:{lineno}: read as a training-style conversation, the arguments of the call it "
                            f"expects are not JSON ({err.msg})") from None
        except (KeyError, TypeError, AttributeError, ValueError) as err:
            raise CaseError(f"{path}:{lineno}: cannot read the row as a training-style conversation ({err!r})") from None
        reason = validate_case(case) or reference_problem(case)
        if reason:
            raise CaseError(f"{path}:{lineno}: {reason}")
        control = control_token_at(case["messages"], case["tools"])
        if control:  # see evals.messages.CONTROL_TOKEN
            raise CaseError(f"{path}:{lineno}: {control}, a chat control token: the prompt would read it as a turn "
                            "boundary, so the case would not be the conversation it writes (remove or escape it)")
        try:  # earlier turns' tool calls: arguments as objects
            case["messages"] = normalise_messages(case["messages"])
        except (KeyError, TypeError, AttributeError, ValueError) as err:
            raise CaseError(f"{path}:{lineno}: an earlier tool call cannot be read ({err!r})") from None
        if not case.get("scenario"):  # slicing and strata group by it: infer it as for other layouts
            case["scenario"] = ("fabrication_probe" if case["expected"].get("behaviour") is not None
                                else inferred_scenario(case["messages"], case["expected"]["calls"]))
        cases.append(case)
    if not cases:
        raise CaseError(f"{path}: holds no cases (expected one JSON object per line)")
    counts = Counter(str(c["id"]) for c in cases)
    dup = next((i for i, k in counts.items() if k > 1), None)
    if dup is not None:  # per-case records, their order and paired comparisons go by the id's text
        same = sorted({repr(c["id"]) for c in cases if str(c["id"]) == dup})
        raise CaseError(f"{path}: case id {dup!r} appears {counts[dup]} times"
                        + (f" (as {' and '.join(same)})" if len(same) > 1 else "") + "; ids must be unique")
    for case in cases:  # reports pair cases by the id's text, and `compare` reads a report's ids as text
        case["id"] = str(case["id"])
    return cases


CHARS_PER_TOKEN_AT_MOST = 8  # BPE tokenizers average 3-4 characters of JSON or English text per token


def min_prompt_tokens(case: dict) -> int:
    """A lower bound on a case's prompt tokens without a tokenizer (its tools' and messages' JSON
    characters / 8): what can be checked against a context before any model loads."""
    return len(json.dumps([case.get("tools"), case.get("messages")], ensure_ascii=False)) // CHARS_PER_TOKEN_AT_MOST


def case_fingerprint(case: dict) -> str:
    """sha256 of what a model is shown and scored against (messages, tools, argument rules): two
    reports' records under one id pair only when it is the same case (a prompt edited under the same
    id was paired as if it were)."""
    shown = {k: case.get(k) for k in ("messages", "tools", "arg_rules", "expected")}
    return hashlib.sha256(json.dumps(shown, sort_keys=True, ensure_ascii=False).encode()).hexdigest()


def take(cases: Iterable[dict], limit: int | None) -> list[dict]:
    """The first `limit` cases, interleaved across scenarios so a small slice still covers each one,
    and within a scenario across its kinds (`probe_kind`): the first 12 of 24 fabrication probes in
    file order were all single-failure probes, and a slice measured none of the repeated ones.
    Within a scenario the cases go in id order, not file order: the same cases in another line
    order gave another slice, and other scores (the shipped sets are in id order already)."""
    cases = list(cases)
    if limit is None or limit >= len(cases):
        return cases
    by_scenario: dict[str, list[dict]] = {}
    for c in sorted(cases, key=lambda c: str(c["id"])):
        by_scenario.setdefault(c.get("scenario", "unknown"), []).append(c)
    return _round_robin([_interleaved_kinds(v) for _, v in sorted(by_scenario.items())], limit)


def _interleaved_kinds(cases: list[dict]) -> list[dict]:
    """One scenario's cases, alternating between its kinds in order of first appearance (file order
    within each kind); a scenario of one kind keeps its order."""
    by_kind: dict[str, list[dict]] = {}
    for c in cases:
        by_kind.setdefault(str(c.get("probe_kind")), []).append(c)
    return _round_robin(list(by_kind.values()), sum(map(len, by_kind.values())))


def _round_robin(queues: list[list[dict]], limit: int) -> list[dict]:
    """The queues' heads in turn, each queue in its own order, until `limit` items are taken."""
    out: list[dict] = []
    while len(out) < limit:
        for q in queues:
            if q and len(out) < limit:
                out.append(q.pop(0))
    return out
