"""Teacher labelling: canned responses for every reject reason, and a real local SmolLM2 server."""

import json
import socket
import time
from pathlib import Path

import pytest

from orchestrator.data.generators import teacher
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
]


def _fake_post(responses):
    it = iter(responses)
    return lambda url, body, cfg: next(it)


def test_canned_responses_are_labelled_or_rejected_with_reasons(tmp_path):
    src = tmp_path / "raw.jsonl"
    rows = [{"id": f"r{i}", "user": f"request {i}", "tools": WEATHER} for i in range(len(CANNED))]
    src.write_text("".join(json.dumps(r) + "\n" for r in rows) + "not json\n"
                   + json.dumps({"user": "", "tools": WEATHER}) + "\n"
                   + json.dumps({"user": "hi", "tools": [{"name": "x"}]}) + "\n")
    out, rej = tmp_path / "out.jsonl", tmp_path / "rejects.jsonl"
    report = teacher.label_file(src, out, rej, CFG, post=_fake_post([r for r, _ in CANNED]))
    labelled = [json.loads(line) for line in out.read_text().splitlines()]
    rejects = [json.loads(line) for line in rej.read_text().splitlines()]
    assert report.rows == 12 and report.labelled == len(labelled) == 3 and report.rejected == len(rejects) == 9
    assert (report.calls, report.no_tool) == (2, 1)
    expected = [reason for _, reason in CANNED if reason] + [
        "input: not JSON (Expecting value)", "input: 'user' must be a non-empty string",
        "input: tools[0] is not {'type': 'function', 'function': {'name', 'parameters'}}"]
    assert [r["reason"] for r in rejects] == expected
    assert [r["line"] for r in rejects] == [4, 5, 6, 7, 8, 9, 10, 11, 12]
    assert rejects[0]["input"]["id"] == "r3" and rejects[0]["response"] == CANNED[3][0]
    first, second, third = labelled
    assert first == {"id": "r0", "tools": WEATHER, "meta": {"track": "teacher", "scenario": "teacher_call",
                                                            "teacher_model": "canned"},
                     "messages": [{"role": "system", "content": teacher.SYSTEM_PROMPT},
                                  {"role": "user", "content": "request 0"},
                                  {"role": "assistant", "content": "", "tool_calls": [
                                      {"type": "function", "function": {"name": "get_weather",
                                                                        "arguments": {"city": "Oslo"}}}]}]}
    assert second["messages"][-1]["tool_calls"][0]["function"] == {"name": "read_file", "arguments": {"path": "/etc/hosts"}}
    assert third["messages"][-1] == {"role": "assistant", "content": "It is a general question, no tool needed."}


def test_request_body_and_url():
    body = teacher.request_body({"user": "u", "tools": WEATHER, "system": "S"}, CFG)
    assert body["messages"] == [{"role": "system", "content": "S"}, {"role": "user", "content": "u"}]
    assert body["tools"] == WEATHER and body["temperature"] == 0.0
    assert teacher.TeacherConfig(endpoint="http://h:1/v1/").url == "http://h:1/v1/chat/completions"
    assert "secret" not in repr(teacher.TeacherConfig(endpoint="x", api_key="secret"))


def test_unreachable_endpoint_rejects_every_row(tmp_path):
    with socket.socket() as s:   # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    src = tmp_path / "raw.jsonl"
    src.write_text(json.dumps({"user": "weather in Oslo?", "tools": WEATHER}) + "\n")
    cfg = teacher.TeacherConfig(endpoint=f"http://127.0.0.1:{port}", timeout_s=5)
    report = teacher.label_file(src, tmp_path / "o.jsonl", tmp_path / "r.jsonl", cfg)
    assert (report.labelled, report.rejected) == (0, 1)
    assert json.loads((tmp_path / "r.jsonl").read_text())["reason"].startswith("teacher endpoint unreachable")


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
    assert by_id["too-long"].startswith("teacher endpoint: HTTP 400") and "does not fit n_ctx" in by_id["too-long"]
    for row in labelled:   # whatever the 135M model said, a kept row is well formed and valid
        assert row["id"] in {r["id"] for r in raw} and row["meta"]["track"] == "teacher"
        assert [m["role"] for m in row["messages"]] == ["system", "user", "assistant"]
        offered = {t["function"]["name"] for t in row["tools"]}
        assert all(tc["function"]["name"] in offered for tc in row["messages"][-1].get("tool_calls", []))
    for r in rejects:
        assert r["reason"] and r["id"] in {x["id"] for x in [*raw, too_long, bad_input]}
    print(f"labelled {len(labelled)}, rejected {len(rejects)} in {time.perf_counter() - start:.1f}s")
