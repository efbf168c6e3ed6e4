import json

from orchestrator.dataset import Quarantine, parse_lines

GOOD = {"messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "hello"}], "tools": []}


def test_every_bad_row_is_quarantined_with_a_reason():
    lines = [
        json.dumps(GOOD),
        "{not json",
        json.dumps([1, 2]),
        json.dumps({"messages": []}),
        json.dumps({"messages": [{"role": "user", "content": "x"}]}),
        json.dumps({"messages": [{"role": "user", "content": "x"}, {"role": "assistant", "content": ""}]}),
        json.dumps({"messages": [{"role": "robot", "content": "x"}, {"role": "assistant", "content": "y"}]}),
        "",
    ]
    q = Quarantine()
    kept = parse_lines(lines, "src.jsonl", q)
    assert kept == [GOOD]
    assert q.counts() == {"malformed JSON": 1, "not a JSON object": 1, "no messages": 1, "no assistant turn": 1,
                          "empty assistant turn": 1, "message with a missing or unknown role": 1}
    assert [r["row"] for r in q.rows] == [1, 2, 3, 4, 5, 6]
    # nothing unaccounted for: every non-blank line is kept or quarantined
    assert len(kept) + len(q.rows) == sum(1 for line in lines if line.strip())
