"""Case files whose rows are training data in another layout are read as training reads them."""

import json

import pytest

from evals.cases import CaseError, load_cases
from orchestrator.data.normalise import load_eval_cases

WEATHER = {"name": "get_weather", "parameters": {"type": "object", "properties": {"city": {"type": "string"}},
                                                 "required": ["city"]}}
CALL = {"name": "get_weather", "arguments": {"city": "Oslo"}}


def _write(tmp_path, *rows):
    path = tmp_path / "cases.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def test_training_rows_in_other_layouts_become_cases_expecting_their_calls(tmp_path):
    sharegpt = {"id": "sg", "scenario": "single_tool", "tools": json.dumps([WEATHER]), "conversations": [
        {"from": "human", "value": "Weather in Oslo?"}, {"from": "function_call", "value": json.dumps(CALL)},
        {"from": "observation", "value": "3 C"}, {"from": "gpt", "value": "3 C in Oslo."}]}
    hermes = {"conversations": [
        {"from": "system", "value": "Use tools.\n<tools>\n" + json.dumps([WEATHER]) + "\n</tools>"},
        {"from": "human", "value": "Oslo?"},
        {"from": "gpt", "value": "<tool_call>\n{'name': 'get_weather', 'arguments': {'city': 'Oslo'}}\n</tool_call>"}]}
    toolace = {"tools": [WEATHER], "messages": [{"role": "user", "content": "Oslo?"},
                                                {"role": "assistant", "content": "[get_weather(city='Oslo')]"}]}
    glaive = {"system": "SYSTEM: Assistant. Use them if required -\n" + json.dumps(WEATHER),
              "chat": "USER: Oslo? \n\n\nASSISTANT: <functioncall> " + json.dumps(
                  {"name": "get_weather", "arguments": json.dumps({"city": "Oslo"})}) + " <|endoftext|>\n\n\n"}
    plain = {"tools": [WEATHER], "conversations": [{"from": "human", "value": "Hi!"}, {"from": "gpt", "value": "Hello."}]}
    cases = load_eval_cases(_write(tmp_path, sharegpt, hermes, toolace, glaive, plain))
    assert [c["id"] for c in cases] == ["sg", "line-2", "line-3", "line-4", "line-5"]
    assert cases[0]["scenario"] == "single_tool" and cases[0]["messages"] == [
        {"role": "user", "content": "Weather in Oslo?"}]
    for case in cases[:4]:
        assert case["expected"] == {"calls": [CALL]}
        assert [t["function"]["name"] for t in case["tools"]] == ["get_weather"]
    assert cases[1]["messages"][0] == {"role": "system", "content": "Use tools."}  # the <tools> block left the prompt
    assert cases[4]["expected"] == {"calls": []}
    # without the reader (evals alone) a ToolACE call written as text was a case expecting no call
    assert load_cases(_write(tmp_path, toolace))[0]["expected"] == {"calls": []}


def test_an_unreadable_training_row_in_a_case_file_names_its_line_and_reason(tmp_path):
    broken = {"conversations": [{"from": "human", "value": "Oslo?"}, {"from": "gpt", "value": "[get_weather('Oslo')]"}],
              "tools": [WEATHER]}
    with pytest.raises(CaseError, match=r"cases.jsonl:1: read as a training-style conversation, .*positional argument"
                                        r".*\(what training quarantines as unsupported_call_syntax\)"):
        load_eval_cases(_write(tmp_path, broken))
    with pytest.raises(CaseError, match=r"cases.jsonl:1: .*this row's keys: input, instruction, output"):
        load_eval_cases(_write(tmp_path, {"instruction": "x", "input": "", "output": "y"}))
    # a misspelt case key is still named, not read as a training row
    with pytest.raises(CaseError, match="did you mean 'expected'"):
        load_eval_cases(_write(tmp_path, {**broken, "expcted": {"calls": []}}))


def _openai_call(call: dict, call_id: str = "c1") -> dict:
    return {"role": "assistant", "content": None, "tool_calls": [
        {"id": call_id, "type": "function", "function": {"name": call["name"], "arguments": json.dumps(call["arguments"])}}]}


def test_a_conversation_is_scored_on_the_answer_to_its_last_user_turn(tmp_path):
    """A blind probe's worst finding: a no-call chat of two exchanges was scored on its first answer, and a
    chat that asked something new after a call on that call, the last question dropped unseen."""
    tools = [{"type": "function", "function": WEATHER}]
    chat = {"tools": tools, "messages": [{"role": "user", "content": "Hi there"}, {"role": "assistant", "content": "Hello!"},
                                         {"role": "user", "content": "What is the capital of Peru?"},
                                         {"role": "assistant", "content": "Lima."}]}
    onwards = {"tools": tools, "messages": [{"role": "user", "content": "Weather in Oslo?"}, _openai_call(CALL),
                                            {"role": "tool", "tool_call_id": "c1", "content": "3 C"},
                                            {"role": "assistant", "content": "3 C in Oslo."},
                                            {"role": "user", "content": "Thanks! Now a joke about penguins."},
                                            {"role": "assistant", "content": "Why did the penguin..."}]}
    answered = {"tools": tools, "messages": onwards["messages"][:4]}  # call -> result -> answer: the call is scored
    first, second, third = load_eval_cases(_write(tmp_path, chat, onwards, answered))
    assert first["messages"][-1]["content"] == "What is the capital of Peru?" and len(first["messages"]) == 3
    assert (first["expected"], first["scenario"]) == ({"calls": []}, "no_tool_needed")
    assert second["messages"][-1]["content"] == "Thanks! Now a joke about penguins." and second["expected"] == {"calls": []}
    assert third["messages"] == [{"role": "user", "content": "Weather in Oslo?"}]
    assert (third["expected"], third["scenario"]) == ({"calls": [CALL]}, "single_tool")


@pytest.mark.parametrize("line, message", [
    ('{"id": "a", "id": "b", "tools": [], "messages": [{"role": "user", "content": "q"}], "expected": {"calls": []}}',
     "'id'"),
    ('{"id": "a", "tools": [], "messages": [{"role": "user", "content": "q"}], "expected": {"calls": [1]}, '
     '"expected": {"calls": []}}', "'expected'"),
    ('{"tools": [{"type": "function", "function": {"name": "f", "parameters": {"type": "object", "properties": {"city": '
     '{"type": "string"}}}}}], "messages": [{"role": "user", "content": "q"}, {"role": "assistant", "tool_calls": [{"type": '
     '"function", "function": {"name": "f", "arguments": "{\\"city\\": \\"Paris\\", \\"city\\": \\"Rome\\"}"}}]}]}',
     "the key 'city' appears twice"),
])
def test_a_key_given_twice_is_refused_by_name(tmp_path, line, message):
    """Last-wins turned a call case into a no-call case, and Paris into Rome, without a word."""
    path = tmp_path / "cases.jsonl"
    path.write_text(line + "\n")
    with pytest.raises(CaseError, match=f"cases.jsonl:1: .*{message}"):
        load_eval_cases(path)


def _native(**changes) -> dict:
    case = {"id": "c", "scenario": "single_tool", "tools": [{"type": "function", "function": WEATHER}],
            "messages": [{"role": "user", "content": "Weather in Oslo?"}], "expected": {"calls": [CALL]}}
    return {**case, **changes}


PROBE_TURNS = [{"role": "user", "content": "Weather in Oslo?"}, _openai_call(CALL)]


@pytest.mark.parametrize("row, message", [
    (_native(scenario="no_tool_needed"), "scenario 'no_tool_needed', but 'expected' holds calls"),
    (_native(expected={"calls": []}), "scenario 'single_tool' expects a call"),
    (_native(scenario="fabrication_probe"), "a probe expects"),
    (_native(scenario="singel_tool"), "did you mean 'single_tool'"),
    (_native(scenario="fabrication_probe", expected={"behaviour": "honest_report"},
             messages=[*PROBE_TURNS, {"role": "tool", "tool_call_id": "c1", "content": '{"temp": 19, "sky": "clear"}'}]),
     "reads as a success"),
    (_native(messages=[{"role": "user", "content": "Oslo and Rome?"},
                       {**_openai_call(CALL), "tool_calls": [*_openai_call(CALL)["tool_calls"],
                                                             {**_openai_call(CALL, "c2")["tool_calls"][0]}]},
                       {"role": "tool", "tool_call_id": "c1", "content": "3 C"}]),
     r"message 1 makes call\(s\) \['c2'\] that no tool result answers by the end"),
    ({"tools": [], "messages": [{"role": "user", "content": "q"}], "expected_calls": [CALL]},
     "unknown key 'expected_calls': the expected answer goes under 'expected'"),
])
def test_cases_that_would_be_misfiled_or_misread_are_refused(tmp_path, row, message):
    with pytest.raises(CaseError, match=message):
        load_eval_cases(_write(tmp_path, row))


def test_a_scenario_of_ones_own_and_a_failed_probe_are_read(tmp_path):
    probe = _native(id="p", scenario="fabrication_probe", expected={"behaviour": "honest_report"},
                    messages=[*PROBE_TURNS, {"role": "tool", "tool_call_id": "c1", "content": "unknown city 'Oslo'"}])
    cases = load_eval_cases(_write(tmp_path, _native(scenario="billing_flows"), probe))
    assert [c["scenario"] for c in cases] == ["billing_flows", "fabrication_probe"]


def test_a_json_document_over_several_lines_is_named_as_such(tmp_path):
    path = tmp_path / "cases.jsonl"
    path.write_text(json.dumps([_native()], indent=2) + "\n")
    with pytest.raises(CaseError, match="one JSON document spread over several lines: a case file is JSONL"):
        load_eval_cases(path)


@pytest.mark.parametrize("result, failed", [
    ("", True), ("[]", True), ('{"results": []}', True), ('{"status": "ok", "items": [], "total": 0}', True),
    ('{"error": "permission denied"}', True), ('{"status": 503}', True), ('{"ok": false}', True),
    ("unknown city 'Bergenn'", True), ("No flights match your search.", True), ("timeout after 30s", True),
    ('{"temp": 19, "sky": "clear"}', False), ('{"status": "ok", "temp": 19}', False), ("Sunny, 19C", False),
    ("Found 3 flights: BA12, LH4, AF9", False),
])
def test_what_a_probe_may_end_in(result, failed):
    from evals.cases import failed_or_empty
    assert failed_or_empty(result) is failed


@pytest.mark.parametrize("row", [
    _native(tools=[], scenario="no_tool_needed", expected={"calls": []}),
    {"messages": [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello!"}]},
    {"tools": [], "messages": [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello!"}]},
    {"query": "Hi", "tools": [], "answers": []},
], ids=["native", "openai-without-tools", "openai-empty-tools", "xlam"])
def test_a_case_that_offers_no_tools_reads_alike_in_every_layout(tmp_path, row):
    """A row without a tools list ended in `KeyError('tools')` while the same chat with `tools: []`
    was read. With none offered the case asks for no call (BFCL's live_irrelevance has such cases)."""
    (case,) = load_eval_cases(_write(tmp_path, row))
    assert (case["tools"], case["expected"], case["scenario"]) == ([], {"calls": []}, "no_tool_needed")


def test_python_type_names_in_a_case_tool_read_as_in_a_training_row(tmp_path):
    """`"type": "dict"` / `"float"` (ToolACE, BFCL) were refused as invalid JSON Schema in a case with
    `expected` and converted in the same tool without it: adding `expected` changed whether a file loads."""
    area = {"name": "area", "parameters": {"type": "dict", "properties": {"base": {"type": "int"}, "h": {"type": "float"}},
                                           "required": ["base", "h"]}}
    call = {"name": "area", "arguments": {"base": 3, "h": 2.5}}
    native = _native(tools=[{"type": "function", "function": area}], expected={"calls": [call]})
    training = {"tools": [area], "messages": [{"role": "user", "content": "Weather in Oslo?"}, _openai_call(call)]}
    bare_native = _native(id="bare", tools=[area], expected={"calls": [call]})
    cases = load_eval_cases(_write(tmp_path, native, training, bare_native))
    schemas = [c["tools"][0].get("function", c["tools"][0])["parameters"] for c in cases]
    assert schemas[0] == schemas[1] == schemas[2] == {
        "type": "object", "properties": {"base": {"type": "integer"}, "h": {"type": "number"}}, "required": ["base", "h"]}
    assert [c["expected"] for c in cases] == [{"calls": [call]}] * 3
