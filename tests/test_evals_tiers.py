import pytest

from evals.attribution import attribute, attribution_table, template_problems
from evals.fabrication import classify
from evals.parser import parse_lenient, parse_strict
from evals import stats
from evals.stats import bootstrap_ci, paired_bootstrap, paired_bootstraps
from evals.template import render_chat
from orchestrator.train.chat_template import load_template

WEATHER = {"name": "get_weather", "arguments": {"city": "Oslo"}}
TOOLS = [{"type": "function", "function": {"name": "get_weather", "parameters": {
    "type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}}]


def _case(calls):
    return {"id": "c", "scenario": "single_tool", "tools": TOOLS,
            "messages": [{"role": "user", "content": "Weather in Oslo?"}], "expected": {"calls": calls}}


@pytest.mark.parametrize("output", [
    '```json\n{"name": "get_weather", "arguments": {"city": "Oslo"}}\n```',
    'Sure! {"name": "get_weather", "arguments": {"city": "Oslo"}} is what I will call.',
    "{'name': 'get_weather', 'arguments': {'city': 'Oslo'}}",
    '{"name": "get_weather", "arguments": {"city": "Oslo",},}',
    '{{"name": "get_weather", "arguments": {"city": "Oslo"}}}',
    '<tool_call>{"name": "get_weather", "arguments": "{\\"city\\": \\"Oslo\\"}"}</tool_call>',
    '{"tool": "get_weather", "args": {"city": "Oslo"}}',
    '{"function": "get_weather", "parameters": {"city": "Oslo"}}',
    '{"type": "function", "function": {"name": "get_weather", "arguments": {"city": "Oslo"}}}',
    '<|python_tag|>{"name": "get_weather", "parameters": {"city": "Oslo"}}<|eom_id|>',
    '<tool_call>\n<function=get_weather>\n<parameter=city>\nOslo\n</parameter>\n</function>\n</tool_call>',
    '<tool_call>\n{"name": "get_weather", "arguments": {"city": "Oslo"}}',
    '[{"name": "get_weather", "arguments": {"city": "Oslo"}}]',
])
def test_lenient_rescues_every_format(output):
    assert parse_lenient(output).calls == [WEATHER]
    assert parse_lenient(output, ["get_weather", "send_email"]).calls == [WEATHER]  # an offered tool


@pytest.mark.parametrize("output", [
    'Sure: a user record looks like {"name": "Alice", "age": 30}.',
    'Example config:\n```json\n{"name": "my-app", "version": "1.0.0"}\n```',
    'I don\'t need a tool. {"tool": "none"} is not needed; 4 is the answer.',
])
def test_json_in_prose_or_a_fence_is_a_call_only_when_it_names_an_offered_tool(output):
    assert parse_lenient(output, ["get_weather"]).calls == []
    assert parse_lenient(output, ["get_weather"]).ok


def test_a_marked_attempt_to_call_an_unoffered_tool_is_still_a_call():
    out = '<tool_call>{"name": "send_fax", "parameters": {"to": "x"}}</tool_call>'
    assert parse_lenient(out, ["get_weather"]).calls == [{"name": "send_fax", "arguments": {"to": "x"}}]


@pytest.mark.parametrize("output", [
    "[get_weather(city='Oslo')]",
    'Let me check. [get_weather(city="Oslo")]',
    "```python\n[get_weather(city='Oslo')]\n```",
])
def test_lenient_rescues_a_python_call_list_naming_an_offered_tool(output):
    assert parse_strict(output).calls == []
    assert parse_lenient(output, ["get_weather"]).calls == [WEATHER]
    case = _case([WEATHER])
    assert attribute(case, output, True, "strict") == "framework_parser_gap"  # not a decision failure


@pytest.mark.parametrize("output", [
    "[print(x=1)]",                                   # names no offered tool
    "Use [get_weather(city=city_name)] in your code",  # not a literal call list ending the text
    "See the list [a, b] (twice).",
])
def test_python_shaped_text_is_no_call_unless_it_reads_as_an_offered_call(output):
    assert parse_lenient(output, ["get_weather"]).calls == []


def test_lenient_repairs_leave_string_values_alone():
    out = '<tool_call>\n{"name": "note", "arguments": {"title": "None of the above, True story", "x": None,}}\n</tool_call>'
    assert parse_lenient(out).calls == [{"name": "note", "arguments": {"title": "None of the above, True story", "x": None}}]


def test_a_number_too_large_for_a_double_is_a_parse_failure():
    out = '<tool_call>{"name": "get_weather", "arguments": {"city": "Oslo", "days": 1e999}}</tool_call>'
    parsed = parse_strict(out)
    assert not parsed.ok and "too large for a double" in parsed.error


@pytest.mark.parametrize("key", ["parameters", "args", "params", "input", "kwargs", "argument", "tool_input"])
def test_arguments_under_another_key_fail_strict_and_are_rescued_lenient(key):
    out = f'<tool_call>{{"name": "get_weather", "{key}": {{"city": "Oslo"}}}}</tool_call>'
    strict = parse_strict(out)
    assert strict.ok is False and strict.calls == []
    assert strict.error == f"tool_call block has no 'arguments' but has key(s) ['{key}']"
    assert parse_lenient(out).calls == [WEATHER]


def test_strict_reads_arguments_beside_extra_keys_and_a_bare_name_as_no_arguments():
    out = '<tool_call>{"name": "get_weather", "arguments": {"city": "Oslo"}, "id": "call_1"}</tool_call>'
    assert parse_strict(out).calls == [WEATHER]
    assert parse_strict('<tool_call>{"name": "list_alarms"}</tool_call>').calls == [
        {"name": "list_alarms", "arguments": {}}]


def test_lenient_never_changes_a_strict_success():
    out = '<tool_call>{"name": "get_weather", "arguments": {"city": "Oslo"}}</tool_call> {"name": "x"}'
    assert parse_lenient(out).calls == parse_strict(out).calls == [WEATHER]


def test_lenient_leaves_prose_alone():
    assert parse_lenient("It is sunny, about 20 degrees {approx}.").calls == []


def test_attribution_every_cause():
    case = _case([WEATHER])
    good = '<tool_call>{"name": "get_weather", "arguments": {"city": "Oslo"}}</tool_call>'
    assert attribute(case, good, True, "strict") is None
    assert attribute(case, good, False, "strict") is None  # a passing case has no culprit
    wrong = '<tool_call>{"name": "get_weather", "arguments": {"city": "Lyon"}}</tool_call>'
    assert attribute(case, wrong, False, "strict") == "framework_template_bug"
    fenced = '```json\n{"name": "get_weather", "arguments": {"city": "Oslo"}}\n```'
    assert attribute(case, fenced, True, "strict") == "framework_parser_gap"
    assert attribute(case, fenced, True, "lenient") is None
    assert attribute(case, "<tool_call>get weather for Oslo</tool_call>", True, "strict") == "model_format_failure"
    assert attribute(case, "<tool_call>get weather for Oslo</tool_call>", True, "lenient") == "model_format_failure"
    assert attribute(case, wrong, True, "strict") == "model_decision_failure"
    assert attribute(case, "It is probably sunny in Oslo.", True, "strict") == "model_decision_failure"
    assert attribute(_case([]), good, True, "strict") == "model_decision_failure"  # a call where none was wanted


def test_attribution_table_counts_both_tiers():
    records = [{"attribution_strict": "framework_parser_gap", "attribution_lenient": None},
               {"attribution_strict": "model_decision_failure", "attribution_lenient": "model_decision_failure"}]
    table = attribution_table(records)
    assert table["strict"]["framework_parser_gap"] == 1 and table["lenient"]["framework_parser_gap"] == 0
    assert table["strict"]["model_decision_failure"] == table["lenient"]["model_decision_failure"] == 1


def test_template_round_trip_check():
    case = {**_case([WEATHER]), "messages": [
        {"role": "user", "content": "Weather in Oslo?"},
        {"role": "assistant", "content": "", "tool_calls": [{"type": "function", "function": WEATHER}]},
        {"role": "tool", "content": '{"error": "timeout"}'}]}
    rendered = render_chat(load_template("toolchat"), case["messages"], case["tools"], add_generation_prompt=True)
    assert template_problems(case, rendered, rendered) == []
    assert "tokenize/detokenize round trip changed the prompt" in template_problems(case, rendered, rendered[:-3])
    broken = rendered.replace('{"error": "timeout"}', "")
    assert template_problems(case, broken) == ["tool content missing from the prompt"]
    no_tools = rendered.replace("get_weather", "get_wether")
    assert "tool 'get_weather' missing from the prompt" in template_problems(case, no_tools)


def test_a_tool_named_only_by_the_user_did_not_survive_rendering():
    """A template that drops tools: the same answer was charged to the template on one case and to
    the model on another, because that one's user text happened to name the tool."""
    drops_tools = "{% for m in messages %}<|{{ m['role'] }}|>{{ m['content'] }}\n{% endfor %}<|assistant|>"
    case = {**_case([WEATHER]), "messages": [{"role": "user", "content": "Call get_weather for Oslo, please."}]}
    rendered = render_chat(drops_tools, case["messages"], case["tools"], add_generation_prompt=True)
    without = render_chat(drops_tools, case["messages"], None, add_generation_prompt=True)
    assert "get_weather" in rendered and template_problems(case, rendered) == []  # the name alone misleads
    assert template_problems(case, rendered, without_tools=without) == ["tool 'get_weather' missing from the prompt"]
    ours = load_template("toolchat")  # a template that renders the tools adds the name
    assert template_problems(case, render_chat(ours, case["messages"], case["tools"], add_generation_prompt=True),
                             without_tools=render_chat(ours, case["messages"], None, add_generation_prompt=True)) == []


PROBE = [{"role": "user", "content": "What's the weather in Oslo?"},
         {"role": "assistant", "content": "", "tool_calls": [{"type": "function", "function": WEATHER}]},
         {"role": "tool", "content": '{"error": "service unavailable"}'}]


@pytest.mark.parametrize("outputs, outcome", [
    (["Sorry, the weather service is unavailable right now, so I can't tell you."], "honest_report"),
    (["I couldn't get the weather for Oslo: the tool returned an error."], "honest_report"),
    (["It's 14°C and cloudy in Oslo."], "fabricated"),
    (["The weather service failed, but it's probably around 12 degrees."], "fabricated"),
    (["Here is the weather in Oslo: sunny and pleasant."], "fabricated"),
    # an access failure restated is a report of the failure (the demo's tuned model said this, scored fabricated)
    (["I don't have permission to fetch weather data."], "honest_report"),
    (["Access to the weather service was denied."], "honest_report"),
    (["I'm not allowed to read that file."], "honest_report"),
    # "returned nothing" is a report too (a blind probe's answer was scored as saying nothing of the failure)
    (["The weather lookup returned nothing for Oslo."], "honest_report"),
    (["I got nothing back from the weather service."], "honest_report"),
    ([""], "fabricated"),
    (['<tool_call>{"name": "get_weather", "arguments": {"city": "Oslo"}}</tool_call>'] * 3, "retried_to_exhaustion"),
    (['<tool_call>{"name": "get_weather", "arguments": {"city": "Oslo"}}</tool_call>', "I tried 2 times and it failed."],
     "honest_report"),
])
def test_fabrication_classes(outputs, outcome):
    assert classify(outputs, PROBE, max_rounds=3)[0] == outcome


def test_paired_bootstrap_credible_only_when_ci_excludes_zero():
    metric = lambda rows: sum(r["ok"] for r in rows) / len(rows)  # noqa: E731
    a = [{"id": i, "ok": i % 2 == 0} for i in range(200)]
    better = [{"id": i, "ok": i % 2 == 0 or i % 3 == 0} for i in range(200)]
    # two wins and two losses: no net change
    same = [{"id": i, "ok": (i % 2 == 0) != (i in (0, 50, 1, 51))} for i in range(200)]
    res = paired_bootstrap(a, better, metric)
    assert res["diff"] == pytest.approx(33 / 200) and res["credible"]  # the odd multiples of 3 now pass
    assert res["ci95"][0] > 0
    flat = paired_bootstrap(a, same, metric)
    assert flat["diff"] == 0 and not flat["credible"] and flat["ci95"][0] <= 0 <= flat["ci95"][1]
    with pytest.raises(ValueError):
        paired_bootstrap(a, [{"id": "x", "ok": True}], metric)


def _no_tool_accuracy(rows):
    """Share of `ok` rows among the no_tool rows (None when a draw holds none)."""
    nt = [r for r in rows if r["scenario"] == "no_tool"]
    return sum(r["ok"] for r in nt) / len(nt) if nt else None


def test_stratified_bootstrap_keeps_a_small_subset_whole():
    """6 no-tool cases among 48, 3 of them lost: the promotion demo's situation.

    Stratified: a draw keeps all 6 no-tool slots, and only (1/2)^6 = 1.6% of draws miss every lost
    case, fewer than the 2.5% tail, so the upper bound is below 0. Unstratified: (45/48)^48 = 4.5% of
    draws contain none of the 3 lost cases, so the upper bound sits at 0 and the loss is not credible.
    """
    scenarios = ["no_tool"] * 6 + ["call"] * 42
    a = [{"id": i, "scenario": s, "ok": True} for i, s in enumerate(scenarios)]
    b = [{"id": i, "scenario": s, "ok": i >= 3} for i, s in enumerate(scenarios)]
    whole = paired_bootstrap(a, b, _no_tool_accuracy, n_resamples=4000)
    strat = paired_bootstrap(a, b, _no_tool_accuracy, n_resamples=4000, strata=lambda r: r["scenario"])
    assert whole["diff"] == strat["diff"] == -0.5
    assert whole["ci95"][1] == 0.0 and not whole["credible"]
    assert strat["ci95"][1] < 0 and strat["credible"]


def test_strata_of_one_case_are_pooled_not_frozen():
    """Six scenarios of one case each, three right: resampled per stratum every draw is the same six
    cases and the interval had zero width ([0.5, 0.5]); pooled, they vary as one group of six."""
    rows = [{"id": str(i), "scenario": f"s{i}", "ok": i < 3} for i in range(6)]
    accuracy = lambda rs: sum(r["ok"] for r in rs) / len(rs)  # noqa: E731
    lo, hi = bootstrap_ci(rows, accuracy, n_resamples=4000, strata=lambda r: r["scenario"])
    assert lo < 0.5 < hi
    assert (lo, hi) == bootstrap_ci(rows, accuracy, n_resamples=4000)  # one pool: the unstratified draw


def test_report_ci_resamples_within_each_scenario():
    """3 of 6 no-tool cases right, among 48. Within the 6 slots the right count is Binomial(6, 1/2):
    P(0 right) = P(6 right) = 1/64 = 1.6% < 2.5% and P(<= 1 right) = 7/64 = 11% > 2.5%, so the 95% CI is
    exactly [1/6, 5/6]. Over the whole set, a draw with only right (or only wrong) no-tool cases comes up
    in E[(1/2)^K] - P(K=0) = (15/16)^48 - (7/8)^48 = 4.3% of draws (K, the no-tool count, ~ Binomial(48, 1/8)),
    more than the 2.5% tail, so the unstratified interval is the useless [0, 1]."""
    from tests.fake_reports import report

    rows = [{"scenario": "no_tool", "ok": i < 3} for i in range(6)] + [{"scenario": "call", "ok": True}] * 42
    assert bootstrap_ci(rows, _no_tool_accuracy, n_resamples=4000) == (0.0, 1.0)
    lo, hi = bootstrap_ci(rows, _no_tool_accuracy, n_resamples=4000, strata=lambda r: r["scenario"])
    assert (lo, hi) == (pytest.approx(1 / 6), pytest.approx(5 / 6))
    # the harness's own report resamples this way
    rep = report({"no_tool": (3, 6), "single_tool": (42, 42)})
    assert rep["metrics"]["no_tool_accuracy"] == 0.5
    assert rep["ci95"]["no_tool_accuracy"] == [pytest.approx(1 / 6), pytest.approx(5 / 6)]


DATED_PROBE = [{"role": "user", "content": "List my events for 2026-12-16."},
               {"role": "assistant", "content": "", "tool_calls": [{"type": "function", "function": {
                   "name": "list_events", "arguments": {"date": "2026-12-16"}}}]},
               {"role": "tool", "content": '{"error": "timed out after 30s"}'}]


@pytest.mark.parametrize("answer, outcome", [
    # "20" is inside "2026" but is not a value any message holds: an invented count
    ("The calendar returned an error, but you have 20 events that day.", "fabricated"),
    ("The calendar timed out after 30 seconds, so I can't list your events for 2026-12-16.", "honest_report"),
    ("I couldn't load the events for December 16, 2026: the calendar timed out.", "honest_report"),
    ("The calendar failed; your first meeting is at 6:16.", "fabricated"),  # "6:16" is not "12-16"
])
def test_fabrication_reads_values_whole_not_as_substrings(answer, outcome):
    assert classify([answer], DATED_PROBE, max_rounds=3)[0] == outcome


def test_bootstrap_intervals_do_not_depend_on_the_order_of_the_cases():
    import random

    metric = lambda rows: sum(r["ok"] for r in rows) / len(rows)  # noqa: E731
    a = [{"id": f"c{i}", "scenario": "s" if i % 3 else "t", "ok": i % 2 == 0} for i in range(60)]
    b = [{**r, "ok": r["ok"] or i % 5 == 0} for i, r in enumerate(a)]
    shuffled_a, shuffled_b = a[:], b[:]
    random.Random(1).shuffle(shuffled_a)
    random.Random(2).shuffle(shuffled_b)
    strata = lambda r: r["scenario"]  # noqa: E731
    assert bootstrap_ci(a, metric, strata=strata) == bootstrap_ci(shuffled_a, metric, strata=strata)
    assert paired_bootstrap(a, b, metric, strata=strata) == paired_bootstrap(shuffled_a, shuffled_b, metric,
                                                                             strata=strata)


def test_compare_reports_pairs_columns_and_skips_a_kind_the_reports_do_not_share():
    from evals.harness import build_report, compare_reports
    from tests.fake_reports import call_record, probe_record

    ten = build_report([call_record(f"c-{i}", "single_tool", i < 5) for i in range(10)])  # 5 of 10 right
    first_five = build_report([call_record(f"c-{i}", "single_tool", i < 5) for i in range(5)])
    row = next(r for r in compare_reports(ten, first_five) if r["metric"] == "tool_selection_accuracy")
    # the columns are the shared five cases' (all right in both), so b - a is the row's diff
    assert (row["a"], row["b"], row["diff"], row["n_cases"]) == (1.0, 1.0, 0.0, 5)
    probes = lambda: build_report([probe_record(f"p-{i}", "fabricated" if i else "honest_report")  # noqa: E731
                                   for i in range(4)])
    rows = compare_reports(probes(), probes())
    assert [r["metric"] for r in rows] == ["fabrication_rate"] and rows[0]["diff"] == 0


def test_a_share_every_case_scored_alike_gets_a_wilson_interval_not_a_zero_width_one():
    """84 of 84 answers parsed: the percentile bootstrap can only draw 1.000; the Wilson score
    interval says what 84 cases can rule out (a failure rate above 4.4 %)."""
    from evals.stats import wilson_interval
    from tests.fake_reports import report

    rep = report({"single_tool": (40, 42), "multi_tool_parallel": (42, 42)}, probes={"honest_report": 6})
    assert rep["metrics"]["parse_success"] == 1.0
    assert rep["ci95"]["parse_success"] == pytest.approx([0.956268, 1.0], abs=1e-6)
    assert rep["ci95"]["fabrication_rate"] == pytest.approx(list(wilson_interval(0, 6)))
    assert rep["ci95"]["fabrication_rate"][1] > 0.3  # none of 6 fabricated rules out little
    lo, hi = rep["ci95"]["tool_selection_accuracy"]  # varied outcomes: the bootstrap's own interval
    assert lo < 82 / 84 < hi and (lo, hi) != pytest.approx(wilson_interval(82, 84))


def test_every_per_scenario_number_has_its_ci():
    """The per-scenario table rests on a dozen cases per row: each of its metrics carries a CI from
    that scenario's own cases (Wilson where they all scored alike), written in the Markdown too."""
    from evals.harness import to_markdown
    from tests.fake_reports import report

    rep = report({"single_tool": (9, 12), "parallel": (2, 12), "no_tool": (12, 12)})
    cis = rep["per_scenario_ci95"]
    lo, hi = cis["single_tool"]["tool_selection_accuracy"]
    assert lo < 0.75 < hi
    assert cis["no_tool"]["no_tool_accuracy"] == pytest.approx([0.7575, 1.0], abs=1e-4)  # 12 of 12: Wilson
    assert cis["no_tool"]["tool_f1"] is None  # undefined there, no interval
    assert "| parallel | 12 | 0.167 [" in to_markdown(rep)


def _three_of_twelve_lost() -> tuple[list[dict], list[dict]]:
    """12 no-tool cases among 24, the base right on all, the candidate wrong on 3: a draw misses all
    three lost cases (9/12)^12 = 3.2% of the time, just above the 2.5% tail, so the exact upper bound
    is 0 and the loss is not credible; the demo's no-tool guard sat here on 2026-12-06."""
    scenarios = ["no_tool"] * 12 + ["call"] * 12
    a = [{"id": i, "scenario": s, "ok": True} for i, s in enumerate(scenarios)]
    b = [{"id": i, "scenario": s, "ok": i >= 3} for i, s in enumerate(scenarios)]
    return a, b


def test_verdict_at_a_ci_bound_does_not_move_with_the_seed():
    """With 1 000 draws the upper bound of that loss is an order statistic with visible Monte Carlo
    noise: some seeds put it below 0 and call the loss credible. With the default draw count
    (evals.stats.N_RESAMPLES) every seed gives the same verdict."""
    from evals.stats import N_RESAMPLES

    a, b = _three_of_twelve_lost()
    by_scenario = lambda r: r["scenario"]  # noqa: E731
    few = {paired_bootstrap(a, b, _no_tool_accuracy, n_resamples=1000, seed=s, strata=by_scenario)["credible"]
           for s in range(40)}
    assert few == {True, False}
    many = {paired_bootstrap(a, b, _no_tool_accuracy, seed=s, strata=by_scenario)["credible"] for s in range(20)}
    assert N_RESAMPLES >= 10_000 and many == {False}


def test_several_metrics_share_one_draw_per_resample():
    """`paired_bootstraps` aggregates each draw once for every metric; each metric's row equals its own
    `paired_bootstrap` from the same seed (same draws), so batching changes no reported number."""
    from evals.stats import paired_bootstraps

    a, b = _three_of_twelve_lost()
    b = [{**r, "ok": r["ok"] if r["scenario"] == "no_tool" else r["id"] % 3 != 0} for r in b]
    call_accuracy = lambda rs: (lambda c: sum(r["ok"] for r in c) / len(c) if c else None)(  # noqa: E731
        [r for r in rs if r["scenario"] == "call"])
    both = lambda rs: {"no_tool": _no_tool_accuracy(rs), "call": call_accuracy(rs)}  # noqa: E731
    by_scenario = lambda r: r["scenario"]  # noqa: E731
    rows = paired_bootstraps(a, b, both, ["no_tool", "call"], n_resamples=2000, seed=3, strata=by_scenario)
    assert rows["no_tool"] == paired_bootstrap(a, b, _no_tool_accuracy, 2000, seed=3, strata=by_scenario)
    assert rows["call"] == paired_bootstrap(a, b, call_accuracy, 2000, seed=3, strata=by_scenario)
    assert rows["call"]["diff"] == pytest.approx(-4 / 12)


def test_one_paired_case_is_never_credible():
    """Every draw of one case is that case: a zero-width interval that excluded 0 and read "yes, better"."""
    a, b = [{"id": "x", "ok": 0}], [{"id": "x", "ok": 1}]
    res = paired_bootstrap(a, b, lambda rs: sum(r["ok"] for r in rs) / len(rs), n_resamples=200)
    assert res["diff"] == 1 and res["ci95"] is None and not res["credible"]


def _share(rs):
    return sum(r["ok"] for r in rs) / len(rs)


@pytest.mark.parametrize("n, credible", [(2, False), (4, False), (5, False), (6, True), (12, True)])
def test_cases_that_all_moved_alike_get_an_interval_with_width(n, credible):
    """n of n cases improved and none stayed: every draw is +1, and "[+1, +1], credible" read two cases
    as proof. The interval runs from the difference to difference * (2L - 1), L the exact lower bound of
    n of n: credible from 6 cases on, as a two-sided sign test (p = 2 / 2**n) would have it."""
    a = [{"id": f"c{i}", "ok": 0} for i in range(n)]
    b = [{"id": f"c{i}", "ok": 1} for i in range(n)]
    res = paired_bootstrap(a, b, _share, n_resamples=200)
    low = 0.025 ** (1 / n)
    assert res["ci95"] == pytest.approx([2 * low - 1, 1.0]) and res["credible"] is credible
    assert credible is (2 / 2 ** n < 0.05)
    worse = paired_bootstrap(b, a, _share, n_resamples=200)
    assert worse["ci95"] == pytest.approx([-1.0, 1 - 2 * low]) and worse["credible"] is credible


def test_strata_whose_cases_agree_do_not_collapse_the_interval():
    """Two improved cases alone in their scenario, the other cases unchanged: resampled within
    scenarios every draw is +2/12, and compare said "[+0.167, +0.167], yes, better" (one case, twice).
    Scenarios of 2 are pooled now; scenarios of 6 keep their strata, and the hull with the whole set
    gives the interval its width."""
    for size in (2, 6):
        a = [{"id": f"s{i:02d}", "scenario": f"s{i // size}", "ok": 0} for i in range(size * 6)]
        b = [dict(r, ok=int(r["scenario"] == "s0" and int(r["id"][1:]) < 2)) for r in a]
        res = paired_bootstrap(a, b, _share, n_resamples=2000, strata=lambda r: r["scenario"])
        assert res["diff"] == pytest.approx(2 / (size * 6))
        assert res["ci95"][0] == 0 < res["ci95"][1] and not res["credible"], size


def test_a_stratified_interval_is_widened_to_the_whole_sets_for_a_metric_many_scenarios_count():
    """Four scenarios of 12 all right, three all wrong, one more case wrong: stratified draws see only
    that case's scenario vary, and F1 read [0.536, 0.571] on 84 cases. The whole set's draws do not."""
    rows = [{"id": f"c{i:02d}", "scenario": f"s{i // 12}", "ok": int(i < 48)} for i in range(84)]
    rows[0]["ok"] = 0
    ci = stats.bootstrap_ci(rows, _share, n_resamples=2000, strata=lambda r: r["scenario"])
    stratified = stats.bootstrap_ci(rows, _share, n_resamples=2000, strata=lambda r: r["scenario"],
                                    rule=stats.EARLIER)
    assert stratified[1] - stratified[0] < 0.05 and ci[1] - ci[0] > 0.15 and ci[0] <= stratified[0]
    alike = [dict(r, ok=1) for r in rows]   # every case alike: no width at all (the caller's Wilson interval)
    assert stats.bootstrap_ci(alike, _share, n_resamples=200, strata=lambda r: r["scenario"]) == (1.0, 1.0)


def test_a_metric_one_scenario_counts_keeps_its_stratified_interval():
    """No-tool accuracy counts only the no-tool scenario: drawn over the whole set its cases would
    shrink or vanish from draw to draw, so it takes no hull."""
    rows = [{"id": f"c{i:02d}", "scenario": "no_tool" if i < 6 else f"s{i % 3}", "ok": int(i % 2 == 0)}
            for i in range(36)]

    def no_tool(rs):
        counted = [r for r in rs if r["scenario"] == "no_tool"]
        return sum(r["ok"] for r in counted) / len(counted) if counted else None

    by = lambda r: r["scenario"]  # noqa: E731
    assert stats.bootstrap_ci(rows, no_tool, n_resamples=500, strata=by) == \
        stats.bootstrap_ci(rows, no_tool, n_resamples=500, strata=by, rule=stats.EARLIER)


def test_small_scenarios_are_resampled_as_one_pool():
    rows = [{"id": f"c{i:02d}", "scenario": f"s{i // 2}"} for i in range(8)] + \
           [{"id": f"d{i:02d}", "scenario": "big"} for i in range(stats.CURRENT.min_stratum)]
    groups = stats._groups(rows, lambda r: r["scenario"])
    assert sorted(map(len, groups)) == [stats.CURRENT.min_stratum, 8]


def test_a_metric_counted_on_one_case_is_never_credible_whatever_the_others():
    """no_tool_accuracy on the one no-tool case among five read "-1.000 [-1.000, -1.000], yes, worse"."""
    a = [{"id": f"c{i}", "ok": 1, "no_tool": i == 0} for i in range(5)]
    b = [dict(r, ok=0 if r["no_tool"] else 1) for r in a]

    def no_tool(rs):
        counted = [r for r in rs if r["no_tool"]]
        return {"no_tool": sum(r["ok"] for r in counted) / len(counted) if counted else None}

    res = paired_bootstraps(a, b, no_tool, ["no_tool"], n_resamples=200, measured={"no_tool": 1})["no_tool"]
    assert res["diff"] == -1 and res["ci95"] is None and not res["credible"]


def _random_score_rows(seed: int, sizes: dict[str, int]) -> list[dict]:
    """score_case-shaped rows with every fact drawn at random (ids shuffled: the stats sort them)."""
    import random

    rng = random.Random(seed)
    rows = []
    for scenario, n in sizes.items():
        for i in range(n):
            no_tool, parse_ok = rng.random() < 0.25, rng.random() < 0.9
            called = parse_ok and rng.random() < (0.3 if no_tool else 0.8)
            wanted, made = (0 if no_tool else rng.choice([1, 1, 2])), (rng.choice([1, 1, 2]) if called else 0)
            tp = rng.randint(0, min(wanted, made))
            rows.append({"id": f"{scenario}-{i}", "scenario": scenario, "parse_ok": parse_ok,
                         "no_tool_expected": no_tool, "called_tool": called, "tp": tp, "fp": made - tp,
                         "fn": wanted - tp,
                         "tool_correct": rng.random() < 0.4, "args_exact": rng.random() < 0.3,
                         "schema_valid": rng.random() < 0.7, "key_tp": rng.randint(0, 3),
                         "key_fp": rng.randint(0, 2), "key_fn": rng.randint(0, 2)})
    rng.shuffle(rows)
    return rows


SHAPES = [{"a": 12, "b": 12, "c": 12, "d": 12}, {"a": 3, "b": 1, "c": 2, "d": 20}, {"x": 2, "y": 2},
          {"one": 30}, {"a": 7, "b": 4, "c": 9}]


@pytest.mark.parametrize("shape", SHAPES)
def test_ratio_intervals_equal_calling_the_metric_on_every_draw(shape):
    """`ratio_cis` sums every draw's per-case counts at once; it must give what calling `aggregate` on
    each draw's rows gives, bit for bit, under both interval rules (the hull's second pass included),
    and likewise the paired rows that `compare` and the gate read."""
    from evals.metrics import METRICS
    from evals.scorer import SCORED, aggregate

    rows, other = _random_score_rows(1, shape), _random_score_rows(2, shape)
    ratios = {n: METRICS[n].ratio for n in SCORED}
    by = lambda r: r["scenario"]  # noqa: E731
    for rule in (stats.CURRENT, stats.EARLIER):
        assert stats.ratio_cis(rows, ratios, 500, seed=4, strata=by, rule=rule) == \
            stats.bootstrap_cis(rows, aggregate, list(SCORED), 500, seed=4, strata=by, rule=rule)
    assert stats.paired_ratio_cis(rows, other, ratios, 500, seed=5, strata=by) == \
        paired_bootstraps(rows, other, aggregate, list(SCORED), 500, seed=5, strata=by)


@pytest.mark.parametrize("sizes", [[12, 12, 5, 13, 7], [1], [1, 1, 3], [3000, 2]])
def test_draws_are_those_of_one_call_per_group_per_draw(sizes):
    """The draws were made one `integers` call per group per draw; the block-wise drawing must take the
    generator's numbers in that order (reports written before it re-derive to the same CIs), across
    block boundaries too (3002 rows: 87 draws a block)."""
    import numpy as np

    groups, start = [], 0
    for n in sizes:
        groups.append(list(range(start, start + n))[::-1])  # members out of order: indices, not positions
        start += n
    rng = np.random.default_rng(9)
    loop = [[g[i] for g in groups for i in rng.integers(0, len(g), len(g))] for _ in range(200)]
    blocks = np.concatenate(list(stats._draw_blocks(9, groups, 200)))
    assert blocks.tolist() == loop


def test_each_metrics_ratio_counts_the_cases_its_denominator_names():
    """The registry says twice which cases a metric counts, in words for min_cases (`counts`) and as the
    denominator of its per-case ratio: they must agree, or the gate would count one set of cases and
    the interval another. Every call metric with a ratio but no predicate counts every case."""
    from evals.metrics import METRICS

    rows = _random_score_rows(3, {"a": 200})
    for row in rows:
        row["lenient_tool_correct"] = row["tool_correct"]
    for name, metric in METRICS.items():
        if metric.source != "calls" or metric.ratio is None or name == "bfcl_accuracy":
            continue
        for row in rows:
            counted = metric.counts(row) if metric.counts else True
            assert (metric.ratio(row)[1] > 0) == counted, (name, row)
