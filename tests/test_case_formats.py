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
    with pytest.raises(CaseError, match=r"cases.jsonl:1: unsupported_call_syntax: .*positional argument"):
        load_eval_cases(_write(tmp_path, broken))
    with pytest.raises(CaseError, match=r"cases.jsonl:1: .*this row's keys: input, instruction, output"):
        load_eval_cases(_write(tmp_path, {"instruction": "x", "input": "", "output": "y"}))
    # a misspelt case key is still named, not read as a training row
    with pytest.raises(CaseError, match="did you mean 'expected'"):
        load_eval_cases(_write(tmp_path, {**broken, "expcted": {"calls": []}}))
