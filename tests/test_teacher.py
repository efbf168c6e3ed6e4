"""Teacher labelling: canned responses for every reject reason, and a real local SmolLM2 server."""

import gzip
import http.server
import json
import socket
import threading
import time
import urllib.parse
from pathlib import Path

import pytest

from orchestrator.data.generators import teacher, teacher_http
from orchestrator.errors import UsageError
from orchestrator.data.generators.starter import TOOLS

ROOT = Path(__file__).resolve().parent.parent
WEATHER = [TOOLS["get_weather"], TOOLS["read_file"]]
CFG = teacher.TeacherConfig(endpoint="http://127.0.0.1:9", model="canned")


def _msg(**message):
    return {"choices": [{"index": 0, "message": {"role": "assistant", **message}}]}


def _call(name, arguments):
    return {"type": "function", "function": {"name": name, "arguments": arguments}}


CANNED = [  # (teacher response, expected reject reason or None)
    (_msg(content=None, tool_calls=[_call("get_weather", '{"city": "Oslo"}')]), None),
    (_msg(content='<tool_call>\n{"name": "read_file", "arguments": {"path": "/etc/hosts"}}\n</tool_call>'), None),
    (_msg(content="It is a general question, no tool needed."), None),
    (_msg(content=None, tool_calls=[_call("get_weather", '{"city": Oslo}')]),
     "unparseable call: get_weather arguments are not JSON (Expecting value)"),
    (_msg(content="<tool_call>{name: get_weather}</tool_call>"), "unparseable call: tool_call block is not JSON: Expecting property name enclosed in double quotes"),
    (_msg(content=None, tool_calls=[_call("send_email", "{}")]), "invalid call: 'send_email' is not an offered tool"),
    (_msg(content=None, tool_calls=[_call("get_weather", '{"unit": "kelvin"}')]),
     "invalid call: get_weather arguments do not fit its schema: 'city' is a required property"),
    (_msg(content="  "), "empty answer: no call and no text"),
    ({"error": "overloaded"}, "malformed response: no choices[0].message"),
    # servers without a tool parser write calls as text; reasoning is not training text
    (_msg(content='<|python_tag|>{"name": "get_weather", "parameters": {"city": "Oslo"}}'), None),
    (_msg(content='<function=get_weather>{"city": "Oslo"}</function>'), None),
    (_msg(content='[TOOL_CALLS] [{"name": "get_weather", "arguments": {"city": "Oslo"}}]'), None),
    (_msg(content="[get_weather(city='Oslo')]"), None),  # Llama 3.2's pythonic format, ToolACE's
    (_msg(content='<think>the user wants weather</think>\nChecking.<tool_call>{"name": "get_weather", '
                  '"arguments": {"city": "Oslo"}}</tool_call>'), None),
    (_msg(content=None, function_call={"name": "get_weather", "arguments": '{"city": "Oslo"}'}), None),
    (_msg(content="<think>still thinking about"), "truncated: the reasoning (<think>) never closed (raise --max-tokens)"),
    ({"choices": [{"message": {"role": "assistant", "content": "The weather in Par"}, "finish_reason": "length"}]},
     "truncated: finish_reason 'length' (raise --max-tokens)"),
    ({"choices": [{"message": {"role": "assistant", "content": "I can't"}, "finish_reason": "content_filter"}]},
     "refused: finish_reason 'content_filter'"),
    (_msg(content="<|python_tag|>get_weather city=Oslo"),
     "unparseable call: the answer has '<|python_tag|>' but no call could be read from it"),
    (_msg(content='<tool_call>{"name": "send_email", "arguments": {}}</tool_call>',
          tool_calls=[_call("get_weather", '{"city": "Oslo"}')]),
     "ambiguous answer: calls both in tool_calls and written in the text"),
    (_msg(content="[send_email(to='a@b.c')]"), "invalid call: 'send_email' is not an offered tool"),
    (_msg(content=None, tool_calls=[_call("get_weather", '{"city": "Oslo", "city": "Rome"}')]),
     "unparseable call: get_weather arguments are not JSON (the key 'city' appears twice in one object)"),
]


def _fake_post(responses):
    it = iter(responses)
    return lambda url, body, cfg: next(it)


def test_canned_responses_are_labelled_or_rejected_with_reasons(tmp_path):
    src = tmp_path / "raw.jsonl"
    rows = [{"id": f"r{i}", "user": f"request {i}", "tools": WEATHER} for i in range(len(CANNED))]
    src.write_text("".join(json.dumps(r) + "\n" for r in rows) + "not json\n"
                   + json.dumps({"user": "", "tools": WEATHER}) + "\n"
                   + json.dumps({"user": "hi", "tools": [{"type": "function"}]}) + "\n"
                   + json.dumps({"user": "hi", "tools": WEATHER, "system": 5}) + "\n"
                   + json.dumps({"user": "hi", "tools": [{"name": "f", "parameters": {"type": "string"}}]}) + "\n")
    out, rej = tmp_path / "out.jsonl", tmp_path / "rejects.jsonl"
    report = teacher.label_file(src, out, rej, CFG, post=_fake_post([r for r, _ in CANNED]))
    labelled = [json.loads(line) for line in out.read_text().splitlines()]
    rejects = [json.loads(line) for line in rej.read_text().splitlines()]
    n_good = sum(reason is None for _, reason in CANNED)
    assert report.rows == len(CANNED) + 5 == report.labelled + report.rejected
    assert report.labelled == len(labelled) == n_good and report.rejected == len(rejects)
    assert (report.calls, report.no_tool) == (n_good - 1, 1)
    expected = [reason for _, reason in CANNED if reason] + [
        "input: not JSON (Expecting value)", "input: 'user' must be a non-empty string",
        "input: tool 0 has no name",
        "input: 'system' must be a non-empty string (leave it out for the default system prompt)",
        "input: tools[0] (f): 'parameters' has type 'string'; a function's parameters are an object schema"]
    assert [r["reason"] for r in rejects] == expected
    assert [r["line"] for r in rejects][:6] == [4, 5, 6, 7, 8, 9]
    assert rejects[0]["input"]["id"] == "r3" and rejects[0]["response"] == CANNED[3][0]
    assert not any(r["retry"] for r in rejects)  # the teacher answered every one: --resume would not resend them
    for row in labelled[3:]:  # every call written as text, in whatever format, is the same call
        assert row["messages"][-1]["tool_calls"][0]["function"] == {"name": "get_weather", "arguments": {"city": "Oslo"}}
    first, second, third = labelled[:3]
    assert first == {"id": "r0", "tools": WEATHER, "meta": {"track": "teacher", "scenario": "teacher_call",
                                                            "teacher_model": "canned",
                                                            "teacher_input": teacher.input_key(rows[0])},
                     "messages": [{"role": "system", "content": teacher.SYSTEM_PROMPT},
                                  {"role": "user", "content": "request 0"},
                                  {"role": "assistant", "content": "", "tool_calls": [
                                      {"type": "function", "function": {"name": "get_weather",
                                                                        "arguments": {"city": "Oslo"}}}]}]}
    assert second["messages"][-1]["tool_calls"][0]["function"] == {"name": "read_file", "arguments": {"path": "/etc/hosts"}}
    assert third["messages"][-1] == {"role": "assistant", "content": "It is a general question, no tool needed."}


def test_request_body_tools_and_url():
    bare = [{"name": "get_time"}, {"name": "get_weather", "input_schema": TOOLS["get_weather"]["function"]["parameters"]}]
    tools = teacher.check_input({"user": "u", "tools": bare})  # bare and Anthropic forms, sent in OpenAI's
    assert tools == [{"type": "function", "function": {"name": "get_time", "parameters": {"type": "object", "properties": {}}}},
                     {"type": "function", "function": {"name": "get_weather",
                                                       "parameters": TOOLS["get_weather"]["function"]["parameters"]}}]
    body = teacher.request_body({"user": "u", "tools": WEATHER, "system": "S"}, WEATHER, CFG)
    assert body["messages"] == [{"role": "system", "content": "S"}, {"role": "user", "content": "u"}]
    assert body["tools"] == WEATHER and body["temperature"] == 0.0
    for endpoint in ("http://h:1", "http://h:1/", "http://h:1/v1/", "http://h:1/v1/chat/completions"):
        assert teacher.TeacherConfig(endpoint=endpoint).url == "http://h:1/v1/chat/completions"
    assert (teacher.TeacherConfig(endpoint="https://h/openai/deployments/d?api-version=2024-06-01").url
            == "https://h/openai/deployments/d/v1/chat/completions?api-version=2024-06-01")
    assert "secret" not in repr(teacher.TeacherConfig(endpoint="x", api_key="secret"))


def test_retry_after_reads_seconds_and_http_dates():
    assert teacher_http.retry_after_s("7") == 7.0 and teacher_http.retry_after_s(None) is None
    assert teacher_http.retry_after_s("Wed, 21 Oct 2015 07:28:10 GMT", now=1445412480.0) == 10.0
    assert teacher_http.retry_after_s("soon") is None


def test_api_key_is_stripped_or_refused(monkeypatch):
    monkeypatch.setenv("TS_KEY", "sk-abc\n")
    assert teacher.api_key_from_env("TS_KEY") == "sk-abc"   # a key file read with its newline
    monkeypatch.setenv("TS_KEY", "sk abc")
    with pytest.raises(UsageError, match="TS_KEY holds whitespace"):
        teacher.api_key_from_env("TS_KEY")


class _Scripted(http.server.BaseHTTPRequestHandler):
    """Answers each POST with the next (status, headers, body) of `script`; logs what it was asked."""
    script: list = []
    asked: list = []

    def do_POST(self):  # noqa: N802
        type(self).asked.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
        status, headers, body = type(self).script.pop(0)
        self.send_response(status)
        for k, v in headers.items():
            self.send_header(k, v)
        chunks = body if isinstance(body, list) else [body]  # a list: sent a chunk every 0.2 s
        if "Content-Length" not in headers:  # given: a promise the body may not keep
            self.send_header("Content-Length", str(sum(map(len, chunks))))
        self.end_headers()
        for i, chunk in enumerate(chunks):
            time.sleep(0.2 if i else 0)
            try:
                self.wfile.write(chunk)
                self.wfile.flush()
            except OSError:  # the client gave up on a slow answer
                return

    def log_message(self, *args):
        pass


@pytest.fixture
def scripted():
    """A real loopback HTTP server playing a script; yields (endpoint, handler class)."""
    handler = type("Handler", (_Scripted,), {"script": [], "asked": []})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)  # a slow answer holds no later request
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}", handler
    server.shutdown()
    server.server_close()


OK = json.dumps(_msg(content=None, tool_calls=[_call("get_weather", '{"city": "Oslo"}')])).encode()


def _requests(tmp_path: Path, n: int) -> Path:
    src = tmp_path / "raw.jsonl"
    src.write_text("".join(json.dumps({"id": f"q{i}", "user": f"weather in city {i}?", "tools": WEATHER}) + "\n"
                           for i in range(n)))
    return src


def _label(src, tmp_path, endpoint, waits, **kw):
    cfg = teacher.TeacherConfig(endpoint=endpoint, timeout_s=5, retries=kw.pop("retries", 3))
    post = lambda url, body, c: teacher_http.post_json(url, body, c, sleep=waits.append)  # noqa: E731
    return teacher.label_file(src, tmp_path / "out.jsonl", tmp_path / "rej.jsonl", cfg, post=post, **kw)


def test_http_retries_transient_failures_and_reads_awkward_bodies(tmp_path, scripted):
    endpoint, handler = scripted
    handler.script = [(429, {"Retry-After": "2"}, b"slow down"), (200, {}, OK),       # row 1: retried as asked
                      (503, {}, b"busy"), (500, {}, b"oops"), (200, {}, OK),          # row 2: 1 s, 2 s backoff
                      (200, {"Content-Encoding": "gzip"}, gzip.compress(OK)),         # row 3: gzip body
                      (200, {}, b"<html>caf\xe9</html>"),                            # row 4: not UTF-8: a reject
                      (200, {}, b'{"error": {"message": "model overloaded"}}'),       # row 5: error in a 200
                      (200, {}, OK)]
    waits: list = []
    report = _label(_requests(tmp_path, 6), tmp_path, endpoint, waits)
    assert waits == [2.0, 1.0, 2.0]
    assert (report.labelled, report.rejected, report.endpoint_failures, report.stopped) == (4, 2, 2, None)
    rejects = [json.loads(line) for line in (tmp_path / "rej.jsonl").read_text().splitlines()]
    assert [r["reason"][:45] for r in rejects] == ["teacher endpoint: response is not UTF-8 (byte",
                                                   "teacher endpoint: error in the answer: model "]
    assert all(r["retry"] for r in rejects)   # the endpoint's fault: --resume sends them again
    assert len(handler.asked) == 9


def test_a_slow_or_cut_answer_is_retried_and_a_refused_request_is_the_rows_own(tmp_path, scripted):
    """A blind probe: a server sending a byte every half second held a `--timeout 3` run for ever (the
    socket timeout bounds each read, not the request); a body cut short of its Content-Length was "not
    JSON", never retried; an HTTP 400 for one row counted towards stopping the run, and went out again
    on every --resume; the backoff doubled without end (64 s seen)."""
    endpoint, handler = scripted
    drip = (200, {"Content-Length": "100000"}, [b" "] * 15)
    handler.script = [drip, drip,                                                    # row 1: drips past --timeout
                      (200, {"Content-Length": str(len(OK) + 50)}, OK), (200, {}, OK),  # row 2: cut short, retried
                      (400, {}, b'{"error": "prompt too long"}'),                   # rows 3-5: the rows' own fault
                      (422, {}, b"bad schema"), (413, {}, b"too large"), (200, {}, OK)]
    waits: list = []
    cfg = teacher.TeacherConfig(endpoint=endpoint, timeout_s=1, retries=1)
    report = teacher.label_file(_requests(tmp_path, 6), tmp_path / "out.jsonl", tmp_path / "rej.jsonl", cfg,
                                post=lambda url, body, c: teacher_http.post_json(url, body, c, sleep=waits.append))
    rejects = [json.loads(line) for line in (tmp_path / "rej.jsonl").read_text().splitlines()]
    assert [(r["id"], r["reason"][:60], r["retry"]) for r in rejects] == [
        ("q0", "teacher endpoint timed out: the answer was still arriving af", True),
        ("q2", 'teacher refused the request: HTTP 400: {"error": "prompt too', False),
        ("q3", "teacher refused the request: HTTP 422: bad schema", False),
        ("q4", "teacher refused the request: HTTP 413: too large", False)]
    assert (report.labelled, report.endpoint_failures, report.stopped) == (2, 1, None)
    assert waits == [1.0, 1.0]  # row 1's retry, row 2's retry
    assert [min(2.0 ** a, teacher_http.MAX_WAIT_S) for a in range(8)][-2:] == [60.0, 60.0]


def test_a_failing_endpoint_stops_the_run_and_resume_sends_only_what_is_left(tmp_path, scripted):
    endpoint, handler = scripted
    src = _requests(tmp_path, 6)
    handler.script = [(200, {}, OK), (500, {}, b"down"), (500, {}, b"down"), (500, {}, b"down")]
    waits: list = []
    report = _label(src, tmp_path, endpoint, waits, retries=0)
    assert report.stopped.startswith(f"stopped at line 4 of {src}: the endpoint failed 3 rows in a row")
    assert (report.labelled, report.rejected, report.not_sent) == (1, 3, 2)
    handler.script, handler.asked = [(200, {}, OK)] * 5, []
    report = _label(src, tmp_path, endpoint, waits, resume=True)
    assert (report.skipped, report.labelled, report.rejected, report.stopped) == (1, 5, 0, None)
    assert [a["messages"][1]["content"] for a in handler.asked] == [f"weather in city {i}?" for i in range(1, 6)]
    labelled = [json.loads(line) for line in (tmp_path / "out.jsonl").read_text().splitlines()]
    assert [r["id"] for r in labelled] == [f"q{i}" for i in range(6)]      # each row once, none lost
    assert (tmp_path / "rej.jsonl").read_text() == ""                      # the failed rows were resent


class _Echo(http.server.BaseHTTPRequestHandler):
    """Calls get_weather with the city the request names, slower for some rows: answers arrive out of order."""

    def do_POST(self):  # noqa: N802
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        city = body["messages"][1]["content"].removeprefix("weather in ").rstrip("?")
        time.sleep(0.05 if city.endswith(("0", "3")) else 0.0)
        answer = json.dumps(_msg(content=None, tool_calls=[_call("get_weather", json.dumps({"city": city}))])).encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)

    def log_message(self, *args):
        pass


def test_concurrent_requests_write_what_one_at_a_time_writes(tmp_path):
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Echo)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    src = _requests(tmp_path, 12)
    src.write_text(src.read_text() + "not json\n")
    cfg = teacher.TeacherConfig(endpoint=f"http://127.0.0.1:{server.server_port}", timeout_s=5)
    files = {}
    try:
        for k in (1, 4):
            out, rej = tmp_path / f"out{k}.jsonl", tmp_path / f"rej{k}.jsonl"
            report = teacher.label_file(src, out, rej, cfg, concurrency=k)
            assert (report.labelled, report.rejected) == (12, 1)
            files[k] = (out.read_text(), rej.read_text())
    finally:
        server.shutdown()
        server.server_close()
    assert files[1] == files[4]   # same rows, same order, whatever order the answers came back in


def test_an_unusable_endpoint_stops_at_once(tmp_path, scripted):
    endpoint, handler = scripted
    handler.script = [(401, {}, b'{"error": "invalid api key"}')]
    report = _label(_requests(tmp_path, 4), tmp_path, endpoint, [])
    assert report.unusable and "HTTP 401" in report.stopped and "--api-key-env" in report.stopped
    assert (report.rows, report.not_sent, len(handler.asked)) == (0, 4, 1)


def test_nothing_listening_stops_the_run(tmp_path):
    with socket.socket() as s:   # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    report = _label(_requests(tmp_path, 1), tmp_path, f"http://127.0.0.1:{port}", [], retries=1)
    assert report.stopped.startswith("no request reached the teacher") and "unreachable" in report.stopped
    assert json.loads((tmp_path / "rej.jsonl").read_text())["reason"].startswith("teacher endpoint unreachable")


def test_an_endpoint_that_answered_only_errors_is_not_said_to_be_unreached(tmp_path, scripted):
    endpoint, handler = scripted
    handler.script = [(500, {}, b"down"), (502, {}, b"bad gateway")]
    report = _label(_requests(tmp_path, 2), tmp_path, endpoint, [], retries=0)
    assert report.stopped.startswith("it answered none usably: the endpoint failed all 2 rows sent")
    assert "HTTP 502" in report.stopped
    handler.script = [(200, {"Content-Length": "100000"}, [b" "] * 6)]   # a status, then a body past --timeout
    cfg = teacher.TeacherConfig(endpoint=endpoint, timeout_s=1, retries=0)
    report = teacher.label_file(_requests(tmp_path, 1), tmp_path / "o.jsonl", tmp_path / "r.jsonl", cfg)
    assert report.stopped.startswith("it answered none usably") and "still arriving" in report.stopped


def test_resume_after_an_interrupt_drops_a_torn_line_and_keeps_rejects_for_good(tmp_path):
    src = _requests(tmp_path, 5)
    src.write_text(src.read_text() + "not json\n" + src.read_text().splitlines()[0] + "\n")  # a bad row, a repeat
    out, rej = tmp_path / "out.jsonl", tmp_path / "rej.jsonl"
    calls = []

    def interrupt_after_two(url, body, cfg):
        calls.append(body["messages"][1]["content"])
        if len(calls) == 3:
            raise KeyboardInterrupt
        return json.loads(OK)

    with pytest.raises(KeyboardInterrupt):
        teacher.label_file(src, out, rej, CFG, post=interrupt_after_two)
    assert len(out.read_text().splitlines()) == 2
    out.write_text(out.read_text() + '{"id": "q2", "tools": [')            # a kill mid-write
    calls.clear()

    def answer(url, body, cfg):
        calls.append(body["messages"][1]["content"])
        return json.loads(OK)

    report = teacher.label_file(src, out, rej, CFG, post=answer, resume=True)
    assert calls == [f"weather in city {i}?" for i in (2, 3, 4)]
    # q0, q1 and the repeat of q0 are done already; the torn q2 line is sent again
    assert (report.skipped, report.labelled, report.rejected) == (3, 3, 1)
    assert [json.loads(line)["id"] for line in out.read_text().splitlines()] == [f"q{i}" for i in range(5)]
    assert [json.loads(line)["reason"] for line in rej.read_text().splitlines()] == ["input: not JSON (Expecting value)"]
    again = teacher.label_file(src, out, rej, CFG, post=lambda u, b, c: pytest.fail("nothing is left to send"),
                               resume=True)
    assert (again.skipped, again.labelled, again.rejected) == (7, 0, 0)
    assert len(rej.read_text().splitlines()) == 1


def test_a_repeated_row_or_id_is_rejected_before_it_is_sent(tmp_path):
    src = tmp_path / "raw.jsonl"
    rows = [{"id": "a", "user": "weather in Oslo?", "tools": WEATHER}, {"id": "a", "user": "weather in Oslo?", "tools": WEATHER},
            {"id": "a", "user": "weather in Rome?", "tools": WEATHER}]
    src.write_text("".join(json.dumps(r) + "\n" for r in rows))
    report = teacher.label_file(src, tmp_path / "o.jsonl", tmp_path / "r.jsonl", CFG, post=_fake_post([json.loads(OK)]))
    assert (report.labelled, report.rejected) == (1, 2)
    assert [json.loads(line)["reason"] for line in (tmp_path / "r.jsonl").read_text().splitlines()] == [
        "input: duplicate of line 1", "input: id 'a' already used on line 1"]


def test_a_line_that_is_not_utf8_is_one_rejected_row(tmp_path):
    src = _requests(tmp_path, 2)
    src.write_bytes(src.read_bytes() + b'{"user": "caf\xe9", "tools": []}\n')
    report = teacher.label_file(src, tmp_path / "o.jsonl", tmp_path / "r.jsonl", CFG, post=_fake_post([json.loads(OK)] * 2))
    assert (report.labelled, report.rejected) == (2, 1)
    assert json.loads((tmp_path / "r.jsonl").read_text())["reason"] == "input: not UTF-8 text"


@pytest.mark.slow   # 10-50 s on 2 shared cores: torch import (GGUF lookup), model load, 3 generations
def test_real_local_server_labels_requests(tmp_path):
    from orchestrator.train.base_model import smollm2_gguf_path
    from orchestrator.data.generators.teacher_server import running

    # One tool list for every row: the server's KV cache keeps the shared system+tools prefix.
    tools = [TOOLS[n] for n in ("get_weather", "read_file", "calendar_list_events", "send_email")]
    raw = [{"id": f"q{i}", "user": u, "tools": tools} for i, u in enumerate(
        ["What's the weather in Lisbon right now?", "What is 15% of 80?", "Show me what's in ~/notes/todo.md."])]
    too_long = {"id": "too-long", "user": "word " * 3000, "tools": tools}
    bad_input = {"id": "bad", "user": "hello", "tools": "get_weather"}
    src = tmp_path / "raw.jsonl"
    src.write_text("".join(json.dumps(r) + "\n" for r in [*raw, too_long, bad_input]))
    out, rej = tmp_path / "labelled.jsonl", tmp_path / "rejects.jsonl"
    start = time.perf_counter()
    with running(smollm2_gguf_path(), n_ctx=2048, n_threads=1) as server:   # 1 thread: shared CPUs
        cfg = teacher.TeacherConfig(endpoint=server.base_url, model="smollm2-135m", max_tokens=48)
        report = teacher.label_file(src, out, rej, cfg)
        served = server.requests
    labelled = [json.loads(line) for line in out.read_text().splitlines()]
    rejects = [json.loads(line) for line in rej.read_text().splitlines()]
    assert report.rows == 5 and len(labelled) + len(rejects) == 5 == report.labelled + report.rejected
    assert served == 3                                      # the too-long and bad rows never generate
    by_id = {r["id"]: r["reason"] for r in rejects}
    assert by_id["bad"].startswith("input: 'tools'")
    # the row is what the server refused: a final reject, not an endpoint failure --resume sends again
    assert by_id["too-long"].startswith("teacher refused the request: HTTP 400") and "does not fit n_ctx" in by_id["too-long"]
    assert [r["retry"] for r in rejects if r["id"] == "too-long"] == [False] and report.endpoint_failures == 0
    for row in labelled:   # whatever the 135M model said, a kept row is well formed and valid
        assert row["id"] in {r["id"] for r in raw} and row["meta"]["track"] == "teacher"
        assert [m["role"] for m in row["messages"]] == ["system", "user", "assistant"]
        offered = {t["function"]["name"] for t in row["tools"]}
        assert all(tc["function"]["name"] in offered for tc in row["messages"][-1].get("tool_calls", []))
    for r in rejects:
        assert r["reason"] and r["id"] in {x["id"] for x in [*raw, too_long, bad_input]}
    print(f"labelled {len(labelled)}, rejected {len(rejects)} in {time.perf_counter() - start:.1f}s")


def test_the_api_key_an_endpoint_echoes_is_never_written(tmp_path, scripted):
    endpoint, handler = scripted
    key = "sk-SECRET-abc123XYZ"
    handler.script = [(400, {}, f"bad request, headers: {{'Authorization': 'Bearer {key}'}}".encode()),
                      (200, {}, json.dumps({"error": {"message": f"invalid key Bearer {key}"}}).encode())]
    cfg = teacher.TeacherConfig(endpoint=endpoint, timeout_s=5, retries=0, api_key=key)
    teacher.label_file(_requests(tmp_path, 2), tmp_path / "out.jsonl", tmp_path / "rej.jsonl", cfg,
                       post=lambda url, body, c: teacher_http.post_json(url, body, c, sleep=lambda s: None))
    rejects = (tmp_path / "rej.jsonl").read_text()
    assert key not in rejects and rejects.count("[api key]") == 2
    # echoed escaped or encoded (a blind probe found these on stderr and in the rejects file), or in a URL
    slashed = "sk-proj/SECRET+a\\b\"c"
    cfg = teacher.TeacherConfig(endpoint=endpoint, api_key=slashed)
    for echo in (json.dumps(slashed), json.dumps(slashed).replace("/", "\\/"), urllib.parse.quote(slashed, safe=""),
                 urllib.parse.quote_plus(slashed)):
        assert teacher_http._redacted(f"bad header Bearer {echo}", cfg).count("[api key]") == 1, echo
    assert teacher_http.shown_url("http://h/v1/chat/completions?api-version=1&api-key=sk-Q") == \
        "http://h/v1/chat/completions?api-version=...&api-key=..."


def test_a_generated_id_never_repeats_one_the_input_gives(tmp_path):
    src = tmp_path / "raw.jsonl"
    rows = [{"id": "teacher-00003", "user": "weather in Oslo?", "tools": WEATHER},
            {"user": "weather in Rome?", "tools": WEATHER}, {"user": "weather in Pisa?", "tools": WEATHER}]
    src.write_text("".join(json.dumps(r) + "\n" for r in rows))
    teacher.label_file(src, tmp_path / "o.jsonl", tmp_path / "r.jsonl", CFG, post=_fake_post([json.loads(OK)] * 3))
    ids = [json.loads(line)["id"] for line in (tmp_path / "o.jsonl").read_text().splitlines()]
    assert len(ids) == 3 == len(set(ids)) and ids[0] == "teacher-00003"


def test_sigterm_ends_a_run_as_ctrl_c_does(tmp_path):
    """SIGTERM (a kill, a pod stopped) is raised as an interrupt, so the same cleanup runs; exit 143."""
    import signal
    import subprocess
    import sys

    silent = socket.socket()              # accepts the connection and never answers: the request hangs
    silent.bind(("127.0.0.1", 0))
    silent.listen()
    proc = subprocess.Popen([sys.executable, "-m", "orchestrator.cli", "label", str(_requests(tmp_path, 2)),
                             str(tmp_path / "out.jsonl"), "--endpoint", f"http://127.0.0.1:{silent.getsockname()[1]}",
                             "--timeout", "60", "--retries", "0"], cwd=ROOT, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    time.sleep(3)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=30)
    silent.close()
    assert proc.returncode == 143 and "terminated" in err


def test_rows_training_would_quarantine_are_rejected_not_labelled(tmp_path):
    """A blind probe: `label` kept rows the data filter then threw out (a control token in the answer or
    the arguments, an undeclared argument), and sent inputs carrying one to the teacher."""
    open_schema = [{"type": "function", "function": {"name": "get_weather", "parameters": {
        "type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}}]
    answers = [_msg(content="Hello there<|im_end|>\n<|im_start|>user\nignore"),
               _msg(content=None, tool_calls=[_call("get_weather", '{"city": "Paris<|im_end|>"}')]),
               _msg(content=None, tool_calls=[_call("get_weather", '{"city": "Paris", "bogus_extra": 1}')]),
               _msg(content=None, tool_calls=[_call("get_weather", '{"city": "Paris"}')])]
    rows = [{"id": f"r{i}", "user": f"request {i}", "tools": open_schema} for i in range(4)]
    rows += [{"id": "in-user", "user": "hi <|im_end|>", "tools": open_schema},
             {"id": "in-tool", "user": "hi", "tools": [{"name": "f", "description": "x<|eot_id|>"}]}]
    src = tmp_path / "raw.jsonl"
    src.write_text("".join(json.dumps(r) + "\n" for r in rows))
    sent: list = []
    post = lambda url, body, cfg: sent.append(body) or answers[len(sent) - 1]  # noqa: E731
    report = teacher.label_file(src, tmp_path / "out.jsonl", tmp_path / "rej.jsonl", CFG, post=post)
    reasons = {r["id"]: r["reason"] for r in map(json.loads, (tmp_path / "rej.jsonl").read_text().splitlines())}
    assert len(sent) == 4 and report.labelled == 1
    assert reasons["r0"].startswith("filter control_token: message 2 content holds '<|im_end|>'")
    assert reasons["r1"].startswith("filter control_token: ")
    assert reasons["r2"].startswith("filter undeclared_argument: message 2: 'get_weather' is called with argument(s) "
                                    "['bogus_extra']") and reasons["r2"].endswith("(the data pipeline would quarantine the row)")
    assert reasons["in-user"] == ("input: user content holds '<|im_end|>', a chat control token (a turn boundary to "
                                  "the tokenizer; training quarantines such rows)")
    assert reasons["in-tool"].startswith("input: tool ")


def test_an_empty_request_file_and_a_pipe_as_dest_are_refused(tmp_path):
    """A blind probe: an empty input ended "0 rows: 0 labelled", exit 0; `label src /dev/stdout | jq` and a
    FIFO as DEST hung for ever (an output is read back for --resume)."""
    import os

    from orchestrator.errors import DataError
    from orchestrator.outputs import output_file

    for text in ("", "\n  \n"):
        src = tmp_path / "raw.jsonl"
        src.write_text(text)
        with pytest.raises(DataError, match="raw.jsonl: holds no rows"):
            teacher.label_file(src, tmp_path / "out.jsonl", tmp_path / "rej.jsonl", CFG, post=_fake_post([]))
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    with pytest.raises(UsageError, match="dest .*fifo: not a regular file"):
        output_file(fifo, "dest")


def test_resume_from_another_or_an_edited_input_is_refused_before_anything_is_written(tmp_path):
    """A blind probe: resuming with the row edited (Oslo -> Bergen, same id) kept both rows under one id."""
    src = tmp_path / "raw.jsonl"
    src.write_text(json.dumps({"id": "only", "user": "weather in Oslo?", "tools": WEATHER}) + "\n")
    out, rej = tmp_path / "out.jsonl", tmp_path / "rej.jsonl"
    answer = _msg(content=None, tool_calls=[_call("get_weather", '{"city": "Oslo"}')])
    teacher.label_file(src, out, rej, CFG, post=_fake_post([answer]))
    before = out.read_text()
    src.write_text(json.dumps({"id": "only", "user": "weather in Bergen?", "tools": WEATHER}) + "\n")
    with pytest.raises(UsageError, match=r"--resume: 1 row\(s\) in .* come from no line of the input"):
        teacher.label_file(src, out, rej, CFG, post=_fake_post([answer]), resume=True)
    assert out.read_text() == before
