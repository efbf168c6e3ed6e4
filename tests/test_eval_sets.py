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
