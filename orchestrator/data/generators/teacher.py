"""Teacher labelling: an OpenAI-compatible endpoint turns raw user requests into tool-call examples.

Input JSONL rows: `{"user": str, "tools": [function schemas], "id"?: str, "system"?: str}` (tools in
OpenAI's form, bare `{name, parameters}`, or Anthropic's `input_schema`). Each row is sent to the
endpoint's chat completions with its `tools`; the teacher's answer becomes a training row in our
format (system, user, and an assistant turn with the teacher's calls, or its plain answer when it
calls nothing). A call is kept only if it names an offered tool and its arguments parse to an
object that fits the tool's schema. Calls a server returns as text (no tool parser) are read:
`<tool_call>` blocks strictly, other formats (`<|python_tag|>`, `<function=...>`, `[TOOL_CALLS]`, a Python call list,
fences, bare JSON) wherever they are written, whatever tool they name: a call to a tool not offered, or a
JSON value written beside the calls that is no call, rejects the row rather than being dropped from it.
Reasoning (`<think>...</think>`) is not training text.

Anything else goes to the rejects file with a reason — a bad input row, a repeated row, an endpoint
failure, a cut-off or refused answer, unparseable or invalid calls, an empty answer — so that
labelled + rejected always equals the rows read. Rows are written as they are labelled, and
`--resume` skips every row already in either file (by a hash of the input row), sending again only
the rows the endpoint failed. The run stops with one line when the endpoint is unusable (401, 404)
or fails STOP_AFTER_FAILURES rows in a row: a dead teacher must not burn the whole input.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import threading
from collections import Counter, deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator

import jsonschema

from evals import jsontext
from evals.messages import ContentError, content_text, control_token_at
from evals.parser import parse_strict, written_calls
from evals.textio import jsonl_lines, jsonl_problem, read_bytes
from evals.tools import argument_validator, tool_schema_problem
from orchestrator.data.generators.starter import SYSTEM_PROMPT
from orchestrator.data.generators.teacher_http import (EndpointFailure, Rejected, TeacherUnusable, chat_url,
                                                       post_json)
from orchestrator.data.filters import row_problem
from orchestrator.data.normalise import Reject, normalise, openai_tools
from orchestrator.errors import DataError, UsageError

STOP_AFTER_FAILURES = 3  # rows in a row the endpoint failed (after retries) before the run stops
# finish_reason values that mean the answer is not a whole, willing answer (OpenAI, Anthropic-style
# proxies, Gemini-style gateways); any other value (stop, tool_calls, eos, ...) is a finished answer.
CUT_OFF = {"length": "truncated", "max_tokens": "truncated", "content_filter": "refused", "refusal": "refused",
           "safety": "refused", "recitation": "refused", "error": "failed"}
_THINK = re.compile(r"<(think|thinking)>.*?</\1>", re.DOTALL)
# Marks of a call written as text that no parser tier could read: a row to reject, not a plain answer.
_CALL_MARKS = ("<tool_call", "</tool_call>", "<|python_tag|>", "<function=", "[TOOL_CALLS]", "<|tool_call")


@dataclass(frozen=True)
class TeacherConfig:
    endpoint: str                       # base URL, e.g. http://127.0.0.1:8080 (".../v1" or the full route too)
    model: str = "teacher"
    temperature: float = 0.0
    max_tokens: int = 256
    timeout_s: float = 120.0
    retries: int = 3                    # more tries of a request the endpoint failed (429, 5xx, timeout)
    system: str = SYSTEM_PROMPT         # used when a row brings no `system`
    api_key: str | None = field(default=None, repr=False)

    @property
    def url(self) -> str:
        return chat_url(self.endpoint)


@dataclass
class LabelReport:
    rows: int = 0           # input rows handled this run, skipped ones included
    labelled: int = 0
    rejected: int = 0
    skipped: int = 0        # already in the labelled or rejects file (--resume)
    calls: int = 0
    no_tool: int = 0
    endpoint_failures: int = 0
    answered: int = 0       # requests the endpoint answered (whatever the answer was)
    reasons: Counter = field(default_factory=Counter)   # first words of each reject reason
    stopped: str | None = None                           # why the run stopped before the end
    unusable: bool = False                               # ... because the endpoint refuses every request

    total: int = 0          # non-blank lines in the input
    last_failure: str | None = None
    endpoint_answered: bool = False  # some failed request got an answer (a status, a body): it was reached

    @property
    def not_sent(self) -> int:
        """Rows a stopped run did not write, sent or not (answers in flight at the stop are dropped:
        `--resume` sends those rows again)."""
        return self.total - self.rows


Post = Callable[[str, dict, TeacherConfig], Any]


def check_input(row: Any) -> list[dict]:
    """The row's tools in OpenAI's form; Rejected naming what is wrong with the row."""
    if not isinstance(row, dict):
        raise Rejected(f"input: a row must be an object, got {type(row).__name__}")
    if not isinstance(row.get("user"), str) or not row["user"].strip():
        parts = " (content parts are not read here: give their text as one string)" if isinstance(row.get("user"), list) else ""
        raise Rejected(f"input: 'user' must be a non-empty string{parts}")
    if "system" in row and (not isinstance(row["system"], str) or not row["system"].strip()):
        raise Rejected("input: 'system' must be a non-empty string (leave it out for the default system prompt)")
    if not isinstance(row.get("tools"), list) or not row["tools"]:
        raise Rejected("input: 'tools' must be a non-empty list of function schemas")
    try:
        tools = openai_tools(row["tools"])
    except Reject as err:
        raise Rejected(f"input: {err.reason}") from None
    for i, t in enumerate(tools):
        if "parameters" not in t["function"]:  # a tool without arguments may leave its schema out
            tools[i] = {**t, "function": {**t["function"], "parameters": {"type": "object", "properties": {}}}}
        elif not isinstance(t["function"]["parameters"], dict):
            raise Rejected(f"input: tools[{i}] ({t['function']['name']}): 'parameters' is not a JSON Schema object")
        elif t["function"]["parameters"].get("type", "object") != "object":  # a function takes named arguments
            raise Rejected(f"input: tools[{i}] ({t['function']['name']}): 'parameters' has type "
                           f"{t['function']['parameters']['type']!r}; a function's parameters are an object schema")
    problem = tool_schema_problem(tools)  # parameters that are no JSON Schema, a tool defined twice
    if problem:
        raise Rejected(f"input: {problem[1]}")
    shown = [{"role": "system", "content": row.get("system", "")}, {"role": "user", "content": row["user"]}]
    token = control_token_at(shown, tools)  # training quarantines the row it would make: not worth a request
    if token:
        raise Rejected(f"input: {token.replace('message 0', 'system').replace('message 1', 'user')}, a chat control "
                       "token (a turn boundary to the tokenizer; training quarantines such rows)")
    return tools


def filter_problem(row: dict) -> str | None:
    """Why the data pipeline's quality filter would quarantine a labelled row (a control token in the
    teacher's answer or arguments, an argument the tool does not declare, ...), or None: `label`
    keeps only rows training keeps, so labelled + rejected stays the truth about what trains."""
    try:
        found = row_problem(normalise(row, "label", 0))
    except Reject as err:
        return f"{err.check}: {err.reason}"
    return f"{found[0]}: {found[1]}" if found else None


def input_key(row: Any) -> str:
    """What identifies a request across runs: a hash of the row as JSON (key order ignored)."""
    return hashlib.sha256(json.dumps(row, sort_keys=True, ensure_ascii=False).encode()).hexdigest()[:16]


def request_body(row: dict, tools: list[dict], cfg: TeacherConfig) -> dict:
    return {"model": cfg.model, "temperature": cfg.temperature, "max_tokens": cfg.max_tokens,
            "messages": [{"role": "system", "content": row.get("system") or cfg.system},
                         {"role": "user", "content": row["user"]}],
            "tools": tools}


def _text(content: Any) -> str:
    """The answer's text (content parts joined, evals.messages.content_text); Rejected when it has none to give."""
    try:
        return content_text(content, "assistant")
    except ContentError as err:
        raise Rejected(f"malformed response: message {err}") from None


def _api_calls(message: dict) -> list[dict]:
    """Calls from `tool_calls` (or the legacy `function_call`), arguments decoded to a value."""
    raw_calls = message.get("tool_calls") or []
    if not raw_calls and isinstance(message.get("function_call"), dict):
        raw_calls = [{"function": message["function_call"]}]
    if not isinstance(raw_calls, list):
        raise Rejected("malformed response: tool_calls is not a list")
    calls = []
    for i, tc in enumerate(raw_calls):
        fn = tc.get("function") if isinstance(tc, dict) else None
        if not isinstance(fn, dict) or not isinstance(fn.get("name"), str) or not fn["name"].strip():
            raise Rejected(f"unparseable call: tool_calls[{i}] has no function name")
        args = fn.get("arguments", {})
        if isinstance(args, str):
            try:
                # a key twice ({"days": "three", "days": 3}): which one the teacher meant is a guess
                args = jsontext.loads(args, unique_keys=True) if args.strip() else {}
            except json.JSONDecodeError as err:
                raise Rejected(f"unparseable call: {fn['name']} arguments are not JSON ({err.msg})") from None
        calls.append({"name": fn["name"], "arguments": args})
    return calls


def _text_calls(content: str) -> tuple[list[dict], str]:
    """Calls written in the answer's text, and the text left; Rejected when a call is there but unreadable."""
    if "<tool_call>" in content or "</tool_call>" in content:
        parsed = parse_strict(content)
        if not parsed.ok:
            raise Rejected(f"unparseable call: {parsed.error}")
        return parsed.calls, parsed.text
    calls, strays = written_calls(content)  # any tool name: a call to one not offered is a wrong call, not text
    if calls and strays:
        raise Rejected(f"unparseable call: {strays} of the JSON values written beside the {len(calls)} call(s) "
                       "is no call")
    if calls:
        return calls, ""
    mark = next((m for m in _CALL_MARKS if m in content), None)
    if mark:
        raise Rejected(f"unparseable call: the answer has {mark!r} but no call could be read from it")
    return [], content


def _check_calls(calls: list[dict], tools: list[dict]) -> None:
    schemas = {t["function"]["name"]: t["function"]["parameters"] for t in tools}
    for c in calls:
        if c["name"] not in schemas:
            raise Rejected(f"invalid call: {c['name']!r} is not an offered tool")
        if not isinstance(c["arguments"], dict):
            raise Rejected(f"invalid call: {c['name']} arguments are not an object")
        err = jsonschema.exceptions.best_match(argument_validator(schemas[c["name"]]).iter_errors(c["arguments"]))
        if err is not None:
            raise Rejected(f"invalid call: {c['name']} arguments do not fit its schema: {err.message}")


def teacher_calls(response: Any, tools: list[dict]) -> tuple[list[dict], str]:
    """(validated calls, text) from a chat-completion response; Rejected when it cannot be used."""
    try:
        choice = response["choices"][0]
        message = choice["message"]
        if not isinstance(message, dict):
            raise TypeError
    except (KeyError, IndexError, TypeError):
        raise Rejected("malformed response: no choices[0].message") from None
    finish = choice.get("finish_reason") if isinstance(choice, dict) else None
    if finish in CUT_OFF:
        hint = " (raise --max-tokens)" if CUT_OFF[finish] == "truncated" else ""
        raise Rejected(f"{CUT_OFF[finish]}: finish_reason {finish!r}{hint}")
    if isinstance(message.get("refusal"), str) and message["refusal"].strip():
        raise Rejected(f"refused: {message['refusal'][:200]}")
    content = _text(message.get("content"))
    if "<think>" in content or "<thinking>" in content:
        content = _THINK.sub("", content)
        if "<think>" in content or "<thinking>" in content:
            raise Rejected("truncated: the reasoning (<think>) never closed (raise --max-tokens)")
    calls = _api_calls(message)
    if calls:
        written, _ = _text_calls(content)
        if written:
            raise Rejected("ambiguous answer: calls both in tool_calls and written in the text")
    else:
        calls, content = _text_calls(content)
    _check_calls(calls, tools)
    if not calls and not content.strip():
        raise Rejected("empty answer: no call and no text")
    return calls, content.strip()


def labelled_row(row: dict, tools: list[dict], calls: list[dict], text: str, cfg: TeacherConfig,
                 row_id: str, key: str, served_by: str | None) -> dict:
    assistant = ({"role": "assistant", "content": "",
                  "tool_calls": [{"type": "function", "function": c} for c in calls]} if calls
                 else {"role": "assistant", "content": text})
    return {"id": row_id, "tools": tools,
            "messages": [{"role": "system", "content": row.get("system") or cfg.system},
                         {"role": "user", "content": row["user"]}, assistant],
            "meta": {"track": "teacher", "scenario": "teacher_call" if calls else "teacher_no_tool",
                     "teacher_model": served_by or cfg.model, "teacher_input": key}}


# --- files: what is done already, and writing as we go -------------------------------------------

def _complete_lines(path: Path, mend: bool = False) -> list[str]:
    """A JSONL file's whole lines (a last line a kill cut short is not one); `mend` also cuts that
    line from the file, as resuming must before it appends."""
    if not path.exists():
        return []
    data = read_bytes(path, "labelling output", DataError)
    if data and not data.endswith(b"\n"):
        data = data[: data.rfind(b"\n") + 1]
        if mend:
            path.write_bytes(data)
    return data.decode("utf-8", errors="replace").splitlines()


def _done_keys(out: Path, rejects: Path, src_keys: set[str]) -> set[str]:
    """Keys of the rows already labelled or rejected for good. Rows the endpoint failed are taken out
    of the rejects file, so this run sends them again. A row in either file that no line of the input
    (`src_keys`) makes is refused before anything is written: resuming from another or an edited input
    kept the stale rows (two rows with one id, labelled + rejected no longer the input)."""
    done: set[str] = set()
    for n, line in enumerate(_complete_lines(out, mend=True), 1):
        key = (_loads_or_none(line) or {}).get("meta", {}).get("teacher_input")
        if not isinstance(key, str):
            raise UsageError(f"--resume: {out}:{n} has no meta.teacher_input (written by an older toolsweep, or "
                             "not by `toolsweep label`); cannot tell which rows are done: use --overwrite")
        done.add(key)
    keep = []
    for n, line in enumerate(_complete_lines(rejects, mend=True), 1):
        rec = _loads_or_none(line)
        if not isinstance(rec, dict) or not isinstance(rec.get("key"), str):
            raise UsageError(f"--resume: {rejects}:{n} has no key (written by an older toolsweep); use --overwrite")
        if not rec.get("retry"):
            done.add(rec["key"])
            keep.append(line)
        elif rec["key"] not in src_keys:
            done.add(rec["key"])  # only to be named below
    stale = done - src_keys
    if stale:
        raise UsageError(f"--resume: {len(stale)} row(s) in {out} or {rejects} come from no line of the input (another "
                         "request file, or rows edited since): resuming would mix the two; use --overwrite, or "
                         "another DEST")
    if rejects.exists():
        rejects.write_text("".join(line + "\n" for line in keep), encoding="utf-8")
    return done


def _loads_or_none(line: str) -> Any:
    try:
        return jsontext.loads(line)
    except json.JSONDecodeError:
        return None


def existing_rows(path: Path) -> int:
    """Whole lines already in an output file (0 when it is missing); the file is not touched."""
    return len(_complete_lines(path))


def _input_lines(src: Path) -> list[tuple[int, str | bytes]]:
    data = read_bytes(src, "request file", DataError)
    problem = jsonl_problem(data[:4096])
    if problem:
        raise DataError(f"{src}: {problem}")
    return [(i + 1, line) for i, line in jsonl_lines(data.splitlines())]


@dataclass
class _Item:
    """One input row, checked in input order before anything is sent: skip it (done already),
    reject it (its reason), or send it (`tools` in OpenAI's form)."""
    n: int
    line: str | bytes
    key: str
    row: Any = None
    problem: str | None = None      # why the line is no row, or a reason to reject it unsent
    skip: bool = False
    tools: list[dict] | None = None
    row_id: str = ""                # the labelled row's id: the input's, or teacher-<line> (never one the input gives)


def _usable_id(value: Any) -> bool:
    """An input row's `id` toolsweep keeps: a non-empty string or an integer (not a boolean)."""
    return isinstance(value, (str, int)) and not isinstance(value, bool) and bool(str(value).strip())


def _given_ids(lines: list[tuple[int, str | bytes]]) -> set[str]:
    """The ids the input gives. A pass of its own, decoding each line again and keeping only the ids:
    holding every decoded row (tools included) for the whole run would cost far more than decoding twice."""
    ids = set()
    for _, line in lines:
        row, problem = _parse_line(line)
        if problem is None and isinstance(row, dict) and _usable_id(row.get("id")):
            ids.add(str(row["id"]))
    return ids


def _key(line: str | bytes, row: Any, problem: str | None) -> str:
    """The key a request line is known by in the output files: input_key of its row, or of the line as
    shown when it is no JSON (`row, problem` are what _parse_line made of it)."""
    return input_key(row if problem is None else _shown(line))


def _line_key(line: str | bytes) -> str:
    return _key(line, *_parse_line(line))


def _plan(lines: list[tuple[int, str | bytes]], done: set[str]) -> Iterator[_Item]:
    seen: dict[str, int] = {}       # key -> first line, this run
    ids: dict[str, int] = {}        # id -> first line, this run
    given = _given_ids(lines)       # a generated id must not repeat one the input gives on a later line
    for n, line in lines:
        row, problem = _parse_line(line)
        item = _Item(n, line, _key(line, row, problem), row, problem)
        item.row_id = f"teacher-{n:05d}"
        while item.row_id in given:
            item.row_id += "-generated"
        if item.key in done:
            item.skip = True
        elif problem is None:
            try:
                item.tools = check_input(row)
                if item.key in seen:
                    raise Rejected(f"input: duplicate of line {seen[item.key]}")
                seen[item.key] = n
                row_id = row.get("id")
                if row_id is not None:
                    if not _usable_id(row_id):
                        raise Rejected(f"input: 'id' must be a non-empty string or an integer, got "
                                       f"{json.dumps(row_id)[:40]}")
                    if str(row_id) in ids:
                        raise Rejected(f"input: id {row_id!r} already used on line {ids[str(row_id)]}")
                    ids[str(row_id)] = n
                    item.row_id = str(row_id)
            except Rejected as err:
                item.problem, item.tools = str(err), None
        yield item


def label_file(src: Path, out: Path, rejects: Path, cfg: TeacherConfig, post: Post | None = None,
               on_row: Callable[[int, int, LabelReport], None] | None = None, resume: bool = False,
               on_wait: Callable[[str], None] | None = None, concurrency: int = 1) -> LabelReport:
    """Label every row of `src`, appending labelled rows to `out` and the rest, with reasons, to
    `rejects` as each is done, in input order. With `resume`, rows already in either file are
    skipped. `post` sends one request (default: HTTP, with retries announced through `on_wait`);
    `concurrency` requests are in flight at once (a serving engine batches them), their answers
    still judged and written in input order, so the stop rule and the files read as with one."""
    post = post or (lambda url, body, c: post_json(url, body, c, on_wait=on_wait))
    lines = _input_lines(src)
    if not lines:  # an empty file, blank lines, /dev/null: "0 rows: 0 labelled", exit 0, read as success
        raise DataError(f"{src}: holds no rows (expected one JSON request per line: user, tools)")
    done = _done_keys(out, rejects, {_line_key(line) for _, line in lines}) if resume else set()
    report = LabelReport(total=len(lines))
    out.parent.mkdir(parents=True, exist_ok=True)
    rejects.parent.mkdir(parents=True, exist_ok=True)
    mode = "a" if resume else "w"

    def send(item: _Item) -> Callable[[], Any]:
        """The answer, to be collected later: the request in flight, or (one at a time) the call itself."""
        body = request_body(item.row, item.tools, cfg)
        if concurrency <= 1:
            return lambda: post(cfg.url, body, cfg)
        return _in_background(post, cfg.url, body, cfg)

    in_a_row = 0
    window: deque[tuple[_Item, Callable[[], Any] | None]] = deque()
    plan = _plan(lines, done)
    # Line-buffered: every finished row is on disk before the next one (a kill loses at most one).
    try:
        with out.open(mode, encoding="utf-8", buffering=1) as good, \
                rejects.open(mode, encoding="utf-8", buffering=1) as bad:
            while True:
                while len(window) < max(concurrency, 1):  # keep `concurrency` requests in flight, in order
                    item = next(plan, None)
                    if item is None:
                        break
                    window.append((item, send(item) if item.tools is not None else None))
                if not window:
                    break
                item, answer = window.popleft()
                report.rows += 1
                if item.skip:
                    report.skipped += 1
                    if on_row:
                        on_row(report.rows, len(lines), report)
                    continue
                response: Any = None
                try:
                    if item.problem:
                        raise Rejected(item.problem)
                    try:
                        response = answer()
                    except TeacherUnusable as err:
                        report.rows -= 1  # not sent to any effect: --resume sends it
                        report.stopped, report.unusable = f"{err} (at line {item.n} of {src})", True
                        break
                    report.answered += 1
                    in_a_row = 0
                    calls, text = teacher_calls(response, item.tools)
                    served_by = response.get("model") if isinstance(response, dict) else None
                    labelled = labelled_row(item.row, item.tools, calls, text, cfg, item.row_id, item.key,
                                            served_by if isinstance(served_by, str) else None)
                    quarantined = filter_problem(labelled)
                    if quarantined:
                        raise Rejected(f"filter {quarantined} (the data pipeline would quarantine the row)")
                except Rejected as err:
                    failed = isinstance(err, EndpointFailure)
                    report.rejected += 1
                    report.endpoint_failures += failed
                    report.reasons[str(err).split(":")[0]] += 1
                    if failed:
                        report.last_failure = str(err)
                        report.endpoint_answered |= getattr(err, "answered", True)
                    row = item.row
                    bad.write(json.dumps({"line": item.n, "id": row.get("id") if isinstance(row, dict) else None,
                                          "key": item.key, "reason": str(err), "retry": failed,
                                          "input": row if row is not None else _shown(item.line),
                                          "response": response}, ensure_ascii=False) + "\n")
                    in_a_row += failed  # a bad input row says nothing about the endpoint; only an answer resets it
                    if in_a_row >= STOP_AFTER_FAILURES:
                        report.stopped = (f"stopped at line {item.n} of {src}: the endpoint failed {in_a_row} rows "
                                          f"in a row (last: {err})")
                        break
                else:
                    report.labelled += 1
                    report.calls += bool(calls)
                    report.no_tool += not calls
                    good.write(json.dumps(labelled, ensure_ascii=False) + "\n")
                if on_row:
                    on_row(report.rows, len(lines), report)
    except OSError as err:  # a full disk, a folder gone: the rows written so far are whole lines
        raise DataError(f"{out.parent}: cannot write ({err.strerror or err}); the rows labelled so far are kept: free the "
                        "space, then rerun with --resume") from None
    # Answers still in flight when the run stops are not written: --resume sends those rows again.
    if report.stopped is None and report.endpoint_failures and not report.answered:
        # (it said the latter after 500s, where the teacher had answered)
        what = "it answered none usably" if report.endpoint_answered else "no request reached the teacher"
        report.stopped = (f"{what}: the endpoint failed all {report.endpoint_failures} rows sent "
                          f"(last: {report.last_failure})")
    return report


def _in_background(fn: Callable[..., Any], *args: Any) -> Callable[[], Any]:
    """fn(*args) on a daemon thread; the callable returned waits for its result or raises its error. A
    daemon, so an interrupted run exits at once instead of waiting out the slowest request in flight
    (a thread pool's workers are joined at exit: Ctrl-C waited up to --timeout)."""
    done, box = threading.Event(), {}

    def run() -> None:
        try:
            box["value"] = fn(*args)
        except BaseException as err:  # noqa: BLE001 (re-raised in the caller's thread)
            box["error"] = err
        finally:
            done.set()

    threading.Thread(target=run, daemon=True).start()

    def result() -> Any:
        done.wait()
        if "error" in box:
            raise box["error"]
        return box["value"]
    return result


def _parse_line(line: str | bytes) -> tuple[Any, str | None]:
    """(row, None), or (None, why the line is no row)."""
    if isinstance(line, bytes):
        return None, "input: not UTF-8 text"
    try:
        return jsontext.loads(line), None
    except json.JSONDecodeError as err:
        return None, f"input: not JSON ({err.msg})"


def _shown(line: str | bytes) -> str:
    return line if isinstance(line, str) else line.decode("utf-8", errors="replace")


def api_key_from_env(var: str) -> str:
    """The bearer token in environment variable `var`, stripped (a key file read with its newline is
    common); UsageError naming the variable when it is unset, empty or not one header-safe token."""
    if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", var):  # the key itself given by mistake: never print it
        raise UsageError("--api-key-env takes the name of an environment variable (letters, digits, _), and the "
                         "value given is no such name (not printed: it may be the key itself)")
    key = (os.environ.get(var) or "").strip()
    if not key:
        raise UsageError(f"--api-key-env: environment variable {var} is unset or empty")
    if any(ch.isspace() or ord(ch) < 32 or ord(ch) > 126 for ch in key):
        raise UsageError(f"--api-key-env: environment variable {var} holds whitespace or characters an HTTP "
                         "header cannot carry; expected one token")
    return key


__all__ = ["TeacherConfig", "LabelReport", "Rejected", "EndpointFailure", "TeacherUnusable", "label_file",
           "teacher_calls", "check_input", "request_body", "labelled_row", "api_key_from_env", "existing_rows",
           "SYSTEM_PROMPT"]
