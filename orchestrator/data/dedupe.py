"""Global exact dedupe and the per-session cap.

Dedupe key: the row's user turns joined by a newline, casefolded and whitespace-collapsed, plus its
toolset signature (sorted tool names). The first row with a key (sources in config order, rows in
file order) is kept; every other one is quarantined as "duplicate of <id of the kept row>". The first
copy from a source that can be trained on is preferred: a copy in a source of weight 0 (kept for
reference, never sampled) does not take the place of one that would be trained.

Near-duplicates are not removed. The way to add them: MinHash signatures of word 5-gram shingles of
the same user text with LSH banding (e.g. `datasketch.MinHashLSH`, 128 permutations), treating a
pair as duplicate above an estimated Jaccard of 0.8, checked within the same toolset signature; an
all-pairs n-gram Jaccard is quadratic and too slow beyond a few thousand rows.

Per-session cap: for a source with `max_per_session: k`, a session (`meta.session_id`) with more
than k rows keeps k of them, chosen by `random.Random(f"{seed}:cap:{source}:{session}").sample`
and kept in file order; the rest are quarantined. Rows without a session id are never capped.
"""

from __future__ import annotations

import random
import re

_WS = re.compile(r"\s+")


def normalised_text(text: str) -> str:
    return _WS.sub(" ", text.casefold()).strip()


def user_text(row: dict) -> str:
    return "\n".join(m["content"] for m in row["messages"] if m["role"] == "user" and m.get("content"))


def dedupe_key(row: dict) -> str:
    tools = ",".join(sorted(t["function"]["name"] for t in row["tools"]))
    return normalised_text(user_text(row)) + "\x00" + tools


def dedupe(rows: list[dict], untrained: frozenset[str] = frozenset()) -> tuple[list[dict], list[tuple[dict, str]]]:
    """(kept rows, [(duplicate row, id of the row it duplicates)]); `untrained`: sources whose rows are
    never sampled (weight 0), whose copy is kept only when no other source has one."""
    keys = [dedupe_key(row) for row in rows]
    chosen: dict[str, int] = {}
    for i, (row, key) in enumerate(zip(rows, keys)):
        if key not in chosen or (rows[chosen[key]]["meta"]["source"] in untrained
                                 and row["meta"]["source"] not in untrained):
            chosen[key] = i
    keep = set(chosen.values())
    kept = [r for i, r in enumerate(rows) if i in keep]
    dropped = [(r, rows[chosen[key]]["id"]) for i, (r, key) in enumerate(zip(rows, keys)) if i not in keep]
    return kept, dropped


def cap_sessions(rows: list[dict], max_per_session: dict[str, int | None], seed: int
                 ) -> tuple[list[dict], list[tuple[dict, str]]]:
    """(kept rows, [(capped row, reason)]) with at most `max_per_session[source]` rows per session."""
    sessions: dict[tuple[str, str], list[int]] = {}
    for i, row in enumerate(rows):
        source, session = row["meta"]["source"], row["meta"].get("session_id")
        if max_per_session.get(source) and session is not None:
            sessions.setdefault((source, str(session)), []).append(i)
    dropped_at: dict[int, str] = {}
    for (source, session), members in sessions.items():
        limit = max_per_session[source]
        if len(members) > limit:
            keep = set(random.Random(f"{seed}:cap:{source}:{session}").sample(members, limit))
            for i in members:
                if i not in keep:
                    dropped_at[i] = f"session {session!r} has {len(members)} rows; the cap is {limit}"
    kept = [r for i, r in enumerate(rows) if i not in dropped_at]
    return kept, [(rows[i], why) for i, why in sorted(dropped_at.items())]
