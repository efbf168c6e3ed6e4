"""Training examples: parse rows, keep what is usable, quarantine the rest with a reason.

Pure functions on plain data; `orchestrator.train` reads files with `datasets` and feeds lines here.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass, field


@dataclass
class Quarantine:
    rows: list[dict] = field(default_factory=list)

    def add(self, source: str, index: int, reason: str, raw: str | dict) -> None:
        self.rows.append({"source": source, "row": index, "reason": reason,
                          "raw": raw if isinstance(raw, str) else json.dumps(raw, ensure_ascii=False)})

    def counts(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for r in self.rows:
            out[r["reason"]] = out.get(r["reason"], 0) + 1
        return out


def example_problem(row: object) -> str | None:
    """Why a parsed row cannot be a training example, or None."""
    if not isinstance(row, dict):
        return "not a JSON object"
    msgs = row.get("messages")
    if not isinstance(msgs, list) or not msgs:
        return "no messages"
    if not isinstance(row.get("tools", []), list):
        return "tools is not a list"
    if not any(isinstance(m, dict) and m.get("role") == "assistant" for m in msgs):
        return "no assistant turn"
    for m in msgs:
        if not isinstance(m, dict) or m.get("role") not in ("system", "user", "assistant", "tool"):
            return "message with a missing or unknown role"
        if m["role"] == "assistant" and not (m.get("content") or m.get("tool_calls")):
            return "empty assistant turn"
    return None


def parse_lines(lines: list[str], source: str, quarantine: Quarantine) -> list[dict]:
    examples = []
    for i, line in enumerate(lines):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError:
            quarantine.add(source, i, "malformed JSON", line)
            continue
        problem = example_problem(row)
        if problem:
            quarantine.add(source, i, problem, line)
            continue
        examples.append(row)
    return examples


def sample(examples: list[dict], limit: int | None, seed: int) -> list[dict]:
    """A seeded shuffle, then the first `limit`: a capped run still sees every scenario."""
    order = list(examples)
    random.Random(seed).shuffle(order)
    return order if limit is None else order[:limit]
