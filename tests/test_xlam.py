"""xLAM rows (Salesforce xlam-function-calling-60k, xlam-irrelevance) as training rows and eval cases."""

import json

import pytest

from evals.cases import CaseError, load_cases
from evals.tools import tool_schema_problem
from evals.xlam import XlamError, parameters_schema, type_schema, xlam_calls
from orchestrator.data.filters import row_problem
from orchestrator.data.normalise import Reject, normalise

# Written as xLAM writes them: tools and answers are JSON text, parameters one entry per parameter
# with a Python-style type, "default": "" on a parameter that has none, defaults written as text.
GIVEAWAYS = {"name": "live_giveaways_by_type", "description": "Retrieve live giveaways by type.",
             "parameters": {"type": {"description": "The type of giveaways (game, loot, beta).", "type": "str",
                                     "default": "game"}}}
POSTS = {"name": "user_posts", "description": "Posts of a user.",
         "parameters": {"user_id": {"description": "User id.", "type": "int", "default": ""},
                        "limit": {"description": "How many.", "type": "int, optional", "default": "10"},
                        "tags": {"description": "Tags.", "type": "List[str], optional", "default": ""}}}


def _row(query, answers, tools, **extra):
    return json.dumps({"id": 7, "query": query, "answers": json.dumps(answers), "tools": json.dumps(tools), **extra})


@pytest.mark.parametrize("text, schema, optional", [
    ("str", {"type": "string"}, False),
    ("int, optional", {"type": "integer"}, True),
    ("float", {"type": "number"}, False),
    ("bool, optional", {"type": "boolean"}, True),
    ("List[str]", {"type": "array", "items": {"type": "string"}}, False),
    ("List[Dict[str, Any]]", {"type": "array", "items": {"type": "object"}}, False),
    ("Tuple[int, int]", {"type": "array", "items": {"type": "integer"}}, False),
    ("Tuple[int, str]", {"type": "array"}, False),
    ("Dict[str, Any], optional", {"type": "object"}, True),
    ("Union[int, float]", {"type": ["integer", "number"]}, False),
    ("Optional[str]", {"type": "string"}, True),
    ("Union[str, None]", {"type": "string"}, True),
    ("typing.List[int]", {"type": "array", "items": {"type": "integer"}}, False),
    ("Any", {}, False),
    ("Callable", {}, False),
    ("pandas.DataFrame", {}, False),
])
def test_python_style_types_become_json_schema(text, schema, optional):
    assert type_schema(text) == (schema, optional)


def test_parameters_become_a_json_schema_object_with_required_and_usable_defaults():
    schema = parameters_schema(POSTS["parameters"], "user_posts")
    assert schema == {"type": "object", "required": ["user_id"], "properties": {
        "user_id": {"type": "integer", "description": "User id."},
        "limit": {"type": "integer", "description": "How many.", "default": 10},  # "10" read as the int it is
        "tags": {"type": "array", "items": {"type": "string"}, "description": "Tags."}}}
    assert tool_schema_problem([{"type": "function", "function": {"name": "user_posts", "parameters": schema}}]) is None
    # a default that does not fit the type is left out, not shown wrong; only "optional" (or a default
    # written in the type) makes a parameter optional: xLAM's default on a required one is an example
    odd = parameters_schema({"n": {"type": "int", "default": "ten"}, "flag": {"type": "bool", "default": "True"},
                             "city": {"type": "str", "default": "London"},
                             "mode": {"type": "str, default='strict'"}, "k": {"type": "int, default=5"}}, "t")
    assert odd["properties"]["n"] == {"type": "integer"} and odd["required"] == ["n", "flag", "city"]
    assert odd["properties"]["flag"]["default"] is True and odd["properties"]["city"]["default"] == "London"
    assert odd["properties"]["mode"] == {"type": "string", "default": "strict"}
    assert odd["properties"]["k"] == {"type": "integer", "default": 5}
    # parameters that already are JSON Schema are kept as they are
    already = {"type": "object", "properties": {"q": {"type": "string"}}, "required": ["q"]}
    assert parameters_schema(already, "t") is already


def test_a_row_with_parallel_calls_becomes_one_assistant_turn_that_passes_the_filter():
    out = normalise(_row("Giveaways for beta and games?", [
        {"name": "live_giveaways_by_type", "arguments": {"type": "beta"}},
        {"name": "live_giveaways_by_type", "arguments": {"type": "game"}}], [GIVEAWAYS]), "xl", 3)
    call = lambda t: {"type": "function", "function": {"name": "live_giveaways_by_type", "arguments": {"type": t}}}  # noqa: E731
    assert out["messages"] == [{"role": "user", "content": "Giveaways for beta and games?"},
                               {"role": "assistant", "content": "", "tool_calls": [call("beta"), call("game")]}]
    assert out["tools"][0]["function"]["parameters"]["properties"]["type"]["type"] == "string"
    assert out["meta"]["format"] == "xlam" and out["meta"]["original_id"] == 7
    assert row_problem(out) is None
    # the same row with the format named
    assert normalise(_row("Giveaways?", [{"name": "live_giveaways_by_type", "arguments": {}}], [GIVEAWAYS]),
                     "xl", 0, "xlam")["meta"]["format"] == "xlam"


def test_the_filter_checks_xlam_arguments_against_the_converted_schema():
    bad = normalise(_row("Posts of user 42", [{"name": "user_posts", "arguments": {"user_id": "forty-two"}}], [POSTS]),
                    "xl", 0)
    assert row_problem(bad)[0] == "invalid_arguments"
    missing = normalise(_row("Posts", [{"name": "user_posts", "arguments": {"limit": 5}}], [POSTS]), "xl", 1)
    assert row_problem(missing)[0] == "missing_required_argument"
    example_default = normalise(_row("Giveaways", [{"name": "live_giveaways_by_type", "arguments": {}}],
                                     [GIVEAWAYS]), "xl", 2)
    assert row_problem(example_default)[0] == "missing_required_argument"
    invented = normalise(_row("Posts of 42", [{"name": "user_posts", "arguments": {"user_id": 42, "page": 2}}],
                              [POSTS]), "xl", 3)
    assert row_problem(invented) == ("undeclared_argument", "message 1: 'user_posts' is called with argument(s) "
                                     "['page'] its schema does not declare (it declares ['limit', 'tags', 'user_id'])")


@pytest.mark.parametrize("raw, check", [
    (_row("Tell me a joke.", [], [POSTS]), "no_reply"),  # an irrelevance row: nothing to train on
    (json.dumps({"query": "x", "answers": "[{\"name\": ", "tools": "[]"}), "bad_structure"),
    (json.dumps({"query": "", "answers": "[]", "tools": "[]"}), "bad_structure"),
    (json.dumps({"query": "x", "answers": "[{\"arguments\": {}}]", "tools": "[]"}), "bad_structure"),
    (json.dumps({"query": "x", "answers": "[{\"name\": \"f\", \"arguments\": [1]}]", "tools": "[]"}), "bad_structure"),
    (json.dumps({"query": "x", "answers": "[]", "tools": "{\"name\": \"f\"}"}), "bad_structure"),
    (json.dumps({"query": "x", "answers": "[{\"name\": \"f\", \"arguments\": {}}]",
                 "tools": json.dumps([{"name": "f", "parameters": {"a": "str"}}])}), "bad_structure"),
])
def test_unreadable_xlam_rows_are_quarantined_with_the_reason(raw, check):
    with pytest.raises(Reject) as err:
        normalise(raw, "xl", 0)
    assert err.value.check == check and (check != "bad_structure" or "xlam row" in err.value.reason)


def test_arguments_written_as_json_text_are_read_and_a_repeated_key_refused():
    assert xlam_calls([{"name": "f", "arguments": "{\"a\": 1}"}]) == [{"name": "f", "arguments": {"a": 1}}]
    with pytest.raises(XlamError):
        xlam_calls([{"name": "f", "arguments": "{\"a\": 1, \"a\": 2}"}])


def test_xlam_rows_are_eval_cases_and_an_irrelevance_row_expects_no_call(tmp_path):
    path = tmp_path / "xlam.jsonl"
    path.write_text("\n".join([
        _row("Posts of user 42, five of them", [{"name": "user_posts", "arguments": {"user_id": 42, "limit": 5}}],
             [POSTS]),
        json.dumps({"query": "Tell me a joke.", "answers": "[]", "tools": json.dumps([POSTS])}),
        json.dumps({"id": "g", "query": "beta and games", "tools": [GIVEAWAYS], "answers": [
            {"name": "live_giveaways_by_type", "arguments": {"type": "beta"}},
            {"name": "live_giveaways_by_type", "arguments": {"type": "game"}}]})]) + "\n")
    first, irrelevant, parallel = load_cases(path)
    assert (first["id"], first["scenario"]) == ("7", "single_tool")
    assert first["messages"] == [{"role": "user", "content": "Posts of user 42, five of them"}]
    assert first["expected"] == {"calls": [{"name": "user_posts", "arguments": {"user_id": 42, "limit": 5}}]}
    assert (irrelevant["id"], irrelevant["scenario"], irrelevant["expected"]) == ("line-2", "no_tool_needed", {"calls": []})
    assert parallel["scenario"] == "multi_tool_parallel" and len(parallel["expected"]["calls"]) == 2
    # an expected call that breaks its own converted schema is refused like any case's
    path.write_text(_row("Posts", [{"name": "user_posts", "arguments": {"user_id": "x"}}], [POSTS]) + "\n")
    with pytest.raises(CaseError, match="xlam.jsonl:1"):
        load_cases(path)
    path.write_text(json.dumps({"query": "x", "answers": "not json", "tools": "[]"}) + "\n")
    with pytest.raises(CaseError, match=r"xlam.jsonl:1: an xLAM row \(query \+ answers\): answers is a string"):
        load_cases(path)
