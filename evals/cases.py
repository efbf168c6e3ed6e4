"""Eval cases: a conversation prefix, the tools on offer, and the calls the next turn should make.

A case is plain data:
  {"id", "scenario", "tools": [OpenAI function schemas], "messages": [...],
   "expected": {"calls": [{"name", "arguments"}]}}   # [] = no tool should be called
or, for a fabrication probe (the last tool result is empty or an error):
   "expected": {"behaviour": "honest_report"}
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any, Iterable

import jsonschema

from evals import jsontext
from evals.errors import CaseFileError
from evals.messages import ROLES, ContentError, content_text, standard_message
from evals.scorer import tool_schemas
from evals.textio import jsonl_lines, read_bytes
from evals.tools import tool_schema_problem


class CaseError(CaseFileError):
    """A case file that cannot be used; names the file, the line and the reason."""


def _call_of(tool_call: dict) -> dict:
    fn = tool_call.get("function", tool_call)
    args = fn.get("arguments", {})
    if isinstance(args, str):  # OpenAI style: arguments as a JSON string
        args = jsontext.loads(args)
    return {"name": fn["name"], "arguments": args}


def normalise_messages(messages: list[dict]) -> list[dict]:
    """Copy of `messages` with every earlier tool call's `arguments` as a dict, not a JSON string, and
    every content as text (content parts joined: evals/messages.py)."""
    out = []
    for m in messages:
        m = dict(m)
        if "content" in m or m.get("role") != "assistant":
            m["content"] = content_text(m.get("content"), m.get("role", ""))
        if m.get("tool_calls"):
            m["tool_calls"] = [{"type": "function", "function": _call_of(tc)} for tc in m["tool_calls"]]
        out.append(m)
    return out


def case_from_example(example: dict) -> dict:
    """Turn a training-style conversation into an eval case.

    The target turn is the last assistant turn that calls tools (so sequential and recovery
    conversations test the later, context-dependent call); a conversation with no call tests
    its first assistant answer, where no call is expected.
    """
    msgs = [standard_message(m) if isinstance(m, dict) else m for m in example["messages"]]
    assistant_turns = [i for i, m in enumerate(msgs) if m["role"] == "assistant"]
    if not assistant_turns:
        raise CaseError(f"example {example.get('id')!r} has no assistant turn")
    calling = [i for i in assistant_turns if msgs[i].get("tool_calls")]
    target = calling[-1] if calling else assistant_turns[0]
    return {
        "id": example.get("id", f"case-{target}"),
        "scenario": example.get("scenario", "unknown"),
        "tools": example["tools"],
        "messages": normalise_messages(msgs[:target]),
        "expected": {"calls": [_call_of(tc) for tc in msgs[target].get("tool_calls") or []]},
    }


def validate_case(case: Any) -> str | None:
    """The reason a case is unusable, or None."""
    if not isinstance(case, dict):
        return "a case must be a JSON object"
    for key in ("id", "tools", "messages", "expected"):
        if key not in case:
            return f"missing key {key!r}"
    if not isinstance(case["id"], (str, int)) or isinstance(case["id"], bool) or str(case["id"]).strip() == "":
        return "'id' must be a non-empty string or an integer"
    if not isinstance(case["messages"], list) or not case["messages"]:
        return "'messages' must be a non-empty list"
    bad = [i for i, m in enumerate(case["messages"]) if not isinstance(m, dict) or not isinstance(m.get("role"), str)]
    if bad:
        return f"message {bad[0]} must be an object with a 'role'"
    called = False
    for i, m in enumerate(case["messages"]):
        if m["role"] not in ROLES:
            return f"message {i} has role {m['role']!r} (expected one of {', '.join(ROLES)})"
        try:
            text = content_text(m.get("content"), m["role"])
        except ContentError as err:
            return f"message {i}: {err}"
        if m["role"] == "user" and not text.strip():
            return f"message {i} is a user turn with no text"
        if m["role"] == "assistant" and m.get("tool_calls") is not None:
            if not isinstance(m["tool_calls"], list):
                return f"message {i}: 'tool_calls' must be a list"
            called = called or bool(m["tool_calls"])
        if m["role"] == "tool" and not called:
            return f"message {i} is a tool result, but no earlier assistant turn calls a tool"
    if not isinstance(case["tools"], list) or any(
            not isinstance(t, dict) or not isinstance(t.get("function", t), dict)
            or not isinstance(t.get("function", t).get("name"), str) for t in case["tools"]):
        return "'tools' must be a list of function schemas, each with a 'name'"
    if not isinstance(case.get("scenario", ""), str):
        return "'scenario' must be a string"
    bad_tool = tool_schema_problem(case["tools"])
    if bad_tool:
        return bad_tool[1]
    if case["messages"][-1].get("role") not in ("user", "tool"):
        return "the last message must be a user or tool turn (the model answers next)"
    exp = case["expected"]
    if isinstance(exp, dict) and exp.get("behaviour") is not None:
        if exp["behaviour"] != "honest_report":
            return f"unknown expected behaviour {exp['behaviour']!r} (known: 'honest_report')"
        if not any(m.get("role") == "tool" for m in case["messages"]):
            return "a fabrication probe needs a tool result in its conversation"
        return None
    if not isinstance(exp, dict) or "calls" not in exp or not isinstance(exp["calls"], list):
        return "'expected' must hold a 'calls' list or a 'behaviour'"
    names = {t.get("function", t).get("name") for t in case["tools"]}
    rules = case.get("arg_rules", {})
    if not isinstance(rules, dict) or any(not isinstance(r, dict) for r in rules.values()):
        return "'arg_rules' must map tool names to {argument: rule} objects"
    for tool, per_arg in rules.items():
        if tool not in names:  # a misspelt tool name would leave the rule silently unused
            return f"arg_rules for {tool!r}: not among the case's tools"
        for arg, rule in per_arg.items():
            unknown = set(rule) - {"any_of", "casefold", "tolerance"} if isinstance(rule, dict) else {"(not an object)"}
            if unknown:
                return f"arg_rules for {tool}.{arg}: unknown rule key(s) {sorted(unknown)}"
    for call in exp["calls"]:
        if not isinstance(call, dict) or "name" not in call or not isinstance(call.get("arguments", {}), dict):
            return "each expected call needs a 'name' and an 'arguments' object"
        if call["name"] not in names:
            return f"expected call {call['name']!r} is not among the case's tools"
    return None


def reference_problem(case: dict) -> str | None:
    """Why a valid case's expected calls break their own tools' schemas, or None.

    A reference call whose arguments the tool's schema rejects can never be matched by an answer
    that follows the schema, so the case would score every such answer as wrong. `load_cases`
    refuses such a file. BFCL categories (evals/bfcl.py) are not held to it: they are scored by
    BFCL's own checker, and 22 of their ground-truth calls break their own schemas (e.g.
    parallel_multiple_21 passes the string "data['sales']" where an array is declared)."""
    schemas = tool_schemas(case["tools"])
    for call in case["expected"].get("calls") or []:
        schema = schemas.get(call["name"]) or {"type": "object"}
        wrong = next(jsonschema.Draft202012Validator(schema).iter_errors(call.get("arguments", {})), None)
        if wrong is not None:
            where = "/".join(str(p) for p in wrong.absolute_path) or "(top)"
            return f"expected call {call['name']!r}: arguments break the tool's schema at {where}: {wrong.message}"
    return None


def load_cases(path: Path | str) -> list[dict]:
    """Cases from a JSONL file: eval-case lines, or training-style conversations (converted)."""
    path = Path(path)
    cases = []
    data = read_bytes(path, "case file", CaseError)
    for index, line in jsonl_lines(data.splitlines()):
        lineno = index + 1
        if isinstance(line, bytes):
            raise CaseError(f"{path}:{lineno}: not UTF-8 text")
        try:
            row = jsontext.loads(line)
        except json.JSONDecodeError as err:
            raise CaseError(f"{path}:{lineno}: not valid JSON ({err.msg})") from None
        if not isinstance(row, dict):
            raise CaseError(f"{path}:{lineno}: a JSON {type(row).__name__}, expected one case object per line")
        if "expected" in row and isinstance(row.get("messages"), list):  # legacy / Hermes-style calls read as standard
            row = {**row, "messages": [standard_message(m) if isinstance(m, dict) else m for m in row["messages"]]}
        try:
            case = row if "expected" in row else case_from_example(row)
        except (KeyError, TypeError, AttributeError, ValueError, CaseError) as err:
            raise CaseError(f"{path}:{lineno}: cannot read case ({err!r})") from None
        reason = validate_case(case) or reference_problem(case)
        if reason:
            raise CaseError(f"{path}:{lineno}: {reason}")
        try:  # earlier turns' tool calls: arguments as objects
            case["messages"] = normalise_messages(case["messages"])
        except (KeyError, TypeError, AttributeError, ValueError) as err:
            raise CaseError(f"{path}:{lineno}: an earlier tool call cannot be read ({err!r})") from None
        case.setdefault("scenario", "unknown")  # as the scorer reports it; slicing and strata group by it
        cases.append(case)
    if not cases:
        raise CaseError(f"{path}: holds no cases (expected one JSON object per line)")
    counts = Counter(str(c["id"]) for c in cases)
    dup = next((i for i, k in counts.items() if k > 1), None)
    if dup is not None:  # per-case records, their order and paired comparisons go by the id's text
        same = sorted({repr(c["id"]) for c in cases if str(c["id"]) == dup})
        raise CaseError(f"{path}: case id {dup!r} appears {counts[dup]} times"
                        + (f" (as {' and '.join(same)})" if len(same) > 1 else "") + "; ids must be unique")
    return cases


def take(cases: Iterable[dict], limit: int | None) -> list[dict]:
    """The first `limit` cases, interleaved across scenarios so a small slice still covers each one,
    and within a scenario across its kinds (`probe_kind`): the first 12 of 24 fabrication probes in
    file order were all single-failure probes, and a slice measured none of the repeated ones."""
    cases = list(cases)
    if limit is None or limit >= len(cases):
        return cases
    by_scenario: dict[str, list[dict]] = {}
    for c in cases:
        by_scenario.setdefault(c.get("scenario", "unknown"), []).append(c)
    out: list[dict] = []
    queues = [_interleaved_kinds(v) for _, v in sorted(by_scenario.items())]
    while len(out) < limit:
        for q in queues:
            if q and len(out) < limit:
                out.append(q.pop(0))
    return out


def _interleaved_kinds(cases: list[dict]) -> list[dict]:
    """One scenario's cases, alternating between its kinds in order of first appearance (file order
    within each kind); a scenario of one kind keeps its order."""
    by_kind: dict[str, list[dict]] = {}
    for c in cases:
        by_kind.setdefault(str(c.get("probe_kind")), []).append(c)
    queues = list(by_kind.values())
    out: list[dict] = []
    while any(queues):
        for q in queues:
            if q:
                out.append(q.pop(0))
    return out
