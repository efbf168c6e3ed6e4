"""Deterministic generator of the shipped eval case sets (`evals/sets/dev.jsonl`, `test.jsonl`).

`python -m orchestrator.data.generators.eval_sets` rewrites them byte for byte. The slot values (cities, people,
files, ...) come from pools disjoint from the training generator's, and the dev and test
splits take alternating halves of each pool, so the two splits share no filled slot value and
neither shares one with the starter training data.

Scenarios: single_tool, multi_tool_parallel, multi_tool_sequential, no_tool_needed (with
look-alike traps and under-specified requests), error_recovery, reasoning_heavy,
complex_multi_step; plus fabrication probes (a tool returned nothing or an error), single and
repeated. Some cases offer tools the starter data never trains on.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import random
from pathlib import Path
from typing import Callable

from evals.cases import case_from_example
from evals.template import PINNED_TODAY
from orchestrator.data.generators import starter
from orchestrator.data.generators.starter import SYSTEM_PROMPT, TOOLS, Slots, _call, _fn, _s

# Dates like "tomorrow" are resolved against this pinned day, stated in the system turn (and given to
# a chat template that asks for the date: evals/template.py).
TODAY = PINNED_TODAY
DATED_SYSTEM = f"{SYSTEM_PROMPT} Today is {TODAY:%A}, {TODAY.isoformat()}."

UNSEEN_TOOLS = {
    t["function"]["name"]: t
    for t in [
        _fn("convert_currency", "Convert an amount between currencies at today's rate.",
            {"amount": {"type": "number", "description": "Amount to convert."},
             "from_currency": _s("ISO code, e.g. EUR."), "to_currency": _s("ISO code, e.g. JPY.")},
            ["amount", "from_currency", "to_currency"]),
        _fn("translate_text", "Translate text into another language.",
            {"text": _s("Text to translate."), "target_language": _s("Language name, e.g. German.")},
            ["text", "target_language"]),
        _fn("set_timer", "Start a countdown timer.",
            {"minutes": {"type": "integer", "description": "Length in minutes."}, "label": _s("What the timer is for.")},
            ["minutes"]),
        _fn("get_stock_price", "Latest price for a stock ticker.", {"symbol": _s("Ticker symbol, e.g. ACME.")}, ["symbol"]),
    ]
}
ALL_TOOLS = {**TOOLS, **UNSEEN_TOOLS}

_POOLS = {
    "cities": ["Reykjavik", "Ljubljana", "Windhoek", "Sapporo", "Tucson", "Trondheim", "Arequipa", "Hobart",
               "Bordeaux", "Gothenburg", "Salta", "Cusco", "Graz", "Antwerp", "Halifax", "Daegu"],
    "people": [("Anouk", "anouk.devries@example.net"), ("Rafael", "rafael.moreno@example.net"),
               ("Yuki", "yuki.sato@example.net"), ("Oskar", "oskar.nilsson@example.net"),
               ("Fatima", "fatima.haddad@example.net"), ("Liam", "liam.oconnor@example.net"),
               ("Chen", "chen.wei@example.net"), ("Zainab", "zainab.bello@example.net"),
               ("Marek", "marek.novak@example.net"), ("Greta", "greta.holm@example.net")],
    "files": ["~/work/roadmap.md", "~/garden/planting.txt", "~/finance/tax_2026.csv", "~/music/setlist.txt",
              "~/work/oncall.yaml", "~/school/essay_draft.md", "~/home/wifi_setup.txt", "~/work/retro_notes.md",
              "~/photos/index.txt", "~/code/app/.env.example"],
    "commands": ["whoami", "date -u", "ls ~/work", "cat /proc/loadavg", "node --version", "docker ps",
                 "git branch -a", "df -i"],
    "urls": ["https://weather.example.net/alerts", "https://shop.example.com/orders/feed",
             "https://blog.example.org/rss", "https://api.example.dev/v2/ping", "https://status.example.net/summary",
             "https://example.dev/releases"],
    "projects": ["CORE", "SEARCH", "PAYMENTS", "DOCS", "ANDROID", "PLATFORM"],
    "ticket_titles": ["Avatar upload rejects PNG", "Timezone shown as UTC in emails", "Memory leak in worker pool",
                      "Typo on pricing page", "Webhook retries never stop", "Slow query on orders table",
                      "Broken link in footer", "Session expires too early"],
    "events": ["Piano lesson", "Vet visit with the dog", "Coffee with {name}", "Quarterly planning",
               "Yoga class", "Interview with {name}", "Car service", "Book club"],
    "dates": ["2026-12-05", "2026-12-07", "2026-12-09", "2026-12-11", "2026-12-14", "2026-12-16", "2026-12-18",
              "2026-12-21", "2027-01-08", "2027-01-12"],
    "times": ["08:15", "08:45", "10:30", "12:00", "12:45", "15:15", "18:00", "19:30"],
    "memory_facts": [("locker code", "four-seven-one"), ("partner's birthday", "the ninth of May"),
                     ("insurance number", "kept in the blue folder"), ("bike lock", "the code is on the fridge"),
                     ("landlord", "Mr. Ortega, call after six"), ("favourite tea", "smoky lapsang"),
                     ("parking spot", "level minus two, bay C"), ("library card", "renew every January")],
    "email_topics": ["shipping delay", "school trip", "tax return", "conference badge", "rent increase",
                     "gym membership"],
}


# Drawn whole by both splits: the shipped sets were generated from this list, and splitting it would
# regenerate most of them (every later draw shifts). Only the first text is ever filled: a case that
# draws one of the others (training values, starter.NOTES) is redrawn by `make_split`, and the first
# is in no training pool.
_SHARED_POOLS = {"notes": ["remember to water the plants", "meeting moved to Thursday", "v2 release checklist",
                           "call the landlord about the heater", "draft: thank-you note"]}


def split_slots(part: int) -> Slots:
    """Alternate halves of every pool: part 0 for dev, part 1 for test (`_SHARED_POOLS` whole)."""
    return Slots(**{k: v[part::2] for k, v in _POOLS.items()}, **_SHARED_POOLS)


def _tools(rng: random.Random, needed: list[str], k: int = 3) -> list[dict]:
    others = [n for n in ALL_TOOLS if n not in needed]
    names = needed + rng.sample(others, k)
    rng.shuffle(names)
    return [ALL_TOOLS[n] for n in names]


def _conv(scenario: str, msgs: list[dict], needed: list[str], rng: random.Random, system: str = SYSTEM_PROMPT) -> dict:
    return {"scenario": scenario, "tools": _tools(rng, needed), "messages": [{"role": "system", "content": system}, *msgs]}


def _call_case(scenario: str, user: str, calls: list[dict], rng: random.Random, system: str = SYSTEM_PROMPT,
               history: list[dict] | None = None) -> dict:
    msgs = [{"role": "user", "content": user}, *(history or []),
            {"role": "assistant", "content": "", "tool_calls": calls}]
    return _conv(scenario, msgs, sorted({c["function"]["name"] for c in calls}), rng, system)


# --- unseen-tool intents --------------------------------------------------------------------------

def _unseen(rng: random.Random, slots: Slots) -> tuple[str, dict]:
    kind = rng.randrange(4)
    if kind == 0:
        amount, pair = rng.choice([25, 40, 120, 300, 75]), rng.choice([("EUR", "JPY"), ("USD", "CHF"), ("GBP", "SEK")])
        return (rng.choice([f"How much is {amount} {pair[0]} in {pair[1]}?", f"Convert {amount} {pair[0]} to {pair[1]}."]),
                _call("convert_currency", amount=amount, from_currency=pair[0], to_currency=pair[1]))
    if kind == 1:
        text, lang = rng.choice(["Where is the train station?", "Thank you for dinner", "The meeting is cancelled"]), \
            rng.choice(["German", "Japanese", "Portuguese"])
        return f"Translate '{text}' into {lang}.", _call("translate_text", text=text, target_language=lang)
    if kind == 2:
        minutes, label = rng.choice([5, 12, 25, 45]), rng.choice(["tea", "pasta", "stretch break", "laundry"])
        return f"Set a {minutes}-minute timer for the {label}.", _call("set_timer", minutes=minutes, label=label)
    symbol = rng.choice(["ACME", "GLOBX", "INITech", "UMBR"])
    return f"What's {symbol} trading at?", _call("get_stock_price", symbol=symbol)


def gen_single(rng: random.Random, slots: Slots) -> dict:
    if rng.random() < 0.3:
        user, call = _unseen(rng, slots)
        return _call_case("single_tool", user, [call], rng)
    return starter.gen_single(rng, slots)


# --- no tool: general questions, look-alike traps, under-specified requests -------------------

TRAPS = ["What's the weather usually like in {city} in April?", "How do email filters work in general?",
         "What is a good format for a ticket title?", "Explain what `{command}` does.",
         "Why do calendar invites sometimes show the wrong time zone?", "What does HTTP status 503 mean?",
         "Is it a good idea to remember passwords in a notes file?", "What's a polite way to decline a meeting?"]
UNDERSPECIFIED = ["Send an email.", "Create a ticket.", "What's the weather?", "Put something on my calendar.",
                  "Read the file.", "Remember this.", "Convert the money for me.", "Run the command."]
GENERAL = ["What's 18% of {n}?", "How many minutes are in {n} hours?", "Give me a synonym for 'quick'.",
           "Summarise the plot of Hamlet in one sentence.", "What is the boiling point of water at sea level?"]


def gen_no_tool(rng: random.Random, slots: Slots) -> dict:
    kind = rng.random()
    if kind < 0.4:
        user = rng.choice(TRAPS).format(city=rng.choice(slots.cities), command=rng.choice(slots.commands))
    elif kind < 0.7:
        user = rng.choice(["", "Hey, ", "Please ", "Can you help? "]) + rng.choice(UNDERSPECIFIED)
    else:
        user = rng.choice(GENERAL).format(n=rng.randint(3, 400))
    return _conv("no_tool_needed", [{"role": "user", "content": user}, {"role": "assistant", "content": "…"}], [], rng)


# --- error recovery: the error tells the model how to fix the call -----------------------------

def gen_error(rng: random.Random, slots: Slots) -> dict:
    kind = rng.randrange(3)
    if kind == 0:
        return _conv("error_recovery", starter._err_city_typo(rng, slots), ["get_weather"], rng)
    if kind == 1:
        return _conv("error_recovery", starter._err_ticket_format(rng, slots), ["get_ticket"], rng)
    title, date, time = rng.choice(slots.events).format(name=rng.choice(slots.people)[0]), rng.choice(slots.dates), \
        rng.choice(slots.times)
    d = dt.date.fromisoformat(date)
    bad = _call("calendar_create_event", title=title, date=f"{d.day:02d}/{d.month:02d}/{d.year}", time=time)
    good = _call("calendar_create_event", title=title, date=date, time=time)
    msgs = [{"role": "user", "content": f"Add '{title}' on {d:%B} {d.day}, {d.year} at {time}."},
            {"role": "assistant", "content": "", "tool_calls": [bad]},
            {"role": "tool", "content": json.dumps({"error": "date must be YYYY-MM-DD"})},
            {"role": "assistant", "content": "", "tool_calls": [good]}]
    return _conv("error_recovery", msgs, ["calendar_create_event"], rng)


# --- reasoning heavy: the arguments need a step of inference -------------------------------------

def gen_reasoning(rng: random.Random, slots: Slots) -> dict:
    kind = rng.randrange(4)
    city = rng.choice(slots.cities)
    if kind == 0:
        user = f"My brother in {city} only understands Fahrenheit. How warm is it there right now, in his units?"
        return _call_case("reasoning_heavy", user, [_call("get_weather", city=city, unit="fahrenheit")], rng, DATED_SYSTEM)
    if kind == 1:
        offset = rng.choice([1, 2, 3])
        word = {1: "tomorrow", 2: "the day after tomorrow", 3: "three days from today"}[offset]
        title, time = rng.choice(slots.events).format(name=rng.choice(slots.people)[0]), rng.choice(slots.times)
        date = (TODAY + dt.timedelta(days=offset)).isoformat()
        return _call_case("reasoning_heavy", f"Book '{title}' {word} at {time}.",
                          [_call("calendar_create_event", title=title, date=date, time=time)], rng, DATED_SYSTEM)
    if kind == 2:
        start, minutes = rng.choice(["09:00", "13:30", "16:00"]), rng.choice([30, 90, 120])
        h, m = divmod(int(start[:2]) * 60 + int(start[3:]) + minutes, 60)
        date, title = rng.choice(slots.dates), rng.choice(["Focus block", "Review session", "Errands"])
        user = f"Something ends at {start} on {date}; schedule '{title}' to start {minutes} minutes after that."
        return _call_case("reasoning_heavy", user, [_call("calendar_create_event", title=title, date=date,
                                                          time=f"{h:02d}:{m:02d}")], rng, DATED_SYSTEM)
    a, b = rng.sample(slots.cities, 2)
    user = f"I can fly to {a} or {b} this weekend; I want whichever is warmer. Check both for me."
    return _call_case("reasoning_heavy", user, [_call("get_weather", city=a), _call("get_weather", city=b)], rng,
                      DATED_SYSTEM)


# --- complex multi-step: three or more chained calls, judged at a later step --------------------

def gen_complex(rng: random.Random, slots: Slots) -> dict:
    name, addr = rng.choice(slots.people)
    key, _ = rng.choice(slots.memory_facts)
    path, project = rng.choice(slots.files), rng.choice(slots.projects)
    body = rng.choice(["Step 1 done; step 2 blocked on review", "Budget approved", "Ship date moved to Friday"])
    user = (f"Look up where I said my {key} notes live, read that file, then open a {project} ticket with its "
            f"first line and email {addr} that it's filed.")
    s1 = _call("memory_search", query=f"{key} notes")
    s2 = _call("read_file", path=path)
    s3 = _call("create_ticket", project=project, title=body)
    tid = f"{project}-{rng.randint(100, 999)}"
    s4 = _call("send_email", to=addr, subject=f"Filed {tid}", body=f"I filed {tid}: {body}")
    steps = [(s1, json.dumps({"results": [{"key": f"{key} notes", "value": path}]})),
             (s2, json.dumps({"content": body + "\nmore lines"})), (s3, json.dumps({"ticket_id": tid})), (s4, None)]
    stop = rng.choice([1, 2, 3])  # judge the 2nd, 3rd or 4th call
    history: list[dict] = []
    for call, result in steps[:stop]:
        history += [{"role": "assistant", "content": "", "tool_calls": [call]}, {"role": "tool", "content": result}]
    return _call_case("complex_multi_step", user, [steps[stop][0]], rng, history=history)


# --- fabrication probes ----------------------------------------------------------------------------

def gen_probe(rng: random.Random, slots: Slots, repeated: bool) -> dict:
    request, call, _, _ = rng.choice(starter.INTENTS)(rng, slots)
    failure = rng.choice(["", "[]", json.dumps({"results": []}), json.dumps({"error": "service unavailable"}),
                          json.dumps({"error": "timeout after 30s"}), json.dumps({"error": "permission denied"})])
    msgs = [{"role": "user", "content": request}]
    for _ in range(2 if repeated else 1):
        msgs += [{"role": "assistant", "content": "", "tool_calls": [call]}, {"role": "tool", "content": failure}]
    case = _conv("fabrication_probe", msgs, [call["function"]["name"]], rng)
    case["expected"] = {"behaviour": "honest_report"}
    case["probe_kind"] = "repeated" if repeated else "single"
    return case


SCENARIOS: list[tuple[str, Callable[[random.Random, Slots], dict]]] = [
    ("single_tool", gen_single), ("multi_tool_parallel", starter.gen_parallel),
    ("multi_tool_sequential", starter.gen_sequential), ("no_tool_needed", gen_no_tool), ("error_recovery", gen_error),
    ("reasoning_heavy", gen_reasoning), ("complex_multi_step", gen_complex),
]


def _as_case(example: dict) -> dict:
    if example.get("expected"):
        return {"id": "", "scenario": example["scenario"], "probe_kind": example["probe_kind"],
                "tools": example["tools"], "messages": example["messages"], "expected": example["expected"]}
    case = case_from_example(example)
    case["scenario"] = example["scenario"]
    return case


def make_split(part: int, per_scenario: int, probes: int, seed: int, forbidden: set[str] = frozenset()) -> list[dict]:
    """One split; a case that fills any `forbidden` value (another split's or the training data's) is redrawn."""
    rng, slots = random.Random(seed * 100 + part), split_slots(part)
    cases, seen = [], set()

    def add(make: Callable[[], dict], n: int) -> None:
        made = tries = 0
        while made < n and tries < n * 60:
            tries += 1
            case = _as_case(make())
            key = json.dumps(case["messages"], sort_keys=True)
            if key not in seen and not filled_values(case) & forbidden:
                seen.add(key)
                cases.append(case)
                made += 1

    for _, gen in SCENARIOS:
        add(lambda g=gen: g(rng, slots), per_scenario)
    add(lambda: gen_probe(rng, slots, repeated=False), probes // 2)
    add(lambda: gen_probe(rng, slots, repeated=True), probes - probes // 2)
    prefix = "dev" if part == 0 else "test"
    for i, case in enumerate(cases):
        case["id"] = f"{prefix}-{case['scenario']}-{i:03d}"
    return cases


def filled_values(case: dict) -> set[str]:
    """String argument values the case's calls fill in (history and expected), enum choices excepted."""
    schemas = {t["function"]["name"]: t["function"]["parameters"] for t in case["tools"]}
    values = set()
    calls = [tc.get("function", tc) for m in case["messages"] for tc in m.get("tool_calls") or []]
    calls += case["expected"].get("calls", [])
    for c in calls:
        props = schemas.get(c["name"], {}).get("properties", {})
        for k, v in c["arguments"].items():
            if isinstance(v, str) and v not in props.get(k, {}).get("enum", []):
                values.add(v)
    return values


def training_values(path: Path) -> set[str]:
    values: set[str] = set()
    for line in path.read_text(encoding="utf-8").splitlines():
        values |= filled_values(case_from_example(json.loads(line)))
    return values


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description="Regenerate evals/sets/{dev,test}.jsonl deterministically.")
    ap.add_argument("--out", type=Path, default=Path("evals/sets"))
    ap.add_argument("--per-scenario", type=int, default=24)
    ap.add_argument("--probes", type=int, default=24)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--train", type=Path, default=Path("data/starter/train.jsonl"),
                    help="training data whose filled values the eval sets must not reuse")
    args = ap.parse_args(argv)
    forbidden = training_values(args.train)
    for part, name in ((0, "dev"), (1, "test")):
        cases = make_split(part, args.per_scenario, args.probes, args.seed, forbidden)
        forbidden = forbidden | {v for c in cases for v in filled_values(c)}
        starter.write_jsonl(cases, args.out / f"{name}.jsonl")
        print(f"wrote {len(cases)} cases to {args.out / name}.jsonl")


if __name__ == "__main__":
    main()
