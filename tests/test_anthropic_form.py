"""Anthropic Messages rows (tool_use / tool_result blocks, top-level system, input_schema) read as OpenAI's."""

import json

import pytest

from evals.cases import CaseError, load_cases
from evals.messages import ContentError, anthropic_turns
from orchestrator.data.filters import row_problem
from orchestrator.data.normalise import Reject, normalise

WEATHER = {"name": "get_weather", "description": "Weather for a city.", "input_schema": {
    "type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}
CONVERSATION = [
    {"role": "user", "content": "Weather in Oslo and Rome?"},
    {"role": "assistant", "content": [
        {"type": "text", "text": "Checking both."},
        {"type": "tool_use", "id": "toolu_1", "name": "get_weather", "input": {"city": "Oslo"}},
        {"type": "tool_use", "id": "toolu_2", "name": "get_weather", "input": {"city": "Rome"}}]},
    {"role": "user", "content": [
        {"type": "tool_result", "tool_use_id": "toolu_1", "content": "3 C, snow"},
        {"type": "tool_result", "tool_use_id": "toolu_2", "content": [{"type": "text", "text": "unknown city"}],
         "is_error": True}]},
    {"role": "assistant", "content": "Oslo has 3 C and snow; the Rome lookup failed."}]


def test_tool_use_and_tool_result_blocks_become_calls_and_tool_messages():
    out = anthropic_turns(CONVERSATION)
    assert out[1] == {"role": "assistant", "content": "Checking both.", "tool_calls": [
        {"type": "function", "function": {"name": "get_weather", "arguments": {"city": "Oslo"}}, "id": "toolu_1"},
        {"type": "function", "function": {"name": "get_weather", "arguments": {"city": "Rome"}}, "id": "toolu_2"}]}
    assert out[2:4] == [{"role": "tool", "content": "3 C, snow", "tool_call_id": "toolu_1"},
                        {"role": "tool", "content": "Error: unknown city", "tool_call_id": "toolu_2"}]
    assert out[4] == CONVERSATION[3] and len(out) == 5
    # text beside the results stays the user's, after them
    mixed = anthropic_turns([CONVERSATION[1], {"role": "user", "content": [
        {"type": "tool_result", "tool_use_id": "toolu_1", "content": "3 C"}, {"type": "text", "text": "And tomorrow?"}]}])
    assert mixed[-1] == {"role": "user", "content": [{"type": "text", "text": "And tomorrow?"}]}
    plain = [{"role": "user", "content": "hi"}]
    assert anthropic_turns(plain) is plain
    with pytest.raises(ContentError, match="without a name"):
        anthropic_turns([{"role": "assistant", "content": [{"type": "tool_use", "id": "x", "input": {}}]}])


def test_an_anthropic_row_trains_as_the_conversation_it_writes():
    row = {"system": "Be brief.", "tools": [WEATHER], "messages": CONVERSATION}
    out = normalise(json.dumps(row), "claude", 0)
    assert [m["role"] for m in out["messages"]] == ["system", "user", "assistant", "tool", "tool", "assistant"]
    assert out["messages"][2]["tool_calls"][1]["function"] == {"name": "get_weather", "arguments": {"city": "Rome"}}
    assert out["tools"][0]["function"]["parameters"]["required"] == ["city"]
    assert row_problem(out) is None
    misplaced = {"tools": [WEATHER], "messages": [{"role": "user", "content": [
        {"type": "tool_use", "id": "t", "name": "get_weather", "input": {}}]}, CONVERSATION[3]]}
    with pytest.raises(Reject) as err:
        normalise(json.dumps(misplaced), "claude", 0)
    assert err.value.check == "non_text_content" and "out of place" in err.value.reason


def test_an_anthropic_row_is_an_eval_case_with_its_system_prompt_and_tools(tmp_path):
    path = tmp_path / "cases.jsonl"
    path.write_text(json.dumps({"id": "a1", "system": "Be brief.", "tools": [WEATHER], "messages": CONVERSATION[:2]})
                    + "\n")
    (case,) = load_cases(path)
    assert case["messages"] == [{"role": "system", "content": "Be brief."},
                                {"role": "user", "content": "Weather in Oslo and Rome?"}]
    assert case["expected"] == {"calls": [{"name": "get_weather", "arguments": {"city": "Oslo"}},
                                          {"name": "get_weather", "arguments": {"city": "Rome"}}]}
    assert case["tools"][0]["function"]["parameters"] == WEATHER["input_schema"]
    # a case with 'expected' gets its top-level system too (it was carried along as a note, unread)
    path.write_text(json.dumps({"id": "a2", "system": "Be brief.", "tools": [WEATHER], "messages": CONVERSATION[:1],
                                "expected": {"calls": [{"name": "get_weather", "arguments": {"city": "Oslo"}}]}}) + "\n")
    assert load_cases(path)[0]["messages"][0] == {"role": "system", "content": "Be brief."}
    path.write_text(json.dumps({"id": "a3", "system": "Be brief.", "tools": [WEATHER], "expected": {"calls": []},
                                "messages": [{"role": "system", "content": "Be long."}, CONVERSATION[0]]}) + "\n")
    with pytest.raises(CaseError, match="cases.jsonl:1: a top-level 'system' and a different system message"):
        load_cases(path)
