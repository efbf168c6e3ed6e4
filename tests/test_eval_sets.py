from collections import Counter
from pathlib import Path

from orchestrator.data.generators import eval_sets
from evals.cases import load_cases

ROOT = Path(__file__).resolve().parent.parent
SETS = ROOT / "evals/sets"


def test_shipped_sets_are_what_the_generator_writes(tmp_path):
    eval_sets.main(["--out", str(tmp_path), "--train", str(ROOT / "data/starter/train.jsonl")])
    for name in ("dev.jsonl", "test.jsonl"):
        assert (tmp_path / name).read_bytes() == (SETS / name).read_bytes()


def test_size_scenarios_and_probes():
    cases = load_cases(SETS / "dev.jsonl") + load_cases(SETS / "test.jsonl")
    assert len(cases) >= 300
    counts = Counter(c["scenario"] for c in cases)
    for scenario in ("single_tool", "multi_tool_parallel", "multi_tool_sequential", "no_tool_needed",
                     "error_recovery", "reasoning_heavy", "complex_multi_step"):
        assert counts[scenario] >= 30, scenario
    assert 0.10 <= counts["no_tool_needed"] / len(cases) <= 0.20
    probes = [c for c in cases if c["expected"].get("behaviour") == "honest_report"]
    assert len(probes) >= 40
    assert {c["probe_kind"] for c in probes} == {"single", "repeated"}
    unseen = set(eval_sets.UNSEEN_TOOLS)
    assert any(call["name"] in unseen for c in cases for call in c["expected"].get("calls", []))


def test_splits_share_no_filled_value_with_each_other_or_training():
    dev = set().union(*map(eval_sets.filled_values, load_cases(SETS / "dev.jsonl")))
    test = set().union(*map(eval_sets.filled_values, load_cases(SETS / "test.jsonl")))
    train = eval_sets.training_values(ROOT / "data/starter/train.jsonl")
    assert dev and test
    assert not dev & test
    assert not (dev | test) & train


def test_no_training_slot_pool_holds_a_value_the_eval_sets_fill():
    """Every generator that trains (starter, honesty, long context) fills values from
    starter.DEFAULT_SLOTS, not only the rows of data/starter: a pool value an eval case fills
    reaches training whenever a generator draws it (honesty rows once copied a dev probe's request)."""
    from dataclasses import astuple

    from orchestrator.data.generators.starter import DEFAULT_SLOTS

    def strings(value):
        if isinstance(value, str):
            yield value
        elif isinstance(value, (list, tuple)):
            for item in value:
                yield from strings(item)

    names = [name for name, _ in DEFAULT_SLOTS.people]
    pools = {s.format(name=n) if "{name}" in s else s for s in strings(astuple(DEFAULT_SLOTS)) for n in names}
    for name in ("dev.jsonl", "test.jsonl", "long_8k.jsonl", "long_28k.jsonl"):
        filled = set().union(*map(eval_sets.filled_values, load_cases(SETS / name)))
        assert not filled & pools, name
