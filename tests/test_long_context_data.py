"""Long-context training data: 16K and 32K conversations counted by the real tokenizer, validated calls."""

import json
from pathlib import Path

import pytest

from orchestrator.data.generators import long_context_eval
from evals.cases import case_from_example, load_cases
from orchestrator.data.generators.eval_sets import filled_values
from evals.parser import parse_strict
from evals.template import render_chat
from orchestrator.train.chat_template import load_template
from orchestrator.data.generators import long_context as lcd

ROOT = Path(__file__).resolve().parent.parent
TOKENIZER = ROOT / ".cache/models/smollm2-tokenizer/tokenizer.json"


@pytest.fixture(scope="module")
def count():
    if not TOKENIZER.is_file():  # a fresh clone: build the tokenizer cache from the embedded GGUF
        from orchestrator.train import base_model
        base_model.smollm2_tokenizer(ROOT / ".cache/models")
    return long_context_eval.tokenizer_counter(TOKENIZER)


@pytest.fixture(scope="module")
def template():
    return load_template("toolchat")


@pytest.mark.parametrize("target, low, high", [(16384, 15_500, 16_384), (32768, 31_000, 32_768),
                                               (2100, 1_995, 2_100)])  # its first draw is over 2100: trimmed
def test_one_example_per_variant_fits_its_band_and_ends_in_the_needle_call(count, template, target, low, high):
    row = lcd.generate(target, 1, count, template, seed=3)[0]
    rendered = render_chat(template, row["messages"], row["tools"])
    n = count(rendered)
    assert low <= n <= high and n == row["meta"]["tokens"]
    rounds = sum(1 for m in row["messages"][:-1] if m.get("tool_calls"))
    assert 8 <= rounds <= 16 and rounds == row["meta"]["rounds"]
    # the final turn, as rendered, parses strictly as one call to an offered tool
    last = rendered[rendered.rfind("<|im_start|>assistant\n"):].removeprefix("<|im_start|>assistant\n")
    parsed = parse_strict(last.removesuffix("<|im_end|>\n").removesuffix("<|im_end|>"))
    assert parsed.ok and len(parsed.calls) == 1
    call = parsed.calls[0]
    assert call["name"] in {t["function"]["name"] for t in row["tools"]}
    # the value it needs is stated once, in an early tool output, and nowhere else before the call
    value = next(iter(call["arguments"].values()))   # the needle is always the call's first argument
    holders = [i for i, m in enumerate(row["messages"][:-1]) if value in json.dumps(m, ensure_ascii=False)]
    tool_turns = [i for i, m in enumerate(row["messages"]) if m["role"] == "tool"]
    assert len(holders) == 1 and holders[0] in tool_turns
    assert tool_turns.index(holders[0]) + 1 == row["meta"]["needle_round"] <= rounds // 3 + 1
    assert row["meta"]["track"] == "long_context"


def test_deterministic_and_varied(count, template):
    a = lcd.generate(16384, 4, count, template, seed=1)
    assert a[:2] == lcd.generate(16384, 2, count, template, seed=1)
    assert len({r["meta"]["scenario"] for r in a}) >= 2 and len({r["meta"]["rounds"] for r in a}) >= 3


def test_disjoint_from_the_eval_long_context_sets(count, template):
    rows = lcd.generate(16384, 2, count, template, seed=2)
    train_values = set().union(*(filled_values(case_from_example(r)) for r in rows))
    eval_cases = load_cases(ROOT / "evals/sets/long_8k.jsonl") + load_cases(ROOT / "evals/sets/long_28k.jsonl")
    assert not train_values & set().union(*map(filled_values, eval_cases))
    train_lines = {line for r in rows for m in r["messages"] if m["role"] == "tool" for line in m["content"].splitlines()}
    eval_lines = {line for c in eval_cases for m in c["messages"] if m["role"] == "tool" for line in m["content"].splitlines()}
    assert not train_lines & eval_lines


def test_a_wrong_final_call_is_refused(template):
    msgs = [{"role": "user", "content": "x"},
            {"role": "assistant", "content": "", "tool_calls": [lcd._fn("get_ticket", ticket_id=7)]}]
    tools = [lcd.TOOLS["get_ticket"]]
    with pytest.raises(lcd.LongContextError, match="do not fit get_ticket"):
        lcd.validate_final_call(template, msgs, tools, msgs[-1]["tool_calls"][0])
    with pytest.raises(lcd.LongContextError, match="not offered"):
        lcd.validate_final_call(template, msgs, [lcd.TOOLS["read_file"]], msgs[-1]["tool_calls"][0])


def test_counts_agree_with_transformers_autotokenizer(count, template):
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(TOKENIZER.parent)
    row = lcd.generate(16384, 1, count, template, seed=3)[0]
    text = render_chat(template, row["messages"], row["tools"])
    assert len(tok(text, add_special_tokens=False).input_ids) == count(text) == row["meta"]["tokens"]
