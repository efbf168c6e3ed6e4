"""Long-context training conversations (16K and 32K variants).

Each conversation has 8-16 tool rounds with long, deterministic tool outputs (service logs,
CSV tables, config and notes files, web pages). One early round hides a *needle* (an escalation
contact, a tracking ticket, a report path, a mirror URL, an offsite city, a review date), often
beside a *decoy* of the same kind in another round ("last week's contact"); the last user turn
asks for an action that needs the needle, and the last assistant turn is the tool call with it.

Outputs grow until the conversation, rendered with the project's chat template, reaches the
target length as counted by the real tokenizer (`count`): between 95 % of the target and the
target itself, so it fits the context it trains. Every example is validated after rendering:
the last assistant turn must parse strictly as one call to an offered tool, with arguments that
fit its schema and equal the intended call.

Content is disjoint from the eval sets' long-context cases (`orchestrator/data/generators/long_context_eval.py`): slot values
come from the training pools, and the line vocabularies and needle phrasings are different.
Rows carry `meta.track = "long_context"`.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, replace
from typing import Callable

import jsonschema

from evals.parser import parse_strict
from evals.template import render_chat
from evals.tools import argument_validator
from orchestrator.errors import DataError
from orchestrator.data.generators.starter import DEFAULT_SLOTS, SYSTEM_PROMPT, TOOLS, Slots

CountTokens = Callable[[str], int]
MIN_ROUNDS, MAX_ROUNDS = 8, 16
LOWER_FRACTION = 0.95


class LongContextError(DataError):
    pass


# --- long tool outputs --------------------------------------------------------------------------

SERVICES = ["ingest", "billing-sync", "thumbnailer", "mailer", "search-indexer", "scheduler", "exporter", "auth-proxy"]
EVENTS = ["flushed queue", "rotated segment", "compacted index", "renewed lease", "retried upload",
          "pruned cache", "reloaded config", "synced replica", "checkpointed state", "warmed pool"]
PRODUCTS = ["desk lamp", "standing mat", "usb hub", "notebook set", "travel mug", "cable kit", "monitor arm",
            "webcam cover", "laptop stand", "ergonomic mouse"]
PROSE = ("quarter rollout vendor contract onboarding checklist retrospective forecast handover inventory pilot "
         "feedback migration audit renewal budget staffing milestone sprint workshop survey pipeline").split()
CONFIG_KEYS = ["max_workers", "retry_backoff_ms", "cache_ttl_s", "batch_size", "log_level", "queue_depth",
               "flush_interval_s", "shard_count", "read_timeout_ms", "compression"]


def _log(rng: random.Random, n: int) -> list[str]:
    return [f"[{rng.randint(1, 28):02d}/Oct {rng.randint(0, 23):02d}:{rng.randint(0, 59):02d}] "
            f"{rng.choice(['info', 'info', 'notice', 'warn', 'trace', 'err'])} {rng.choice(SERVICES)}"
            f"#{rng.randint(1, 64)}: {rng.choice(EVENTS)}, {rng.randint(1, 5000)} items, "
            f"{rng.randint(1, 900)}.{rng.randint(0, 9)} ms" for _ in range(n)]


def _table(rng: random.Random, n: int, slots: Slots) -> list[str]:
    return ["| sku | item | qty | unit_price | warehouse |", "|---|---|---|---|---|"] + [
        f"| SKU{rng.randint(10000, 99999)} | {rng.choice(PRODUCTS)} | {rng.randint(1, 250)} | "
        f"{rng.randint(2, 400)}.{rng.randint(0, 99):02d} | {rng.choice(slots.cities)} |" for _ in range(n)]


def _notes(rng: random.Random, n: int) -> list[str]:
    return [f"- {' '.join(rng.choice(PROSE) for _ in range(rng.randint(7, 15))).capitalize()}." for _ in range(n)]


def _config(rng: random.Random, n: int) -> list[str]:
    return [f"{rng.choice(SERVICES).replace('-', '_')}.{rng.choice(CONFIG_KEYS)}: {rng.randint(1, 4096)}"
            for _ in range(n)]


def _page(rng: random.Random, n: int) -> list[str]:
    return [f"<p>{' '.join(rng.choice(PROSE) for _ in range(rng.randint(10, 20))).capitalize()}.</p>" for _ in range(n)]


ROUND_KINDS: dict[str, tuple[str, str, str, Callable]] = {
    # kind: (tool, slot pool, argument, line generator)
    "log": ("run_shell", "commands", "command", lambda rng, n, s: _log(rng, n)),
    "table": ("read_file", "files", "path", _table),
    "notes": ("read_file", "files", "path", lambda rng, n, s: _notes(rng, n)),
    "config": ("read_file", "files", "path", lambda rng, n, s: _config(rng, n)),
    "page": ("http_fetch", "urls", "url", lambda rng, n, s: _page(rng, n)),
}


# --- needles --------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Needle:
    kind: str
    line: str            # hidden in an early tool output
    decoy: str | None    # the same kind of value, explicitly not the one asked for
    ask: str             # the final user turn
    call: dict           # the call the final assistant turn must make
    value: str           # the argument value only the needle line carries


def _needle(rng: random.Random, slots: Slots, step: int) -> Needle:
    where = rng.choice([f"in step {step}", "earlier", "in one of the outputs above"])
    kind = rng.choice(["contact", "ticket", "report", "mirror", "offsite", "review"])
    if kind == "contact":
        (name, email), (old_name, old_email) = rng.sample(slots.people, 2)
        return Needle(kind, f"Escalation owner for this rotation: {name} ({email})",
                      f"Previous rotation's escalation owner was {old_name} ({old_email})",
                      f"Please email this rotation's escalation owner mentioned {where}: subject 'Overnight "
                      f"alerts', body 'Can you check the overnight alerts?'",
                      _fn("send_email", to=email, subject="Overnight alerts", body="Can you check the overnight alerts?"),
                      email)
    if kind == "ticket":
        project = rng.choice(slots.projects)
        num, old = rng.sample(range(1000, 9999), 2)
        tid = f"{project}-{num}"
        return Needle(kind, f"Tracking issue for this migration: {tid}", f"(Closed duplicate: {project}-{old})",
                      f"What's the status of the tracking issue for the migration, the one mentioned {where}?",
                      _fn("get_ticket", ticket_id=tid), tid)
    if kind == "report":
        path = rng.choice(slots.files)
        return Needle(kind, f"Full report written to {path}", None,
                      f"Open the full report file that was mentioned {where}.", _fn("read_file", path=path), path)
    if kind == "mirror":
        url, old = rng.sample(slots.urls, 2)
        return Needle(kind, f"Primary mirror moved to {url}", f"Old mirror (retired): {old}",
                      f"Fetch the current primary mirror mentioned {where}.", _fn("http_fetch", url=url), url)
    if kind == "offsite":
        city, old = rng.sample(slots.cities, 2)
        return Needle(kind, f"Update: the team offsite is now in {city}", f"Original offsite plan: {old} (cancelled)",
                      f"How's the weather where the offsite now is? It was mentioned {where}.",
                      _fn("get_weather", city=city), city)
    date, old = rng.sample(slots.dates, 2)
    return Needle(kind, f"Launch review rescheduled to {date}", f"Launch review originally planned for {old}",
                  f"What else is on my calendar on the day of the rescheduled launch review mentioned {where}?",
                  _fn("calendar_list_events", date=date), date)


def _fn(name: str, **arguments) -> dict:
    return {"type": "function", "function": {"name": name, "arguments": arguments}}


# --- assembly --------------------------------------------------------------------------------------

FIRST_ASKS = ["I was away for a while. Go through these sources one at a time so we can catch up.",
              "Let's review everything that changed: check each log, file and page in turn.",
              "Walk through my files, logs and status pages one by one; I'll ask questions after.",
              "Catch me up: read the reports, run the checks and load the pages, one step at a time."]


@dataclass
class _Plan:
    rng: random.Random
    slots: Slots
    rounds: int
    kinds: list[str]
    calls: list[dict]
    outputs: list[list[str]]
    needle: Needle
    needle_round: int
    decoy_round: int | None
    tools: list[dict]
    first_ask: str


def _plan(rng: random.Random, slots: Slots) -> _Plan:
    rounds = rng.randint(MIN_ROUNDS, MAX_ROUNDS)
    needle_round = rng.randint(0, rounds // 3)
    kinds = [rng.choice(list(ROUND_KINDS)) for _ in range(rounds)]
    needle = _needle(rng, slots, needle_round + 1)
    # Filler tables name cities: never the needle's or the decoy's, so only the needle line carries it.
    if needle.kind == "offsite":
        slots = replace(slots, cities=[c for c in slots.cities if c not in needle.line and c not in needle.decoy])
    calls = []
    for kind in kinds:
        tool, pool, arg, _ = ROUND_KINDS[kind]
        # A round's own argument never equals the needle's value: only the needle line may carry it.
        calls.append(_fn(tool, **{arg: rng.choice([v for v in getattr(slots, pool) if v != needle.value])}))
    later = [i for i in range(rounds) if i != needle_round]
    decoy_round = rng.choice(later) if needle.decoy and rng.random() < 0.7 else None
    needed = {c["function"]["name"] for c in calls} | {needle.call["function"]["name"]}
    extra = rng.sample(sorted(set(TOOLS) - needed), 2)
    names = sorted(needed | set(extra))
    rng.shuffle(names)
    return _Plan(rng, slots, rounds, kinds, calls, [[] for _ in range(rounds)], needle, needle_round, decoy_round,
                 [TOOLS[n] for n in names], rng.choice(FIRST_ASKS))


def _messages(p: _Plan) -> list[dict]:
    msgs = [{"role": "system", "content": SYSTEM_PROMPT}, {"role": "user", "content": p.first_ask}]
    for i in range(p.rounds):
        body = list(p.outputs[i])
        if i == p.needle_round:
            body.insert(len(body) // 3, p.needle.line)
        if i == p.decoy_round:
            body.insert(len(body) // 2, p.needle.decoy)
        msgs += [{"role": "assistant", "content": "", "tool_calls": [p.calls[i]]},
                 {"role": "tool", "name": p.calls[i]["function"]["name"], "content": "\n".join(body)}]
    msgs += [{"role": "user", "content": p.needle.ask},
             {"role": "assistant", "content": "", "tool_calls": [p.needle.call]}]
    return msgs


def _grow(p: _Plan, i: int, n: int) -> None:
    p.outputs[i] += ROUND_KINDS[p.kinds[i]][3](p.rng, n, p.slots)


def _trim_to(p: _Plan, target: int, n: int, per_line: float, tokens: Callable[[], int]) -> int:
    """Drop lines from the longest tool output until the conversation fits `target` (or each output
    is down to one line); the new token count."""
    while n > target and any(len(o) > 1 for o in p.outputs):
        longest = max(range(p.rounds), key=lambda j: len(p.outputs[j]))
        drop = max(1, min(len(p.outputs[longest]) - 1, int((n - target) / per_line / 2)))
        del p.outputs[longest][-drop:]
        n = tokens()
    return n


def make_example(target: int, count: CountTokens, template: str, rng: random.Random,
                 slots: Slots = DEFAULT_SLOTS) -> dict:
    """One conversation of `LOWER_FRACTION * target` to `target` tokens, rendered and validated."""
    p = _plan(rng, slots)
    for i in range(p.rounds):
        _grow(p, i, 2)

    def tokens() -> int:
        return count(render_chat(template, _messages(p), p.tools))

    lower = int(target * LOWER_FRACTION)
    n = tokens()
    # Grow in proportion to what is missing, then trim: few full re-counts even at 32K.
    for _ in range(200):
        if n >= lower:
            break
        per_line = max(n / max(sum(map(len, p.outputs)), 1), 8)
        missing_lines = int((target * 0.985 - n) / per_line)
        step = max(1, missing_lines // p.rounds)
        for i in range(p.rounds):
            _grow(p, i, step)
        n = tokens()
        n = _trim_to(p, target, n, per_line, tokens)
    # The first draw can already be over a small target (2 lines a round came to 2137 tokens for 2100).
    n = _trim_to(p, target, n, max(n / max(sum(map(len, p.outputs)), 1), 8), tokens)
    if not lower <= n <= target:
        raise LongContextError(f"could not fit the conversation into [{lower}, {target}] tokens (got {n}; its "
                               f"shortest form is longer than target_tokens: raise target_tokens)")
    messages = _messages(p)
    validate_final_call(template, messages, p.tools, p.needle.call)
    return {"scenario": "long_context", "tools": p.tools, "messages": messages,
            "meta": {"track": "long_context", "scenario": f"needle_{p.needle.kind}", "target_tokens": target,
                     "tokens": n, "rounds": p.rounds, "needle_round": p.needle_round + 1,
                     "decoy_round": None if p.decoy_round is None else p.decoy_round + 1}}


_ASSISTANT_OPEN, _END = "<|im_start|>assistant\n", "<|im_end|>"


def validate_final_call(template: str, messages: list[dict], tools: list[dict], expected: dict) -> None:
    """The rendered last assistant turn parses strictly as the expected call to an offered tool."""
    rendered = render_chat(template, messages, tools)
    start = rendered.rfind(_ASSISTANT_OPEN)
    last = rendered[start + len(_ASSISTANT_OPEN):].rstrip("\n")
    if start < 0 or not last.endswith(_END):
        raise LongContextError("the rendered conversation does not end with an assistant turn")
    parsed = parse_strict(last[:-len(_END)])
    if not parsed.ok or len(parsed.calls) != 1:
        raise LongContextError(f"the last assistant turn does not parse as one call: {parsed.error}")
    call = parsed.calls[0]
    schemas = {t["function"]["name"]: t["function"]["parameters"] for t in tools}
    if call["name"] not in schemas:
        raise LongContextError(f"the final call names {call['name']!r}, which is not offered")
    err = jsonschema.exceptions.best_match(argument_validator(schemas[call["name"]]).iter_errors(call["arguments"]))
    if err is not None:
        raise LongContextError(f"the final call's arguments do not fit {call['name']}: {err.message}")
    if call != {"name": expected["function"]["name"], "arguments": expected["function"]["arguments"]}:
        raise LongContextError(f"the rendered final call {call} differs from the intended one")


def generate(target: int, n: int, count: CountTokens, template: str, seed: int = 0,
             slots: Slots = DEFAULT_SLOTS) -> list[dict]:
    rng = random.Random(f"long-context-train-{target}-{seed}")
    rows = []
    for i in range(n):
        row = make_example(target, count, template, rng, slots)
        row["id"] = f"long{target // 1024}k-{i:04d}"
        rows.append(row)
    return rows
