"""Each source format becomes the same internal row; hand-checked conversions."""

import json
import re

import pytest

from orchestrator.data.filters import row_problem
from orchestrator.data.normalise import Reject, normalise

WEATHER = {"name": "get_weather", "parameters": {"type": "object", "properties": {"city": {"type": "string"}},
                                                 "required": ["city"]}}
WRAPPED = [{"type": "function", "function": WEATHER}]


def test_openai_row_with_bare_tools_and_string_arguments():
    row = {"id": "x1", "scenario": "single_tool", "tools": [WEATHER], "messages": [
        {"role": "user", "content": "Weather in Oslo?"},
        {"role": "assistant", "content": None, "tool_calls": [
            {"id": "c1", "type": "function", "function": {"name": "get_weather", "arguments": '{"city": "Oslo"}'}}]},
        {"role": "tool", "tool_call_id": "c1", "content": {"temp": 3}, "timestamp": "2026-01-01T10:00:00Z"},
        {"role": "assistant", "content": "It is 3 degrees in Oslo."}]}
    out = normalise(json.dumps(row), "src", 4)
    assert out["id"] == "src:4" and out["tools"] == WRAPPED
    assert out["messages"][1] == {"role": "assistant", "content": "", "tool_calls": [
        {"type": "function", "function": {"name": "get_weather", "arguments": {"city": "Oslo"}}, "id": "c1"}]}
    assert out["messages"][2] == {"role": "tool", "tool_call_id": "c1", "content": '{"temp": 3}'}
    assert out["meta"] == {"source": "src", "row": 4, "format": "openai", "track": None, "original_id": "x1",
                           "scenario": "single_tool", "state_times": [{"message": 2, "timestamp": 1767261600.0}]}
    assert row_problem(out) is None


def test_sharegpt_parallel_calls_split_their_observation():
    row = {"system": "Be brief.", "tools": json.dumps([WEATHER]), "conversations": [
        {"from": "human", "value": "Oslo and Rome?"},
        {"from": "function_call", "value": json.dumps([{"name": "get_weather", "arguments": {"city": "Oslo"}},
                                                        {"name": "get_weather", "arguments": {"city": "Rome"}}])},
        {"from": "observation", "value": json.dumps([{"temp": 3}, "sunny"])},
        {"from": "gpt", "value": "Oslo 3 degrees, Rome sunny."}]}
    out = normalise(row, "sg", 0, "sharegpt", track="honesty")
    call = lambda c: {"type": "function", "function": {"name": "get_weather", "arguments": {"city": c}}}  # noqa: E731
    assert out["messages"] == [
        {"role": "system", "content": "Be brief."}, {"role": "user", "content": "Oslo and Rome?"},
        {"role": "assistant", "content": "", "tool_calls": [call("Oslo"), call("Rome")]},
        {"role": "tool", "name": "get_weather", "content": '{"temp": 3}'},
        {"role": "tool", "name": "get_weather", "content": "sunny"},
        {"role": "assistant", "content": "Oslo 3 degrees, Rome sunny."}]
    assert out["tools"] == WRAPPED and out["meta"]["track"] == "honesty" and out["meta"]["format"] == "sharegpt"
    assert row_problem(out) is None


def test_trace_rounds_become_parallel_turns():
    row = {"session_id": "s9", "timestamp": 1700000000, "tools": [WEATHER], "user": "Oslo and Rome, then Paris?",
           "calls": [{"name": "get_weather", "arguments": {"city": "Oslo"}, "result": "3", "round": 0},
                     {"name": "get_weather", "arguments": {"city": "Rome"}, "result": "20", "round": 0},
                     {"name": "get_weather", "arguments": {"city": "Paris"}, "result": {"temp": 15}, "round": 1,
                      "timestamp": 1699999000}],
           "answer": "3, 20 and 15 degrees.", "meta": {"track": "long_context"}}
    out = normalise(json.dumps(row), "tr", 2, "trace")
    roles = [(m["role"], len(m.get("tool_calls") or [])) for m in out["messages"]]
    assert roles == [("user", 0), ("assistant", 2), ("tool", 0), ("tool", 0), ("assistant", 1), ("tool", 0),
                     ("assistant", 0)]
    assert out["messages"][5]["content"] == '{"temp": 15}'
    assert out["meta"]["session_id"] == "s9" and out["meta"]["timestamp"] == 1700000000.0
    assert out["meta"]["state_times"] == [{"message": 5, "timestamp": 1699999000.0}]
    assert out["meta"]["track"] == "long_context"
    assert row_problem(out, stale_after_s=1000) is None
    assert row_problem(out, stale_after_s=999)[0] == "stale_state"


@pytest.mark.parametrize("raw, fmt, check", [
    ('{"messages": [}', "auto", "malformed_json"),
    ('"just a string"', "auto", "not_an_object"),
    ('{"messages": [{"role": "user", "content": "x"}]}', "sharegpt", "unrecognised_format"),
    ('{"messages": [{"role": "user", "content": "x"}]}', "auto", "bad_structure"),
    ('{"messages": [{"role": "assistant", "content": "x"}], "tools": "{oops"}', "auto", "malformed_json"),
])
def test_unreadable_rows_name_their_reason(raw, fmt, check):
    with pytest.raises(Reject) as err:
        normalise(raw, "s", 0, fmt)
    assert err.value.check == check


def test_claims_and_truncation_rules():
    def row(*msgs):
        return normalise({"tools": [WEATHER], "messages": [{"role": "user", "content": "q"}, *msgs]}, "s", 0)
    assert row_problem(row({"role": "assistant", "content": "According to the results, it rains."}))[0] == \
        "unsupported_tool_claim"
    assert row_problem(row({"role": "assistant", "content": "I think it rains."})) is None
    assert row_problem(row({"role": "assistant", "content": 'Use {"a": [1, 2'}))[0] == "truncated_assistant_turn"
    quoted = row({"role": "assistant", "content": "", "tool_calls": [
        {"function": {"name": "get_weather", "arguments": {"city": "Oslo"}}}]},
        {"role": "tool", "name": "get_weather", "content": '{"out": "line one\\nload 0.42"}'},
        {"role": "assistant", "content": "Here it is:\nload 0.42"})
    assert row_problem(quoted) is None  # ends in a digit, but quotes the tool result
    cut = "It is usually a request that the team reviews before the reque"
    assert row_problem(row({"role": "assistant", "content": cut}))[0] == "truncated_assistant_turn"
    assert row_problem(row({"role": "assistant", "content": cut}), skip=["truncated_assistant_turn"]) is None
    # short answers need no full stop, and an emoticon opens no bracket
    for done in ("Tokyo", "4", "It rains in Oslo today", "Rainy Mondays :("):
        assert row_problem(row({"role": "assistant", "content": done})) is None, done
    # nor do long ones that end on a whole word (a blind probe's chat export lost 7 of 8 such answers)
    for done in ("The greenhouse controller reports that every zone is currently closed and idle",
                 "Tomatoes need about six hours of direct sun each day to fruit well",
                 "The valve model is RV-200 and the zone is Bench A", "Hola, la humedad es del 63 por ciento"):
        assert row_problem(row({"role": "assistant", "content": done})) is None, done
    # a long answer that stops on a word no sentence ends on, or on a fragment, was cut
    for cut in ("The forecast for tomorrow says it will be sunny with a high of",
                "The quickest route from the station to the harbour goes through th"):
        assert row_problem(row({"role": "assistant", "content": cut}))[0] == "truncated_assistant_turn", cut


def test_arrow_shaped_row_json_string_columns_and_null_keys():
    """A Parquet / Arrow row: messages, tools and meta as JSON text, every struct key present (null where
    a message has none), content parts where a chat API wrote them."""
    row = {"messages": json.dumps([
        {"role": "user", "content": [{"type": "text", "text": "Weather in "}, {"type": "text", "text": "Oslo?"}],
         "name": None, "tool_call_id": None, "tool_calls": None},
        {"role": "assistant", "content": None, "name": None, "tool_call_id": None, "tool_calls": [
            {"id": None, "type": "function", "function": {"name": "get_weather", "arguments": '{"city": "Oslo"}'}}]},
        {"role": "tool", "content": '{"temp_c": 4}', "name": "get_weather", "tool_call_id": None, "tool_calls": None},
        {"role": "assistant", "content": "It is 4 °C in Oslo.", "name": None, "tool_call_id": None, "tool_calls": None}]),
        "tools": json.dumps([{"name": "get_weather", "parameters": {"type": "object", "properties": {
            "city": {"type": "string"}}, "required": ["city"]}}]),
        "meta": json.dumps({"track": "honesty", "scenario": "single_tool"})}
    out = normalise(row, "pq", 3)
    assert out["meta"]["track"] == "honesty" and out["meta"]["scenario"] == "single_tool"
    assert out["messages"][0]["content"] == "Weather in Oslo?" and out["messages"][1]["content"] == ""
    assert out["messages"][1]["tool_calls"][0]["function"]["arguments"] == {"city": "Oslo"}
    assert row_problem(out) is None
    assert all("name" not in m and "tool_call_id" not in m for m in out["messages"] if m["role"] != "tool")


def test_legacy_openai_function_call_and_other_sharegpt_tags():
    legacy = {"messages": [{"role": "user", "content": "Weather in Oslo?"},
                           {"role": "assistant", "content": None,
                            "function_call": {"name": "get_weather", "arguments": '{"city": "Oslo"}'}},
                           {"role": "function", "name": "get_weather", "content": '{"temp_c": 4}'},
                           {"role": "assistant", "content": "It is 4 °C in Oslo."}], "tools": [WEATHER]}
    out = normalise(json.dumps(legacy), "old", 0)
    assert out["messages"][1]["tool_calls"] == [{"type": "function", "function": {"name": "get_weather",
                                                                                   "arguments": {"city": "Oslo"}}}]
    assert out["messages"][2]["role"] == "tool" and "function_call" not in out["messages"][1]
    assert row_problem(out) is None
    sharegpt = {"conversations": [{"from": "user", "value": "Weather in Oslo?"},
                                  {"from": "function_call", "value": '{"name": "get_weather", "arguments": {"city": "Oslo"}}'},
                                  {"from": "tool", "value": '{"temp_c": 4}'},
                                  {"from": "assistant", "value": "It is 4 °C in Oslo."}], "tools": json.dumps([WEATHER])}
    out = normalise(json.dumps(sharegpt), "sg", 0)
    assert [m["role"] for m in out["messages"]] == ["user", "assistant", "tool", "assistant"] and row_problem(out) is None


def test_hermes_style_calls_written_in_the_text_become_tool_calls():
    """ShareGPT exports of Hermes-format data write calls and results as tagged text."""
    row = {"conversations": [
        {"from": "human", "value": "Weather in Oslo and Lyon?"},
        {"from": "gpt", "value": '<tool_call>\n{"name": "get_weather", "arguments": {"city": "Oslo"}}\n</tool_call>\n'
                                 '<tool_call>\n{"name": "get_weather", "arguments": {"city": "Lyon"}}\n</tool_call>'},
        {"from": "tool", "value": '<tool_response>\n{"temp_c": 4}\n</tool_response>\n<tool_response>\n{"temp_c": 9}\n'
                                  '</tool_response>'},
        {"from": "gpt", "value": "Oslo is at 4 °C and Lyon at 9 °C."}], "tools": json.dumps([WEATHER])}
    out = normalise(json.dumps(row), "hermes", 0)
    assert [m["role"] for m in out["messages"]] == ["user", "assistant", "tool", "tool", "assistant"]
    assert [c["function"]["arguments"]["city"] for c in out["messages"][1]["tool_calls"]] == ["Oslo", "Lyon"]
    assert out["messages"][1]["content"] == "" and [m["content"] for m in out["messages"][2:4]] == [
        '{"temp_c": 4}', '{"temp_c": 9}']
    assert row_problem(out) is None
    openai = {"messages": [{"role": "user", "content": "Weather in Oslo?"},
                           {"role": "assistant", "content": '<tool_call>{"name": "get_weather", "arguments": {"city": "Oslo"}}</tool_call>'},
                           {"role": "tool", "name": "get_weather", "content": "<tool_response>{\"temp_c\": 4}</tool_response>"},
                           {"role": "assistant", "content": "It is 4 °C in Oslo."}], "tools": [WEATHER]}
    out = normalise(json.dumps(openai), "o", 0)
    assert out["messages"][1]["tool_calls"][0]["function"]["name"] == "get_weather"
    assert out["messages"][2]["content"] == '{"temp_c": 4}' and row_problem(out) is None


def test_a_tool_call_block_no_parser_can_read_is_quarantined_not_trained():
    row = {"messages": [{"role": "user", "content": "Weather in Oslo?"},
                        {"role": "assistant", "content": "<tool_call>{'name': 'get_weather', city: Oslo}</tool_call>"}],
           "tools": [WEATHER]}
    assert row_problem(normalise(json.dumps(row), "o", 0))[0] == "unparseable_tool_call"


def _chat(assistant: dict, **row) -> str:
    return json.dumps({"messages": [{"role": "user", "content": "Weather in Oslo?"}, assistant,
                                    {"role": "tool", "name": "get_weather", "content": '{"temp_c": 4}'},
                                    {"role": "assistant", "content": "It is 4 °C in Oslo."}], **row})


CALL = {"role": "assistant", "content": None,
        "tool_calls": [{"type": "function", "function": {"name": "get_weather", "arguments": '{"city": "Oslo"}'}}]}


def test_tool_lists_as_other_exports_write_them():
    # OpenAI's legacy rows: the tools are under `functions`
    legacy = normalise(_chat(CALL, functions=[WEATHER]), "s", 0)
    assert legacy["tools"] == WRAPPED and "functions" not in legacy["meta"] and row_problem(legacy) is None
    # a list of JSON strings, one per tool (When2Call)
    assert normalise(_chat(CALL, tools=[json.dumps(WEATHER)]), "s", 0)["tools"] == WRAPPED
    with pytest.raises(Reject, match="tool 0 is a string that is not JSON"):
        normalise(_chat(CALL, tools=["{get_weather"]), "s", 0)
    # Anthropic names the JSON Schema input_schema
    anthropic = {"name": "get_weather", "input_schema": WEATHER["parameters"]}
    assert normalise(_chat(CALL, tools=[anthropic]), "s", 0)["tools"] == WRAPPED


def test_a_top_level_system_prompt_is_the_first_message():
    out = normalise(_chat(CALL, tools=[WEATHER], system="Answer in French."), "s", 0)
    assert out["messages"][0] == {"role": "system", "content": "Answer in French."}
    assert "system" not in out["meta"] and row_problem(out) is None
    parts = normalise(_chat(CALL, tools=[WEATHER], system=[{"type": "text", "text": "Be brief."}]), "s", 0)
    assert parts["messages"][0]["content"] == "Be brief."
    both = json.loads(_chat(CALL, tools=[WEATHER], system="Answer in French."))
    both["messages"].insert(0, {"role": "system", "content": "Answer in German."})
    with pytest.raises(Reject, match="a top-level 'system' and a different system message"):
        normalise(json.dumps(both), "s", 0)


@pytest.mark.parametrize("text, calls", [
    ('[get_weather(city="Oslo")]', [("get_weather", {"city": "Oslo"})]),
    ("[Market Trends API(trend_type='GAINERS'), f(x=1, ok=True, tags=['a', 'b'])]",
     [("Market Trends API", {"trend_type": "GAINERS"}), ("f", {"x": 1, "ok": True, "tags": ["a", "b"]})]),
])
def test_calls_written_as_python_text_are_read_as_calls_not_trained_as_answers(text, calls):
    want = [{"type": "function", "function": {"name": n, "arguments": a}} for n, a in calls]
    for raw in (_chat({"role": "assistant", "content": text}, tools=[WEATHER]),
                json.dumps({"conversations": [{"from": "human", "value": "Weather?"}, {"from": "gpt", "value": text}]})):
        turn = normalise(raw, "s", 0)["messages"][1]
        assert turn == {"role": "assistant", "content": "", "tool_calls": want}
    prose = normalise(_chat({"role": "assistant", "content": "[Note: see get_weather() below]"}), "s", 0)
    assert prose["messages"][1]["content"].startswith("[Note")


@pytest.mark.parametrize("text, why", [
    ("[get_weather('Oslo')]", "positional argument"),
    ("[get_weather(city=town)]", "not a literal"),
    ("[get_weather(city='Oslo') get_time()]", "no next call"),
    ("[get_weather(city='Oslo', city='Rome')]", "names 'city' twice"),
    ("[get_weather(**where)]", "unpacks"),
])
def test_python_call_text_that_cannot_be_read_is_quarantined_with_the_reason(text, why):
    for raw in (_chat({"role": "assistant", "content": text}, tools=[WEATHER]),
                json.dumps({"conversations": [{"from": "human", "value": "Weather?"}, {"from": "gpt", "value": text}]})):
        with pytest.raises(Reject) as err:
            normalise(raw, "s", 0)
        assert err.value.check == "unsupported_call_syntax" and why in err.value.reason


def test_a_toolace_row_reads_its_tools_from_the_system_prompt_and_its_calls_from_python_text():
    listed = [{"name": "Market Trends API", "description": "Market trends.", "parameters": {"type": "dict", "properties": {
        "trend_type": {"description": "Trend type.", "type": "string"},
        "ratio": {"type": "float"}, "window": {"type": "array", "items": {"type": "int"}}},
        "required": ["trend_type"]}, "required": None}]
    system = ("You are an expert in composing functions. You are given a question and a set of possible functions.\n"
              "Here is a list of functions in JSON format that you can invoke:\n" + json.dumps(listed) + ". \n"
              "Should you decide to return the function call(s), Put it in the format of [func1(params_name=params_value, "
              "params_name2=params_value2...), func2(params)]\n\nNO other text MUST be included. \n")
    row = {"system": system, "conversations": [
        {"from": "user", "value": "What are today's top gainers?"},
        {"from": "assistant", "value": '[Market Trends API(trend_type="GAINERS", ratio=0.5)]'},
        {"from": "tool", "value": json.dumps([{"name": "Market Trends API", "results": {"top": ["ACME"]}}])},
        {"from": "assistant", "value": "ACME leads today's gainers."}]}
    out = normalise(json.dumps(row), "ta", 0)
    assert out["messages"][0] == {"role": "system", "content": "You are an expert in composing functions. You are "
                                                               "given a question and a set of possible functions."}
    assert out["tools"] == [{"type": "function", "function": {
        "name": "Market Trends API", "description": "Market trends.", "parameters": {"type": "object", "properties": {
            "trend_type": {"description": "Trend type.", "type": "string"}, "ratio": {"type": "number"},
            "window": {"type": "array", "items": {"type": "integer"}}}, "required": ["trend_type"]}}}]
    assert out["messages"][2]["tool_calls"] == [{"type": "function", "function": {
        "name": "Market Trends API", "arguments": {"trend_type": "GAINERS", "ratio": 0.5}}}]
    assert out["messages"][3]["role"] == "tool" and out["messages"][3]["name"] == "Market Trends API"
    assert row_problem(out) is None


def test_assistant_weight_is_kept_as_zero_or_one():
    out = normalise(_chat({**CALL, "weight": 0}, tools=[WEATHER]), "s", 0)
    assert out["messages"][1]["weight"] == 0
    for bad in (0.5, True, "0"):
        with pytest.raises(Reject, match="weight is"):
            normalise(_chat({**CALL, "weight": bad}, tools=[WEATHER]), "s", 0)


def test_hermes_function_calling_v1_rows_tools_in_the_system_prompt_and_python_dict_calls():
    system = ("You are a function calling AI model. You are provided with function signatures within <tools> </tools> "
              "XML tags.\n<tools>\n" + repr([{"type": "function", "function": WEATHER}]) + "\n</tools>\nUse them.")
    row = {"conversations": [
        {"from": "system", "value": system},
        {"from": "human", "value": "Weather in Oslo?"},
        {"from": "gpt", "value": "<tool_call>\n{'arguments': {'city': 'Oslo'}, 'name': 'get_weather'}\n</tool_call>"},
        {"from": "tool", "value": "<tool_response>\n{'name': 'get_weather', 'content': {'temp_c': 4}}\n</tool_response>"},
        {"from": "gpt", "value": "It is 4 °C in Oslo."}]}
    out = normalise(json.dumps(row), "hermes", 0)
    assert out["tools"] == WRAPPED and row_problem(out) is None
    assert out["messages"][0]["content"] == ("You are a function calling AI model. You are provided with function "
                                             "signatures within <tools> </tools> XML tags.\n\nUse them.")
    assert out["messages"][2]["tool_calls"] == [{"type": "function", "function": {"name": "get_weather",
                                                                                   "arguments": {"city": "Oslo"}}}]
    # arguments as a JSON string inside the block are decoded, as in tool_calls
    row["conversations"][2]["value"] = '<tool_call>{"name": "get_weather", "arguments": "{\\"city\\": \\"Oslo\\"}"}</tool_call>'
    assert normalise(json.dumps(row), "hermes", 0)["messages"][2]["tool_calls"][0]["function"]["arguments"] == {"city": "Oslo"}
    # a tools block that is neither JSON nor a Python literal names itself
    row["conversations"][0]["value"] = "<tools>\nget_weather(city)\n</tools>"
    with pytest.raises(Reject, match="the <tools> block of the system prompt"):
        normalise(json.dumps(row), "hermes", 0)


WEATHER_TOOL = {"type": "function", "function": {"name": "get_weather", "parameters": {
    "type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}}


def _call_turn(call_id=None):
    call = {"type": "function", "function": {"name": "get_weather", "arguments": {"city": "Oslo"}}}
    return {"role": "assistant", "content": "", "tool_calls": [{**call, "id": call_id} if call_id else call]}


def test_a_nested_required_error_does_not_hide_a_type_error_beside_it():
    trip = {"type": "function", "function": {"name": "book", "parameters": {"type": "object", "properties": {
        "legs": {"type": "array", "items": {"type": "object", "required": ["from", "date"], "properties": {
            "from": {"type": "string", "pattern": "^[A-Z]{3}$"}, "date": {"type": "string"}}}}}, "required": ["legs"]}}}
    args = {"legs": [{"from": 5, "date": "2026-01-01"}, {"from": "CDG"}]}
    row = normalise(json.dumps({"messages": [{"role": "user", "content": "book it"}, {"role": "assistant", "content": "", "tool_calls": [
        {"type": "function", "function": {"name": "book", "arguments": args}}]}], "tools": [trip]}), "s", 0)
    check, reason = row_problem(row)
    assert check == "invalid_arguments" and "(and 1 more)" in reason and "legs/" in reason
    only_nested_missing = {"legs": [{"from": "CDG"}]}
    row["messages"][1]["tool_calls"][0]["function"]["arguments"] = only_nested_missing
    assert row_problem(row) == ("invalid_arguments", "message 1: 'book' arguments invalid at legs/0: "
                                                     "'date' is a required property")


def test_conversation_shape_rules():
    user = {"role": "user", "content": "Weather in Oslo?"}
    result = {"role": "tool", "content": "sunny"}  # neither id nor name: answers the first open call
    answer = {"role": "assistant", "content": "It is sunny in Oslo."}

    def problem(messages):
        p = row_problem(normalise(json.dumps({"messages": messages, "tools": [WEATHER_TOOL]}), "s", 0))
        return p and p[0]

    assert problem([user, _call_turn(), result, answer]) is None
    assert problem([user, _call_turn(), answer]) == "unanswered_tool_call"          # teaches invented results
    assert problem([user, _call_turn()]) is None                                    # a call as the last turn
    assert problem([user, _call_turn(), user, answer]) is None                      # the user moved on
    assert problem([user, answer, {"role": "system", "content": "Be formal."}, user, answer]) == "misplaced_system_turn"


def test_other_dataset_spellings_of_calls_roles_and_turns():
    glaive = normalise(json.dumps({"conversations": [
        {"from": "human", "value": "Weather in Miskolc?"},
        {"from": "gpt", "value": "<functioncall> {\"name\": \"get_weather\", \"arguments\": '{\"city\": \"Miskolc\"}'} <|endoftext|>"},
        {"from": "observation", "value": "{\"temp\": 3}"}, {"from": "gpt", "value": "It is 3 degrees."}],
        "tools": [WEATHER_TOOL]}), "s", 0)
    assert glaive["messages"][1]["tool_calls"][0]["function"] == {"name": "get_weather", "arguments": {"city": "Miskolc"}}
    assert row_problem(glaive) is None
    with pytest.raises(Reject, match="bare JSON text"):
        normalise(json.dumps({"messages": [{"role": "user", "content": "Weather in Tata?"}, {"role": "assistant",
                  "content": '{"name": "get_weather", "arguments": {"city": "Tata"}}'}]}), "s", 0)
    role_keys = normalise(json.dumps({"conversations": [{"role": "user", "content": "hi"},
                                                        {"role": "assistant", "content": "hello"}]}), "s", 0)
    assert [m["role"] for m in role_keys["messages"]] == ["user", "assistant"]
    dev = normalise(json.dumps({"messages": [{"role": "developer", "content": "Be brief."},
                                             {"role": "user", "content": "hi"}, {"role": "assistant", "content": "hello"}]}), "s", 0)
    assert dev["messages"][0] == {"role": "system", "content": "Be brief."}
    same = normalise(json.dumps({"system": "S", "conversations": [{"from": "system", "value": "S"}, {"from": "human", "value": "hi"},
                                                                  {"from": "gpt", "value": "hello"}]}), "s", 0)
    assert [m["role"] for m in same["messages"]] == ["system", "user", "assistant"]
    with pytest.raises(Reject, match="different system turn"):
        normalise(json.dumps({"system": "S", "conversations": [{"from": "system", "value": "T"}, {"from": "human", "value": "hi"},
                                                               {"from": "gpt", "value": "hello"}]}), "s", 0)
    empty_args = normalise(json.dumps({"messages": [{"role": "user", "content": "time?"}, {"role": "assistant", "content": "",
                           "tool_calls": [{"type": "function", "function": {"name": "now", "arguments": ""}}]}]}), "s", 0)
    assert empty_args["messages"][1]["tool_calls"][0]["function"]["arguments"] == {}


def test_a_tools_column_and_a_hermes_tools_block_list_the_tools_once():
    system = 'You may call functions. <tools>[{"type": "function", "function": {"name": "get_weather", "parameters": {}}}]</tools> Answer well.'
    row = normalise(json.dumps({"messages": [{"role": "system", "content": system}, {"role": "user", "content": "hi"},
                                             {"role": "assistant", "content": "hello"}], "tools": [WEATHER_TOOL]}), "s", 0)
    assert row["tools"] == [WEATHER_TOOL] and "<tools>" not in row["messages"][0]["content"]


def test_an_arrow_row_gets_back_the_integers_and_nulls_its_tool_schema_says_it_had():
    tool = {"type": "function", "function": {"name": "book", "parameters": {"type": "object", "properties": {
        "days": {"type": "integer"}, "price": {"type": "number"}, "seat": {"type": ["string", "null"]},
        "legs": {"type": "array", "items": {"type": "object", "properties": {"n": {"type": "integer"}}}}},
        "required": ["days", "seat"]}}}
    args = {"days": 3.0, "price": 12.0, "legs": [{"n": 2.0}]}   # as Arrow hands them back: widened, null dropped
    raw = {"messages": [{"role": "user", "content": "book it"}, {"role": "assistant", "content": "", "tool_calls": [
        {"type": "function", "function": {"name": "book", "arguments": args}}]}], "tools": [tool]}
    row = normalise(raw, "s", 0)
    got = row["messages"][1]["tool_calls"][0]["function"]["arguments"]
    assert got == {"days": 3, "price": 12.0, "legs": [{"n": 2}], "seat": None}
    assert isinstance(got["days"], int) and isinstance(got["price"], float) and row_problem(row) is None
    as_text = normalise(json.dumps(raw), "s", 0)   # a JSONL line: one spelling per whole number, nothing added
    got = as_text["messages"][1]["tool_calls"][0]["function"]["arguments"]
    assert got == {"days": 3, "price": 12.0, "legs": [{"n": 2}]} and isinstance(got["legs"][0]["n"], int)
    assert isinstance(got["price"], float) and "seat" not in got   # a key its writer left out stays out
    assert row_problem(as_text)[0] == "missing_required_argument"


def test_a_row_holding_a_chat_control_token_is_quarantined():
    """A `<|im_end|>` inside a message would be tokenised as a real turn boundary when the row is
    rendered: the row would teach a conversation other than the one it writes."""
    row = {"id": "x1", "tools": [WEATHER], "messages": [
        {"role": "user", "content": "Weather in Oslo?<|im_end|>\n<|im_start|>assistant\nSunny."},
        {"role": "assistant", "content": None, "tool_calls": [
            {"id": "c1", "type": "function", "function": {"name": "get_weather", "arguments": '{"city": "Oslo"}'}}]},
        {"role": "tool", "tool_call_id": "c1", "content": "3 degrees"},
        {"role": "assistant", "content": "It is 3 degrees in Oslo."}]}
    out = normalise(json.dumps(row), "src", 4)
    assert row_problem(out) == ("control_token", "message 0 content holds '<|im_end|>', a chat control token the "
                                                 "template would read as a turn boundary")
    assert row_problem(out, skip={"control_token"}) is None


def test_arguments_naming_a_key_twice_are_quarantined_with_the_reason():
    """'{"zone": 3, "open": true, "zone": 4}' was read as zone 4 (the last value) before "Zone 3 is open."."""
    tools = [{"type": "function", "function": {"name": "set_zone", "parameters": {
        "type": "object", "properties": {"zone": {"type": "integer"}, "open": {"type": "boolean"}}}}}]

    def row(args):
        return normalise({"tools": tools, "messages": [
            {"role": "user", "content": "Open zone 3."},
            {"role": "assistant", "content": "", "tool_calls": [{"function": {"name": "set_zone", "arguments": args}}]},
            {"role": "tool", "content": "ok"}, {"role": "assistant", "content": "Zone 3 is open."}]}, "s", 0)

    assert row_problem(row('{"zone": 3, "open": true, "zone": 4}')) == (
        "arguments_not_object", "message 1: arguments of 'set_zone' are a string that is not a JSON object (the key "
        "'zone' appears twice in one object)")
    assert row_problem(row("{sensor_id: Q-3"))[1].endswith("not a JSON object (Expecting property name enclosed in "
                                                           "double quotes)")
    assert row_problem(row([1, 2]))[1].endswith("are a JSON array, not an object")
    assert row_problem(row('{"zone": 3, "open": true}')) is None


def test_one_openai_tool_message_of_several_tool_responses_answers_each_call():
    """A Hermes export mapped from -> role writes a parallel round's results in one tool message; it was
    quarantined as unanswered_tool_call (the ShareGPT form of the same data was split)."""
    tools = [{"type": "function", "function": {"name": "read_sensor", "parameters": {
        "type": "object", "properties": {"id": {"type": "string"}}}}}]
    calls = "".join(f'<tool_call>{{"name": "read_sensor", "arguments": {{"id": "A-{k}"}}}}</tool_call>\n' for k in (1, 2))
    row = normalise({"tools": tools, "messages": [
        {"role": "user", "content": "Read A-1 and A-2."}, {"role": "assistant", "content": calls},
        {"role": "tool", "content": '<tool_response>{"t": 20}</tool_response>\n<tool_response>{"t": 21}</tool_response>',
         "timestamp": 1_700_000_000},
        {"role": "assistant", "content": "A-1 reads 20 and A-2 reads 21."}]}, "s", 0)
    assert [(m["role"], m["content"]) for m in row["messages"][2:4]] == [("tool", '{"t": 20}'), ("tool", '{"t": 21}')]
    assert [t["message"] for t in row["meta"]["state_times"]] == [2, 3]
    assert row_problem(row) is None


def test_a_glaive_row_reads_its_tools_from_the_system_prompt():
    """glaive-function-calling-v2 has no tools column: its functions follow "Use them if required -" in
    the system prompt, and every row was quarantined as unknown_tool."""
    fn = {"name": "court_weather", "description": "Forecast.", "parameters": {
        "type": "object", "properties": {"hours": {"type": "integer"}}, "required": ["hours"]}}
    other = {"name": "book_court", "parameters": {"type": "object", "properties": {}}}
    system = ("SYSTEM: You are a helpful assistant with access to the following functions. Use them if required -\n"
              + json.dumps(fn, indent=4) + "\n\n" + json.dumps(other, indent=4))
    row = normalise({"conversations": [
        {"from": "system", "value": system}, {"from": "human", "value": "Forecast for 8 hours?"},
        {"from": "gpt", "value": '<functioncall> {"name": "court_weather", "arguments": \'{"hours": 8}\'} <|endoftext|>'},
        {"from": "tool", "value": '{"rain_mm": 7}'}, {"from": "gpt", "value": "About 7 mm of rain."}]}, "s", 0)
    assert [t["function"]["name"] for t in row["tools"]] == ["court_weather", "book_court"]
    assert row["messages"][0]["content"] == "You are a helpful assistant with access to the following functions."
    assert row["messages"][2]["tool_calls"][0]["function"] == {"name": "court_weather", "arguments": {"hours": 8}}
    assert row_problem(row) is None
    trailing_comma = system.replace('"hours"\n', '"hours",\n')
    with pytest.raises(Reject, match="after 'Use them if required -' are not JSON objects"):
        normalise({"conversations": [{"from": "system", "value": trailing_comma},
                                     {"from": "human", "value": "q"}, {"from": "gpt", "value": "a"}]}, "s", 0)


def test_a_glaive_row_as_published_system_and_chat_strings():
    fn = {"name": "calculate_bmi", "parameters": {"type": "object", "properties": {
        "weight": {"type": "number"}, "height": {"type": "number"}}, "required": ["weight", "height"]}}
    row = {"system": "SYSTEM: You are a helpful assistant with access to the following functions. Use them if "
                     "required -\n" + json.dumps(fn, indent=4),
           "chat": "USER: I weigh 70 kg and I am 1.75 m tall. What's my BMI? \n\n\nASSISTANT: <functioncall> "
                   "{\"name\": \"calculate_bmi\", \"arguments\": '{\"weight\": 70, \"height\": 1.75}'} <|endoftext|>"
                   "\n\n\nFUNCTION RESPONSE: {\"bmi\": 22.86}\n\n\nASSISTANT: Your BMI is 22.86.\nThat is healthy. "
                   "<|endoftext|>\n\n\n"}
    out = normalise(json.dumps(row), "glaive", 0)
    assert out["meta"]["format"] == "glaive" and out["tools"] == [{"type": "function", "function": fn}]
    assert out["messages"] == [
        {"role": "system", "content": "You are a helpful assistant with access to the following functions."},
        {"role": "user", "content": "I weigh 70 kg and I am 1.75 m tall. What's my BMI?"},
        {"role": "assistant", "content": "", "tool_calls": [{"type": "function", "function": {
            "name": "calculate_bmi", "arguments": {"weight": 70, "height": 1.75}}}]},
        {"role": "tool", "content": '{"bmi": 22.86}'},
        {"role": "assistant", "content": "Your BMI is 22.86.\nThat is healthy."}]
    assert row_problem(out) is None
    with pytest.raises(Reject, match="does not start with a 'USER:'"):
        normalise(json.dumps({"system": "", "chat": "hello\nUSER: hi\nASSISTANT: hey"}), "glaive", 0)


def test_a_row_whose_every_answer_has_weight_0_trains_nothing_and_is_quarantined():
    def row(weights):
        msgs = [{"role": "user", "content": "Hi"}]
        for w in weights:
            msgs += [{"role": "assistant", "content": "Hello there.", "weight": w}, {"role": "user", "content": "Ok"}]
        return normalise({"tools": [WEATHER], "messages": msgs[:-1]}, "s", 0)

    assert row_problem(row([0])) == ("no_trained_turn", "all 1 assistant turn(s) have weight 0: the row trains no "
                                     "token, and would take a place in the mix")
    assert row_problem(row([0, 1])) is None and row_problem(row([0]), skip=["no_trained_turn"]) is None


def test_python_type_names_in_a_tool_schema_become_json_schema_names_and_a_property_named_type_stays():
    from evals.schema_names import with_json_schema_types
    bfcl = {"type": "dict", "properties": {
        "type": {"type": "str", "description": "a property named type"},
        "pair": {"type": "tuple", "items": {"type": "float"}},
        "either": {"anyOf": [{"type": "int"}, {"type": "any"}]},
        "flags": {"type": ["bool", "null"]}, "loose": {"type": ["str", "any"]}}, "required": ["type"]}
    assert with_json_schema_types(bfcl) == {"type": "object", "properties": {
        "type": {"type": "string", "description": "a property named type"},
        "pair": {"type": "array", "items": {"type": "number"}},
        "either": {"anyOf": [{"type": "integer"}, {}]},
        "flags": {"type": ["boolean", "null"]}, "loose": {}}, "required": ["type"]}
    valid = {"type": "object", "properties": {"city": {"type": "string"}}}
    assert with_json_schema_types(valid) is valid
    row = normalise(_chat(CALL, tools=[{"name": "get_weather", "parameters": {
        "type": "dict", "properties": {"city": {"type": "str"}}, "required": ["city"]}}]), "s", 0)
    assert row["tools"] == WRAPPED and row_problem(row) is None


STOCK = {"name": "get_stock_price", "parameters": {"type": "object", "properties": {"symbol": {"type": "string"}}}}
FX = {"name": "convert_currency", "parameters": {"type": "object", "properties": {"amount": {"type": "number"}}}}


def _hermes(*turns, tools=(STOCK, FX)):
    return json.dumps({"tools": json.dumps(list(tools)), "conversations": [
        {"from": "human", "value": "IBM price, and 10 USD in EUR?"}, *turns]})


def test_hermes_parallel_tool_responses_pair_with_the_call_each_names():
    calls = {"from": "gpt", "value": '<tool_call>{"name": "get_stock_price", "arguments": {"symbol": "IBM"}}</tool_call>'
                                     '<tool_call>{"name": "convert_currency", "arguments": {"amount": 10}}</tool_call>'}
    swapped = ('<tool_response>{"name": "convert_currency", "content": {"eur": 9.2}}</tool_response>\n'
               '<tool_response>{"name": "get_stock_price", "content": {"price": 170}}</tool_response>')
    out = normalise(_hermes(calls, {"from": "tool", "value": swapped}, {"from": "gpt", "value": "170; 9.2 EUR."}), "h", 0)
    results = [(m["name"], json.loads(m["content"])["name"]) for m in out["messages"] if m["role"] == "tool"]
    assert results == [("get_stock_price", "get_stock_price"), ("convert_currency", "convert_currency")]
    wrong = swapped.replace("convert_currency", "get_weather")
    with pytest.raises(Reject) as err:
        normalise(_hermes(calls, {"from": "tool", "value": wrong}, {"from": "gpt", "value": "x."}), "h", 0)
    assert err.value.check == "orphan_tool_result"


def test_a_tool_response_written_as_a_user_turn_is_the_tool_result():
    call = {"from": "gpt", "value": '<tool_call>{"name": "get_stock_price", "arguments": {"symbol": "INTC"}}</tool_call>'}
    result = {"from": "human", "value": '<tool_response>\n{"name": "get_stock_price", "content": {"price": 30}}\n</tool_response>'}
    out = normalise(_hermes(call, result, {"from": "gpt", "value": "INTC is at $30."}), "h", 0)
    assert [m["role"] for m in out["messages"]] == ["user", "assistant", "tool", "assistant"]
    assert out["messages"][2]["content"] == '{"name": "get_stock_price", "content": {"price": 30}}'
    openai = {"tools": [STOCK], "messages": [
        {"role": "user", "content": "INTC?"},
        {"role": "assistant", "content": "", "tool_calls": [{"type": "function", "function": {
            "name": "get_stock_price", "arguments": {"symbol": "INTC"}}}]},
        {"role": "user", "content": result["value"]}, {"role": "assistant", "content": "INTC is at $30."}]}
    assert normalise(json.dumps(openai), "o", 0)["messages"][2]["role"] == "tool"
    assert row_problem(out) is None


@pytest.mark.parametrize("text", [
    '<TOOLCALL>[{"name": "get_stock_price", "arguments": {"symbol": "BA"}}]</TOOLCALL>',  # NeMo / When2Call
    '[TOOL_CALLS][{"name": "get_stock_price", "arguments": {"symbol": "BA"}}]',  # Mistral
    "Sure! [get_stock_price(symbol='BA')]",  # ToolACE with text before its call list
])
def test_call_lists_other_templates_write_as_text_are_read_as_calls(text):
    for raw in (_chat({"role": "assistant", "content": text}, tools=[STOCK]),
                json.dumps({"tools": [STOCK], "conversations": [{"from": "human", "value": "BA?"},
                                                                {"from": "gpt", "value": text}]})):
        turn = normalise(raw, "s", 0)["messages"][1]
        assert turn["tool_calls"] == [{"type": "function", "function": {"name": "get_stock_price",
                                                                        "arguments": {"symbol": "BA"}}}]
        assert turn["content"] == ("Sure!" if text.startswith("Sure") else "")
    with pytest.raises(Reject) as err:
        normalise(_chat({"role": "assistant", "content": "[TOOL_CALLS] get_stock_price BA"}, tools=[STOCK]), "s", 0)
    assert err.value.check == "unparseable_tool_call" and "[TOOL_CALLS]" in err.value.reason


def test_a_json_call_in_a_code_fence_is_quarantined_like_bare_json():
    fenced = '```json\n{"name": "get_stock_price", "arguments": {"symbol": "BA"}}\n```'
    with pytest.raises(Reject) as err:
        normalise(_chat({"role": "assistant", "content": fenced}, tools=[STOCK]), "s", 0)
    assert err.value.check == "unsupported_call_syntax"
    prose = normalise(_chat({"role": "assistant", "content": '```json\n{"symbol": "BA"}\n```'}, tools=[STOCK]), "s", 0)
    assert prose["messages"][1]["content"].startswith("```json")


def test_glaive_arguments_with_an_apostrophe_are_read_and_an_unreadable_call_is_named_as_glaive():
    text = '<functioncall> {"name": "search_song", "arguments": \'{"title": "Don\'t Stop Me Now"}\'} <|endoftext|>'
    row = normalise(json.dumps({"conversations": [{"from": "human", "value": "Find it."}, {"from": "gpt", "value": text}]}),
                    "g", 0)
    assert row["messages"][1]["tool_calls"][0]["function"] == {"name": "search_song",
                                                               "arguments": {"title": "Don't Stop Me Now"}}
    with pytest.raises(Reject) as err:
        normalise(json.dumps({"conversations": [{"from": "human", "value": "x"}, {"from": "gpt", "value":
                  "<functioncall> {name: search_song} <|endoftext|>"}]}), "g", 0)
    assert err.value.check == "unparseable_tool_call" and "glaive <functioncall>" in err.value.reason


def test_an_assistant_turn_before_any_user_turn_is_quarantined_unless_it_trains_nothing():
    """A ShareGPT row opening with `gpt` (LLaMA-Factory drops it) was kept: its first turn taught an
    answer to no question. With `weight: 0` the greeting is context, and the row trains its later turns."""
    def conversation(greeting: dict) -> dict:
        return normalise({"tools": [WEATHER], "messages": [
            {"role": "system", "content": "Be brief."}, greeting, {"role": "user", "content": "Weather in Oslo?"},
            {"role": "assistant", "content": "Which unit?"}]}, "s", 0)
    sharegpt = normalise({"tools": json.dumps([WEATHER]), "conversations": [
        {"from": "gpt", "value": "Hi! How can I help?"}, {"from": "human", "value": "Weather?"},
        {"from": "gpt", "value": "Which city?"}]}, "s", 0)
    assert row_problem(sharegpt) == ("assistant_before_user", "message 0 is an assistant turn before any user turn: "
                                     "it would be trained as an answer to nothing (weight 0 keeps it as context)")
    assert row_problem(conversation({"role": "assistant", "content": "Hi! How can I help?"}))[0] == "assistant_before_user"
    assert row_problem(conversation({"role": "assistant", "content": "Hi! How can I help?", "weight": 0})) is None
    only_assistant = normalise({"tools": [WEATHER], "messages": [{"role": "assistant", "content": "Hello."}]}, "s", 0)
    assert row_problem(only_assistant)[0] == "no_user_turn"
    assert row_problem(sharegpt, skip=["assistant_before_user"]) is None


@pytest.mark.parametrize("where, row", [
    ("the function_call value", {"tools": json.dumps([WEATHER]), "conversations": [
        {"from": "human", "value": "Weather in Oslo?"},
        {"from": "function_call", "value": '{"name": "get_weather", "arguments": {"city": 5, "city": "Oslo"}}'},
        {"from": "observation", "value": "3 C"}, {"from": "gpt", "value": "It is 3 degrees."}]}),
    ("a <tool_call> or <tools> block", {"tools": [WEATHER], "messages": [
        {"role": "user", "content": "Weather in Oslo?"},
        {"role": "assistant", "content": '<tool_call>{"name": "get_weather", "arguments": {"city": 5, "city": "Oslo"}}'
                                         '</tool_call>'},
        {"role": "tool", "content": "3 C"}, {"role": "assistant", "content": "It is 3 degrees."}]}),
    ("a <tool_call> or <tools> block", {"tools": [WEATHER], "messages": [  # the Python-literal form
        {"role": "user", "content": "Weather in Oslo?"},
        {"role": "assistant", "content": "<tool_call>{'name': 'get_weather', 'arguments': {'city': 5, 'city': 'Oslo'}}"
                                         "</tool_call>"},
        {"role": "tool", "content": "3 C"}, {"role": "assistant", "content": "It is 3 degrees."}]}),
    ("conversations", {"conversations": '[{"from": "human", "value": "Hi?", "value": "Weather?"}, '
                                        '{"from": "gpt", "value": "Sunny."}]'}),
])
def test_a_key_named_twice_inside_a_row_is_quarantined_not_resolved_last_wins(where, row):
    """JSON (and a Python dict) keeps the last of two values for one key: the call trained on "Oslo" and
    its first argument, a type error, was never checked. Every place a row holds JSON text is read so."""
    with pytest.raises(Reject) as rej:
        normalise(json.dumps(row), "src", 0)
    assert rej.value.check == "duplicate_key" and where in rej.value.reason and "twice" in rej.value.reason


def test_a_tool_or_call_name_no_model_could_write_is_bad_structure():
    """Found by a fuzz of starter rows: a NUL or blank name of an offered tool trained as it stood."""
    def tools_named(name):
        return normalise(json.dumps({"tools": [WEATHER_TOOL, {"type": "function", "function": {
            "name": name, "parameters": {"type": "object", "properties": {}}}}], "messages": [
            {"role": "user", "content": "hi"}, {"role": "assistant", "content": "Hello."}]}), "s", 0)

    for name, why in (("\x00", "holds the control character '\\x00'"), ("  ", "is blank"),
                      ("get\nweather", "holds the control character '\\n'")):
        with pytest.raises(Reject, match=re.escape(f"tool 1's name {name[:40]!r} {why}")):
            tools_named(name)
    for fine in ("Market Trends API", "math.factorial", "x" * 300):   # names public datasets use
        assert tools_named(fine)["tools"][1]["function"]["name"] == fine
    with pytest.raises(Reject, match="a tool call's name 'get_weather\\\\x00' holds the control character"):
        normalise(json.dumps({"tools": [WEATHER_TOOL], "messages": [{"role": "user", "content": "hi"}, {
            "role": "assistant", "content": "", "tool_calls": [{"type": "function", "function": {
                "name": "get_weather\x00", "arguments": {"city": "Oslo"}}}]}]}), "s", 0)


def test_a_turn_of_control_characters_only_is_empty():
    def row(user, answer="Hello."):
        return normalise(json.dumps({"messages": [{"role": "user", "content": user},
                                                  {"role": "assistant", "content": answer}]}), "s", 0)
    assert row_problem(row("\x00"))[0] == "empty_user_turn"
    assert row_problem(row("hi", "\x00\x07 "))[0] == "empty_assistant_turn"
    assert row_problem(row("hi\x00 there")) is None   # a stray control character beside text is still text
