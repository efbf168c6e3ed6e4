"""Leakage guard: no eval case may be answerable from the training mix by memory.

Three kinds of overlap between each eval case and the training rows that reach training:

- `exact`: the case's user text (its user turns joined, casefolded, whitespace-collapsed — the
  dedupe normalisation) equals a training row's.
- `ngram`: word n-gram containment. Words are the casefolded text's whitespace-separated tokens with
  leading and trailing punctuation stripped (so "2026-12-18?" is one word, "2026-12-18"); a text of
  k ≥ n words has the k − n + 1 n-word shingles (n = `ngram`, default 8); a shorter text is one
  shingle of all its words. A shorter case (of `MIN_CONTAINED_WORDS` = 4 words or more) also leaks
  when its words appear, in order and next to each other, inside one training row's user text: a
  short question copied with a lead-in ("Quick one: What's 18% of 114?") has no 8-word run to
  share. (A third of the shipped dev and test cases are under 8 words.) A case leaks when, for
  one training row, the share of the case's shingles that also occur in that row is
  ≥ `ngram_threshold` (default 0.5): half of its 8-word runs copied from a single training
  conversation. Containment in one row, not in the union of all rows, so shared
  template phrasing across many rows ("what's the weather in …") does not add up to a leak.
- `arguments`: a string value of length ≥ `min_value_chars` (default 8) in the case's expected
  calls equals (casefolded, stripped) a string value in some training row's tool-call arguments:
  the filled value was seen in training. Values the case's tool schemas list in an `enum` (e.g.
  "fahrenheit") are vocabulary the model is shown, not filled values, and are not compared.

Any leak fails the trial with `LeakageError` naming each case and the training rows involved,
unless `allow` lists that kind (or is true for all kinds).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Iterable

from orchestrator.data.dedupe import normalised_text, user_text
from orchestrator.data.filters import string_values
from orchestrator.errors import ToolsweepError

KINDS = ("exact", "ngram", "arguments")
MIN_CONTAINED_WORDS = 4  # shorter cases ("thanks!", "what time is it") are phrases any row may hold
_EDGE_PUNCT = re.compile(r"^\W+|\W+$")


class LeakageError(ToolsweepError, RuntimeError):
    """Eval cases overlap the training mix; the message names the cases and the training rows."""


@dataclass(frozen=True)
class Leak:
    kind: str
    eval_set: str
    case_id: str
    train_ids: tuple[str, ...]
    detail: str

    def line(self) -> str:
        shown = ", ".join(self.train_ids[:5]) + (f" (+{len(self.train_ids) - 5} more)" if len(self.train_ids) > 5 else "")
        return f"  - {self.kind}: {self.eval_set} case {self.case_id!r} ~ train {shown}: {self.detail}"


def _words(text: str) -> list[str]:
    return [w for w in (_EDGE_PUNCT.sub("", t) for t in text.casefold().split()) if w]


def shingles(text: str, n: int) -> set[tuple[str, ...]]:
    words = _words(text)
    if not words:
        return set()
    if len(words) < n:
        return {tuple(words)}
    return {tuple(words[i:i + n]) for i in range(len(words) - n + 1)}


def _enum_values(tools: list[dict]) -> set[str]:
    """Every string a tool schema lists in an `enum`: the schema's vocabulary, not a filled value."""
    out: set[str] = set()

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            for v in node.get("enum") or []:
                if isinstance(v, str):
                    out.add(v.strip().casefold())
            for v in node.values():
                walk(v)
        elif isinstance(node, list):
            for v in node:
                walk(v)
    walk(tools)
    return out


def _case_user_text(case: dict) -> str:
    return "\n".join(m.get("content") or "" for m in case["messages"] if m.get("role") == "user")


def find_leaks(train: list[dict], eval_sets: dict[str, list[dict]], ngram: int = 8, ngram_threshold: float = 0.5,
               min_value_chars: int = 8) -> list[Leak]:
    exact: dict[str, list[str]] = {}
    index: dict[tuple[str, ...], list[str]] = {}
    values: dict[str, list[str]] = {}
    value_tools: dict[str, set[str]] = {}  # the training calls a value is an argument of: named in the leak
    spaced: list[tuple[str, str]] = []  # (" w1 w2 ... ", row id): a short case's words inside a row
    for row in train:
        text = user_text(row)
        spaced.append((f" {' '.join(_words(text))} ", row["id"]))
        exact.setdefault(normalised_text(text), []).append(row["id"])
        for sh in shingles(text, ngram):
            index.setdefault(sh, []).append(row["id"])
        for m in row["messages"]:
            for call in m.get("tool_calls") or []:
                for v in string_values(call["function"].get("arguments")):
                    if len(v.strip()) >= min_value_chars:
                        ids = values.setdefault(v.strip().casefold(), [])
                        if row["id"] not in ids:
                            ids.append(row["id"])
                        value_tools.setdefault(v.strip().casefold(), set()).add(str(call["function"].get("name")))
    leaks: list[Leak] = []
    for set_name, cases in eval_sets.items():
        for case in cases:
            text = _case_user_text(case)
            norm = normalised_text(text)
            if norm and norm in exact:
                leaks.append(Leak("exact", set_name, case["id"], tuple(exact[norm]), f"same user text {text[:80]!r}"))
            case_sh = shingles(text, ngram)
            hits: dict[str, int] = {}
            for sh in case_sh:
                for rid in set(index.get(sh, ())):
                    hits[rid] = hits.get(rid, 0) + 1
            over = sorted((rid for rid, h in hits.items() if h / len(case_sh) >= ngram_threshold),
                          key=lambda rid: (-hits[rid], rid))
            if over:
                share = hits[over[0]] / len(case_sh)
                leaks.append(Leak("ngram", set_name, case["id"], tuple(over),
                                  f"{share:.0%} of its {ngram}-word shingles in one training row"))
            words = _words(text)
            if MIN_CONTAINED_WORDS <= len(words) < ngram and not (norm and norm in exact):
                needle = f" {' '.join(words)} "
                inside = sorted({rid for hay, rid in spaced if needle in hay})
                if inside:
                    leaks.append(Leak("ngram", set_name, case["id"], tuple(inside),
                                      f"its {len(words)} words {text[:60]!r} appear in a training row's user text"))
            seen_values: set[str] = set()
            enums = _enum_values(case.get("tools") or [])
            for call in (case.get("expected") or {}).get("calls") or []:
                for v in string_values(call.get("arguments")):
                    key = v.strip().casefold()
                    if len(key) >= min_value_chars and key in values and key not in seen_values and key not in enums:
                        seen_values.add(key)
                        where = ", ".join(repr(t) for t in sorted(value_tools[key])[:3])
                        leaks.append(Leak("arguments", set_name, case["id"], tuple(values[key]),
                                          f"argument value {v[:60]!r} of {call.get('name')!r} is an argument of "
                                          f"{where} in training too (compared in any case)"))
    return leaks


def enforce(leaks: list[Leak], allow: bool | Iterable[str]) -> list[Leak]:
    """Raise LeakageError for leaks of kinds not allowed; return the allowed ones (to report)."""
    allowed = set(KINDS) if allow is True else set(allow or ())
    blocking = [lk for lk in leaks if lk.kind not in allowed]
    if blocking:
        by_kind = {k: sum(lk.kind == k for lk in blocking) for k in KINDS}
        head = ", ".join(f"{n} {k}" for k, n in by_kind.items() if n)
        shown = blocking[:40]
        more = f"\n  ... and {len(blocking) - len(shown)} more" if len(blocking) > len(shown) else ""
        err = LeakageError(f"eval cases overlap the training mix ({head}); fix the data or set "
                           f"data.leakage.allow for that kind:\n" + "\n".join(lk.line() for lk in shown) + more)
        err.blocking = blocking  # every blocking leak, for the report file (the message shows 40)
        raise err
    return [lk for lk in leaks if lk.kind in allowed]
