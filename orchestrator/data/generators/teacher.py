"""Teacher labelling: an OpenAI-compatible endpoint turns raw user requests into tool-call examples.

Input JSONL rows: `{"user": str, "tools": [OpenAI function schemas], "id"?: str, "system"?: str}`.
Each row is sent to `POST {endpoint}/v1/chat/completions` with its `tools`; the teacher's answer
becomes a training row in our format (system, user, and an assistant turn with the teacher's
calls, or its plain answer when it calls nothing). A call is kept only if it names an offered
tool and its arguments parse to an object that fits the tool's schema; calls returned as text
(`<tool_call>` blocks, for servers without a tool parser) are read with the strict eval parser.

Anything else goes to the rejects file with a reason — a bad input row, an HTTP or network
error, a malformed response, unparseable or invalid calls, an empty answer — so that labelled +
rejected always equals the input. Only the standard library talks HTTP (urllib).
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import jsonschema

from evals import jsontext
from evals.parser import parse_strict
from evals.tools import tool_schema_problem
from orchestrator.errors import DataError
from evals.textio import read_text
from orchestrator.data.generators.starter import SYSTEM_PROMPT


@dataclass(frozen=True)
class TeacherConfig:
    endpoint: str                       # base URL, e.g. http://127.0.0.1:8080 (".../v1" is accepted too)
    model: str = "teacher"
    temperature: float = 0.0
    max_tokens: int = 256
    timeout_s: float = 120.0
    system: str = SYSTEM_PROMPT         # used when a row brings no `system`
    api_key: str | None = field(default=None, repr=False)

    @property
    def url(self) -> str:
        base = self.endpoint.rstrip("/")
        return (base if base.endswith("/v1") else base + "/v1") + "/chat/completions"


class Rejected(ValueError):
    """One row could not be labelled; the message is the reason written to the rejects file."""


@dataclass
class LabelReport:
    rows: int = 0
    labelled: int = 0
    rejected: int = 0
    calls: int = 0
    no_tool: int = 0
    reasons: Counter = field(default_factory=Counter)   # first words of each reject reason


Post = Callable[[str, dict, TeacherConfig], dict]


def post_json(url: str, body: dict, cfg: TeacherConfig) -> dict:
    """POST JSON, return the decoded JSON answer; any failure raises Rejected with what happened."""
    headers = {"Content-Type": "application/json"}
    if cfg.api_key:
        headers["Authorization"] = f"Bearer {cfg.api_key}"
    req = urllib.request.Request(url, data=json.dumps(body).encode(), headers=headers, method="POST")
    try:
        with urllib.request.urlopen(req, timeout=cfg.timeout_s) as resp:
            raw = resp.read()
    except urllib.error.HTTPError as err:
        detail = err.read().decode("utf-8", errors="replace")[:300]
        raise Rejected(f"teacher endpoint: HTTP {err.code}: {detail}") from None
    except (urllib.error.URLError, TimeoutError, ConnectionError) as err:
        raise Rejected(f"teacher endpoint unreachable: {getattr(err, 'reason', err)}") from None
    try:
        return jsontext.loads(raw)
    except json.JSONDecodeError:
        raise Rejected(f"teacher endpoint: response is not JSON: {raw[:120]!r}") from None


def check_input(row: Any) -> None:
    if not isinstance(row, dict):
        raise Rejected(f"input: a row must be an object, got {type(row).__name__}")
    if not isinstance(row.get("user"), str) or not row["user"].strip():
        raise Rejected("input: 'user' must be a non-empty string")
    tools = row.get("tools")
    if not isinstance(tools, list) or not tools:
        raise Rejected("input: 'tools' must be a non-empty list of function schemas")
    for i, t in enumerate(tools):
        fn = t.get("function") if isinstance(t, dict) else None
        if not isinstance(fn, dict) or not isinstance(fn.get("name"), str) or not isinstance(fn.get("parameters"), dict):
            raise Rejected(f"input: tools[{i}] is not {{'type': 'function', 'function': {{'name', 'parameters'}}}}")
    problem = tool_schema_problem(tools)  # parameters that are no JSON Schema, a tool defined twice
    if problem:
        raise Rejected(f"input: {problem[1]}")


def request_body(row: dict, cfg: TeacherConfig) -> dict:
    return {"model": cfg.model, "temperature": cfg.temperature, "max_tokens": cfg.max_tokens,
            "messages": [{"role": "system", "content": row.get("system") or cfg.system},
                         {"role": "user", "content": row["user"]}],
            "tools": row["tools"]}


def teacher_calls(response: Any, tools: list[dict]) -> tuple[list[dict], str]:
    """(validated calls, text) from a chat-completion response; Rejected when it cannot be used."""
    try:
        message = response["choices"][0]["message"]
        if not isinstance(message, dict):
            raise TypeError
    except (KeyError, IndexError, TypeError):
        raise Rejected("malformed response: no choices[0].message") from None
    content = message.get("content") or ""
    if not isinstance(content, str):
        raise Rejected("malformed response: message content is not a string")
    raw_calls = message.get("tool_calls") or []
    calls: list[dict] = []
    if raw_calls:
        for i, tc in enumerate(raw_calls):
            fn = tc.get("function") if isinstance(tc, dict) else None
            if not isinstance(fn, dict) or not isinstance(fn.get("name"), str):
                raise Rejected(f"unparseable call: tool_calls[{i}] has no function name")
            args = fn.get("arguments", {})
            if isinstance(args, str):
                try:
                    args = jsontext.loads(args) if args.strip() else {}
                except json.JSONDecodeError as err:
                    raise Rejected(f"unparseable call: {fn['name']} arguments are not JSON ({err.msg})") from None
            calls.append({"name": fn["name"], "arguments": args})
    elif "<tool_call>" in content or "</tool_call>" in content:
        parsed = parse_strict(content)
        if not parsed.ok:
            raise Rejected(f"unparseable call: {parsed.error}")
        calls, content = parsed.calls, parsed.text
    schemas = {t["function"]["name"]: t["function"]["parameters"] for t in tools}
    for c in calls:
        if c["name"] not in schemas:
            raise Rejected(f"invalid call: {c['name']!r} is not an offered tool")
        if not isinstance(c["arguments"], dict):
            raise Rejected(f"invalid call: {c['name']} arguments are not an object")
        err = jsonschema.exceptions.best_match(jsonschema.Draft202012Validator(schemas[c["name"]]).iter_errors(c["arguments"]))
        if err is not None:
            raise Rejected(f"invalid call: {c['name']} arguments do not fit its schema: {err.message}")
    if not calls and not content.strip():
        raise Rejected("empty answer: no call and no text")
    return calls, content.strip()


def labelled_row(row: dict, calls: list[dict], text: str, cfg: TeacherConfig, row_id: str) -> dict:
    assistant = ({"role": "assistant", "content": "",
                  "tool_calls": [{"type": "function", "function": c} for c in calls]} if calls
                 else {"role": "assistant", "content": text})
    return {"id": row_id, "tools": row["tools"],
            "messages": [{"role": "system", "content": row.get("system") or cfg.system},
                         {"role": "user", "content": row["user"]}, assistant],
            "meta": {"track": "teacher", "scenario": "teacher_call" if calls else "teacher_no_tool",
                     "teacher_model": cfg.model}}


def label_file(src: Path, out: Path, rejects: Path, cfg: TeacherConfig, post: Post = post_json,
               on_row: Callable[[int, int], None] | None = None) -> LabelReport:
    """Label every row of `src`; write labelled rows to `out` and the rest, with reasons, to `rejects`."""
    lines = read_text(src, "request file", DataError).splitlines()
    report = LabelReport()
    out.parent.mkdir(parents=True, exist_ok=True)
    rejects.parent.mkdir(parents=True, exist_ok=True)
    with out.open("w", encoding="utf-8") as good, rejects.open("w", encoding="utf-8") as bad:
        for n, line in enumerate(lines, 1):
            if not line.strip():
                continue
            report.rows += 1
            row: Any = None
            response: Any = None
            try:
                try:
                    row = jsontext.loads(line)
                except json.JSONDecodeError as err:
                    raise Rejected(f"input: not JSON ({err.msg})") from None
                check_input(row)
                response = post(cfg.url, request_body(row, cfg), cfg)
                calls, text = teacher_calls(response, row["tools"])
            except Rejected as err:
                report.rejected += 1
                report.reasons[str(err).split(":")[0]] += 1
                bad.write(json.dumps({"line": n, "id": row.get("id") if isinstance(row, dict) else None,
                                      "reason": str(err), "input": row if row is not None else line,
                                      "response": response}, ensure_ascii=False) + "\n")
            else:
                report.labelled += 1
                report.calls += bool(calls)
                report.no_tool += not calls
                good.write(json.dumps(labelled_row(row, calls, text, cfg, row.get("id") or f"teacher-{n:05d}"),
                                      ensure_ascii=False) + "\n")
            if on_row:
                on_row(report.rows, len(lines))
    return report
