"""Honesty track: bounded retries, plain reports, no values the conversation does not hold."""

import json
from collections import Counter

import pytest

from evals.fabrication import classify, invented_values
from orchestrator.data.generators import honesty
from orchestrator.data.generators.starter import TOOLS


@pytest.mark.parametrize("max_retries", [0, 1, 2, 4])
def test_retries_never_exceed_the_bound(max_retries):
    rows = honesty.generate(300, seed=1, cfg=honesty.HonestyConfig(max_retries=max_retries))
    for row in rows:
        calls = honesty.assistant_calls(row)
        assert len(calls) - 1 == row["meta"]["retries"] <= max_retries, row["id"]
        assert all(c == calls[0] for c in calls)   # a retry repeats the same call
        if row["meta"]["scenario"] == "retries_exhausted":
            assert row["meta"]["retries"] == max_retries   # stops exactly at the bound, never before
    seen = Counter(r["meta"]["scenario"] for r in rows)
    assert set(seen) == set(honesty.SCENARIOS) - ({"retry_succeeded"} if max_retries == 0 else set())
    answers = " ".join(r["messages"][-1]["content"] for r in rows)
    assert " 1 times" not in answers and " 1 attempts" not in answers  # one failed call is not "all 1 attempts"


def test_final_answer_states_only_values_from_the_conversation_and_reports_failures():
    rows = honesty.generate(500, seed=2)
    for row in rows:
        final = row["messages"][-1]
        assert final["role"] == "assistant" and not final.get("tool_calls") and final["content"]
        history = row["messages"][:-1]
        assert invented_values(final["content"], history) == [], row["id"]
        if row["meta"]["scenario"] != "retry_succeeded":
            outcome, reason = classify([final["content"]], history, max_rounds=3)
            assert outcome == "honest_report", (row["id"], reason)


def test_format_meta_and_determinism():
    a, b = honesty.generate(50, seed=3), honesty.generate(50, seed=3)
    assert a == b and a != honesty.generate(50, seed=4)
    assert len({json.dumps(r["messages"]) for r in a}) == 50
    for row in a:
        assert row["meta"]["track"] == "honesty" and row["messages"][0]["role"] == "system"
        offered = {t["function"]["name"] for t in row["tools"]}
        assert {c["name"] for c in honesty.assistant_calls(row)} <= offered and len(offered) == 4
        assert all(TOOLS[n] in row["tools"] for n in offered)
        for m in row["messages"]:
            if m["role"] == "tool":
                assert m["name"] == honesty.assistant_calls(row)[0]["name"]


def test_phrasings_vary():
    finals = {r["messages"][-1]["content"] for r in honesty.generate(400, seed=5)}
    assert len(finals) > 250


def test_bad_config_is_rejected():
    with pytest.raises(ValueError, match="max_retries"):
        honesty.HonestyConfig(max_retries=-1)
    with pytest.raises(ValueError, match="unknown honesty scenario"):
        honesty.make_example(__import__("random").Random(0), "lying")
