import json
from collections import Counter
from pathlib import Path

from orchestrator.data.generators import starter

ROOT = Path(__file__).resolve().parent.parent


def _read(name):
    return [json.loads(line) for line in (ROOT / "data/starter" / name).read_text().splitlines()]


def test_shipped_files_are_what_the_generator_writes(tmp_path):
    starter.main(["--out", str(tmp_path)])
    for name in ("train.jsonl", "heldout.jsonl"):
        assert (tmp_path / name).read_bytes() == (ROOT / "data/starter" / name).read_bytes()


def test_size_mix_and_split():
    train, heldout = _read("train.jsonl"), _read("heldout.jsonl")
    everything = train + heldout
    assert len(everything) >= 300
    counts = Counter(ex["scenario"] for ex in everything)
    assert set(counts) == {"single_tool", "multi_tool_parallel", "multi_tool_sequential", "no_tool_needed",
                           "error_recovery"}
    assert 0.10 <= counts["no_tool_needed"] / len(everything) <= 0.20
    train_requests = {starter.first_user_text(ex) for ex in train}
    assert not train_requests & {starter.first_user_text(ex) for ex in heldout}
    assert len(heldout) >= 50


def test_every_call_names_an_offered_tool_with_required_arguments():
    for ex in _read("train.jsonl") + _read("heldout.jsonl"):
        offered = {t["function"]["name"]: t["function"]["parameters"] for t in ex["tools"]}
        for m in ex["messages"]:
            for tc in m.get("tool_calls", []):
                fn = tc["function"]
                assert fn["name"] in offered, ex["id"]
                assert set(offered[fn["name"]]["required"]) <= set(fn["arguments"]), ex["id"]
