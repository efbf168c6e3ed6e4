"""Honesty track: a tool comes back empty or failing, and the assistant says so plainly.

Four situations, each a full conversation over the starter toolset (training slot pools, so
nothing overlaps the eval sets):
- `empty_result`: the tool answers with nothing; the assistant reports that, with no guess.
- `permanent_error`: an error retrying cannot fix (not found, permission denied); reported at once.
- `retries_exhausted`: a transient error (timeout, unavailable); the assistant retries the same
  call at most `max_retries` times, then stops and reports the failure and the attempts made.
- `retry_succeeded`: a transient error clears on a retry within the bound; the answer uses only
  what the successful result returned.

The final text only restates values the conversation already holds (the request's arguments, the
error message, the attempt count), which a test checks with the eval harness's fabrication rules.
Rows carry `meta.track = "honesty"`.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass
from typing import Any

from orchestrator.data.generators.distinct import draw_distinct
from orchestrator.data.generators.starter import DEFAULT_SLOTS, INTENTS, SYSTEM_PROMPT, TOOLS, Slots

SCENARIOS = ("empty_result", "permanent_error", "retries_exhausted", "retry_succeeded")

# What an empty answer looks like for each lookup tool (actions such as send_email have none).
EMPTY_RESULTS: dict[str, list[str]] = {
    "search_email": [json.dumps({"messages": []}), "[]"],
    "memory_search": [json.dumps({"results": []}), ""],
    "calendar_list_events": [json.dumps({"events": []})],
    "http_fetch": [json.dumps({"status": 200, "body": ""}), json.dumps({"status": 204})],
    "read_file": [json.dumps({"content": ""})],
    "run_shell": [json.dumps({"exit_code": 0, "stdout": ""})],
    "get_weather": [json.dumps({}), ""],
    "get_ticket": [json.dumps({})],
}
PERMANENT_ERRORS = ["permission denied", "not found", "invalid argument", "access forbidden for this account",
                    "the resource was deleted"]
TRANSIENT_ERRORS = ["service unavailable", "timeout after 30s", "connection reset by peer",
                    "rate limited, try again later", "upstream server did not respond", "temporary network failure"]

# What the user asked for, as a verb phrase filled from the call's arguments ("I couldn't <do>").
# Templates never put ':' or ',' straight after {do}: a URL there would read as a different URL.
DO = {
    "get_weather": "check the weather in {city}",
    "run_shell": "run `{command}`",
    "read_file": "read {path}",
    "write_file": "write to {path}",
    "http_fetch": "fetch {url}",
    "memory_store": "save your {key} to memory",
    "memory_search": "look up your {query} in memory",
    "calendar_create_event": "add '{title}' to your calendar",
    "calendar_list_events": "list your events for {date}",
    "send_email": "send the email to {to}",
    "search_email": "search your mail for the {query}",
    "create_ticket": "open the {project} ticket",
    "get_ticket": "look up {ticket_id}",
}

EMPTY_REPORTS = [
    "I tried to {do} but `{tool}` came back empty, so I have nothing to show you.",
    "`{tool}` returned no data when I tried to {do}. I won't guess; want me to try something else?",
    "Nothing came back: I asked `{tool}` to {do} and the result was empty.",
    "I couldn't find anything. The result was empty when I tried to {do}.",
]
ERROR_REPORTS = [
    "I couldn't {do} because `{tool}` failed with \"{error}\".",
    "`{tool}` returned an error (\"{error}\"), so I wasn't able to {do}.",
    "That didn't work. `{tool}` said \"{error}\", and retrying won't change that, so I couldn't {do}.",
    "Sorry, the tool reported \"{error}\", so I wasn't able to {do}.",
]
GIVE_UP_REPORTS = [
    "I tried {attempts} times to {do} and `{tool}` failed each time with \"{error}\". I'm stopping here instead "
    "of guessing.",
    "`{tool}` kept failing (\"{error}\") after {attempts} attempts, so I stopped retrying and couldn't {do}. "
    "You may want to try again later.",
    "No luck: I couldn't {do}. {attempts} attempts, and every one ended with \"{error}\".",
    "I couldn't {do}. The tool returned \"{error}\" on all {attempts} attempts, so I gave up rather than loop.",
]
# With max_retries 0 the one failed call is the last: "on all 1 attempts" read as a template's slip.
ONE_ATTEMPT_REPORTS = [
    "`{tool}` failed with \"{error}\", so I couldn't {do}. It may work if you try again later.",
    "I couldn't {do}: `{tool}` returned \"{error}\", and I don't retry it on my own. Try again later?",
]
# "trying once more" read wrong before the second of several retries: the notes promise no count.
RETRY_NOTES = ["", "", "That failed with a transient error; trying again.", "Retrying.",
               "The tool didn't respond properly. Let me try again."]


@dataclass(frozen=True)
class HonestyConfig:
    max_retries: int = 2          # retries after the first failed call; the bound the assistant must keep
    weights: tuple[float, float, float, float] = (0.3, 0.2, 0.35, 0.15)   # in SCENARIOS order

    def __post_init__(self):
        if not 0 <= self.max_retries <= 9:
            raise ValueError(f"max_retries must be between 0 and 9, got {self.max_retries}")
        if len(self.weights) != len(SCENARIOS) or min(self.weights) < 0 or sum(self.weights) <= 0:
            raise ValueError(f"weights must be {len(SCENARIOS)} non-negative numbers, got {self.weights}")


def _tools(rng: random.Random, needed: str, n_distractors: int = 3) -> list[dict]:
    names = [needed] + rng.sample([n for n in TOOLS if n != needed], n_distractors)
    rng.shuffle(names)
    return [TOOLS[n] for n in names]


def _call_turn(call: dict, note: str = "") -> dict:
    return {"role": "assistant", "content": note, "tool_calls": [call]}


def _result(call: dict, content: str) -> dict:
    return {"role": "tool", "name": call["function"]["name"], "content": content}


def _error_formatter(rng: random.Random):
    """One error format per conversation: a tool does not change how it reports errors between calls."""
    return rng.choice([lambda m: json.dumps({"error": m}), lambda m: f"Error: {m}"])


def make_example(rng: random.Random, scenario: str, cfg: HonestyConfig = HonestyConfig(),
                 slots: Slots = DEFAULT_SLOTS) -> dict:
    if scenario not in SCENARIOS:
        raise ValueError(f"unknown honesty scenario {scenario!r}; known: {', '.join(SCENARIOS)}")
    while True:   # an empty result only exists for lookups (EMPTY_RESULTS), not for actions like send_email
        request, call, good_result, good_answer = rng.choice(INTENTS)(rng, slots)
        if scenario != "empty_result" or call["function"]["name"] in EMPTY_RESULTS:
            break
    fn = call["function"]
    name, do = fn["name"], DO[fn["name"]].format_map(fn["arguments"])
    msgs: list[dict] = [{"role": "user", "content": request}, _call_turn(call)]
    retries = 0
    if scenario == "empty_result":
        msgs.append(_result(call, rng.choice(EMPTY_RESULTS[name])))
        answer = rng.choice(EMPTY_REPORTS).format(tool=name, do=do)
    elif scenario == "permanent_error":
        error = rng.choice(PERMANENT_ERRORS)
        msgs.append(_result(call, _error_formatter(rng)(error)))
        answer = rng.choice(ERROR_REPORTS).format(tool=name, do=do, error=error)
    else:
        error = rng.choice(TRANSIENT_ERRORS)
        failures = cfg.max_retries + 1 if scenario == "retries_exhausted" else rng.randint(1, max(cfg.max_retries, 1))
        if scenario == "retry_succeeded" and cfg.max_retries == 0:
            raise ValueError("retry_succeeded needs max_retries >= 1")
        fmt = _error_formatter(rng)
        for attempt in range(failures):
            msgs.append(_result(call, fmt(error)))
            if attempt < failures - 1 or scenario == "retry_succeeded":
                msgs.append(_call_turn(call, rng.choice(RETRY_NOTES)))
                retries += 1
        if scenario == "retry_succeeded":
            msgs.append(_result(call, good_result))
            answer = good_answer
        else:
            reports = GIVE_UP_REPORTS if failures > 1 else ONE_ATTEMPT_REPORTS
            answer = rng.choice(reports).format(tool=name, do=do, error=error, attempts=failures)
    msgs.append({"role": "assistant", "content": answer})
    return {"scenario": f"honesty_{scenario}", "tools": _tools(rng, name),
            "messages": [{"role": "system", "content": SYSTEM_PROMPT}, *msgs],
            "meta": {"track": "honesty", "scenario": scenario, "retries": retries, "max_retries": cfg.max_retries}}


def generate(n: int, seed: int = 0, cfg: HonestyConfig = HonestyConfig(), slots: Slots = DEFAULT_SLOTS) -> list[dict]:
    """`n` honesty conversations with distinct requests; scenarios drawn by `cfg.weights`."""
    rng = random.Random(f"honesty-{seed}")
    weights = list(cfg.weights)
    if cfg.max_retries == 0:
        weights[SCENARIOS.index("retry_succeeded")] = 0
    return draw_distinct(n, lambda _: make_example(rng, rng.choices(SCENARIOS, weights)[0], cfg, slots),
                         lambda ex: json.dumps(ex["messages"], sort_keys=True), "honesty")


def assistant_calls(example: dict) -> list[dict[str, Any]]:
    return [tc["function"] for m in example["messages"] if m["role"] == "assistant" for tc in m.get("tool_calls") or []]
