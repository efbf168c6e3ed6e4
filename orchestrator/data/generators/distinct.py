"""Drawing a generator's rows until `n` distinct ones are made (shared by the generated tracks)."""

from __future__ import annotations

from typing import Callable


def draw_distinct(n: int, make: Callable[[int], dict], key: Callable[[dict], str], track: str) -> list[dict]:
    """`n` rows from `make(index_of_next_row)`, skipping any whose `key` was seen, ids `<track>-00000`
    on; a generator that keeps repeating itself (too few templates for `n`) is an error, not a hang."""
    rows: list[dict] = []
    seen: set[str] = set()
    attempts = 0
    while len(rows) < n:
        attempts += 1
        if attempts > 50 * n + 1000:
            raise ValueError(f"could not make {n} distinct {track} examples (made {len(rows)}); lower the count")
        row = make(len(rows))
        k = key(row)
        if k in seen:
            continue
        seen.add(k)
        row["id"] = f"{track}-{len(rows):05d}"
        rows.append(row)
    return rows
