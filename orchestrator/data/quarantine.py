"""Rows that cannot be trained on, each with the stage that rejected it and one reason.

A quarantine row is `{source, row, id, stage, check, reason, raw}`: `check` is the stable name
counted in the stage table (e.g. `unknown_tool`), `reason` the human sentence with the details
(e.g. "call to 'delete_all', which is not among the row's tools"), `raw` the row as it was read.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field


def row_ref(source: str, index: int) -> str:
    """The id every stage, the quarantine file and the leakage report use for a row."""
    return f"{source}:{index}"


@dataclass
class Quarantine:
    rows: list[dict] = field(default_factory=list)

    def add(self, source: str, index: int, stage: str, check: str, reason: str, raw: str | bytes | dict) -> None:
        self.rows.append({"source": source, "row": index, "id": row_ref(source, index), "stage": stage,
                          "check": check, "reason": reason,
                          "raw": raw if isinstance(raw, str) else
                          raw.decode("utf-8", "backslashreplace") if isinstance(raw, bytes) else
                          json.dumps(raw, ensure_ascii=False, default=str)})

    def counts(self, stage: str | None = None) -> dict[str, int]:
        """Rows per check, for one stage or all of them."""
        out: dict[str, int] = {}
        for r in self.rows:
            if stage is None or r["stage"] == stage:
                out[r["check"]] = out.get(r["check"], 0) + 1
        return out

    def jsonl(self) -> str:
        return "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in self.rows)
