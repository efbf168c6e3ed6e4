"""Judgment track: no-tool rows where a tool looks related, answered or clarified without a call."""

from collections import Counter

from orchestrator.data.generators.eval_sets import GENERAL, TRAPS, UNDERSPECIFIED
from orchestrator.config import GenerateConfig, parse_config
from orchestrator.data.generators import judgment
from orchestrator.data.dedupe import dedupe_key
from orchestrator.data.generated import generate_rows
from orchestrator.data.mix import category
from orchestrator.data.generators.starter import TOOLS


def test_rows_call_nothing_and_offer_the_tempting_tool():
    rows = judgment.generate(300, seed=1)
    assert Counter(r["meta"]["scenario"] for r in rows) == {"near_miss": 150, "underspecified": 150}
    for row in rows:
        assert [m["role"] for m in row["messages"]] == ["system", "user", "assistant"]
        assert not any(m.get("tool_calls") for m in row["messages"]) and row["messages"][-1]["content"]
        offered = [t["function"]["name"] for t in row["tools"]]
        assert row["meta"]["tempting_tool"] in offered and len(offered) == 4 == len(set(offered))
        assert all(TOOLS[n] in row["tools"] for n in offered)
        assert category({**row, "meta": {**row["meta"], "source": "judgment"}}) == "no_tool"
        if row["meta"]["scenario"] == "underspecified":
            assert "?" in row["messages"][-1]["content"]  # it asks for what is missing


def test_deterministic_distinct_and_seeded():
    a, b = judgment.generate(120, seed=3), judgment.generate(120, seed=3)
    assert a == b and a != judgment.generate(120, seed=4)
    assert len({dedupe_key(r) for r in a}) == 120  # the dedupe stage would keep every one


def test_texts_are_not_the_eval_sets_templates():
    """The eval sets' no-tool cases are drawn from these lists; training must not share a sentence."""
    eval_texts = {t.split("{")[0].strip().lower() for t in TRAPS + UNDERSPECIFIED + GENERAL}
    ours = {q.lower() for table in (judgment.NEAR_MISS, judgment.UNDERSPECIFIED) for pairs in table.values()
            for q, _ in pairs}
    assert not any(e and (e in q or q in e) for e in eval_texts for q in ours)


def test_a_judgment_source_fills_the_no_tool_quota_beside_the_starter_data(tmp_path):
    from orchestrator.recipes.trial import build_data

    gen = GenerateConfig(kind="judgment", count=40, seed=2)
    rows = generate_rows(gen, "", lambda: None)
    assert {r["meta"]["track"] for r in rows} == {"judgment"}
    cfg = parse_config({"name": "s", "data": {
        "sources": {"starter": {"path": "data/starter/train.jsonl"},
                    "judgment": {"generate": {"kind": "judgment", "count": 40, "seed": 2}}},
        "mix": {"total": 60, "no_tool_ratio": 0.5, "seed": 0}}})
    result = build_data(cfg, tmp_path)
    tracks = Counter(r["meta"].get("track") for r in result.rows)
    assert len(result.rows) == 60 and tracks["judgment"] == 15  # the 30 no-tool rows split 1:1 by weight
