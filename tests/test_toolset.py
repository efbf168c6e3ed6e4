"""The YAML toolset generator: 5 000 varied examples over seven scenarios, valid calls, clear errors."""

import json
import re
from collections import Counter
from pathlib import Path

import jsonschema
import pytest
import yaml

from orchestrator.data.generators import eval_sets
from evals.cases import case_from_example, load_cases
from orchestrator.data.generators import starter
from orchestrator.data.filters import string_values
from orchestrator.data.generators import toolset
from orchestrator.data.generators.toolset import TemplateError, ToolsetError, evaluate, render

ROOT = Path(__file__).resolve().parent.parent
STARTER = ROOT / "data/toolsets/starter.yaml"


@pytest.fixture(scope="module")
def gen():
    return toolset.load_toolset(STARTER)


@pytest.fixture(scope="module")
def rows(gen):
    return toolset.generate(gen, 5000, seed=0)


def test_five_thousand_varied_examples_in_all_seven_scenarios(gen, rows):
    assert len(rows) == 5000
    users = [toolset.first_user_text(r) for r in rows]
    assert len(set(users)) == 5000
    leads = sorted((x for x in gen.ts.lead_ins if x), key=len, reverse=True)
    bare = {re.sub("^(" + "|".join(map(re.escape, leads)) + ")", "", u) for u in users}
    assert len(bare) >= 4500            # varied by templates and slots, not only by lead-ins
    counts = Counter(r["scenario"] for r in rows)
    assert set(counts) == set(toolset.SCENARIOS)
    assert 0.10 <= counts["no_tool_needed"] / len(rows) <= 0.20
    assert all(r["meta"] == {"track": "toolset", "scenario": r["scenario"]} for r in rows)


def test_every_call_validates_against_its_offered_schema(rows):
    validators = {}
    for r in rows:
        offered = {t["function"]["name"]: t["function"]["parameters"] for t in r["tools"]}
        calls = [tc["function"] for m in r["messages"] for tc in m.get("tool_calls") or []]
        for c in calls:
            schema = offered[c["name"]]
            key = json.dumps(schema, sort_keys=True)
            validators.setdefault(key, jsonschema.Draft202012Validator(schema)).validate(c["arguments"])
        tool_turns = [m for m in r["messages"] if m["role"] == "tool"]
        assert len(tool_turns) == len(calls) and (calls or r["scenario"] == "no_tool_needed")
        assert r["messages"][-1]["role"] == "assistant" and r["messages"][-1]["content"]
        assert len(r["tools"]) == len({c["name"] for c in calls}) + 3


def test_deterministic_and_seeded(gen):
    assert toolset.generate(gen, 200, seed=7) == toolset.generate(gen, 200, seed=7)
    assert toolset.generate(gen, 200, seed=7) != toolset.generate(gen, 200, seed=8)


def test_no_filled_value_is_shared_with_any_eval_set(rows):
    generated = set().union(*(eval_sets.filled_values(case_from_example(r)) for r in rows))
    evals = set()
    for name in ("dev", "test", "long_8k", "long_28k"):
        evals |= set().union(*map(eval_sets.filled_values, load_cases(ROOT / f"evals/sets/{name}.jsonl")))
    assert generated and not generated & evals


def test_yaml_describes_the_starter_tools_and_pools():
    data = yaml.safe_load(STARTER.read_text())
    assert {n: {"type": "function", "function": {"name": n, **t}} for n, t in data["tools"].items()} == starter.TOOLS
    s = starter.DEFAULT_SLOTS
    pools = data["pools"]
    assert pools["city"] == s.cities and pools["file"] == s.files and pools["url"] == s.urls
    assert [(p["name"], p["email"]) for p in pools["person"]] == s.people
    assert pools["command"] == s.commands and pools["project"] == s.projects and pools["date"] == s.dates
    assert [(f["key"], f["value"]) for f in pools["fact"]] == s.memory_facts


def test_templates_render_hand_checked_cases():
    values = {"h": 9, "m": 5, "city": "Oslo", "p": {"name": "Lena", "email": "l@example.com"}, "n": 7.0, "x": 2.5}
    assert render("{h:02d}:{m:02d}", values) == "09:05"
    assert render("{p.name} <{p.email}> in {city|upper}, {city|typo}", values) == "Lena <l@example.com> in OSLO, Osloo"
    assert render({"a": ["{h}", "{n}", "h={h}", "{x}"]}, values) == {"a": [9, 7, "h=9", 2.5]}
    assert render("{{literal}} {n}", values) == "{literal} 7"
    assert evaluate("(h * 60 + m + 70) // 60", values) == 10 and evaluate("h / 2", values) == 4.5
    with pytest.raises(TemplateError, match="unknown slot"):
        render("{nope}", values)
    # a blind probe: "Refund 100" called with 99.999, "0" with 1e-07: the text says the value the call holds
    exact = {"a": 99.999, "b": 1e-07, "c": 1234.5678, "d": True}
    assert render("refund {a}, {b}, {c}, wrap: {d}", exact) == "refund 99.999, 0.0000001, 1234.5678, wrap: true"
    assert render("{a:.1f}", exact) == "100.0"  # a format spec still rounds where a template asks
    assert evaluate("x * 3", {"x": 0.1}) == 0.3  # not 0.30000000000000004: the call and the text agree
    # a parallel request's second half keeps a slot's word in its case: the name beside an email argument
    person = {"p": {"name": "Carla", "email": "carla.r@shop.example"}}
    assert toolset._lower_first_word("Carla (carla.r@shop.example) wants 5.", [{"to": "carla.r@shop.example"}, person]) \
        == "Carla (carla.r@shop.example) wants 5."
    assert toolset._lower_first_word("Show my tickets.", [{}, person]) == "show my tickets."
    with pytest.raises(TemplateError, match="unsupported expression"):
        evaluate("__import__('os').getcwd()", values)


def _broken(tmp_path, edit) -> Path:
    data = yaml.safe_load(STARTER.read_text())
    edit(data)
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


@pytest.mark.parametrize("edit, where", [
    (lambda d: d["intents"]["weather"].update(colour="red"), r"intents\.weather\.colour: unknown key"),
    (lambda d: d["intents"]["weather"]["slots"].update(city="towns"), r"intents\.weather\.slots\.city: unknown pool 'towns'"),
    (lambda d: d["intents"]["shell"].update(arguments={"command": "{cmd}"}), r"intents\.shell\.arguments: unknown slot \{cmd\}"),
    (lambda d: d["intents"]["get_ticket"].update(arguments={}),
     r"intents\.get_ticket\.arguments: generated arguments do not fit get_ticket's schema: 'ticket_id' is a required"),
    (lambda d: d["flows"]["fetch_down"]["steps"][0].update(tool="ping"), r"flows\.fetch_down\.steps\[0\]\.tool: unknown tool 'ping'"),
    (lambda d: d["mix"].update(smalltalk=1), r"mix\.smalltalk"),
    (lambda d: d["tools"]["get_weather"]["parameters"].update(type=5), r"tools\.get_weather\.parameters: not a valid JSON schema"),
    # blank texts, glued lead-ins and joiners, a wrong `unlike`, undeclared arguments, a bad format, {slot} in the prompt
    (lambda d: d["intents"]["weather"].update(requests=["   "]), r"intents\.weather\.requests: .*empty or blank"),
    (lambda d: d.update(lead_ins=["so"]), r"lead_ins: .*must end in a space"),
    (lambda d: d.update(joiners=[""]), r"joiners: .*a space on each side"),
    (lambda d: d["flows"]["warmer_city"]["slots"]["b"].update(unlike=["aa"]),
     r"flows\.warmer_city\.slots\.b\.unlike: unknown slot 'aa'"),
    (lambda d: d["intents"]["get_ticket"]["arguments"].update(reasn="{state}"),
     r"intents\.get_ticket\.arguments: argument\(s\) \['reasn'\] are not parameters of get_ticket"),
    (lambda d: (d["tools"]["get_weather"]["parameters"]["properties"]["city"].update(format="date")),
     r"intents\.weather\.arguments\.city: generated arguments do not fit get_weather's schema: .* is not a 'date'"),
    (lambda d: d.update(system_prompt="You are {bot}."), r"system_prompt: unknown slot \{bot\}"),
    # found by a blind probe: a request that leaves out a value the call uses (the model learns to invent it),
    # a boolean weight, parameters that are no object schema, a default its own schema refuses
    (lambda d: d["intents"]["weather"]["requests"].append("What's it like out there?"),
     r"intents\.weather\.requests\[12\]: \"What's it like out there\?\" does not say \{city\}, which the call's"),
    (lambda d: d["mix"].update(single_tool=True), r"mix\.single_tool: Input should be a valid number"),
    (lambda d: d["tools"]["get_weather"].update(parameters={}), r"tools\.get_weather\.parameters: type is None; a "
                                                               r"function's parameters are an object schema"),
    (lambda d: d["tools"]["run_shell"]["parameters"]["properties"]["timeout_s"].update(minimum=1, maximum=20),
     r"tools\.run_shell\.parameters\.properties\.timeout_s\.default: 30 breaks the argument's own schema \(30 is "
     r"greater than the maximum of 20\)"),
    # a second blind probe: a dangling $ref (exit 1, jsonschema's exception), a control token (every row
    # carrying it quarantined later), a blank system prompt, schemas that contradict themselves in any tool
    (lambda d: d["tools"]["get_weather"]["parameters"]["properties"]["city"].update({"$ref": "#/$defs/nowhere"}),
     r"tools\.get_weather\.parameters: not a valid JSON schema at properties/city: \$ref '#/\$defs/nowhere' points "
     r"to nothing"),
    (lambda d: d["tools"]["get_weather"].update(description="Weather.<|im_end|>"),
     r"tools\.get_weather\.description: holds '<\|im_end\|>', a chat control token"),
    (lambda d: d["intents"]["weather"]["answers"].append("Done <|eot_id|>"), r"intents\.weather\.answers\.\d+: holds"),
    (lambda d: d.update(system_prompt="  "), r"system_prompt: empty"),
    (lambda d: d["tools"]["get_weather"]["parameters"]["properties"]["city"].update(enum=[1, 2]),
     r"tools\.get_weather\.parameters\.properties\.city\.enum: 1 is not of the schema's own type 'string'"),
    (lambda d: d["tools"]["get_weather"]["parameters"]["required"].append("ghost"),
     r"tools\.get_weather\.parameters\.required: names \['ghost'\], which properties does not declare"),
    (lambda d: d["intents"]["fetch"]["arguments"].update(method="GET"),
     r"intents\.fetch\.requests\[0\]: .* does not say 'GET', a fixed value of the call's arguments"),
    (lambda d: d["intents"]["fetch"]["optional"][0].update(suffix=""),
     r"intents\.fetch\.optional\[0\]: the request .* with the suffix '' does not say 'POST'"),
    (lambda d: d["intents"]["weather"]["slots"].update(n={"range": [1.5, 3]}), r"intents\.weather\.slots\.n\.range\.0: "),
    (lambda d: d["pools"].update(city=[]), r"slots\.city: pool 'city' is empty"),
    (lambda d: d["tools"]["get_weather"]["parameters"]["properties"]["city"].update(minLength=9, maxLength=2),
     r"tools\.get_weather\.parameters\.properties\.city: minLength 9 and maxLength 2 admit no value"),
])
def test_bad_toolset_names_file_and_key(tmp_path, edit, where):
    path = _broken(tmp_path, edit)
    with pytest.raises(ToolsetError, match="(?s)" + re.escape(str(path)) + ".*" + where):
        toolset.load_toolset(path)


def test_too_many_requested_from_a_tiny_toolset_fails_clearly(tmp_path):
    def shrink(d):
        d["mix"] = {"no_tool_needed": 1}
        d["no_tool"] = {"leap_year": d["no_tool"]["leap_year"]}
    gen = toolset.load_toolset(_broken(tmp_path, shrink))   # two paraphrases of one question; lead-ins don't count
    assert len(toolset.generate(gen, 2)) == 2
    # refused before any draw: 3 asked, two templates with no slots make at most 2
    with pytest.raises(ToolsetError, match="3 no_tool_needed examples asked, but its templates and slot values make "
                                           "at most 2 distinct requests"):
        toolset.generate(gen, 3)

    def same_twice(d):
        shrink(d)
        d["no_tool"]["leap_year"]["requests"] = [d["no_tool"]["leap_year"]["requests"][0]] * 2
    gen = toolset.load_toolset(_broken(tmp_path, same_twice))   # the bound says 2; they render alike: 1
    with pytest.raises(ToolsetError, match="could only make 1 distinct no_tool_needed examples of 2"):
        toolset.generate(gen, 2)


def test_calls_per_tool_counts_every_call(rows):
    counts = toolset.calls_per_tool(rows)
    assert sum(counts.values()) == sum(len(m.get("tool_calls") or []) for r in rows for m in r["messages"])
    assert list(counts.values()) == sorted(counts.values(), reverse=True)


def test_rows_are_json_lines(rows):
    for r in rows[:50]:
        assert json.loads(json.dumps(r, ensure_ascii=False)) == r


@pytest.mark.parametrize("n", [1, 5, 7, 13])
def test_small_counts_add_up_exactly(gen, n):
    rows = toolset.generate(gen, n, seed=1)
    assert len(rows) == n and len({toolset.first_user_text(r) for r in rows}) == n


def test_choice_values_are_templates_and_parallel_requests_keep_their_values(rows):
    # starter.yaml's send_email body is a choice of templates over {topic}: filled, never written out
    left = [r["id"] for r in rows if re.search(r"(?<!\{)\{[A-Za-z_]\w*\}", json.dumps(r))]
    assert left == []
    bodies = [tc["function"]["arguments"]["body"] for r in rows for m in r["messages"]
              for tc in m.get("tool_calls") or [] if tc["function"]["name"] == "send_email"]
    assert bodies and all("{" not in b for b in bodies)
    for r in (r for r in rows if r["scenario"] == "multi_tool_parallel"):
        user = toolset.first_user_text(r)
        assert not re.search(r"\bi (?:need|forgot|want)\b", user), user   # "I" stays "I"
        for tc in r["messages"][2]["tool_calls"]:
            for v in string_values(tc["function"]["arguments"]):
                if re.fullmatch(r"[A-Z]+-\d+", v):   # an id the request names: still there, case and all
                    assert v in user, (v, user)


def test_yaml_1_1_words_and_times_stay_strings(tmp_path):
    # written the obvious way, unquoted: YAML 1.1 made `on` True, 12:30 the number 750
    intent = ("  lights_on:\n    tool: set_lights\n    slots: {room: {choice: [kitchen]}}\n"
              "    requests: [\"Turn the {room} lights on at 12:30.\"]\n"
              "    arguments: {room: \"{room}\", on: true, at: 12:30}\n    result: ok\n    answers: [\"Done.\"]\n")
    tool = ("  set_lights:\n    description: Lights.\n    parameters:\n      type: object\n"
            "      properties: {room: {type: string}, on: {type: boolean}, at: {type: string}}\n"
            "      required: [room, on]\n")
    text = STARTER.read_text().replace("\nintents:\n", "\nintents:\n" + intent, 1).replace("\ntools:\n", "\ntools:\n" + tool, 1)
    path = tmp_path / "lights.yaml"
    path.write_text(text)
    gen = toolset.load_toolset(path)
    assert set(gen.ts.tools["set_lights"].parameters["properties"]) == {"room", "on", "at"}   # not True
    _, call, _, _, _ = gen.intent(__import__("random").Random(0), "lights_on")
    assert call["function"]["arguments"] == {"room": "kitchen", "on": True, "at": "12:30"}   # not 750


# --- a request says a value only as a whole token, written as the call holds it (blind probe F1-F4, F11) ----------

def _intent(d, name):
    return d["intents"][name]


@pytest.mark.parametrize("edit, where", [
    # F1: a value inside a longer word or id is not said; {slot|typo} does not say the {slot} the call takes
    (lambda d: _intent(d, "weather")["optional"][0].update(suffix=" in Fahrenheitish"),
     r"intents\.weather\.optional\[0\]: the request .* with the suffix ' in Fahrenheitish' does not say 'fahrenheit'"),
    (lambda d: _intent(d, "weather")["requests"].append("Weather for {city|typo}, please."),
     r"intents\.weather\.requests\[12\]: 'Weather for \{city\|typo\}, please\.' writes \{city\|typo\}, which is not "
     r"the value the call holds as \{city\}"),
    (lambda d: _intent(d, "fetch")["arguments"].update(method="GET") or _intent(d, "fetch").update(
        requests=[r.replace("{url}", "{url} via GETTER") for r in _intent(d, "fetch")["requests"]]),
     r"intents\.fetch\.requests\[0\]: .* does not say 'GET', a fixed value of the call's arguments"),
    # F3: a format spec that rewrites a value the call holds as it is ("30.0 minutes" -> 30, "030" -> 30)
    (lambda d: _intent(d, "calendar_create")["optional"][0].update(suffix=", {dur:.1f} minutes long"),
     r"intents\.calendar_create\.optional\[0\]: .* writes \{dur:\.1f\}, which is not the value the call holds as "
     r"\{dur\}, e\.g\. '\d+\.0' for \d+"),
    (lambda d: _intent(d, "calendar_create")["optional"][0].update(suffix=", {dur:03d} minutes long"),
     r"intents\.calendar_create\.optional\[0\]: .* writes \{dur:03d\}"),
    # F2: an intent's own fixed number must be said as a number token in every request
    (lambda d: _intent(d, "shell")["arguments"].update(timeout_s=60),
     r"intents\.shell\.requests\[0\]: .* does not say 60, a fixed value of the call's arguments"),
    (lambda d: _intent(d, "shell").update(arguments={"command": "{out.command}", "timeout_s": 60},
                                           requests=["Run `{out.command}`, timeout 600.", "Run {out.command} in 160 s."]),
     r"intents\.shell\.requests\[0\]: .* does not say 60"),
    # F4: an option's number needs a suffix with words; a fraction must be written; a blank suffix says nothing
    (lambda d: _intent(d, "shell")["optional"][0].update(suffix=""),
     r"intents\.shell\.optional\[0\]: the request .* with the suffix '' does not say 120, which the option's arguments"),
    (lambda d: _intent(d, "memory_search")["optional"][0].update(suffix=" !"),
     r"intents\.memory_search\.optional\[0\]: the request .* with the suffix ' !' does not say 1,"),
    (lambda d: _intent(d, "get_ticket").update(optional=[{"p": 0.5, "arguments": {"ticket_id": "{project}-{num}"},
                                                           "suffix": " "}]),
     r"intents\.get_ticket\.optional\[0\]\.suffix: ' ' says nothing, but the option adds \['ticket_id'\] to the call"),
])
def test_request_must_say_each_value_as_the_call_holds_it(tmp_path, edit, where):
    path = _broken(tmp_path, edit)
    with pytest.raises(ToolsetError, match="(?s)^" + re.escape(str(path)) + ": " + where) as err:
        toolset.load_toolset(path)
    assert "\n" not in str(err.value)


@pytest.mark.parametrize("edit", [
    lambda d: _intent(d, "weather")["requests"].append("Weather for {city|title}, please."),   # case only
    lambda d: _intent(d, "calendar_create")["optional"][0].update(suffix=", {dur:d} minutes long"),  # renders alike
    lambda d: _intent(d, "shell").update(arguments={"command": "{out.command}", "timeout_s": 60},
                                         requests=["Run `{out.command}`, timeout 60.", "Run {out.command} (60 s max)."]),
    lambda d: _intent(d, "weather")["optional"][0].update(suffix=" in FAHRENHEIT"),
])
def test_near_misses_that_do_say_the_value_still_load(tmp_path, edit):
    gen = toolset.load_toolset(_broken(tmp_path, edit))
    assert len(toolset.generate(gen, 50, seed=1)) == 50


def test_fixed_values_are_said_as_whole_tokens():
    unsaid = toolset._unsaid_constants
    assert unsaid({"reason": "other"}, "Cancel {aid}, it was for my brother.") == ["other"]
    assert unsaid({"reason": "other"}, "Cancel {aid}, for some other reason.") == []
    assert unsaid({"id": "P-10231"}, "Pull P-102311.") == ["P-10231"]
    assert unsaid({"crates": 7}, "Send {pid}, 17 crates.") == [7]
    assert unsaid({"crates": 7}, "Send PX-7 now, 2026-07-07.") == [7]          # an id's or a date's digits
    assert unsaid({"crates": 7, "kg": 12.5}, "7 crates, 12.5 kg") == []
    assert unsaid({"kg": 12.5}, "{n} crates, heavy", paraphrase=", heavy") == [12.5]
    assert unsaid({"timeout_s": 120}, "Run it (up to two minutes)", paraphrase=" (up to two minutes)") == []
    assert unsaid({"on": True}, "Turn the lights on") == []                     # a boolean is said in words
    assert unsaid({"n": 5}, "{n5} now") == [5]                                   # a slot's name is not said text


def test_check_config_applies_the_toolset_count_bound(tmp_path):
    from orchestrator.config import load_config
    from orchestrator.search.preflight import _data_problems

    def shrink(d):
        d["mix"] = {"no_tool_needed": 1}
        d["no_tool"] = {"leap_year": d["no_tool"]["leap_year"]}
    path = _broken(tmp_path, shrink)   # two distinct requests at most
    assert toolset.count_problem(toolset.load_toolset(path), 2) is None
    for count, expected in ((2, []), (3, ["data.sources.honesty.generate.count: 3 from " + str(path) + ": 3 "
                                          "no_tool_needed examples asked, but its templates and slot values make at "
                                          "most 2 distinct requests; add paraphrases or pool values, or ask for fewer"])):
        cfg = load_config(ROOT / "sweeps/smoke.yaml", {"data.sources.honesty.generate": {
            "kind": "toolset", "toolset": str(path), "count": count}})
        problems: list[str] = []
        _data_problems(cfg, problems)
        assert [p for p in problems if "honesty" in p] == expected
