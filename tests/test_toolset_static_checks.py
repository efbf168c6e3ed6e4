"""Toolset checks decided from the file, not from draws (orchestrator/data/generators/toolset.py):
a slot's range or choice against its argument's schema, a slot only an option draws, joiners only
where parallel rows are made. Each found by a blind probe: the first two failed or passed by seed."""

import copy
import re

import pytest
import yaml

from orchestrator.data.generators import toolset
from orchestrator.data.generators.toolset import ToolsetError

BASE = {
    "system_prompt": "You route shipping requests.",
    "distractors": 1,
    "mix": {"single_tool": 1.0},
    "tools": {
        "ship": {"description": "Ship crates.", "parameters": {"type": "object", "properties": {
            "crates": {"type": "integer", "minimum": 1, "maximum": 40},
            "priority": {"type": "boolean"}}, "required": ["crates"]}},
        "track": {"description": "Track a parcel.", "parameters": {"type": "object", "properties": {
            "id": {"type": "string"}}, "required": ["id"]}},
    },
    "intents": {"ship": {
        "tool": "ship", "slots": {"n": {"range": [1, 40]}},
        "requests": ["Ship {n} crates.", "Send {n} crates out."],
        "arguments": {"crates": "{n}"},
        "optional": [{"p": 0.5, "arguments": {"priority": True}, "suffix": " as priority"}],
        "result": {"ok": True, "crates": "{n}"},
        "answers": ["Shipped {n} crates."]}},
}


def _load(tmp_path, edit=None):
    data = copy.deepcopy(BASE)
    if edit:
        edit(data)
    path = tmp_path / "ts.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True))
    return path, toolset.load_toolset(path)


def _refused(tmp_path, edit, where):
    path = tmp_path / "ts.yaml"
    with pytest.raises(ToolsetError, match="(?s)^" + re.escape(str(path)) + r": (?:1 problem\(s\) in the toolset:\n  - )?" + where):
        _load(tmp_path, edit)


def _ship(d):
    return d["intents"]["ship"]


def test_the_base_file_loads_and_generates(tmp_path):
    _, gen = _load(tmp_path)
    assert len(toolset.generate(gen, 40, seed=3)) == 40


@pytest.mark.parametrize("edit, where", [
    (lambda d: _ship(d)["slots"].update(n={"range": [0, 40]}),
     r"intents\.ship\.slots\.n: its range \[0, 40\] can draw 0, which ship's argument 'crates' refuses \(0 is less "
     r"than the minimum of 1\)"),
    (lambda d: _ship(d)["slots"].update(n={"range": [1, 41]}),
     r"intents\.ship\.slots\.n: its range \[1, 41\] can draw 41, .*greater than the maximum of 40"),
    (lambda d: _ship(d)["slots"].update(n={"choice": [5, 50]}),
     r"intents\.ship\.slots\.n: its choice can draw 50, which ship's argument 'crates' refuses"),
    (lambda d: _ship(d)["optional"][0].update(set={"n": {"range": [30, 60]}}),
     r"intents\.ship\.optional\[0\]\.set\.n: its range \[30, 60\] can draw 60"),
])
def test_a_slot_that_can_draw_a_value_the_argument_refuses_is_refused_whatever_the_seed(tmp_path, edit, where):
    _refused(tmp_path, edit, where)


def test_a_flow_step_is_held_to_the_same_rule(tmp_path):
    def flow(d):
        d["mix"]["multi_tool_sequential"] = 0.5
        d["flows"] = {"ship_then_track": {
            "scenario": "multi_tool_sequential", "slots": {"n": {"range": [0, 3]}, "id": {"choice": ["PX-1"]}},
            "requests": ["Ship {n} crates and track PX-1."],
            "steps": [{"tool": "ship", "arguments": {"crates": "{n}"}, "result": {"ok": True}},
                      {"tool": "track", "arguments": {"id": "{id}"}, "result": {"at": "depot"}}],
            "answers": ["Shipped {n}; PX-1 is at the depot."]}}
    _refused(tmp_path, flow, r"flows\.ship_then_track\.slots\.n: its range \[0, 3\] can draw 0")


def test_a_slot_only_an_option_draws_must_not_be_named_where_rows_skip_the_option(tmp_path):
    def answer_uses_it(d):
        _ship(d)["optional"][0]["set"] = {"fee": {"choice": [12, 15]}}
        _ship(d)["answers"] = ["Shipped {n} crates for {fee} euros."]
    _refused(tmp_path, answer_uses_it, r"intents\.ship\.answers: \{fee\} is drawn only by optional\[0\] \(its `set:`\), "
                                       r"but rows that skip that option use the answers too")

    def redrawn(d):  # drawn by the intent too: the option only redraws it, every row has one
        answer_uses_it(d)
        _ship(d)["slots"]["fee"] = {"choice": [9, 10]}
    _, gen = _load(tmp_path, redrawn)
    assert len(toolset.generate(gen, 30, seed=1)) == 30


def test_joiners_are_needed_only_for_parallel_rows(tmp_path):
    assert "joiners" not in BASE
    _load(tmp_path)   # no parallel rows: nothing reads a joiner

    def parallel(d):
        d["mix"]["multi_tool_parallel"] = 0.5
        d["intents"]["track"] = {"tool": "track", "slots": {"id": {"choice": ["PX-1", "PX-2"]}},
                                 "requests": ["Where is {id}?"], "arguments": {"id": "{id}"},
                                 "result": {"at": "depot"}, "answers": ["{id} is at the depot."]}
    _refused(tmp_path, parallel, r"joiners: the mix asks for multi_tool_parallel rows")
    _load(tmp_path, lambda d: parallel(d) or d.update(joiners=[" Also, "]))


@pytest.mark.parametrize("value, kind", [(None, "null"), ([1, 2], "a list"), ({"a": 1}, "a mapping")])
def test_a_value_a_text_cannot_write_is_refused_from_the_slot_not_the_draw(tmp_path, value, kind):
    """`choice: [12, null]` wrote "Shipped 12 crates for None euros." on the draws that hit it."""
    def fee(d):
        _ship(d)["slots"]["fee"] = {"choice": [12, value]}
        _ship(d)["answers"] = ["Shipped {n} crates for {fee} euros."]
    _refused(tmp_path, fee, rf"intents\.ship\.slots\.fee\.choice\[1\]: is {kind}, and \{{fee\}} is written inside a text")

    def whole_value(d):   # a whole "{fee}" is a JSON value, which may be any of them
        _ship(d)["slots"]["fee"] = {"choice": [12, value]}
        _ship(d)["result"] = {"ok": True, "fee": "{fee}"}
    _, gen = _load(tmp_path, whole_value)
    assert len(toolset.generate(gen, 20, seed=2)) == 20


def test_a_request_of_control_characters_only_is_blank(tmp_path):
    _refused(tmp_path, lambda d: _ship(d)["requests"].append("\x00"), r"intents\.ship\.requests: .*empty or blank")
