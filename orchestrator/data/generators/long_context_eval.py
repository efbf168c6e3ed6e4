"""Deterministic long-context eval cases for the 16K and 32K variants.

Each case is a conversation of 8-16 tool rounds whose results are long (logs, CSV tables, file
contents, web pages). One early result hides a needle (an on-call contact or a ticket id); the
last user turn asks for a call that needs it, so the model must pick the right tool and
argument after thousands of tokens. Token counts are the real tokenizer's, on the rendered
prompt; the generator grows the tool outputs until the prompt reaches its target.

    python -m orchestrator.data.generators.long_context_eval --tokenizer .cache/models/smollm2-tokenizer/tokenizer.json
"""

from __future__ import annotations

import argparse
import random
from pathlib import Path
from typing import Callable

from orchestrator.data.generators.eval_sets import DATED_SYSTEM, split_slots
from evals.template import render_chat
from orchestrator.train.chat_template import load_template
from orchestrator.data.generators.starter import TOOLS, _call, write_jsonl

TARGETS = {"long_8k": 8_000, "long_28k": 28_000}
CountTokens = Callable[[str], int]


def _log_lines(rng: random.Random, n: int) -> list[str]:
    levels = ["INFO", "INFO", "INFO", "WARN", "DEBUG", "ERROR"]
    return [f"2026-11-30T{rng.randint(0, 23):02d}:{rng.randint(0, 59):02d}:{rng.randint(0, 59):02d}Z "
            f"{rng.choice(levels)} worker-{rng.randint(1, 32)} batch {rng.randint(10000, 99999)} "
            f"processed {rng.randint(1, 900)} rows in {rng.randint(3, 4000)} ms" for _ in range(n)]


def _csv_lines(rng: random.Random, n: int, slots) -> list[str]:
    return ["order_id,customer,city,amount_eur,status"] + [
        f"{rng.randint(100000, 999999)},{rng.choice(slots.people)[0]},{rng.choice(slots.cities)},"
        f"{rng.randint(5, 2000)}.{rng.randint(0, 99):02d},{rng.choice(['paid', 'pending', 'refunded'])}"
        for _ in range(n)]


def _prose_lines(rng: random.Random, n: int) -> list[str]:
    words = ("the release plan covers migration rollback testing review budget timeline owners risks staging "
             "metrics alerts dashboards capacity latency backlog customers support onboarding docs").split()
    return [" ".join(rng.choice(words) for _ in range(rng.randint(8, 18))).capitalize() + "." for _ in range(n)]


def _output(kind: str, rng: random.Random, slots, n_lines: int) -> list[str]:
    if kind == "log":
        return _log_lines(rng, n_lines)
    if kind == "csv":
        return _csv_lines(rng, n_lines, slots)
    return _prose_lines(rng, n_lines)


ROUND_CALLS = [("read_file", "files", "path", "prose"), ("run_shell", "commands", "command", "log"),
               ("http_fetch", "urls", "url", "prose"), ("read_file", "files", "path", "csv")]


def make_case(target: int, count: CountTokens, rng: random.Random, template: str, case_id: str) -> dict:
    slots = split_slots(1)
    name, addr = rng.choice(slots.people)
    ticket = f"{rng.choice(slots.projects)}-{rng.randint(100, 999)}"
    needle_kind = rng.choice(["contact", "ticket"])
    rounds = rng.randint(8, 16)
    needle_round = rng.randint(0, rounds // 3)
    plan = [rng.choice(ROUND_CALLS) for _ in range(rounds)]
    tool_names = sorted({p[0] for p in plan} | {"send_email", "get_ticket", "memory_search"})
    tools = [TOOLS[n] for n in tool_names]
    user = "I'm catching up after a week off. Go through my files, logs and status pages one by one and summarise."
    final_user = (f"Thanks. Now email the on-call contact named in the output of step {needle_round + 1} with subject "
                  "'Escalation' and body 'Please take a look at the overnight errors.'"
                  if needle_kind == "contact" else
                  f"Thanks. Now look up the ticket that step {needle_round + 1} said to escalate.")
    expected = (_call("send_email", to=addr, subject="Escalation", body="Please take a look at the overnight errors.")
                if needle_kind == "contact" else _call("get_ticket", ticket_id=ticket))["function"]
    needle = (f"On-call contact this week: {name} <{addr}>" if needle_kind == "contact"
              else f"Escalate ticket {ticket} before Friday.")

    outputs: list[list[str]] = [[] for _ in range(rounds)]
    calls = []
    for i, (tool, pool, arg, _) in enumerate(plan):
        calls.append(_call(tool, **{arg: rng.choice(getattr(slots, pool))}))

    def messages() -> list[dict]:
        msgs = [{"role": "system", "content": DATED_SYSTEM}, {"role": "user", "content": user}]
        for i in range(rounds):
            body = list(outputs[i])
            if i == needle_round:
                body.insert(len(body) // 2, needle)
            msgs += [{"role": "assistant", "content": "", "tool_calls": [calls[i]]},
                     {"role": "tool", "content": "\n".join(body)}]
        msgs.append({"role": "user", "content": final_user})
        return msgs

    def tokens() -> int:
        return count(render_chat(template, messages(), tools, add_generation_prompt=True))

    # Grow every output in step until the prompt reaches the target: cheap and keeps rounds balanced.
    step = 4
    while tokens() < target:
        for i, (_, _, _, kind) in enumerate(plan):
            outputs[i] += _output(kind, rng, slots, step)
        if tokens() > target:
            break
    while tokens() > target * 1.05 and any(len(o) > 1 for o in outputs):
        longest = max(range(rounds), key=lambda i: len(outputs[i]))
        outputs[longest].pop()
    return {"id": case_id, "scenario": "long_context", "tools": tools, "messages": messages(),
            "expected": {"calls": [expected]}, "rounds": rounds, "prompt_tokens": tokens()}


def make_set(name: str, target: int, n: int, count: CountTokens, seed: int = 0) -> list[dict]:
    rng = random.Random(f"{name}-{seed}")
    template = load_template("toolchat")
    return [make_case(target, count, rng, template, f"{name}-{i:02d}") for i in range(n)]


def tokenizer_counter(path: Path) -> CountTokens:
    from tokenizers import Tokenizer

    tok = Tokenizer.from_file(str(path))
    return lambda text: len(tok.encode(text, add_special_tokens=False).ids)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description="Regenerate evals/sets/long_*.jsonl (needs the SmolLM2 tokenizer; "
                                             "`make install` caches it).")
    ap.add_argument("--tokenizer", type=Path, default=Path(".cache/models/smollm2-tokenizer/tokenizer.json"))
    ap.add_argument("--out", type=Path, default=Path("evals/sets"))
    ap.add_argument("-n", type=int, default=12,
                    help="cases per set (at least promote.min_cases, 10 in the shipped sweeps: fewer leave the "
                         "16K/32K promotions unmeasured)")
    args = ap.parse_args(argv)
    count = tokenizer_counter(args.tokenizer)
    for name, target in TARGETS.items():
        cases = make_set(name, target, args.n, count)
        write_jsonl(cases, args.out / f"{name}.jsonl")
        print(f"wrote {len(cases)} cases to {args.out / name}.jsonl; prompt tokens "
              f"{[c['prompt_tokens'] for c in cases]}")


if __name__ == "__main__":
    main()
