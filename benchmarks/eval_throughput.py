"""Eval harness throughput vs a naive loop, on the same GGUF and cases.

    python benchmarks/eval_throughput.py [--model X.gguf] [--cases evals/sets/test.jsonl] [--limit 40]

- harness: one `Llama` for all cases, prompts ordered to maximise shared prefixes, so the KV
  cache of the previous prompt is reused and only the differing suffix is prefilled.
- naive:   `create_chat_completion` per case in file order, the context reset each time (a
  fresh prefill of the whole prompt, as a script calling a server per request would do).
- limit:   the time the harness would need if it prefilled only each prompt's uncached suffix
  and decoded its output at the rates measured on this machine (no other overhead).

Both runs decode greedily; the script checks that every case's output is identical and prints
cases/s for each and the ratios harness/naive and harness/limit.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from evals.cases import load_cases, take  # noqa: E402
from evals.harness import is_probe, order_for_prefix_reuse  # noqa: E402
from evals.runner import STOP, GGUFRunner  # noqa: E402


def default_model() -> Path:
    runs = sorted(ROOT.glob("runs/*/gguf/tuned-q4_k_m.gguf"), key=lambda p: p.stat().st_mtime)
    if runs:
        return runs[-1]
    sys.exit("no GGUF given and none under runs/: run `make demo` first or pass --model")


def common_prefix(a: list[int], b: list[int]) -> int:
    n = 0
    for x, y in zip(a, b):
        if x != y:
            break
        n += 1
    return n


def measure_rates(runner: GGUFRunner, prompt_tokens: list[int]) -> tuple[float, float]:
    """(prefill tokens/s, decode tokens/s) measured on this machine with a cold context."""
    llm = runner.llm
    llm.reset()
    start = time.perf_counter()
    llm.eval(prompt_tokens)
    prefill = len(prompt_tokens) / (time.perf_counter() - start)
    n_decode = 48
    start = time.perf_counter()
    for _ in range(n_decode):
        tok = llm.sample(top_k=1, temp=0.0)
        llm.eval([tok])
    decode = n_decode / (time.perf_counter() - start)
    llm.reset()
    return prefill, decode


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", type=Path)
    ap.add_argument("--cases", type=Path, default=ROOT / "evals/sets/test.jsonl")
    ap.add_argument("--limit", type=int, default=40)
    ap.add_argument("--max-new-tokens", type=int, default=96)
    args = ap.parse_args()
    model = args.model or default_model()
    cases = take([c for c in load_cases(args.cases) if not is_probe(c)], args.limit)
    runner = GGUFRunner(model, n_ctx=4096)
    template = runner.chat_template
    ordered = order_for_prefix_reuse(cases, template)

    # Naive: file order, chat API, context reset before each case.
    naive_out = {}
    start = time.perf_counter()
    for case in cases:
        runner.llm.reset()
        out = runner.llm.create_chat_completion(messages=case["messages"], tools=case["tools"], temperature=0.0,
                                                top_k=1, max_tokens=args.max_new_tokens, stop=STOP)
        naive_out[case["id"]] = out["choices"][0]["message"]["content"] or ""
    naive_s = time.perf_counter() - start

    # Harness: prefix-sorted, KV cache reused between neighbours.
    runner.llm.reset()
    harness_out, tokens, outputs_len = {}, [], []
    start = time.perf_counter()
    for prompt, case in ordered:
        out = runner.generate(prompt, args.max_new_tokens)
        harness_out[case["id"]] = out["text"]
        outputs_len.append(out["completion_tokens"])
    harness_s = time.perf_counter() - start

    for prompt, _ in ordered:
        tokens.append(runner.llm.tokenize(prompt.encode(), add_bos=False, special=True))
    prefill_rate, decode_rate = measure_rates(runner, tokens[0])
    suffix = [len(t) - (common_prefix(t, tokens[i - 1]) if i else 0) for i, t in enumerate(tokens)]
    limit_s = sum(suffix) / prefill_rate + sum(outputs_len) / decode_rate

    same = sum(naive_out[k].strip() == harness_out[k].strip() for k in harness_out)
    n = len(cases)
    print(f"model {model.name}; {n} cases from {args.cases.name}; {os.cpu_count()} CPU threads")
    print(f"prompt tokens {sum(map(len, tokens))} total, uncached suffix {sum(suffix)} "
          f"({sum(suffix) / sum(map(len, tokens)):.0%}); output tokens {sum(outputs_len)}")
    print(f"measured rates: prefill {prefill_rate:.0f} tok/s, decode {decode_rate:.1f} tok/s")
    print(f"{'run':<10}{'seconds':>10}{'cases/s':>10}")
    for label, secs in (("naive", naive_s), ("harness", harness_s), ("limit", limit_s)):
        print(f"{label:<10}{secs:>10.1f}{n / secs:>10.2f}")
    print(f"harness vs naive: {naive_s / harness_s:.2f}x faster; harness reaches {limit_s / harness_s:.0%} of the limit")
    print(f"identical greedy outputs: {same}/{n}")
    if same != n:
        for k in harness_out:
            if naive_out[k].strip() != harness_out[k].strip():
                print(f"  differs: {k}: naive={naive_out[k][:80]!r} harness={harness_out[k][:80]!r}")
    runner.close()


if __name__ == "__main__":
    main()
